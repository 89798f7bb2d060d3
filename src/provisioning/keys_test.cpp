#include "provisioning/keys.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <new>

#include "core/hex.h"
#include "crypto/aes.h"
#include "provisioning/test_vectors.h"

namespace roost::provisioning {
namespace {

using testing::HexArray;
using testing::HexBytes;
using testing::Vectors;

TEST(Keys, SeedDerivation) {
  const auto& v = Vectors()["seed"]["keyDerivation"];
  const auto shared = HexArray<64>(v["sharedKey"]);
  const auto rdev = HexArray<8>(v["rDevEUI"]);
  const SessionKeys keys = DeriveSessionKeys(shared, rdev);
  EXPECT_EQ(ToHex(keys.app_key), v["appKey"].get<std::string>());
  EXPECT_EQ(ToHex(keys.nwk_key), v["nwkKey"].get<std::string>());
  EXPECT_EQ(ToHex(keys.prov_key), v["provKey"].get<std::string>());
}

TEST(Keys, TranscriptDerivation) {
  ASSERT_FALSE(Vectors()["transcripts"].empty());
  for (const auto& t : Vectors()["transcripts"]) {
    const SessionKeys keys =
        DeriveSessionKeys(HexArray<64>(t["sharedKey"]), HexArray<8>(t["rDevEUI"]));
    EXPECT_EQ(ToHex(keys.app_key), t["appKey"].get<std::string>());
    EXPECT_EQ(ToHex(keys.nwk_key), t["nwkKey"].get<std::string>());
    EXPECT_EQ(ToHex(keys.prov_key), t["provKey"].get<std::string>());
  }
}

TEST(Keys, DerivationReadsBothHalvesOfThePoint) {
  const auto& v = Vectors()["seed"]["keyDerivation"];
  auto shared = HexArray<64>(v["sharedKey"]);
  const auto rdev = HexArray<8>(v["rDevEUI"]);
  const SessionKeys before = DeriveSessionKeys(shared, rdev);
  shared[50] ^= 1;  // in y, inside the ProvKey's key bytes 48..55
  const SessionKeys after = DeriveSessionKeys(shared, rdev);
  EXPECT_EQ(after.app_key, before.app_key);
  EXPECT_EQ(after.nwk_key, before.nwk_key);
  EXPECT_NE(after.prov_key, before.prov_key);
}

TEST(Keys, AuthUplinkDecryptsToPlaintext) {
  for (const auto& t : Vectors()["transcripts"]) {
    const Bytes phy = HexBytes(t["authUplinkPHYPayload"]);
    ASSERT_EQ(phy.size(), 1u + 61u + 4u);
    const auto encrypted = std::span(phy).subspan(10, 52);
    Bytes plain(52);
    CryptAuthPayload(HexArray<16>(t["provKey"]), Direction::kUplink, HexArray<8>(t["rDevEUI"]),
                     encrypted, plain);
    EXPECT_EQ(ToHex(plain), t["authPlaintext"].get<std::string>());
    // The downlink keystream is a different one.
    CryptAuthPayload(HexArray<16>(t["provKey"]), Direction::kDownlink, HexArray<8>(t["rDevEUI"]),
                     encrypted, plain);
    EXPECT_NE(ToHex(plain), t["authPlaintext"].get<std::string>());
  }
}

TEST(Keys, CryptIsItsOwnInverseAndWorksInPlace) {
  Key128 key{};
  key[0] = 7;
  RDevEui rdev{1, 2, 3, 4, 5, 6, 7, 8};
  Bytes data(40);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  const Bytes original = data;
  CryptAuthPayload(key, Direction::kDownlink, rdev, data, data);
  EXPECT_NE(data, original);
  CryptAuthPayload(key, Direction::kDownlink, rdev, data, data);
  EXPECT_EQ(data, original);
}

TEST(Keys, KeystreamBlockLayout) {
  // S_1 = AES(ProvKey, 02 00 00 00 00 dir rDevEUI 00 01): encrypting zeros shows it.
  const Key128 key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                   0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
  const RDevEui rdev{0x81, 0x82, 0x83, 0xff, 0xfe, 0x84, 0x85, 0x86};
  Bytes zeros(32, 0), stream(32);
  CryptAuthPayload(key, Direction::kUplink, rdev, zeros, stream);
  crypto::Block a1{0x02, 0, 0, 0, 0, 0x00, 0x81, 0x82, 0x83, 0xff, 0xfe, 0x84, 0x85, 0x86, 0, 1};
  crypto::Block a2 = a1;
  a2[15] = 2;
  const crypto::Aes128 aes(key);
  EXPECT_EQ(ToHex(std::span(stream).first(16)), ToHex(aes.EncryptBlock(a1)));
  EXPECT_EQ(ToHex(std::span(stream).subspan(16)), ToHex(aes.EncryptBlock(a2)));
}

TEST(Keys, SessionKeysWipedOnDestruction) {
  alignas(SessionKeys) unsigned char storage[sizeof(SessionKeys)];
  auto* keys = new (storage) SessionKeys();
  keys->app_key.fill(0xaa);
  keys->nwk_key.fill(0xbb);
  keys->prov_key.fill(0xcc);
  keys->~SessionKeys();
  for (unsigned char byte : storage) EXPECT_EQ(byte, 0);
}

}  // namespace
}  // namespace roost::provisioning
