// AES-128 on OpenSSL 3: single blocks, ECB and CBC (no padding).
//
// Aes128 keeps one expanded key, so encrypting many blocks under the same key
// (a CRA file, a keystream) pays the key schedule once. Not thread-safe: use one
// instance per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "core/identifiers.h"

namespace roost::crypto {

using Block = std::array<uint8_t, 16>;

class Aes128 {
 public:
  explicit Aes128(const Key128& key);
  ~Aes128();
  Aes128(Aes128&&) noexcept;
  Aes128& operator=(Aes128&&) noexcept;

  Block EncryptBlock(const Block& in) const;
  Block DecryptBlock(const Block& in) const;

  // ECB over whole blocks; in.size() must be a multiple of 16 and equal out.size().
  // In-place (in.data() == out.data()) is allowed.
  void EncryptEcb(std::span<const uint8_t> in, std::span<uint8_t> out) const;
  void DecryptEcb(std::span<const uint8_t> in, std::span<uint8_t> out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CBC with the given IV over whole blocks (no padding); sizes as for ECB.
void EncryptCbc(const Key128& key, const Block& iv, std::span<const uint8_t> in,
                std::span<uint8_t> out);
void DecryptCbc(const Key128& key, const Block& iv, std::span<const uint8_t> in,
                std::span<uint8_t> out);

// Overwrites memory that held a secret, in a way the optimiser keeps.
void Cleanse(void* p, size_t n);

}  // namespace roost::crypto
