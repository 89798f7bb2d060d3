// What a Provision ID proves: its hash (what the device sends) and verify codes
// (what each side computes to show it knows the ID). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "crypto/aes.h"
#include "crypto/hash.h"

namespace roost::provisioning {

// The protocol's fixed key 00 01 02 ... 0f, used for frame MICs and verify codes.
inline constexpr Key128 kFixedKey = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

// The suffix appended before hashing. Part of the protocol; configurable for
// networks that changed it.
inline constexpr std::string_view kDefaultHashSuffix = ".MatchX";

using Nonce = std::array<uint8_t, 4>;
using VerifyCode = crypto::Block;

// SHA256(provisionId || suffix).
crypto::Sha256Digest ProvisionIdHash(std::string_view provision_id,
                                     std::string_view suffix = kDefaultHashSuffix);

// AES-CMAC(fixedKey, provisionId || nonce), all 16 bytes.
VerifyCode ComputeVerifyCode(std::string_view provision_id, std::span<const uint8_t> nonce);

}  // namespace roost::provisioning
