#include "model/calendar.h"

#include <gtest/gtest.h>

namespace roost {
namespace {

TEST(UtcTextTest, ShowsTheSecondInUtc) {
  EXPECT_EQ(UtcText(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(UtcText(1764671880999), "2025-12-02T10:38:00Z");
}

TEST(UtcTextTest, RoundsTowardsThePastBefore1970) {
  EXPECT_EQ(UtcText(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(UtcText(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(UtcText(-1001), "1969-12-31T23:59:58Z");
}

TEST(UtcYearTest, LeapYearHas366Days) {
  const UtcYear y = UtcYearOf(2024);
  EXPECT_EQ(y.start, 1704067200000);  // 2024-01-01T00:00:00Z
  EXPECT_EQ(y.days, 366);
}

TEST(UtcYearTest, CommonYearHas365Days) {
  const UtcYear y = UtcYearOf(2025);
  EXPECT_EQ(y.start, 1735689600000);  // 2025-01-01T00:00:00Z
  EXPECT_EQ(y.days, 365);
}

TEST(UtcYearTest, CenturyRulesOfTheGregorianCalendar) {
  EXPECT_EQ(UtcYearOf(1970).start, 0);
  EXPECT_EQ(UtcYearOf(1970).days, 365);
  EXPECT_EQ(UtcYearOf(2000).days, 366);               // divisible by 400
  EXPECT_EQ(UtcYearOf(2100).days, 365);               // divisible by 100 only
  EXPECT_EQ(UtcYearOf(9999).start, 253370764800000);  // 9999-01-01T00:00:00Z
}

}  // namespace
}  // namespace roost
