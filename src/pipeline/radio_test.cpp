#include "pipeline/radio.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace roost::pipeline {
namespace {

TEST(IsSequenceAhead, WrapsAtTwelveBits) {
  EXPECT_TRUE(IsSequenceAhead(4095, 0));
  EXPECT_FALSE(IsSequenceAhead(0, 4095));
  EXPECT_FALSE(IsSequenceAhead(1234, 1234));
  EXPECT_TRUE(IsSequenceAhead(1234, 1235));
  EXPECT_FALSE(IsSequenceAhead(1235, 1234));
  EXPECT_TRUE(IsSequenceAhead(0, 2047));
  EXPECT_FALSE(IsSequenceAhead(0, 2048));
  EXPECT_TRUE(IsSequenceAhead(3000, (3000 + 2047) % 4096));
  EXPECT_FALSE(IsSequenceAhead(3000, (3000 + 2048) % 4096));
  EXPECT_TRUE(IsSequenceAhead(4000, 100));
}

TEST(IsSequenceAhead, AgreesWithTheModularDefinitionEverywhere) {
  for (int64_t last = 0; last < 4096; last += 7) {
    for (int64_t seq = 0; seq < 4096; ++seq) {
      const int64_t ahead = ((seq - last) % 4096 + 4096) % 4096;
      ASSERT_EQ(IsSequenceAhead(last, seq), ahead >= 1 && ahead <= 2047) << last << " " << seq;
    }
  }
}

TEST(IsSequenceAhead, ExtremeArgumentsDoNotOverflow) {
  EXPECT_TRUE(IsSequenceAhead(INT64_MIN, INT64_MIN + 1));
  EXPECT_FALSE(IsSequenceAhead(INT64_MAX, INT64_MAX));
  // INT64_MAX's low 12 bits are 4095, INT64_MIN's are 0: one step ahead.
  EXPECT_TRUE(IsSequenceAhead(INT64_MAX, INT64_MIN));
}

Reception At(double rssi, std::optional<double> lat = std::nullopt,
             std::optional<double> lng = std::nullopt, double snr = 0) {
  Reception r;
  r.rssi = rssi;
  r.snr = snr;
  r.lat = lat;
  r.lng = lng;
  return r;
}

TEST(LinkQualityOf, FollowsTheTable) {
  struct Row {
    std::vector<double> rssi;
    LinkQuality quality;
  };
  const Row rows[] = {
      {{}, LinkQuality::kLimit},
      {{-135}, LinkQuality::kLimit},
      {{-140, -135, -150}, LinkQuality::kLimit},
      {{-134.9}, LinkQuality::kAverage},
      {{-122}, LinkQuality::kAverage},
      {{-122, -130}, LinkQuality::kAverage},
      {{-121.9}, LinkQuality::kGood},
      {{-100, -130}, LinkQuality::kGood},
      {{-122, -130, -134}, LinkQuality::kGood},
      {{-100, -130, -134}, LinkQuality::kExcellent},
      {{-100, -110, -120, -130}, LinkQuality::kExcellent},
      // Receptions at or below the LIMIT threshold do not count as stations.
      {{-100, -110, -135}, LinkQuality::kGood},
      {{-130, -131, -140}, LinkQuality::kAverage},
  };
  for (const Row& row : rows) {
    std::vector<Reception> receptions;
    for (double rssi : row.rssi) receptions.push_back(At(rssi));
    EXPECT_EQ(LinkQualityOf(receptions), row.quality)
        << EnumByValue(kLinkQualities, row.quality).name << " for " << row.rssi.size();
  }
}

TEST(LocateByStations, NoneWithoutPositions) {
  EXPECT_FALSE(LocateByStations({}).has_value());
  std::vector<Reception> receptions = {At(-100), At(-110, 45.0), At(-90, std::nullopt, 5.0),
                                       At(-90, NAN, 5.0)};
  EXPECT_FALSE(LocateByStations(receptions).has_value());
}

TEST(LocateByStations, OneStationIsItsPosition) {
  std::vector<Reception> receptions = {At(-100, 45.5, 4.25), At(-80)};
  auto location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_DOUBLE_EQ(location->lat, 45.5);
  EXPECT_DOUBLE_EQ(location->lng, 4.25);
  EXPECT_NEAR(location->radius, 1000, 1e-9);  // -100 dBm
}

TEST(LocateByStations, TwoStationsWeighByPower) {
  // 10 dB stronger weighs ten times more: 10/11 of the way to the strong one.
  std::vector<Reception> receptions = {At(-110, 45.0, 4.0), At(-100, 46.0, 5.0)};
  auto location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_NEAR(location->lat, 45.0 + 10.0 / 11.0, 1e-9);
  EXPECT_NEAR(location->lng, 4.0 + 10.0 / 11.0, 1e-9);
  // Equal signals: the midpoint.
  receptions = {At(-120, 45.0, 4.0), At(-120, 46.0, 5.0)};
  location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_NEAR(location->lat, 45.5, 1e-9);
  EXPECT_NEAR(location->lng, 4.5, 1e-9);
}

TEST(LocateByStations, ThreeStationsCentreLiesAmongThemNearestTheStrongest) {
  std::vector<Reception> receptions = {At(-125, 45.0, 4.0), At(-105, 45.2, 4.4),
                                       At(-130, 45.4, 4.0)};
  auto location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_GT(location->lat, 45.0);
  EXPECT_LT(location->lat, 45.4);
  EXPECT_GT(location->lng, 4.0);
  EXPECT_LT(location->lng, 4.4);
  const auto distance = [&](const Reception& r) {
    return std::hypot(location->lat - *r.lat, location->lng - *r.lng);
  };
  EXPECT_LT(distance(receptions[1]), distance(receptions[0]));
  EXPECT_LT(distance(receptions[1]), distance(receptions[2]));
}

TEST(LocateByStations, RadiusShrinksWithMoreStations) {
  std::vector<Reception> receptions;
  double previous = INFINITY;
  for (int n = 1; n <= 4; ++n) {
    receptions.push_back(At(-120, 45.0 + n * 0.01, 4.0));
    auto location = LocateByStations(receptions);
    ASSERT_TRUE(location.has_value());
    EXPECT_LT(location->radius, previous) << n;
    previous = location->radius;
  }
  // -120 dBm: 1 km x 10^(20/35), divided by sqrt(4).
  EXPECT_NEAR(previous, 1000 * std::pow(10.0, 20.0 / 35.0) / 2, 1e-6);
}

TEST(LocateByStations, RadiusGrowsWithWeakerSignalWithinBounds) {
  const double strong = LocateByStations(std::vector{At(-20, 1.0, 1.0)})->radius;
  const double weak = LocateByStations(std::vector{At(-130, 1.0, 1.0)})->radius;
  const double weakest = LocateByStations(std::vector{At(-200, 1.0, 1.0)})->radius;
  EXPECT_DOUBLE_EQ(strong, kMinLocationRadius);
  EXPECT_GT(weak, 1000);
  EXPECT_LT(weak, kMaxLocationRadius);
  EXPECT_DOUBLE_EQ(weakest, kMaxLocationRadius);
}

TEST(LocateByStations, AveragesAcrossTheAntimeridian) {
  std::vector<Reception> receptions = {At(-120, -17.0, 179.9), At(-120, -17.0, -179.9)};
  auto location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_NEAR(std::abs(location->lng), 180.0, 1e-9);
  receptions = {At(-120, -17.0, 179.8), At(-110, -17.0, -179.9)};
  location = LocateByStations(receptions);
  ASSERT_TRUE(location.has_value());
  EXPECT_LT(location->lng, -179.8);
  EXPECT_GE(location->lng, -180.0);
}

}  // namespace
}  // namespace roost::pipeline
