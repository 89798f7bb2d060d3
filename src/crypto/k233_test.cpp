#include "crypto/k233.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/hex.h"

namespace roost::crypto {
namespace {

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/provisioning.json");
  EXPECT_TRUE(in.good()) << "cannot open provisioning.json under " << ROOST_VECTORS_DIR;
  return nlohmann::json::parse(in);
}

template <size_t N>
std::array<uint8_t, N> HexArray(const std::string& text) {
  std::array<uint8_t, N> out{};
  Status s = FromHexInto(text, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// The group order n of sect233k1, little-endian.
K233Scalar OrderLe() {
  // n = 0x8000000000000000000000000000069D5BB915BCD46EFB1AD5F173ABDF (big-endian)
  auto be = HexArray<32>("0000008000000000000000000000000000069d5bb915bcd46efb1ad5f173abdf");
  K233Scalar le{};
  for (size_t i = 0; i < 32; ++i) le[i] = be[31 - i];
  return le;
}

TEST(K233, TranscriptServerPublicKeyFromPrivate) {
  const auto vectors = LoadVectors();
  ASSERT_FALSE(vectors["transcripts"].empty());
  for (const auto& t : vectors["transcripts"]) {
    auto priv = HexArray<32>(t["serverPrivateKeyLE"]);
    auto pair = K233KeyPairFromPrivate(priv);
    ASSERT_TRUE(pair.ok()) << pair.status().message();
    EXPECT_EQ(ToHex(pair->public_xy), t["serverPublicKey"].get<std::string>());
    EXPECT_EQ(pair->private_le, priv);
    EXPECT_TRUE(K233IsValidPublicKey(pair->public_xy));
  }
}

TEST(K233, TranscriptSharedPoint) {
  const auto vectors = LoadVectors();
  for (const auto& t : vectors["transcripts"]) {
    auto priv = HexArray<32>(t["serverPrivateKeyLE"]);
    auto device = HexArray<64>(t["devicePublicKey"]);
    EXPECT_TRUE(K233IsValidPublicKey(device));
    auto shared = K233SharedPoint(priv, device);
    ASSERT_TRUE(shared.ok()) << shared.status().message();
    EXPECT_EQ(ToHex(*shared), t["sharedKey"].get<std::string>());
  }
}

TEST(K233, GeneratedKeysAgree) {
  K233KeyPair a = K233GenerateKeyPair();
  K233KeyPair b = K233GenerateKeyPair();
  EXPECT_NE(a.private_le, b.private_le);
  EXPECT_NE(a.public_xy, b.public_xy);
  EXPECT_TRUE(K233IsValidPublicKey(a.public_xy));
  EXPECT_TRUE(K233IsValidPublicKey(b.public_xy));
  // A generated private key is below n: the top 3 bytes of a 232-bit value are zero.
  EXPECT_EQ(a.private_le[29], 0);
  EXPECT_EQ(a.private_le[30], 0);
  EXPECT_EQ(a.private_le[31], 0);

  auto again = K233KeyPairFromPrivate(a.private_le);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_xy, a.public_xy);

  auto ab = K233SharedPoint(a.private_le, b.public_xy);
  auto ba = K233SharedPoint(b.private_le, a.public_xy);
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(ba.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_TRUE(K233IsValidPublicKey(*ab));
}

TEST(K233, PrivateKeyIsReducedModuloOrder) {
  // k = 1 and k = n + 1 give the generator.
  K233Scalar one{};
  one[0] = 1;
  K233Scalar n_plus_one = OrderLe();
  n_plus_one[0] = static_cast<uint8_t>(n_plus_one[0] + 1);  // n ends in 0xdf: no carry
  auto g1 = K233KeyPairFromPrivate(one);
  auto g2 = K233KeyPairFromPrivate(n_plus_one);
  ASSERT_TRUE(g1.ok());
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(g1->public_xy, g2->public_xy);
  // The generator of sect233k1 (SEC 2), x coordinate big-endian
  // 017232BA853A7E731AF129F22FF4149563A419C26BF50A4C9D6EEFAD6126.
  EXPECT_EQ(ToHex(std::span(g1->public_xy).first(32)),
            "2661adef6e9d4c0af56bc219a4639514f42ff229f11a737e3a85ba3272010000");
}

TEST(K233, RejectsZeroPrivateKey) {
  K233Scalar zero{};
  auto pair = K233KeyPairFromPrivate(zero);
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(pair.status().message().find("zero modulo"), std::string::npos);

  auto n = K233KeyPairFromPrivate(OrderLe());
  EXPECT_FALSE(n.ok());

  K233KeyPair peer = K233GenerateKeyPair();
  auto shared = K233SharedPoint(zero, peer.public_xy);
  EXPECT_FALSE(shared.ok());
}

TEST(K233, RejectsAllZeroPublicKey) {
  K233Point zero{};
  EXPECT_FALSE(K233IsValidPublicKey(zero));
  K233KeyPair own = K233GenerateKeyPair();
  auto shared = K233SharedPoint(own.private_le, zero);
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(shared.status().message().find("not a point on the curve"), std::string::npos);
}

TEST(K233, RejectsPointOffCurve) {
  K233KeyPair own = K233GenerateKeyPair();
  K233KeyPair peer = K233GenerateKeyPair();
  K233Point bad = peer.public_xy;
  bad[40] ^= 0x01;  // flip one bit of y
  EXPECT_FALSE(K233IsValidPublicKey(bad));
  EXPECT_FALSE(K233SharedPoint(own.private_le, bad).ok());
  bad = peer.public_xy;
  bad[3] ^= 0x80;  // flip one bit of x
  EXPECT_FALSE(K233IsValidPublicKey(bad));
}

TEST(K233, RejectsCoordinatesOf234BitsOrMore) {
  K233KeyPair peer = K233GenerateKeyPair();
  for (size_t index : {29u, 30u, 31u, 61u, 62u, 63u}) {
    K233Point bad = peer.public_xy;
    bad[index] |= 0x80;
    EXPECT_FALSE(K233IsValidPublicKey(bad)) << "byte " << index;
  }
  // x + 2^233 would reduce to the same field element in a careless decoder.
  K233Point bad = peer.public_xy;
  bad[29] ^= 0x02;
  EXPECT_FALSE(K233IsValidPublicKey(bad));
}

TEST(K233, RejectsSharedPointAtInfinity) {
  // (0, 1) is on K-233 (y^2 + xy = x^3 + 1) and has order 2: an even scalar
  // maps it to infinity.
  K233Point order_two{};
  order_two[32] = 1;
  EXPECT_TRUE(K233IsValidPublicKey(order_two));
  K233Scalar two{};
  two[0] = 2;
  auto shared = K233SharedPoint(two, order_two);
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("infinity"), std::string::npos);
  K233Scalar three{};
  three[0] = 3;
  auto odd = K233SharedPoint(three, order_two);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(*odd, order_two);
}

TEST(K233, ErrorMessagesCarryNoKeyMaterial) {
  K233KeyPair own = K233GenerateKeyPair();
  K233Point zero{};
  auto shared = K233SharedPoint(own.private_le, zero);
  ASSERT_FALSE(shared.ok());
  const std::string hex = ToHex(own.private_le);
  EXPECT_EQ(shared.status().message().find(hex.substr(0, 8)), std::string::npos);
}

TEST(K233, KeyPairWipesPrivateKeyOnDestruction) {
  alignas(K233KeyPair) unsigned char storage[sizeof(K233KeyPair)];
  auto* pair = new (storage) K233KeyPair(K233GenerateKeyPair());
  pair->~K233KeyPair();
  const auto* raw = reinterpret_cast<const uint8_t*>(storage) + offsetof(K233KeyPair, private_le);
  for (size_t i = 0; i < kK233ScalarSize; ++i) EXPECT_EQ(raw[i], 0) << "byte " << i;
}

TEST(K233, WorksFromSeveralThreads) {
  const auto vectors = LoadVectors();
  const auto& t = vectors["transcripts"][0];
  auto priv = HexArray<32>(t["serverPrivateKeyLE"]);
  auto device = HexArray<64>(t["devicePublicKey"]);
  const std::string expected = t["sharedKey"];
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        auto shared = K233SharedPoint(priv, device);
        if (shared.ok() && ToHex(*shared) == expected) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 20);
}

}  // namespace
}  // namespace roost::crypto
