#!/usr/bin/env bash
# One command to run the whole test suite on a fresh Debian machine: installs
# what is missing, builds, and runs
#   1. unit + CLI tests on the release build (build/, GCC)
#   2. the same tests under ASan + UBSan, plus a short libFuzzer run of every
#      fuzz target (build-asan/, clang)
#   3. each benchmark in smoke mode (it runs, prints its figures, is not timed)
# and ends with one summary line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

jobs=$(nproc)
passed=0
failed=0
failures=()

# ctest_count <build-dir> [ctest args...]: runs ctest and adds to the totals.
ctest_count() {
  local dir=$1
  shift
  local log
  log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"
  local line total fails
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [[ -z "$line" ]]; then
    failed=$((failed + 1))
    failures+=("$dir: ctest did not run")
  else
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    fails=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    passed=$((passed + total - fails))
    failed=$((failed + fails))
    if ((fails > 0)); then
      while read -r t; do failures+=("$dir: $t"); done < <(sed -n '/The following tests FAILED/,$p' "$log" | grep -E '^\s+[0-9]+ - ')
    fi
  fi
  rm -f "$log"
}

step() { printf '\n==== [%4ds] %s\n' "$SECONDS" "$*"; }

step "release build (build/)"
if scripts/build.sh release; then
  step "unit and CLI tests (release)"
  ctest_count build
  step "benchmarks, smoke mode"
  # Each benchmark as it runs by default, then the modes that take another path.
  smoke_runs=()
  for b in bench/run_*; do [[ -x "$b" ]] && smoke_runs+=("$b"); done
  smoke_runs+=("bench/run_ingest_bench.py --engine sqlite --ingest-only")
  smoke_runs+=("bench/run_callback_delivery_bench.py --engine postgres --statements")
  smoke_runs+=("bench/run_message_list_bench.py --callbacks")
  for run in "${smoke_runs[@]}"; do
    # shellcheck disable=SC2086  # a run is a command and its arguments, split on spaces
    if ROOST_BENCH_SMOKE=1 $run; then passed=$((passed + 1)); else
      failed=$((failed + 1)); failures+=("benchmark $run"); fi
  done
else
  failed=$((failed + 1))
  failures+=("release build")
fi

step "sanitizer build (build-asan/: ASan + UBSan + libFuzzer)"
if scripts/build.sh asan; then
  step "unit, CLI and fuzz smoke tests (ASan + UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest_count build-asan
else
  failed=$((failed + 1))
  failures+=("sanitizer build")
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "test suite took ${SECONDS}s"
echo "$passed passed, $failed failed"
((failed == 0))
