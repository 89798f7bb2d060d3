#include "crypto/k233.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crypto/aes.h"

namespace roost::crypto {
namespace {

// A broken OpenSSL (no EC2M support, out of memory) is not bad input; there is
// no sensible way to continue without the curve.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "roost: fatal: K-233: %s\n", what);
  std::abort();
}

constexpr int kCoordinateSize = 32;

// Per-thread cached group and scratch values, so that a call allocates only
// what OpenSSL's scalar multiplication allocates internally.
class Context {
 public:
  Context() {
    group_ = EC_GROUP_new_by_curve_name(NID_sect233k1);
    if (group_ == nullptr) Fatal("this OpenSSL has no sect233k1");
    bn_ = BN_CTX_new();
    order_ = EC_GROUP_get0_order(group_);
    k_ = BN_secure_new();
    x_ = BN_new();
    y_ = BN_new();
    peer_ = EC_POINT_new(group_);
    out_ = EC_POINT_new(group_);
    if (bn_ == nullptr || order_ == nullptr || k_ == nullptr || x_ == nullptr || y_ == nullptr ||
        peer_ == nullptr || out_ == nullptr) {
      Fatal("out of memory");
    }
    BN_set_flags(k_, BN_FLG_CONSTTIME);
  }
  ~Context() {
    EC_POINT_free(out_);
    EC_POINT_free(peer_);
    BN_free(y_);
    BN_free(x_);
    BN_clear_free(k_);
    BN_CTX_free(bn_);
    EC_GROUP_free(group_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Loads k mod n into k_. False if it is zero.
  bool LoadScalar(std::span<const uint8_t, kK233ScalarSize> le) {
    if (BN_lebin2bn(le.data(), static_cast<int>(le.size()), k_) == nullptr ||
        BN_nnmod(k_, k_, order_, bn_) != 1) {
      Fatal("scalar conversion failed");
    }
    return !BN_is_zero(k_);
  }

  // A uniformly random k_ in [1, n-1].
  void RandomScalar() {
    do {
      if (BN_priv_rand_range_ex(k_, order_, 0, bn_) != 1) Fatal("random scalar failed");
    } while (BN_is_zero(k_));
  }

  void WriteScalar(std::span<uint8_t, kK233ScalarSize> le) {
    if (BN_bn2lebinpad(k_, le.data(), static_cast<int>(le.size())) != kCoordinateSize) {
      Fatal("scalar encoding failed");
    }
  }

  // Loads and validates a public point into peer_.
  bool LoadPoint(std::span<const uint8_t, kK233PointSize> xy) {
    // Both coordinates are field elements of GF(2^233): bit 232 is the highest
    // allowed, i.e. byte 29 may only be 0 or 1 and bytes 30, 31 must be zero.
    for (size_t half = 0; half < 2; ++half) {
      const uint8_t* c = xy.data() + half * kCoordinateSize;
      if ((c[29] & 0xfe) != 0 || c[30] != 0 || c[31] != 0) return false;
    }
    if (BN_lebin2bn(xy.data(), kCoordinateSize, x_) == nullptr ||
        BN_lebin2bn(xy.data() + kCoordinateSize, kCoordinateSize, y_) == nullptr) {
      Fatal("coordinate conversion failed");
    }
    // Fails for points off the curve (OpenSSL 3 checks the equation here).
    if (EC_POINT_set_affine_coordinates(group_, peer_, x_, y_, bn_) != 1) return false;
    return EC_POINT_is_on_curve(group_, peer_, bn_) == 1 && !EC_POINT_is_at_infinity(group_, peer_);
  }

  // out_ = k_ * G (peer == false) or k_ * peer_.
  void Multiply(bool peer) {
    const int ok = peer ? EC_POINT_mul(group_, out_, nullptr, peer_, k_, bn_)
                        : EC_POINT_mul(group_, out_, k_, nullptr, nullptr, bn_);
    if (ok != 1) Fatal("scalar multiplication failed");
  }

  // Writes out_ as x || y little-endian. False if out_ is the point at infinity.
  bool WriteResult(std::span<uint8_t, kK233PointSize> xy) {
    if (EC_POINT_is_at_infinity(group_, out_)) return false;
    if (EC_POINT_get_affine_coordinates(group_, out_, x_, y_, bn_) != 1 ||
        BN_bn2lebinpad(x_, xy.data(), kCoordinateSize) != kCoordinateSize ||
        BN_bn2lebinpad(y_, xy.data() + kCoordinateSize, kCoordinateSize) != kCoordinateSize) {
      Fatal("point encoding failed");
    }
    return true;
  }

  void ClearSecrets() {
    BN_clear(k_);
    // The result point and its coordinates are the shared secret.
    BN_clear(x_);
    BN_clear(y_);
    EC_POINT_set_to_infinity(group_, out_);
  }

 private:
  EC_GROUP* group_ = nullptr;
  BN_CTX* bn_ = nullptr;
  const BIGNUM* order_ = nullptr;
  BIGNUM* k_ = nullptr;
  BIGNUM* x_ = nullptr;
  BIGNUM* y_ = nullptr;
  EC_POINT* peer_ = nullptr;
  EC_POINT* out_ = nullptr;
};

Context& ThreadContext() {
  thread_local Context context;
  return context;
}

}  // namespace

K233KeyPair::~K233KeyPair() {
  Cleanse(private_le.data(), private_le.size());
}

K233KeyPair K233GenerateKeyPair() {
  Context& c = ThreadContext();
  K233KeyPair pair;
  c.RandomScalar();
  c.WriteScalar(pair.private_le);
  c.Multiply(false);
  if (!c.WriteResult(pair.public_xy)) Fatal("k*G is infinity for k in [1, n-1]");
  c.ClearSecrets();
  return pair;
}

Result<K233KeyPair> K233KeyPairFromPrivate(std::span<const uint8_t, kK233ScalarSize> private_le) {
  Context& c = ThreadContext();
  if (!c.LoadScalar(private_le)) {
    c.ClearSecrets();
    return Status::InvalidInput("K-233 private key is zero modulo the group order");
  }
  K233KeyPair pair;
  std::copy(private_le.begin(), private_le.end(), pair.private_le.begin());
  c.Multiply(false);
  const bool finite = c.WriteResult(pair.public_xy);
  c.ClearSecrets();
  if (!finite) Fatal("k*G is infinity for k mod n != 0");
  return pair;
}

bool K233IsValidPublicKey(std::span<const uint8_t, kK233PointSize> public_xy) {
  return ThreadContext().LoadPoint(public_xy);
}

Result<K233Point> K233SharedPoint(std::span<const uint8_t, kK233ScalarSize> private_le,
                                  std::span<const uint8_t, kK233PointSize> peer_public) {
  Context& c = ThreadContext();
  if (!c.LoadPoint(peer_public)) {
    return Status::InvalidInput(
        "K-233 public key is not a point on the curve (or a coordinate is 2^233 or more)");
  }
  if (!c.LoadScalar(private_le)) {
    c.ClearSecrets();
    return Status::InvalidInput("K-233 private key is zero modulo the group order");
  }
  K233Point shared{};
  c.Multiply(true);
  const bool finite = c.WriteResult(shared);
  c.ClearSecrets();
  if (!finite) {
    return Status::InvalidInput(
        "K-233 shared point is the point at infinity (peer key of small order)");
  }
  return shared;
}

}  // namespace roost::crypto
