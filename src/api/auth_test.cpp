#include "api/auth.h"

#include <gtest/gtest.h>

#include <vector>

namespace roost::api {
namespace {

TEST(BasicAuth, Parses) {
  auto c = ParseBasicAuthorization("Basic " +
                                   EncodeBase64("5d1c7e2a9b3f4c6d8e0f1a2b:s3cret:with:colons"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->login, "5d1c7e2a9b3f4c6d8e0f1a2b");
  EXPECT_EQ(c->password, "s3cret:with:colons");
  EXPECT_TRUE(ParseBasicAuthorization("basic   " + EncodeBase64("a:")).ok());
}

TEST(BasicAuth, ErrorsNeverEchoTheSecret) {
  EXPECT_EQ(ParseBasicAuthorization("Bearer abc").status().code(), Status::Code::kNotFound);
  const std::vector<std::string> bad_values = {"Basic", "Basic !!!!",
                                               "Basic " + EncodeBase64("nocolon"),
                                               "Basic " + EncodeBase64(":password")};
  for (const std::string& bad : bad_values) {
    auto c = ParseBasicAuthorization(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput);
    EXPECT_EQ(c.status().message().find("password\""), std::string::npos);
    EXPECT_EQ(c.status().message().find("nocolon"), std::string::npos);
  }
}

TEST(BasicAuth, NulOrNonUtf8CredentialsAreRefused) {
  for (const std::string& decoded :
       {std::string("victim\0xyz:pw", 13), std::string("victim:pw\0", 10),
        std::string("vict\xFFim:pw"), std::string("victim:p\xC3w")}) {
    auto c = ParseBasicAuthorization("Basic " + EncodeBase64(decoded));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput);
  }
  auto ok = ParseBasicAuthorization("Basic " + EncodeBase64("caf\xC3\xA9:p\xE2\x82\xACss"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->login, "caf\xC3\xA9");
}

TEST(Cookies, FindsTheNamedCookie) {
  EXPECT_EQ(FindCookie("roost_session=abc", "roost_session"), "abc");
  EXPECT_EQ(FindCookie("a=1; roost_session=abc-_9; b=2", "roost_session"), "abc-_9");
  EXPECT_EQ(FindCookie("a=1;roost_session=\"q\"", "roost_session"), "q");
  EXPECT_EQ(FindCookie("x_roost_session=no; roost_session=yes", "roost_session"), "yes");
  EXPECT_EQ(FindCookie("roost_session=first; roost_session=second", "roost_session"), "first");
  EXPECT_EQ(FindCookie("roost_session=", "roost_session"), "");
  EXPECT_FALSE(FindCookie("", "roost_session").has_value());
  EXPECT_FALSE(FindCookie("a=1; b=2", "roost_session").has_value());
  EXPECT_FALSE(FindCookie("roost_session", "roost_session").has_value());
}

TEST(Cookies, UnsafeMethods) {
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE", "PROPFIND"})
    EXPECT_TRUE(IsUnsafeMethod(m));
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) EXPECT_FALSE(IsUnsafeMethod(m));
}

}  // namespace
}  // namespace roost::api
