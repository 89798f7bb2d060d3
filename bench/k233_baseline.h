// The K-233 benchmarks' shared parts: a reporter that keeps each case's op/s
// per CPU second, and OpenSSL's own figure for the same operation, measured in
// the same run as the baseline.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace roost::bench {

// Console output as usual, plus operations per CPU second by benchmark name.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      // CPU time, as `openssl speed` divides by user CPU time unless -elapsed
      // is given: the comparison stays fair on a loaded machine.
      if (run.cpu_accumulated_time > 0) {
        ops_per_second[run.benchmark_name()] =
            static_cast<double>(run.iterations) / run.cpu_accumulated_time;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> ops_per_second;
};

// Runs `openssl speed -seconds N ecdhk233` and returns its op/s, or nullopt
// without openssl or sect233k1.
inline std::optional<double> OpenSslEcdhK233Speed(int seconds) {
  const std::string command =
      "openssl speed -seconds " + std::to_string(seconds) + " ecdhk233 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::optional<double> result;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    // " 233 bits ecdh (nistk233)   0.0002s   5774.0"
    if (std::strstr(line, "ecdh (nistk233)") == nullptr) continue;
    const char* last = std::strrchr(line, ' ');
    if (last == nullptr) continue;
    char* end = nullptr;
    const double value = std::strtod(last + 1, &end);
    if (end != last + 1 && value > 0) result = value;
  }
  pclose(pipe);
  return result;
}

inline double Get(const std::map<std::string, double>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? 0.0 : it->second;
}

}  // namespace roost::bench
