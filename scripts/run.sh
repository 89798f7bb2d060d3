#!/usr/bin/env bash
# One command to get a running Roost on a fresh Debian machine: installs what is
# missing, builds build/roost, and starts `roost serve` (arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release roost  # only the binary: a first start builds no tests
exec build/roost serve "$@"
