#include "crypto/aes.h"

#include <gtest/gtest.h>

#include "core/hex.h"

namespace roost::crypto {
namespace {

Key128 KeyFromHex(const char* hex) {
  Key128 key{};
  EXPECT_TRUE(FromHexInto(hex, key).ok());
  return key;
}

Bytes B(const char* hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : Bytes{};
}

Block BlockFromHex(const char* hex) {
  Block b{};
  EXPECT_TRUE(FromHexInto(hex, b).ok());
  return b;
}

// SP 800-38A, F.1 / F.2: AES-128 key and the four plaintext blocks.
constexpr const char* kSpKey = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr const char* kSpPlain =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";

TEST(Aes128, Fips197AppendixC1) {
  const Aes128 aes(KeyFromHex("000102030405060708090a0b0c0d0e0f"));
  const Block plain = BlockFromHex("00112233445566778899aabbccddeeff");
  const Block cipher = aes.EncryptBlock(plain);
  EXPECT_EQ(ToHex(cipher), "69c4e0d86a7b0430d8cdb78070b4c55a");
  EXPECT_EQ(aes.DecryptBlock(cipher), plain);
}

TEST(Aes128, Sp800_38aEcb) {
  const Aes128 aes(KeyFromHex(kSpKey));
  const Bytes plain = B(kSpPlain);
  Bytes cipher(plain.size());
  aes.EncryptEcb(plain, cipher);
  EXPECT_EQ(ToHex(cipher),
            "3ad77bb40d7a3660a89ecaf32466ef97"
            "f5d3d58503b9699de785895a96fdbaaf"
            "43b1cd7f598ece23881b00e3ed030688"
            "7b0c785e27e8ad3f8223207104725dd4");
  Bytes back(cipher.size());
  aes.DecryptEcb(cipher, back);
  EXPECT_EQ(back, plain);
}

TEST(Aes128, EcbInPlace) {
  const Aes128 aes(KeyFromHex(kSpKey));
  Bytes data = B(kSpPlain);
  aes.EncryptEcb(data, data);
  EXPECT_EQ(ToHex(std::span(data).first(16)), "3ad77bb40d7a3660a89ecaf32466ef97");
  aes.DecryptEcb(data, data);
  EXPECT_EQ(ToHex(data), kSpPlain);
}

TEST(Aes128, Sp800_38aCbc) {
  const Key128 key = KeyFromHex(kSpKey);
  const Block iv = BlockFromHex("000102030405060708090a0b0c0d0e0f");
  const Bytes plain = B(kSpPlain);
  Bytes cipher(plain.size());
  EncryptCbc(key, iv, plain, cipher);
  EXPECT_EQ(ToHex(cipher),
            "7649abac8119b246cee98e9b12e9197d"
            "5086cb9b507219ee95db113a917678b2"
            "73bed6b8e3c1743b7116e69e22229516"
            "3ff1caa1681fac09120eca307586e1a7");
  Bytes back(cipher.size());
  DecryptCbc(key, iv, cipher, back);
  EXPECT_EQ(back, plain);
}

TEST(Aes128, MovedInstanceKeepsItsKey) {
  Aes128 a(KeyFromHex("000102030405060708090a0b0c0d0e0f"));
  Aes128 b(std::move(a));
  EXPECT_EQ(ToHex(b.EncryptBlock(BlockFromHex("00112233445566778899aabbccddeeff"))),
            "69c4e0d86a7b0430d8cdb78070b4c55a");
}

TEST(Aes128, EmptyEcbIsANoOp) {
  const Aes128 aes(KeyFromHex(kSpKey));
  Bytes empty;
  aes.EncryptEcb(empty, empty);
  EXPECT_TRUE(empty.empty());
}

TEST(Cleanse, ZeroesMemory) {
  Block secret = BlockFromHex("69c4e0d86a7b0430d8cdb78070b4c55a");
  Cleanse(secret.data(), secret.size());
  EXPECT_EQ(secret, Block{});
}

}  // namespace
}  // namespace roost::crypto
