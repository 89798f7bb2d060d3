// The identifiers of Sigfox and LoRaWAN devices: parsing (case-insensitive,
// with an error that says what is wrong) and canonical rendering.
//
// Every Parse* function accepts surrounding whitespace and nothing else extra.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace roost {

// --- Sigfox -----------------------------------------------------------------

// A Sigfox device ID: a 32-bit number. Input: 1-8 hex digits, optional 0x.
struct SigfoxId {
  uint32_t value = 0;
  // Uppercase hex without leading zeros, as the API renders it ("2C").
  std::string ToApi() const;
  // Uppercase hex zero-padded to 8 digits, as files carry it ("0000002C").
  std::string ToFile() const;
  auto operator<=>(const SigfoxId&) const = default;
};
Result<SigfoxId> ParseSigfoxId(std::string_view text);

// A PAC: exactly 16 hex digits; canonical uppercase.
Result<std::string> ParsePac(std::string_view text);

// A 128-bit key given as 32 hex digits (device KEY/NAK, manufacturer encryption key).
using Key128 = std::array<uint8_t, 16>;
Result<Key128> ParseKey128(std::string_view text);

// A Sigfox End-Product certificate: P, manufacturer code (4 hex), certification
// code (4 hex), revision (2 hex), separated by '_', ' ' or '-'. Canonical
// "P_0004_D356_03".
Result<std::string> ParseProductCertificate(std::string_view text);

// --- LoRaWAN ----------------------------------------------------------------

// A Provision ID: 20 characters of the RFC 4648 Base32 alphabet. Canonical uppercase.
inline constexpr size_t kProvisionIdLength = 20;
Result<std::string> ParseProvisionId(std::string_view text);
bool IsBase32Char(char c);  // uppercase alphabet only: A-Z, 2-7

// An EUI-64: 16 hex digits, optionally separated by '-' or ':' between bytes.
struct Eui64 {
  std::array<uint8_t, 8> bytes{};  // big-endian, as written
  // Lowercase hex, no separators ("010203fffe040506").
  std::string ToString() const;
  uint64_t ToU64() const;
  static Eui64 FromU64(uint64_t v);
  auto operator<=>(const Eui64&) const = default;
};
Result<Eui64> ParseEui64(std::string_view text);

// A MAC-48: 12 hex digits, optionally separated by '-', ':' or '.'.
Result<std::array<uint8_t, 6>> ParseMac48(std::string_view text);
// MAC-48 -> EUI-64 by inserting FF FE between byte 3 and byte 4.
Eui64 EuiFromMac(const std::array<uint8_t, 6>& mac);

}  // namespace roost
