#include "core/hex.h"

namespace roost {
namespace {

std::string Encode(std::span<const uint8_t> data, const char* digits) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string ToHex(std::span<const uint8_t> data) {
  return Encode(data, "0123456789abcdef");
}
std::string ToHexUpper(std::span<const uint8_t> data) {
  return Encode(data, "0123456789ABCDEF");
}

Status FromHexInto(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) {
    return Status::InvalidInput("expected " + std::to_string(out.size() * 2) + " hex digits, got " +
                                std::to_string(text.size()));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? 2 * i : 2 * i + 1;
      return Status::InvalidInput("not a hex digit at position " + std::to_string(bad + 1) + ": '" +
                                  std::string(1, text[bad]) + "'");
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Status::Ok();
}

Result<Bytes> FromHex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return Status::InvalidInput("odd number of hex digits (" + std::to_string(text.size()) + ")");
  }
  Bytes out(text.size() / 2);
  Status s = FromHexInto(text, out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace roost
