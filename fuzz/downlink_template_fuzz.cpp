// Fuzzes DIRECT downlink templates and BIDIR callback answers. A template that
// compiles must expand to what replacing its variables by their hex text gives;
// any text given as a callback answer must parse or fail cleanly.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "codec/downlink_template.h"
#include "core/hex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  using namespace roost::codec;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto answer = ParseCallbackAnswer(text);
  if (answer.ok()) {
    for (const CallbackAnswerEntry& e : *answer) {
      if (FindCallbackAnswer(*answer, e.device) != &e) __builtin_trap();
    }
  } else if (answer.status().message().empty()) {
    __builtin_trap();
  }

  auto tmpl = CompileDownlinkTemplate(text);
  if (!tmpl.ok()) {
    if (tmpl.status().message().empty()) __builtin_trap();
    return 0;
  }
  const int64_t time = 0x1234abcd;
  const uint16_t tap = 0x0a1b;
  const std::string expanded = ToHex(Expand(*tmpl, time, -93.0, tap));
  // The same expansion by text replacement.
  std::string expect;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, 6) == "{time}") {
      expect += "1234abcd";
      i += 6;
    } else if (text.substr(i, 6) == "{rssi}") {
      expect += "ffa3";
      i += 6;
    } else if (text.substr(i, 7) == "{tapId}") {
      expect += "0a1b";
      i += 7;
    } else {
      const char c = text[i++];
      expect += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
  }
  if (expanded != expect) __builtin_trap();
  return 0;
}
