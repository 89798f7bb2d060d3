#!/usr/bin/env bash
# Installs the Debian bookworm packages Roost needs to build, run and test,
# skipping what is already there. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries (see docs/architecture.md for why each)
  libssl-dev libboost1.81-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev libqrencode-dev
  libpng-dev libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libpq-dev libsodium-dev
  libtomlplusplus-dev libcurl4-openssl-dev zlib1g-dev
  # tools the tests and benchmarks run
  openssl python3 zbar-tools sqlite3 postgresql python3-aiosmtpd wrk nginx nodejs
  # the console's browser tests (playwright-core drives both)
  chromium firefox-esr
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Debian's nodejs comes without npm (a separate package); some Node.js builds
# bundle it. Ask for Debian's only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "roost: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
