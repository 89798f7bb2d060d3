// Session key derivation and the Auth payload cipher of LoRaWAN zero-touch
// provisioning (provisioning.md, "Cryptography"). Pure functions, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/identifiers.h"
#include "crypto/k233.h"

namespace roost::provisioning {

// The rDevEUI exactly as its 8 bytes appear in the frames (and in the vectors).
using RDevEui = std::array<uint8_t, 8>;

// The three keys derived from one ECDH exchange. Wiped on destruction.
struct SessionKeys {
  Key128 app_key{};
  Key128 nwk_key{};   // also the OTAA AppKey of LoRaWAN 1.0.x devices
  Key128 prov_key{};  // encrypts the Auth payloads

  SessionKeys() = default;
  SessionKeys(const SessionKeys&) = default;
  SessionKeys& operator=(const SessionKeys&) = default;
  SessionKeys(SessionKeys&&) = default;
  SessionKeys& operator=(SessionKeys&&) = default;
  ~SessionKeys();
};

// From the 64-byte shared point (x || y, little-endian) and the Hello's rDevEUI:
//   AppKey  = AES(shared[0..15],                  rDevEUI || 01 x 8)
//   NwkKey  = AES(shared[32..47],                 rDevEUI || 02 x 8)
//   ProvKey = AES(shared[16..23] || shared[48..55], rDevEUI || 03 x 8)
SessionKeys DeriveSessionKeys(std::span<const uint8_t, crypto::kK233PointSize> shared_point,
                              const RDevEui& rdev_eui);

enum class Direction : uint8_t { kUplink = 0, kDownlink = 1 };

// Encrypts or decrypts (the same operation) an Auth payload: out = in XOR S_1 S_2 ...,
// S_i = AES(ProvKey, 02 || 00 x 4 || dir || rDevEUI || 00 || i), i = 1, 2, ...
// in.size() must equal out.size() and be at most 255 * 16; in-place is allowed.
void CryptAuthPayload(const Key128& prov_key, Direction dir, const RDevEui& rdev_eui,
                      std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace roost::provisioning
