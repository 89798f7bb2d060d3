#include "integration/resolved_names.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::integration {
namespace {

using namespace std::chrono_literals;
using Clock = ResolvedNames::Clock;

ResolvedNames::Addresses One(const std::string& ip) {
  return {boost::asio::ip::make_address(ip)};
}

TEST(ResolvedNames, AnAnswerIsKeptForItsLifetime) {
  ResolvedNames names(4, 60s);
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(names.Find("a.example", t0));
  names.Put("a.example", One("192.0.2.1"), t0);
  auto found = names.Find("a.example", t0 + 59s);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, One("192.0.2.1"));
  EXPECT_FALSE(names.Find("a.example", t0 + 60s));
  EXPECT_FALSE(names.Find("b.example", t0));
}

TEST(ResolvedNames, WhenFullTheOldestAnswerMakesRoomAndTheOthersStay) {
  ResolvedNames names(3, 60s);
  const Clock::time_point t0 = Clock::now();
  names.Put("a.example", One("192.0.2.1"), t0);
  names.Put("b.example", One("192.0.2.2"), t0 + 1s);
  names.Put("c.example", One("192.0.2.3"), t0 + 2s);
  names.Put("d.example", One("192.0.2.4"), t0 + 3s);
  EXPECT_EQ(names.size(), 3u);
  EXPECT_FALSE(names.Find("a.example", t0 + 3s));
  for (const char* kept : {"b.example", "c.example", "d.example"}) {
    EXPECT_TRUE(names.Find(kept, t0 + 3s)) << kept;
  }
}

TEST(ResolvedNames, AnAnswerLookedUpAgainIsKeptAsTheNewest) {
  ResolvedNames names(2, 60s);
  const Clock::time_point t0 = Clock::now();
  names.Put("a.example", One("192.0.2.1"), t0);
  names.Put("b.example", One("192.0.2.2"), t0 + 1s);
  names.Put("a.example", One("192.0.2.9"), t0 + 2s);  // its time was up soonest
  names.Put("c.example", One("192.0.2.3"), t0 + 3s);
  EXPECT_EQ(names.size(), 2u);
  EXPECT_FALSE(names.Find("b.example", t0 + 3s));
  auto a = names.Find("a.example", t0 + 3s);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, One("192.0.2.9"));
  EXPECT_TRUE(names.Find("c.example", t0 + 3s));
}

TEST(ResolvedNames, NamesWhoseTimeIsUpGoBeforeAnyOther) {
  ResolvedNames names(100, 60s);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 50; ++i) {
    names.Put("old" + std::to_string(i) + ".example", One("192.0.2.1"), t0);
  }
  names.Put("new.example", One("192.0.2.2"), t0 + 61s);
  EXPECT_EQ(names.size(), 1u);  // memory is not held by answers no one may use
  EXPECT_TRUE(names.Find("new.example", t0 + 61s));
}

}  // namespace
}  // namespace roost::integration
