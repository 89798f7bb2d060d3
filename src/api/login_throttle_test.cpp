#include "api/login_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace roost::api {
namespace {

using Limits = LoginThrottle::Limits;

// Small limits so that every count is visible: 3 per login+address, 5 per
// address, 6 per login, in 1 s windows (the login's: 10 s), trust for 100 s.
Limits Small() {
  Limits l;
  l.per_login_address = 3;
  l.per_address = 5;
  l.window_ms = 1000;
  l.per_login = 6;
  l.login_window_ms = 10000;
  l.trusted_ms = 100000;
  l.max_tracked = 1000;
  l.max_trusted = 100;
  return l;
}

// `n` wrong attempts; returns how many were allowed (each a real check).
int Fail(LoginThrottle& t, const std::string& login, const std::string& address, int n,
         int64_t now) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += t.Acquire(login, address, now).allowed() ? 1 : 0;
  return allowed;
}

TEST(LoginThrottle, WrongGuessesFromOneAddressDoNotLockTheOwnerOutElsewhere) {
  LoginThrottle t(Small());
  EXPECT_EQ(Fail(t, "admin", "203.0.113.9:4000", 10, 100), 3);
  auto refused = t.Acquire("admin", "203.0.113.9:4001", 200);
  EXPECT_FALSE(refused.allowed());
  EXPECT_EQ(refused.retry_after_ms, 900);
  // The owner, at another address, is checked.
  auto owner = t.Acquire("admin", "198.51.100.1:5000", 200);
  EXPECT_TRUE(owner.allowed());
  t.Succeeded(owner, 200);
  // The window ends for the guesser too.
  EXPECT_TRUE(t.Acquire("admin", "203.0.113.9:4002", 1100).allowed());
}

TEST(LoginThrottle, PerAddressAcrossLogins) {
  LoginThrottle t(Small());
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(t.Acquire("u" + std::to_string(i), "192.0.2.7", 0).allowed());
  EXPECT_FALSE(t.Acquire("someone-else", "192.0.2.7:999", 10).allowed());
  EXPECT_TRUE(t.Acquire("someone-else", "192.0.2.8:999", 10).allowed());
  // Password link tokens (no login) count against the address only.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(t.Acquire("", "192.0.2.9", 0).allowed());
  EXPECT_FALSE(t.Acquire("", "192.0.2.9", 0).allowed());
  EXPECT_TRUE(t.Acquire("", "192.0.2.10", 0).allowed());
}

TEST(LoginThrottle, AGlobalCeilingPerLoginSparesTrustedAddresses) {
  LoginThrottle t(Small());
  auto first = t.Acquire("admin", "198.51.100.1", 0);
  ASSERT_TRUE(first.allowed());
  t.Succeeded(first, 0);  // the owner's usual address
  // Guesses from many addresses, each under its own limits, fill the login's ceiling.
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += Fail(t, "admin", "203.0.113." + std::to_string(i), 2, 10);
  EXPECT_EQ(allowed, 6);
  auto newcomer = t.Acquire("admin", "192.0.2.50", 20);
  EXPECT_FALSE(newcomer.allowed());
  EXPECT_EQ(newcomer.retry_after_ms, 9990);  // the login's window is 10 s
  // The owner's usual address is still checked; another login is untouched.
  EXPECT_TRUE(t.Acquire("admin", "198.51.100.1:6000", 20).allowed());
  EXPECT_TRUE(t.Acquire("other", "192.0.2.50", 20).allowed());
  // Trust ends: with the ceiling reached again, the old address waits like any other.
  for (int i = 0; i < 20; ++i) Fail(t, "admin", "203.0.113." + std::to_string(i), 2, 200000);
  EXPECT_FALSE(t.Acquire("admin", "198.51.100.1", 200001).allowed());
}

TEST(LoginThrottle, SuccessForgetsTheLoginAtThisAddressOnly) {
  LoginThrottle t(Small());
  EXPECT_EQ(Fail(t, "a", "198.51.100.1:1", 2, 0), 2);
  auto right = t.Acquire("a", "198.51.100.1:2", 0);
  ASSERT_TRUE(right.allowed());
  t.Succeeded(right, 0);
  // Three more wrong ones are checked again (the earlier two were forgotten).
  EXPECT_EQ(Fail(t, "a", "198.51.100.1:3", 4, 1), 3);
  // The success did not reset the address's count: it holds 2 + 3 failures, its limit.
  EXPECT_FALSE(t.Acquire("b", "198.51.100.1:4", 2).allowed());
}

