// SHA-256 and AES-CMAC (RFC 4493) on OpenSSL 3.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/identifiers.h"
#include "crypto/aes.h"

namespace roost::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);
Sha256Digest Sha256(std::string_view text);

// Full 16-byte AES-CMAC of `data` under `key`.
Block Cmac(const Key128& key, std::span<const uint8_t> data);

}  // namespace roost::crypto
