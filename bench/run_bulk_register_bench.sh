#!/bin/sh
# Bulk registration through the registry service on SQLite: 200 000 devices from
# StartBulkCreate to jobDone (credentials imported beforehand, not timed). The
# raw-sqlite3 baseline for the same rows is in bench/run_storage_bench.sh.
#
#   bench/run_bulk_register_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_bulk_register_bench.sh   quick check (2 000 devices)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" bulk_register_bench >/dev/null
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/bulk_register_bench" --benchmark_color=false
