#include "core/identifiers.h"

#include <cstdio>

#include "core/hex.h"
#include "core/text.h"

namespace roost {
namespace {

// Input quoted in a refusal: clients see it, so it must be printable and short.
std::string Quote(std::string_view s) {
  return "'" + QuoteForMessage(s, 40) + "'";
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Strips separators from a byte-grouped hex string ("AA-BB:CC"). Separators may
// only sit between two-digit groups; anything else is an error.
Result<std::string> StripByteSeparators(std::string_view s, std::string_view allowed,
                                        const char* what, size_t bytes) {
  std::string digits;
  digits.reserve(bytes * 2);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (IsHexDigit(c)) {
      digits += c;
    } else if (allowed.find(c) != std::string_view::npos) {
      const bool after_separator = i > 0 && allowed.find(s[i - 1]) != std::string_view::npos;
      if (digits.empty() || digits.size() % 2 != 0 || after_separator || i + 1 == s.size()) {
        return Status::InvalidInput(std::string(what) + " " + Quote(s) +
                                    ": misplaced separator at position " + std::to_string(i + 1));
      }
    } else {
      return Status::InvalidInput(std::string(what) + " " + Quote(s) +
                                  ": not a hex digit at position " + std::to_string(i + 1));
    }
  }
  if (digits.size() != bytes * 2) {
    return Status::InvalidInput(std::string(what) + " " + Quote(s) + ": expected " +
                                std::to_string(bytes * 2) + " hex digits, got " +
                                std::to_string(digits.size()));
  }
  return digits;
}

// Never quotes `s`: a PAC is a secret, and one digit off it is nearly the
// real one (the message may be stored as a job's failure and shown to readers).
Status ExactHex(std::string_view s, size_t digits, const char* what) {
  if (s.size() != digits) {
    return Status::InvalidInput(std::string(what) + ": expected " + std::to_string(digits) +
                                " hex digits, got " + std::to_string(s.size()));
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsHexDigit(s[i])) {
      return Status::InvalidInput(std::string(what) + ": not a hex digit at position " +
                                  std::to_string(i + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string SigfoxId::ToApi() const {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%X", value);
  return buf;
}

std::string SigfoxId::ToFile() const {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", value);
  return buf;
}

Result<SigfoxId> ParseSigfoxId(std::string_view text) {
  std::string_view s = TrimSpace(text);
  std::string_view digits = s;
  if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits.size() > 8) {
    return Status::InvalidInput("device ID " + Quote(s) + ": expected 1 to 8 hex digits, got " +
                                std::to_string(digits.size()));
  }
  uint32_t v = 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    int d = HexValue(digits[i]);
    if (d < 0) {
      return Status::InvalidInput("device ID " + Quote(s) + ": not a hex digit at position " +
                                  std::to_string(i + 1 + (s.size() - digits.size())));
    }
    v = v << 4 | static_cast<uint32_t>(d);
  }
  return SigfoxId{v};
}

Result<std::string> ParsePac(std::string_view text) {
  std::string_view s = TrimSpace(text);
  ROOST_RETURN_IF_ERROR(ExactHex(s, 16, "PAC"));
  return Upper(s);
}

Result<Key128> ParseKey128(std::string_view text) {
  std::string_view s = TrimSpace(text);
  // Never echo key material in an error: it may be nearly right.
  if (s.size() != 32) {
    return Status::InvalidInput("key: expected 32 hex digits, got " + std::to_string(s.size()));
  }
  Key128 key{};
  for (size_t i = 0; i < 32; ++i) {
    if (!IsHexDigit(s[i])) {
      return Status::InvalidInput("key: not a hex digit at position " + std::to_string(i + 1));
    }
  }
  ROOST_RETURN_IF_ERROR(FromHexInto(s, key));
  return key;
}

Result<std::string> ParseProductCertificate(std::string_view text) {
  std::string_view s = TrimSpace(text);
  auto bad = [&](const std::string& why) {
    return Status::InvalidInput("product certificate " + Quote(s) + ": " + why +
                                " (expected like P_0004_D356_03)");
  };
  if (s.empty() || (s[0] != 'P' && s[0] != 'p')) return bad("must start with P");
  const size_t group_len[3] = {4, 4, 2};
  std::string out = "P";
  size_t pos = 1;
  for (size_t g = 0; g < 3; ++g) {
    if (pos >= s.size() || (s[pos] != '_' && s[pos] != ' ' && s[pos] != '-')) {
      return bad("missing separator before group " + std::to_string(g + 1));
    }
    ++pos;
    if (pos + group_len[g] > s.size()) return bad("group " + std::to_string(g + 1) + " too short");
    std::string_view group = s.substr(pos, group_len[g]);
    for (char c : group) {
      if (!IsHexDigit(c)) return bad("group " + std::to_string(g + 1) + " is not hex");
    }
    out += '_';
    out += Upper(group);
    pos += group_len[g];
  }
  if (pos != s.size()) return bad("unexpected text after the revision");
  return out;
}

bool IsBase32Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

Result<std::string> ParseProvisionId(std::string_view text) {
  std::string_view s = TrimSpace(text);
  if (s.size() != kProvisionIdLength) {
    return Status::InvalidInput("Provision ID " + Quote(s) + ": expected 20 characters, got " +
                                std::to_string(s.size()));
  }
  std::string out = Upper(s);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!IsBase32Char(out[i])) {
      return Status::InvalidInput(
          "Provision ID " + Quote(s) + ": '" + QuoteForMessage(s.substr(i, 1)) + "' at position " +
          std::to_string(i + 1) + " is not in the Base32 alphabet (A-Z, 2-7)");
    }
  }
  return out;
}

std::string Eui64::ToString() const {
  return ToHex(bytes);
}

uint64_t Eui64::ToU64() const {
  uint64_t v = 0;
  for (uint8_t b : bytes) v = v << 8 | b;
  return v;
}

Eui64 Eui64::FromU64(uint64_t v) {
  Eui64 e;
  for (int i = 7; i >= 0; --i) {
    e.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return e;
}

Result<Eui64> ParseEui64(std::string_view text) {
  std::string_view s = TrimSpace(text);
  auto digits = StripByteSeparators(s, "-:", "EUI-64", 8);
  if (!digits.ok()) return digits.status();
  Eui64 e;
  ROOST_RETURN_IF_ERROR(FromHexInto(*digits, e.bytes));
  return e;
}

Result<std::array<uint8_t, 6>> ParseMac48(std::string_view text) {
  std::string_view s = TrimSpace(text);
  auto digits = StripByteSeparators(s, "-:.", "MAC address", 6);
  if (!digits.ok()) return digits.status();
  std::array<uint8_t, 6> mac{};
  ROOST_RETURN_IF_ERROR(FromHexInto(*digits, mac));
  return mac;
}

Eui64 EuiFromMac(const std::array<uint8_t, 6>& mac) {
  return Eui64{{mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}};
}

}  // namespace roost
