// Hexadecimal text <-> bytes. Pure, no allocation beyond the returned value.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost {

using Bytes = std::vector<uint8_t>;

// Lowercase hex of `data`.
std::string ToHex(std::span<const uint8_t> data);
// Uppercase hex of `data`.
std::string ToHexUpper(std::span<const uint8_t> data);

// Decodes an even number of hex digits (either case). The error names the
// offending character position.
Result<Bytes> FromHex(std::string_view text);

// Decodes exactly out.size() bytes of hex into `out`.
Status FromHexInto(std::string_view text, std::span<uint8_t> out);

inline bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace roost
