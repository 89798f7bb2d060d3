#!/bin/sh
# Builds the K-233 benchmark in RelWithDebInfo and runs it; the last line of
# its output is the summary (ops/s, openssl speed ecdhk233, ratios, target).
#
#   bench/run_k233_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_k233_bench.sh   quick check
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" k233_bench >/dev/null
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/k233_bench" --benchmark_color=false
