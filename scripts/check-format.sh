#!/usr/bin/env bash
# Fails (listing the files) when a tracked C++ file differs from .clang-format.
# Fix with: clang-format -i <file>
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f"
    bad=1
  fi
done < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find src bench fuzz -name '*.cpp' -o -name '*.h')
exit $bad
