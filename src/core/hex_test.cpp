#include "core/hex.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <random>
#include <string>

namespace roost {
namespace {

TEST(Hex, EncodesLowerAndUpper) {
  const Bytes data = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(ToHex(data), "00017f80abff");
  EXPECT_EQ(ToHexUpper(data), "00017F80ABFF");
  EXPECT_EQ(ToHex(Bytes{}), "");
  EXPECT_EQ(ToHexUpper(Bytes{}), "");
}

TEST(Hex, DecodesEitherCase) {
  auto lower = FromHex("deadbeef00");
  auto upper = FromHex("DEADBEEF00");
  auto mixed = FromHex("DeAdBeEf00");
  ASSERT_TRUE(lower.ok() && upper.ok() && mixed.ok());
  const Bytes want = {0xde, 0xad, 0xbe, 0xef, 0x00};
  EXPECT_EQ(*lower, want);
  EXPECT_EQ(*upper, want);
  EXPECT_EQ(*mixed, want);
  auto empty = FromHex("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Hex, RoundTripsRandomBytes) {
  std::mt19937 rng(42);
  for (size_t len = 0; len < 100; ++len) {
    Bytes data(len);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    auto lower = FromHex(ToHex(data));
    auto upper = FromHex(ToHexUpper(data));
    ASSERT_TRUE(lower.ok() && upper.ok());
    EXPECT_EQ(*lower, data);
    EXPECT_EQ(*upper, data);
    EXPECT_EQ(ToHex(data).size(), 2 * len);
  }
}

TEST(Hex, OddLengthIsRejected) {
  auto r = FromHex("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("odd number of hex digits (3)"), std::string::npos);
}

TEST(Hex, BadDigitIsNamedByPosition) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"g0", "position 1: 'g'"},   {"0g", "position 2: 'g'"},       {"0011 2", "position 5: ' '"},
      {"00x1", "position 3: 'x'"}, {"abcdeF-1", "position 7: '-'"},
  };
  for (const auto& c : cases) {
    auto r = FromHex(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

TEST(Hex, FromHexIntoNeedsTheExactLength) {
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(FromHexInto("0A0b0C0d", out).ok());
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0x0a, 0x0b, 0x0c, 0x0d}));
  for (const char* bad : {"0A0b0C", "0A0b0C0d0e", ""}) {
    Status s = FromHexInto(bad, out);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("expected 8 hex digits"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(FromHexInto("0A0b0C0z", out).ok());
}

TEST(Hex, DigitClassificationAgreesWithTheCLibrary) {
  const std::string digits = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool is_hex = std::isxdigit(static_cast<unsigned char>(i)) != 0;
    EXPECT_EQ(IsHexDigit(c), is_hex) << i;
    const int want =
        is_hex ? static_cast<int>(digits.find(static_cast<char>(std::tolower(i)))) : -1;
    EXPECT_EQ(HexValue(c), want) << i;
  }
}

}  // namespace
}  // namespace roost
