#include "crypto/password.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace roost::crypto {
namespace {

// One hash shared by several tests: each Argon2id hash costs ~64 MiB and tens of ms.
const std::string& GoodHash() {
  static const std::string hash = [] {
    auto h = HashPassword("correct horse battery staple");
    EXPECT_TRUE(h.ok()) << h.status().message();
    return h.ok() ? *h : std::string();
  }();
  return hash;
}

TEST(Password, HashIsArgon2idWithInteractiveLimits) {
  const std::string& hash = GoodHash();
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  EXPECT_FALSE(PasswordNeedsRehash(hash, PasswordCost::kInteractive));
  EXPECT_TRUE(PasswordNeedsRehash(hash, PasswordCost::kModerate));
}

TEST(Password, VerifyGoodAndBad) {
  const std::string& hash = GoodHash();
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", hash).value());
  EXPECT_FALSE(VerifyPassword("correct horse battery stapl", hash).value());
  EXPECT_FALSE(VerifyPassword("Correct horse battery staple", hash).value());
  EXPECT_FALSE(VerifyPassword("", hash).value());
}

TEST(Password, DistinctSaltsForTheSamePassword) {
  auto a = HashPassword("same");
  auto b = HashPassword("same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  // The salt is the 4th '$'-separated field.
  auto salt = [](const std::string& h) {
    size_t p = 0;
    for (int i = 0; i < 4; ++i) p = h.find('$', p) + 1;
    return h.substr(p, h.find('$', p) - p);
  };
  EXPECT_NE(salt(*a), salt(*b));
  EXPECT_FALSE(salt(*a).empty());
  EXPECT_TRUE(VerifyPassword("same", *a).value());
  EXPECT_TRUE(VerifyPassword("same", *b).value());
}

TEST(Password, EmptyAndBinaryPasswords) {
  auto empty = HashPassword("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(VerifyPassword("", *empty).value());
  EXPECT_FALSE(VerifyPassword(" ", *empty).value());
  // Embedded NUL bytes count: "a\0b" is not "a".
  const std::string with_nul("a\0b", 3);
  auto h = HashPassword(with_nul);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(VerifyPassword(with_nul, *h).value());
  EXPECT_FALSE(VerifyPassword("a", *h).value());
}

TEST(Password, MalformedHashesVerifyNothing) {
  const std::string& good = GoodHash();
  EXPECT_FALSE(VerifyPassword("x", "").value());
  EXPECT_FALSE(VerifyPassword("x", "x").value());
  EXPECT_FALSE(
      VerifyPassword("correct horse battery staple", good.substr(0, good.size() - 5)).value());
  EXPECT_FALSE(
      VerifyPassword("correct horse battery staple", good + std::string(200, 'A')).value());
  std::string nul = good;
  nul[10] = '\0';
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", nul).value());
  // Argon2i strings are not accepted in place of Argon2id.
  std::string argon2i = good;
  argon2i.replace(0, 10, "$argon2i$");
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", argon2i).value());
  EXPECT_TRUE(PasswordNeedsRehash("garbage"));
}

TEST(Password, GeneratedPasswords) {
  std::set<std::string> seen;
  std::array<int, 64> counts{};
  for (int i = 0; i < 2000; ++i) {
    const std::string p = GeneratePassword();
    ASSERT_EQ(p.size(), kGeneratedPasswordLength);
    for (char c : p) {
      const size_t at = kPasswordAlphabet.find(c);
      ASSERT_NE(at, std::string_view::npos) << p;
      ++counts[at];
    }
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 2000u);
  // 64 000 draws, 1000 expected per symbol; every symbol shows up well within 4 sigma.
  for (int c : counts) {
    EXPECT_GT(c, 850);
    EXPECT_LT(c, 1150);
  }
  EXPECT_EQ(GeneratePassword(48).size(), 48u);
}

TEST(Password, GeneratedLogins) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string login = GenerateApiLogin();
    ASSERT_EQ(login.size(), 24u);
    EXPECT_EQ(login.find_first_not_of("0123456789abcdef"), std::string::npos) << login;
    seen.insert(login);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Password, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals("xbc", "abc"));
}

TEST(Password, InitialisesOnceFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> equal{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      EnsureSodiumInitialized();
      if (ConstantTimeEquals("same", "same")) ++equal;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(equal.load(), 8);
}

// --- PasswordVerifyCache ------------------------------------------------------

TEST(PasswordVerifyCache, SecondVerifyIsAHit) {
  PasswordVerifyCache cache;
  const std::string& hash = GoodHash();
  EXPECT_TRUE(cache.Verify("login1", "correct horse battery staple", hash).value());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Verify("login1", "correct horse battery staple", hash).value());
  EXPECT_EQ(cache.hits(), 1u);
  // A hit is much faster than Argon2id.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(cache.Verify("login1", "correct horse battery staple", hash).value());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_EQ(cache.hits(), 101u);
}

TEST(PasswordVerifyCache, WrongPasswordsAreNeverCached) {
  PasswordVerifyCache cache;
  const std::string& hash = GoodHash();
  EXPECT_FALSE(cache.Verify("login1", "wrong", hash).value());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.Verify("login1", "correct horse battery staple", hash).value());
  EXPECT_FALSE(cache.Verify("login1", "wrong", hash).value());
  EXPECT_EQ(cache.hits(), 0u);
  // The good entry survives a wrong attempt.
  EXPECT_TRUE(cache.Verify("login1", "correct horse battery staple", hash).value());
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(PasswordVerifyCache, ChangedHashInvalidates) {
  PasswordVerifyCache cache;
  auto other = HashPassword("new password");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(cache.Verify("login1", "correct horse battery staple", GoodHash()).value());
  // The stored hash changed (password reset): the old password no longer works.
  EXPECT_FALSE(cache.Verify("login1", "correct horse battery staple", *other).value());
  EXPECT_TRUE(cache.Verify("login1", "new password", *other).value());
  EXPECT_EQ(cache.hits(), 0u);
}

TEST(PasswordVerifyCache, ExpiresAfterTtl) {
  PasswordVerifyCache cache(10, std::chrono::seconds(60));
  const auto t0 = PasswordVerifyCache::Clock::now();
  const std::string& hash = GoodHash();
  EXPECT_TRUE(cache.Verify("l", "correct horse battery staple", hash, t0).value());
  EXPECT_TRUE(cache.Verify("l", "correct horse battery staple", hash, t0 + std::chrono::seconds(59))
                  .value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_TRUE(cache.Verify("l", "correct horse battery staple", hash, t0 + std::chrono::seconds(61))
                  .value());
  EXPECT_EQ(cache.hits(), 1u);  // re-verified with Argon2id
}

// The event loop asks without ever running Argon2id: only a fresh entry of the
// same password and stored hash answers true.
TEST(PasswordVerifyCache, RecallsOnlyWhatItVerifiedNeverHashing) {
  PasswordVerifyCache cache(10, std::chrono::seconds(60));
  const auto t0 = PasswordVerifyCache::Clock::now();
  const std::string& hash = GoodHash();
  EXPECT_FALSE(cache.Recalls("l", "correct horse battery staple", hash, t0));
  EXPECT_EQ(cache.size(), 0u);  // nothing verified, nothing stored
  EXPECT_TRUE(cache.Verify("l", "correct horse battery staple", hash, t0).value());
  EXPECT_TRUE(cache.Recalls("l", "correct horse battery staple", hash, t0));
  EXPECT_FALSE(cache.Recalls("l", "wrong", hash, t0));
  EXPECT_FALSE(cache.Recalls("other", "correct horse battery staple", hash, t0));
  EXPECT_FALSE(
      cache.Recalls("l", "correct horse battery staple", hash, t0 + std::chrono::seconds(61)));
  cache.Forget("l");
  EXPECT_FALSE(cache.Recalls("l", "correct horse battery staple", hash, t0));
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(PasswordVerifyCache, BoundedLruAndForget) {
  PasswordVerifyCache cache(2);
  const std::string& hash = GoodHash();
  const std::string pw = "correct horse battery staple";
  EXPECT_TRUE(cache.Verify("a", pw, hash).value());
  EXPECT_TRUE(cache.Verify("b", pw, hash).value());
  EXPECT_TRUE(cache.Verify("a", pw, hash).value());  // hit; "b" is now least recently used
  EXPECT_TRUE(cache.Verify("c", pw, hash).value());  // evicts "b"
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_TRUE(cache.Verify("a", pw, hash).value());
  EXPECT_EQ(cache.hits(), 2u);
  cache.Forget("a");
  cache.Forget("nobody");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Verify("a", pw, hash).value());
  EXPECT_EQ(cache.hits(), 2u);
}

// --- PasswordWorkLimiter ------------------------------------------------------

using std::chrono::milliseconds;

TEST(PasswordWorkLimiter, NeverMoreThanItsSlotsRunAtOnce) {
  PasswordWorkLimiter limiter(PasswordWorkLimits{2, 16, std::chrono::seconds(10)});
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      auto slot = limiter.Acquire();
      if (!slot.ok()) return;
      int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(milliseconds(5));
      --running;
      ++done;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 12);  // everyone waited their turn (the queue held them all)
  EXPECT_LE(most.load(), 2);
  EXPECT_EQ(limiter.running(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(PasswordWorkLimiter, AFullQueueRefusesAtOnce) {
  PasswordWorkLimiter limiter(PasswordWorkLimits{1, 1, std::chrono::seconds(10)});
  auto held = limiter.Acquire();
  ASSERT_TRUE(held.ok());
  std::atomic<bool> waiter_got{false};
  std::thread waiter([&] { waiter_got = limiter.Acquire().ok(); });
  while (limiter.waiting() == 0) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  auto refused = limiter.Acquire();
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));  // did not wait
  { auto release = std::move(held).value(); }
  waiter.join();
  EXPECT_TRUE(waiter_got.load());
  EXPECT_EQ(limiter.running(), 0u);
}

TEST(PasswordWorkLimiter, AWaiterGivesUpAfterMaxWait) {
  PasswordWorkLimiter limiter(PasswordWorkLimits{1, 4, milliseconds(50)});
  auto held = limiter.Acquire();
  ASSERT_TRUE(held.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto late = limiter.Acquire();
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(late.status().code(), Status::Code::kUnavailable);
  EXPECT_GE(waited, milliseconds(45));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(PasswordWorkLimiter, ServerLimitsLeaveAHandlerThreadFree) {
  for (unsigned handlers : {1u, 2u, 4u, 8u, 32u}) {
    for (unsigned configured : {0u, 1u, 2u, 16u, 64u}) {
      PasswordWorkLimits l = ServerPasswordWorkLimits(configured, handlers);
      EXPECT_GE(l.slots, 1u);
      EXPECT_LE(l.max_waiting, l.slots);
      if (handlers > 1) {
        EXPECT_LE(l.slots + l.max_waiting, handlers - 1) << handlers;
      }
      if (configured != 0 && configured < handlers) {
        EXPECT_EQ(l.slots, configured);
      }
      EXPECT_GT(l.max_wait.count(), 0);
      EXPECT_LE(l.max_wait, milliseconds(250));
    }
  }
  // The default machine of docs/configuration.md: 2 CPUs, 4 handler threads.
  PasswordWorkLimits two = ServerPasswordWorkLimits(2, 4);
  EXPECT_EQ(two.slots, 2u);
  EXPECT_EQ(two.max_waiting, 1u);
}

TEST(PasswordWorkLimiter, HashAndVerifyAreRefusedWhenTheProcessHasNoSlot) {
  const std::string& hash = GoodHash();
  std::vector<PasswordWork> seen;
  std::mutex seen_mu;
  ConfigurePasswordWork(PasswordWorkLimits{0, 0, milliseconds(0)}, [&](PasswordWork w) {
    std::lock_guard lock(seen_mu);
    seen.push_back(w);
  });
  auto verified = VerifyPassword("correct horse battery staple", hash);
  auto hashed = HashPassword("anything at all");
  EXPECT_EQ(VerifyPassword("x", "not a hash").value(), false);  // nothing to compute: no slot
  PasswordVerifyCache cache;
  auto cached = cache.Verify("l", "correct horse battery staple", hash);
  ConfigurePasswordWork(PasswordWorkLimits{2, 16, std::chrono::seconds(60)}, [&](PasswordWork w) {
    std::lock_guard lock(seen_mu);
    seen.push_back(w);
  });
  EXPECT_EQ(verified.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(hashed.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(cached.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", hash).value());
  ConfigurePasswordWork(PasswordWorkLimits{2, 16, std::chrono::seconds(60)});
  std::lock_guard lock(seen_mu);
  EXPECT_EQ(seen, (std::vector<PasswordWork>{PasswordWork::kRefused, PasswordWork::kRefused,
                                             PasswordWork::kRefused, PasswordWork::kVerified}));
}

TEST(Password, UnmatchableHashIsAnArgon2idHash) {
  EXPECT_EQ(UnmatchableHash().rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u);
  EXPECT_EQ(&UnmatchableHash(), &UnmatchableHash());
  EXPECT_FALSE(VerifyPassword("", UnmatchableHash()).value());
}

}  // namespace
}  // namespace roost::crypto
