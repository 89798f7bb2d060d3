#include "crypto/hash.h"

#include <gtest/gtest.h>

#include "core/hex.h"

namespace roost::crypto {
namespace {

Bytes B(const char* hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : Bytes{};
}

TEST(Sha256, Abc) {
  EXPECT_EQ(ToHex(Sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, Empty) {
  EXPECT_EQ(ToHex(Sha256(std::string_view())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256(std::span<const uint8_t>())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, BytesAndTextAgree) {
  const Bytes abc = {'a', 'b', 'c'};
  EXPECT_EQ(Sha256(abc), Sha256(std::string_view("abc")));
}

// RFC 4493, section 4: AES-CMAC with K = 2b7e1516 28aed2a6 abf71588 09cf4f3c.
class Rfc4493 : public ::testing::Test {
 protected:
  Key128 key_{};
  Bytes message_ =
      B("6bc1bee22e409f96e93d7e117393172a"
        "ae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52ef"
        "f69f2445df4f9b17ad2b417be66c3710");
  void SetUp() override { ASSERT_TRUE(FromHexInto("2b7e151628aed2a6abf7158809cf4f3c", key_).ok()); }
  std::string MacOfFirst(size_t n) { return ToHex(Cmac(key_, std::span(message_).first(n))); }
};

TEST_F(Rfc4493, Length0) {
  EXPECT_EQ(MacOfFirst(0), "bb1d6929e95937287fa37d129b756746");
}
TEST_F(Rfc4493, Length16) {
  EXPECT_EQ(MacOfFirst(16), "070a16b46b4d4144f79bdd9dd04a287c");
}
TEST_F(Rfc4493, Length40) {
  EXPECT_EQ(MacOfFirst(40), "dfa66747de9ae63030ca32611497c827");
}
TEST_F(Rfc4493, Length64) {
  EXPECT_EQ(MacOfFirst(64), "51f0bebf7e3b9d92fc49741779363cfe");
}

TEST(Cmac, KeyMatters) {
  Key128 a{}, b{};
  b[15] = 1;
  const Bytes data = {1, 2, 3};
  EXPECT_NE(Cmac(a, data), Cmac(b, data));
}

}  // namespace
}  // namespace roost::crypto
