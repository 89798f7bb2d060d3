#include "core/base64.h"

#include <gtest/gtest.h>

namespace roost {
namespace {

TEST(Base64, RoundTripsAllLengths) {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    auto decoded = DecodeBase64(EncodeBase64(bytes));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(n * 37);
  }
  EXPECT_EQ(EncodeBase64("login:pass"), "bG9naW46cGFzcw==");
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(DecodeBase64("abc").ok());
  EXPECT_FALSE(DecodeBase64("ab=c").ok());
  EXPECT_FALSE(DecodeBase64("a=b=").ok());
  EXPECT_FALSE(DecodeBase64("ab$c").ok());
  EXPECT_FALSE(DecodeBase64("ab==abcd").ok());
}

}  // namespace
}  // namespace roost
