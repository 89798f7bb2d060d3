// Fuzzes custom payload formats: the input is a format text, a newline, and the
// message bytes. A format must compile or fail with "position N: ..."; a
// compiled format must decode any message to valid JSON (nlohmann checks the
// syntax and the UTF-8) holding exactly the fields that fit, each with the
// value AppendFieldJson gives, and `undecoded` naming the others.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "codec/payload_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost::codec;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view text = input.substr(0, newline);
  std::span<const uint8_t> message;
  if (newline != std::string_view::npos) message = {data + newline + 1, size - newline - 1};

  auto format = CompilePayloadFormat(text);
  if (!format.ok()) {
    if (format.status().message().rfind("position ", 0) != 0) __builtin_trap();
    return 0;
  }
  std::string out = "x";  // appends, never overwrites
  const size_t left_out = DecodeToJson(*format, message, out);
  if (out[0] != 'x') __builtin_trap();
  const auto decoded = nlohmann::json::parse(out.substr(1), nullptr, false);
  if (decoded.is_discarded() || !decoded.is_object()) __builtin_trap();

  std::string undecoded_text;
  AppendUndecodedJson(*format, message.size(), undecoded_text);
  const auto undecoded = nlohmann::json::parse(undecoded_text, nullptr, false);
  if (undecoded.is_discarded() || !undecoded.is_array()) __builtin_trap();
  if (undecoded.size() != left_out) __builtin_trap();
  if (decoded.size() + left_out != format->fields().size()) __builtin_trap();

  size_t next_undecoded = 0;
  for (size_t i = 0; i < format->fields().size(); ++i) {
    const PayloadField& f = format->fields()[i];
    const bool fits = static_cast<size_t>(f.offset) + f.size <= message.size();
    std::string value;
    if (AppendFieldJson(*format, i, message, value) != fits) __builtin_trap();
    if (!fits) {
      if (undecoded[next_undecoded++] != f.name) __builtin_trap();
      continue;
    }
    const auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_discarded() || !decoded.contains(f.name)) __builtin_trap();
    // NaN is written as null, so json equality holds for every value.
    if (decoded[f.name] != parsed) __builtin_trap();
  }
  return 0;
}
