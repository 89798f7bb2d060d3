#!/bin/sh
# Storage: bulk insert of 200 000 devices on SQLite (Store::InsertDevices and the
# storage side of a bulk job) against the raw sqlite3 CLI inserting the same rows
# in one transaction, then device-list page latency at 1 M devices (p50/p99).
# The summary lines start with "storage insert summary" and "storage pages summary".
#
#   bench/run_storage_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_storage_bench.sh   quick check (20 000 / 50 000 devices)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
command -v sqlite3 >/dev/null || { echo "run_storage_bench: sqlite3 CLI not installed" >&2; exit 1; }
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" storage_bench >/dev/null
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/storage_bench" --benchmark_color=false
