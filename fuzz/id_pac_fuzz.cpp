// Fuzzes the ID/PAC file parser: any text must parse or fail cleanly, and what
// parses must render and parse back to the same list, and the streaming reader
// must yield the same entries.
#include <cstdint>
#include <string>
#include <string_view>

#include "factory/id_pac.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = factory::ParseIdPacFile(text);
  if (!parsed.ok()) {
    if (parsed.status().message().find("line ") != 0) __builtin_trap();
    return 0;
  }
  factory::IdPacReader reader(text);
  for (const auto& e : *parsed) {
    auto next = reader.Next();
    if (!next.ok() || !next->has_value() || (*next)->entry != e) __builtin_trap();
  }
  auto end = reader.Next();
  if (!end.ok() || end->has_value()) __builtin_trap();
  std::string rendered;
  for (const auto& e : *parsed) rendered += factory::FormatIdPacLine(e);
  auto again = factory::ParseIdPacFile(rendered);
  if (!again.ok() || *again != *parsed) __builtin_trap();
  return 0;
}
