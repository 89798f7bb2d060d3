#include "provisioning/keys.h"

#include <algorithm>
#include <cassert>

#include "crypto/aes.h"

namespace roost::provisioning {
namespace {

Key128 DeriveOne(const Key128& key, const RDevEui& rdev_eui, uint8_t fill) {
  crypto::Block block{};
  std::copy(rdev_eui.begin(), rdev_eui.end(), block.begin());
  std::fill(block.begin() + 8, block.end(), fill);
  return crypto::Aes128(key).EncryptBlock(block);
}

}  // namespace

SessionKeys::~SessionKeys() {
  crypto::Cleanse(app_key.data(), app_key.size());
  crypto::Cleanse(nwk_key.data(), nwk_key.size());
  crypto::Cleanse(prov_key.data(), prov_key.size());
}

SessionKeys DeriveSessionKeys(std::span<const uint8_t, crypto::kK233PointSize> shared_point,
                              const RDevEui& rdev_eui) {
  SessionKeys keys;
  Key128 k{};
  std::copy_n(shared_point.begin(), 16, k.begin());
  keys.app_key = DeriveOne(k, rdev_eui, 0x01);
  std::copy_n(shared_point.begin() + 32, 16, k.begin());
  keys.nwk_key = DeriveOne(k, rdev_eui, 0x02);
  std::copy_n(shared_point.begin() + 16, 8, k.begin());
  std::copy_n(shared_point.begin() + 48, 8, k.begin() + 8);
  keys.prov_key = DeriveOne(k, rdev_eui, 0x03);
  crypto::Cleanse(k.data(), k.size());
  return keys;
}

void CryptAuthPayload(const Key128& prov_key, Direction dir, const RDevEui& rdev_eui,
                      std::span<const uint8_t> in, std::span<uint8_t> out) {
  assert(in.size() == out.size() && in.size() <= 255 * 16);
  const crypto::Aes128 aes(prov_key);
  crypto::Block a{};
  a[0] = 0x02;
  a[5] = static_cast<uint8_t>(dir);
  std::copy(rdev_eui.begin(), rdev_eui.end(), a.begin() + 6);
  for (size_t offset = 0; offset < in.size(); offset += 16) {
    a[15] = static_cast<uint8_t>(offset / 16 + 1);
    crypto::Block s = aes.EncryptBlock(a);
    const size_t n = std::min<size_t>(16, in.size() - offset);
    for (size_t j = 0; j < n; ++j) out[offset + j] = in[offset + j] ^ s[j];
    crypto::Cleanse(s.data(), s.size());
  }
}

}  // namespace roost::provisioning
