#!/bin/sh
# Builds the provisioning service benchmark in RelWithDebInfo and runs it; the
# last line of its output is the summary (Hellos/s, exchanges/s, openssl speed
# ecdhk233 -seconds 1 in the same run, ratios).
#
#   bench/run_provisioning_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_provisioning_bench.sh   quick check
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" provisioning_bench >/dev/null
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/provisioning_bench" --benchmark_color=false
