// Cryptographically secure random bytes (OpenSSL's DRBG, seeded by the OS).
#pragma once

#include <cstdint>
#include <span>

namespace roost::crypto {

// Fills `out` with CSPRNG output. Aborts the process if the generator fails:
// continuing with predictable keys would be worse than stopping.
void RandomBytes(std::span<uint8_t> out);

// A uniformly random integer in [0, bound). bound must be > 0.
uint64_t RandomBelow(uint64_t bound);

}  // namespace roost::crypto
