#!/bin/sh
# Payload decode to JSON text: the C++ decoder (bench/payload_decode_bench)
# against a hand-written Node.js decoder + JSON.stringify
# (bench/payload_decode_baseline.js) on the same messages. Prints fields/s of
# each and the ratio (spec target: >= 2x Node.js). Both rates are per CPU
# second, one thread. First checks that both decode the messages alike.
#
#   bench/run_payload_decode_bench.sh [BUILD_DIR]     (default: build, the release build)
#   ROOST_BENCH_SMOKE=1 bench/run_payload_decode_bench.sh   quick check
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_BENCH=ON >/dev/null
ninja -C "$build" payload_decode_bench >/dev/null
bench="$build/bench/payload_decode_bench"
baseline="$root/bench/payload_decode_baseline.js"
seconds=3
[ "${ROOST_BENCH_SMOKE:-0}" = 1 ] && seconds=0.1

dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
ROOST_PAYLOAD_DUMP=4096 "$bench" >"$dump"
node "$baseline" --check "$dump"

echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each side's report is shown, then its rate is read from it. (Not `tee /dev/stderr`:
# opening /dev/stderr truncates a log file that stderr is redirected to.)
cxx_out=$("$bench" --benchmark_color=false)
printf '%s\n' "$cxx_out" >&2
cxx=$(printf '%s\n' "$cxx_out" | sed -n 's/.*payload_decode summary: fields_per_second=//p')
js_out=$(node "$baseline" "$seconds")
printf '%s\n' "$js_out" >&2
js=$(printf '%s\n' "$js_out" | sed -n 's/.*fields_per_second=//p')
[ -n "$cxx" ] && [ -n "$js" ] || { echo "payload_decode: a side printed no rate" >&2; exit 1; }
awk -v c="$cxx" -v j="$js" 'BEGIN {
  r = c / j
  printf "payload_decode summary: roost=%.0f fields/s, node=%.0f fields/s, roost/node=%.2f (target >= 2: %s)\n",
    c, j, r, (r >= 2 ? "met" : "NOT met")
}'
