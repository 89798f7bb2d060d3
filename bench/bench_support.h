// What every benchmark program shares: smoke mode and start-up.
//
// ROOST_BENCH_SMOKE=1 (set by the test suite) asks for a quick run that shows
// the program works; its figures mean nothing. InitBenchmarks then adds
// --benchmark_min_time=<smoke_min_time> so each case runs only briefly.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace roost::bench {

inline bool SmokeMode() {
  const char* v = std::getenv("ROOST_BENCH_SMOKE");
  return v != nullptr && std::string(v) == "1";
}

// Initialises Google Benchmark from the command line. False when an argument
// is not understood (already reported on stderr): exit non-zero then.
inline bool InitBenchmarks(int argc, char** argv, const char* smoke_min_time) {
  std::vector<char*> args(argv, argv + argc);
  std::string min_time = std::string("--benchmark_min_time=") + smoke_min_time;
  if (SmokeMode()) args.push_back(min_time.data());
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  return !benchmark::ReportUnrecognizedArguments(count, args.data());
}

}  // namespace roost::bench
