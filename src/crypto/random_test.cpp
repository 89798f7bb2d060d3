#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace roost::crypto {
namespace {

TEST(Random, FillsAndDiffers) {
  std::array<uint8_t, 32> a{}, b{};
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(a, b);  // equal with probability 2^-256
  EXPECT_NE(a, (std::array<uint8_t, 32>{}));
}

TEST(Random, EmptySpanIsFine) {
  std::vector<uint8_t> none;
  RandomBytes(none);
  EXPECT_TRUE(none.empty());
}

TEST(Random, LargeBuffer) {
  std::vector<uint8_t> big(1 << 20);
  RandomBytes(big);
  // Every byte value shows up in a MiB of random bytes (missing one: p ~ 256 e^-4096).
  std::array<int, 256> seen{};
  for (uint8_t v : big) ++seen[v];
  for (int count : seen) EXPECT_GT(count, 0);
}

TEST(Random, BelowStaysInRange) {
  EXPECT_EQ(RandomBelow(1), 0u);
  std::array<int, 6> counts{};
  for (int i = 0; i < 6000; ++i) {
    const uint64_t v = RandomBelow(6);
    ASSERT_LT(v, 6u);
    ++counts[v];
  }
  // Each face expects 1000; 700 is more than 9 standard deviations away.
  for (int c : counts) EXPECT_GT(c, 700);
}

TEST(Random, BelowLargeBound) {
  const uint64_t bound = (uint64_t{1} << 63) + 12345;
  bool high = false;
  for (int i = 0; i < 64; ++i) {
    const uint64_t v = RandomBelow(bound);
    ASSERT_LT(v, bound);
    high = high || v >= (uint64_t{1} << 62);
  }
  EXPECT_TRUE(high);
}

}  // namespace
}  // namespace roost::crypto
