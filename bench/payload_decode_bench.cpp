// Custom payload decoding to JSON text, the pipeline's per-message decode.
//
//   bench/payload_decode_bench                      full run
//   ROOST_BENCH_SMOKE=1 bench/payload_decode_bench  quick check
//   ROOST_PAYLOAD_DUMP=N bench/payload_decode_bench prints the JSON of the first N
//                                                   messages and exits (to check the
//                                                   Node.js baseline decodes the same)
//
// The format is the 13-field example of the Sigfox Back-End documentation
// (float, three little-endian uint16, a uint8, eight bools), decoded over 4096
// different 12-byte messages built by the same generator as
// bench/payload_decode_baseline.js (xorshift32; Temp a plausible temperature,
// the other bytes random). bench/run_payload_decode_bench.sh compares the
// fields/s with that Node.js decoder (target: >= 2x).
#include <benchmark/benchmark.h>

#include "bench_support.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/payload_format.h"

namespace {

using namespace roost;

constexpr const char* kFormat =
    "Temp::float:32 AccX::uint:16:little-endian AccY::uint:16:little-endian "
    "AccZ::uint:16:little-endian Battery::uint:8 Digital8::bool:7 Digital7::bool:6 "
    "Digital6::bool:5 Digital5::bool:4 Digital4::bool:3 Digital3::bool:2 Digital2::bool:1 "
    "Digital1::bool:0";
constexpr size_t kFields = 13;
constexpr size_t kMessages = 4096;

using Message = std::array<uint8_t, 12>;

// Must stay identical to makeMessages() in payload_decode_baseline.js.
std::vector<Message> MakeMessages() {
  uint32_t x = 0x9e3779b9;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  std::vector<Message> messages(kMessages);
  for (Message& m : messages) {
    const int tenths = static_cast<int>(next() % 1001) - 400;  // -40.0 .. 60.0 degrees
    const auto temp = static_cast<float>(tenths / 10.0);
    uint32_t bits;
    std::memcpy(&bits, &temp, sizeof bits);
    for (size_t i = 0; i < 4; ++i) m[i] = static_cast<uint8_t>(bits >> (24 - 8 * i));
    for (size_t i = 4; i < m.size(); ++i) m[i] = static_cast<uint8_t>(next() & 0xff);
  }
  return messages;
}

codec::PayloadFormat Compile(const char* text) {
  auto format = codec::CompilePayloadFormat(text);
  if (!format.ok()) {
    std::fprintf(stderr, "payload format: %s\n", format.status().message().c_str());
    std::exit(1);
  }
  return std::move(format).value();
}

// One message decoded to its own JSON text per iteration (the buffer is reused,
// as the pipeline reuses its per-worker buffer).
void BM_DecodeToJson(benchmark::State& state) {
  const codec::PayloadFormat format = Compile(kFormat);
  const std::vector<Message> messages = MakeMessages();
  std::string out;
  size_t i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    codec::DecodeToJson(format, messages[i], out);
    benchmark::DoNotOptimize(out.data());
    bytes += out.size();
    i = (i + 1) % kMessages;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFields));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeToJson);

// The same with a 7-byte message: five fields do not fit and are left out,
// and `undecoded` is written too.
void BM_DecodeShortMessage(benchmark::State& state) {
  const codec::PayloadFormat format = Compile(kFormat);
  const std::vector<Message> messages = MakeMessages();
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    const std::span<const uint8_t> m(messages[i].data(), 7);
    codec::DecodeToJson(format, m, out);
    codec::AppendUndecodedJson(format, m.size(), out);
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) % kMessages;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFields));
}
BENCHMARK(BM_DecodeShortMessage);

// Compiling the format (done once per device type, on save and on load).
void BM_CompileFormat(benchmark::State& state) {
  for (auto _ : state) {
    auto format = codec::CompilePayloadFormat(kFormat);
    benchmark::DoNotOptimize(format);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompileFormat);

class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  CapturingReporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes: scripts read this
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      // Per CPU second, as the Node.js baseline measures process CPU time.
      if (run.benchmark_name() == "BM_DecodeToJson" && run.cpu_accumulated_time > 0) {
        fields_per_second =
            static_cast<double>(run.iterations) * kFields / run.cpu_accumulated_time;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double fields_per_second = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (const char* dump = std::getenv("ROOST_PAYLOAD_DUMP")) {
    const codec::PayloadFormat format = Compile(kFormat);
    const std::vector<Message> messages = MakeMessages();
    const size_t n = std::min<size_t>(std::strtoul(dump, nullptr, 10), kMessages);
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      out.clear();
      codec::DecodeToJson(format, messages[i], out);
      std::printf("%s\n", out.c_str());
    }
    return 0;
  }
  if (!roost::bench::InitBenchmarks(argc, argv, "0.02")) return 1;

  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("payload_decode summary: fields_per_second=%.0f\n", reporter.fields_per_second);
  return 0;
}
