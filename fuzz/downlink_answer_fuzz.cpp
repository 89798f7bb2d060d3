// Fuzzes the parser of a downlinkHook callback's answer. The whole input is the
// answer body, parsed for device 2C. It must be accepted or refused cleanly:
// an accepted downlink is 16 lowercase hex digits and reads back the same from
// its canonical answer; a refusal's reason is short printable ASCII (the
// answer's bytes are never quoted), and a body over the limit is refused.
#include <cstdint>
#include <string>
#include <string_view>

#include "integration/downlink_answer.h"

namespace {

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  using namespace roost::integration;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const SigfoxId device{0x2c};

  const auto answer = ParseDownlinkAnswer(body, device);
  if (!answer.ok()) {
    const std::string& reason = answer.status().message();
    if (reason.empty() || reason.size() > 160) __builtin_trap();
    for (const char c : reason) {
      if (c < 0x20 || c > 0x7e) __builtin_trap();
    }
    return 0;
  }
  if (body.size() > kMaxDownlinkAnswerBytes) __builtin_trap();
  if (!answer->data.has_value()) return 0;
  const std::string& hex = *answer->data;
  if (hex.size() != 16) __builtin_trap();
  for (const char c : hex) {
    if (!IsLowerHex(c)) __builtin_trap();
  }
  const auto again = ParseDownlinkAnswer("{\"2C\":{\"downlinkData\":\"" + hex + "\"}}", device);
  if (!again.ok() || again->data != answer->data) __builtin_trap();
  return 0;
}
