// Arbitrary text into the Provision ID CSV parser. A failed parse must return
// no rows and only errors with a line inside the text and a message. A parse
// that succeeds must write back (as a request or a report) to text that parses
// to the same file, and writing that again must give the same bytes. A request
// is also turned into a report (with a deterministic ID source) that must parse.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "factory/provision_csv.h"

namespace {

using namespace roost::factory;

size_t CountLines(std::string_view text) {
  size_t n = 1;
  for (char c : text) n += c == '\n' || c == '\r';
  return n;
}

ProvisionCsv WithoutLines(ProvisionCsv csv) {
  for (auto& row : csv.rows) row.line = 0;
  return csv;
}

std::string Write(const ProvisionCsv& csv) {
  return csv.is_report ? WriteReportCsv(csv) : WriteRequestCsv(csv);
}

// Distinct valid IDs from a counter, so that runs are reproducible.
std::string CounterId(uint64_t& counter) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string id(20, 'A');
  uint64_t v = counter++;
  for (size_t i = 0; i < 13; ++i, v >>= 5) id[19 - i] = kAlphabet[v & 31];
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parse = ParseProvisionCsv(text);
  if (!parse.ok()) {
    if (!parse.csv.rows.empty()) std::abort();
    const size_t lines = CountLines(text);
    for (const auto& e : parse.errors) {
      if (e.line == 0 || e.line > lines || e.message.empty()) std::abort();
    }
    return 0;
  }
  const ProvisionCsv& csv = parse.csv;
  if (csv.rows.empty() || csv.manufacturer.empty()) std::abort();

  const std::string written = Write(csv);
  auto again = ParseProvisionCsv(written);
  if (!again.ok()) std::abort();
  if (WithoutLines(again.csv) != WithoutLines(csv)) std::abort();
  if (Write(again.csv) != written) std::abort();
  // Written rows start on line 4 and take one line each.
  for (size_t i = 0; i < again.csv.rows.size(); ++i) {
    if (again.csv.rows[i].line != i + 4) std::abort();
  }

  if (!csv.is_report) {
    uint64_t counter = size;
    auto report = MakeReport(csv, ".MatchX", [&] { return CounterId(counter); });
    if (!report.ok()) std::abort();
    auto parsed_report = ParseProvisionCsv(WriteReportCsv(*report));
    if (!parsed_report.ok() || !parsed_report.csv.is_report) std::abort();
    if (WithoutLines(parsed_report.csv) != WithoutLines(*report)) std::abort();
  }
  return 0;
}
