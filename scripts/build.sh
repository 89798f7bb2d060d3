#!/usr/bin/env bash
# Configures and builds Roost. Usage: scripts/build.sh [release|asan] [TARGET...]
#   TARGET...: build only these (e.g. `roost`); default: everything, tests included
#   release (default): GCC, optimised, into build/ (the roost binary is build/roost)
#   asan:              clang with AddressSanitizer + UndefinedBehaviorSanitizer and
#                      the libFuzzer targets, into build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
jobs=$(nproc)

# The web console (web/, TypeScript) into build/web, which build/roost serves.
# npm ci installs exactly the committed lockfile; it runs again only when the
# lockfile changed since the last install.
build_console() {
  # The console's tools are chosen to run on Debian bookworm's own nodejs (18):
  # Vite 6 and playwright-core 1.61 are the last releases that do.
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
    echo "roost: the web console needs Node.js 18 or later (found $(node --version 2>/dev/null || echo none))" >&2
    return 1
  fi
  (
    cd web
    if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run --silent build >/dev/null
  )
}

case "$kind" in
  release)
    # -g1: line tables and functions, enough for backtraces and profiles;
    # full debug information made compiling a third slower.
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
    ninja -C build -j "$jobs" "$@"
    build_console
    ;;
  asan)
    # -O1: clang 14 cannot compile C++20 coroutines with UBSan at -O0, and tests run faster.
    # Line tables are what the sanitizers' reports need (file:line in each frame).
    CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only -O1" \
      -DROOST_SANITIZE=ON -DROOST_FUZZ=ON -DROOST_BENCH=OFF >/dev/null
    ninja -C build-asan -j "$jobs" "$@"
    ;;
  *)
    echo "usage: $0 [release|asan]" >&2
    exit 2
    ;;
esac