TEST(LoginThrottle, AKnownPasswordIsRefusedWhereAnAttemptWouldBeAndLeavesWhatSuccessLeaves) {
  LoginThrottle t(Small());
  // Refused where Acquire refuses: the pair's limit…
  EXPECT_EQ(Fail(t, "a", "198.51.100.1:1", 3, 0), 3);
  EXPECT_FALSE(t.AdmitKnown("a", "198.51.100.1:2", 10));
  // …and the address's, for any login.
  EXPECT_EQ(Fail(t, "b", "198.51.100.1:3", 2, 10), 2);
  EXPECT_FALSE(t.AdmitKnown("c", "198.51.100.1:4", 20));
  EXPECT_TRUE(t.AdmitKnown("c", "192.0.2.1:4", 20));
  // Once the windows end it is admitted.
  EXPECT_TRUE(t.AdmitKnown("a", "198.51.100.1:5", 1500));
  // It forgets the pair's failures as a success does: three wrong ones are
  // checked again.
  LoginThrottle f(Small());
  EXPECT_EQ(Fail(f, "a", "198.51.100.1:1", 2, 0), 2);
  EXPECT_TRUE(f.AdmitKnown("a", "198.51.100.1:2", 0));
  EXPECT_EQ(Fail(f, "a", "198.51.100.1:3", 4, 1), 3);
  // It reserves nothing: admissions never count against the address.
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(t.AdmitKnown("d", "192.0.2.2", 3000)) << i;
  EXPECT_EQ(Fail(t, "e", "192.0.2.2", 6, 3000), 3);
  // It trusts the address for the login: the login's ceiling spares it.
  LoginThrottle u(Small());
  EXPECT_TRUE(u.AdmitKnown("admin", "198.51.100.9", 0));
  for (int i = 0; i < 20; ++i) Fail(u, "admin", "203.0.113." + std::to_string(i), 2, 10);
  EXPECT_FALSE(u.AdmitKnown("admin", "192.0.2.50", 20));
  EXPECT_TRUE(u.AdmitKnown("admin", "198.51.100.9:7000", 20));
}

TEST(LoginThrottle, AnAbandonedAttemptIsNoFailure) {
  LoginThrottle t(Small());
  for (int i = 0; i < 10; ++i) {
    auto a = t.Acquire("a", "198.51.100.1", 0);
    ASSERT_TRUE(a.allowed()) << i;
    t.Abandon(a);
  }
  EXPECT_EQ(t.tracked(), 0u);
  EXPECT_EQ(Fail(t, "a", "198.51.100.1", 5, 0), 3);
  // Giving back an attempt of an earlier window changes nothing in the new one.
  auto old = t.Acquire("b", "192.0.2.1", 0);
  EXPECT_EQ(Fail(t, "b", "192.0.2.1", 2, 1500), 2);
  t.Abandon(old);
  EXPECT_FALSE(t.Acquire("b", "192.0.2.1", 1600).allowed() &&
               t.Acquire("b", "192.0.2.1", 1600).allowed());
}

TEST(LoginThrottle, ParallelWrongAttemptsMakeAtMostTheLimitOfChecks) {
  LoginThrottle t(Small());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 30; ++i) {
    threads.emplace_back([&, i] {
      if (t.Acquire("admin", "203.0.113.1:" + std::to_string(1000 + i), 50).allowed()) ++allowed;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 3);
}

TEST(LoginThrottle, AnIpv6ClientIsItsSlash64) {
  LoginThrottle t(Small());
  EXPECT_EQ(Fail(t, "admin", "[2001:db8:1:2::1]:4000", 2, 0), 2);
  EXPECT_EQ(Fail(t, "admin", "[2001:db8:1:2:ffff:1:2:3]:4001", 2, 0), 1);
  EXPECT_TRUE(t.Acquire("admin", "[2001:db8:1:3::1]:4000", 0).allowed());  // another /64
  // An IPv4-mapped address is its IPv4 address.
  EXPECT_EQ(Fail(t, "bob", "[::ffff:192.0.2.1]:1", 3, 0), 3);
  EXPECT_FALSE(t.Acquire("bob", "192.0.2.1:2", 0).allowed());
  auto a = t.Acquire("carol", "[2001:db8::5]:1", 0);
  EXPECT_EQ(a.address, "2001:db8::/64");
}

TEST(LoginThrottle, LoginsCannotBeConfusedWithAddresses) {
  LoginThrottle t(Small());
  EXPECT_EQ(Fail(t, "ab", "c", 3, 0), 3);
  EXPECT_TRUE(t.Acquire("a", "bc", 0).allowed());
}

TEST(LoginThrottle, MemoryIsBounded) {
  Limits l = Small();
  l.max_tracked = 50;
  l.max_trusted = 10;
  LoginThrottle t(l);
  for (int i = 0; i < 1000; ++i) {
    auto a = t.Acquire("u" + std::to_string(i), "a" + std::to_string(i), i);
    if (i % 2 == 0) t.Succeeded(a, i);
  }
  EXPECT_LE(t.tracked(), 50u);
}

TEST(LoginThrottle, AFloodOfNewWindowsDoesNotPushOutTheCountOfAnAttackedLogin) {
  Limits l = Small();
  l.max_tracked = 300;
  LoginThrottle t(l);
  // The login's ceiling is reached from several addresses...
  int allowed = 0;
  for (int i = 0; i < 3; ++i) allowed += Fail(t, "admin", "203.0.113." + std::to_string(i), 3, 0);
  EXPECT_EQ(allowed, 6);
  // ...then thousands of addresses each guess once at a login of their own,
  // many times the table's size, within the login's window.
  for (int i = 0; i < 3000; ++i) {
    t.Acquire("filler" + std::to_string(i),
              "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1", 1 + i);
  }
  EXPECT_LE(t.tracked(), 300u);
  // The attacked login still counts its guesses: a new address is refused.
  EXPECT_FALSE(t.Acquire("admin", "192.0.2.77", 5000).allowed());
}

}  // namespace
}  // namespace roost::api
