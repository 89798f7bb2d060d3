#include "api/auth.h"

#include <gtest/gtest.h>

#include <vector>

#include "api/login_throttle.h"

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

TEST(LoginThrottle, PerPrincipalWindow) {
  LoginThrottle t({.per_principal = 3, .per_address = 100, .window_ms = 1000, .max_tracked = 100});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.RetryAfterMs("alice", "10.0.0.1:5000", 100), 0);
    t.RecordFailure("alice", "10.0.0.1:5000", 100);
  }
  EXPECT_EQ(t.RetryAfterMs("alice", "10.0.0.9:1", 400), 700);  // another address: still blocked
  EXPECT_EQ(t.RetryAfterMs("bob", "10.0.0.1:5001", 400), 0);
  EXPECT_EQ(t.RetryAfterMs("alice", "10.0.0.1:5000", 1100), 0);  // window over
  t.RecordFailure("alice", "10.0.0.1:5000", 1100);
  EXPECT_EQ(t.RetryAfterMs("alice", "10.0.0.1:5000", 1100), 0);  // new window, one failure
}

TEST(LoginThrottle, PerAddressAcrossPrincipals) {
  LoginThrottle t({.per_principal = 100, .per_address = 5, .window_ms = 1000, .max_tracked = 100});
  for (int i = 0; i < 5; ++i)
    t.RecordFailure("user" + std::to_string(i), "192.0.2.7:" + std::to_string(i), 0);
  EXPECT_GT(t.RetryAfterMs("someone-else", "192.0.2.7:999", 10), 0);
  EXPECT_EQ(t.RetryAfterMs("someone-else", "192.0.2.8:999", 10), 0);
}

TEST(LoginThrottle, SuccessForgetsPrincipalOnly) {
  LoginThrottle t({.per_principal = 2, .per_address = 2, .window_ms = 1000, .max_tracked = 100});
  t.RecordFailure("a", "198.51.100.1:1", 0);
  t.RecordFailure("a", "198.51.100.1:2", 0);
  t.RecordSuccess("a");
  EXPECT_GT(t.RetryAfterMs("a", "198.51.100.1:3", 1), 0);  // the address is still over
  EXPECT_EQ(t.RetryAfterMs("a", "198.51.100.2:3", 1), 0);
}

TEST(LoginThrottle, MemoryIsBounded) {
  LoginThrottle t({.per_principal = 3, .per_address = 3, .window_ms = 1000, .max_tracked = 50});
  for (int i = 0; i < 1000; ++i)
    t.RecordFailure("u" + std::to_string(i), "a" + std::to_string(i), i);
  EXPECT_LE(t.tracked(), 50u);
}

}  // namespace
}  // namespace roost::api
