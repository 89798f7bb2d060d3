#!/bin/sh
# The store's half of uplink ingest (Store::IngestUplinks, no HTTP): messages/s
# at 40 and at 500 reports per transaction, 20 000 devices, each message with
# one queued delivery. A diagnostic for changes of the schema or of the ingest
# transaction; the targets' figures and baselines are bench/run_ingest_bench.py's.
#
#   bench/run_ingest_store_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_ingest_store_bench.sh   quick check (2 000 devices)
#   ROOST_BENCH_ENGINE=postgresql bench/run_ingest_store_bench.sh   on PostgreSQL
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" ingest_store_bench >/dev/null
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/ingest_store_bench" --benchmark_color=false
