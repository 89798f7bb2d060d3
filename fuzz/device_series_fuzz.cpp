// Fuzzes the device series parser (uploaded ID;PAC / ID,PAC files): any text
// must parse or fail cleanly with "line N: ..." and N in range, and what parses
// must render in the other separator and column order and parse back the same.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/identifiers.h"
#include "factory/device_series.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t error_line = 0;
  auto parsed = factory::ParseDeviceSeries(text, &error_line);
  if (!parsed.ok()) {
    const std::string want = "line " + std::to_string(error_line) + ": ";
    if (parsed.status().message().rfind(want, 0) != 0) __builtin_trap();
    size_t lines = 1;
    for (char c : text) lines += c == '\n' ? 1 : 0;
    if (error_line > lines) __builtin_trap();
    return 0;
  }
  if (parsed->entries.empty()) __builtin_trap();
  std::string rendered = "PAC , Device ID\r\n";
  for (const auto& e : parsed->entries) {
    if (!ParseSigfoxId(e.id).ok() || !ParsePac(e.pac).ok() || *ParsePac(e.pac) != e.pac) {
      __builtin_trap();
    }
    rendered += "\"" + e.pac + "\" , " + e.id + "\r\n\r\n";
  }
  auto again = factory::ParseDeviceSeries(rendered);
  if (!again.ok() || again->entries.size() != parsed->entries.size() || !again->has_header ||
      again->separator != ',') {
    __builtin_trap();
  }
  for (size_t i = 0; i < again->entries.size(); ++i) {
    if (again->entries[i].id != parsed->entries[i].id ||
        again->entries[i].pac != parsed->entries[i].pac) {
      __builtin_trap();
    }
  }
  return 0;
}
