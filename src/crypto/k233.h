// ECDH on NIST K-233 (sect233k1) on OpenSSL 3, in the byte layout of the
// tiny-ECDH library that provisioning firmware uses:
//
//   - a private key is a 32-byte LITTLE-endian integer k; only k mod n matters
//     (n = the group order), so any 32 bytes whose value is not a multiple of n
//     are a usable key;
//   - a public key or a shared point is x || y, each coordinate 32 bytes
//     LITTLE-endian (233 bits, so bytes 30 and 31 are zero and byte 29 is 0 or 1).
//
// The shared point is the whole point k * PeerPublic (64 bytes), not only x.
//
// Thread safety: every function may be called from any thread; each thread
// keeps its own cached OpenSSL group and scratch space. Scalar
// multiplication uses OpenSSL's constant-time Montgomery ladder.
//
// Note (firmware quirk): tiny-ECDH's point doubling on K-233 returns -2P, so a
// firmware public key is k'*G for some k' that is NOT its private key bytes read
// as a number. ECDH still agrees; never expect to recompute a firmware public
// key from a firmware private key with these functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/status.h"

namespace roost::crypto {

inline constexpr size_t kK233ScalarSize = 32;
inline constexpr size_t kK233PointSize = 64;

using K233Scalar = std::array<uint8_t, kK233ScalarSize>;  // little-endian integer
using K233Point = std::array<uint8_t, kK233PointSize>;    // x || y, each little-endian

// A key pair. The private key is wiped when the object is destroyed.
struct K233KeyPair {
  K233Scalar private_le{};
  K233Point public_xy{};

  K233KeyPair() = default;
  K233KeyPair(const K233KeyPair&) = default;
  K233KeyPair& operator=(const K233KeyPair&) = default;
  K233KeyPair(K233KeyPair&&) = default;
  K233KeyPair& operator=(K233KeyPair&&) = default;
  ~K233KeyPair();
};

// A fresh key pair from the CSPRNG; the private scalar is uniform in [1, n-1].
K233KeyPair K233GenerateKeyPair();

// The key pair of a given private key (k mod n is used; private_le keeps the
// bytes as given). Fails if k mod n == 0.
Result<K233KeyPair> K233KeyPairFromPrivate(std::span<const uint8_t, kK233ScalarSize> private_le);

// True if `public_xy` is an affine point on K-233: both coordinates < 2^233,
// the point satisfies the curve equation, and it is not the point at infinity
// (which has no affine encoding; tiny-ECDH's (0, 0) is rejected).
bool K233IsValidPublicKey(std::span<const uint8_t, kK233PointSize> public_xy);

// The ECDH shared point (k mod n) * peer_public. Fails with kInvalidInput if
// the peer key is not valid (see K233IsValidPublicKey), if k mod n == 0, or if
// the product is the point at infinity (a peer point of small order). The error
// message never contains key material.
Result<K233Point> K233SharedPoint(std::span<const uint8_t, kK233ScalarSize> private_le,
                                  std::span<const uint8_t, kK233PointSize> peer_public);

}  // namespace roost::crypto
