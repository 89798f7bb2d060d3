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
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"$build/bench/ingest_store_bench" --benchmark_color=false >"$out" || status=$?
cat "$out"
[ "$status" -eq 0 ] || exit "$status"
# The ratio to the baseline of the same run: ingest's 500-report transactions
# beside the same message rows alone (SQLite only: the baseline is skipped on
# PostgreSQL).
awk '/^BM_IngestUplinks\/500\// { for (i = 1; i <= NF; i++) if ($i ~ /^items_per_second=/) ingest = $i }
     /^BM_MessageRowsOnly\/500\// { for (i = 1; i <= NF; i++) if ($i ~ /^items_per_second=/) rows = $i }
     function rate(f) { sub(/^items_per_second=/, "", f); n = f + 0;
                        if (f ~ /k\/s$/) n *= 1e3; else if (f ~ /M\/s$/) n *= 1e6; return n }
     END { if (ingest != "" && rows != "")
             printf "ratio: IngestUplinks/500 %.0f msg/s = %.2f x the message rows alone (%.0f rows/s)\n",
                    rate(ingest), rate(ingest) / rate(rows), rate(rows) }' "$out"
