#include "gateway/region.h"

#include <gtest/gtest.h>

namespace roost::gateway {
namespace {

RxPacket Uplink(uint32_t tmst, double freq_mhz, uint32_t chan = 5) {
  RxPacket rx;
  rx.tmst = tmst;
  rx.freq = freq_mhz;
  rx.chan = chan;
  rx.datr = "SF9BW125";
  return rx;
}

TEST(Region, ParsesTheThreeNamesInAnyCase) {
  EXPECT_EQ(ParseRegion("EU868").value(), Region::kEU868);
  EXPECT_EQ(ParseRegion("us915").value(), Region::kUS915);
  EXPECT_EQ(ParseRegion("Cn470").value(), Region::kCN470);
  EXPECT_FALSE(ParseRegion("AS923").ok());
  EXPECT_FALSE(ParseRegion("").ok());
}

TEST(Region, Eu868Rx1IsSf9OnTheUplinkFrequencyFiveSecondsLater) {
  auto tx = Rx1Downlink(Region::kEU868, Uplink(1000, 868.3), Bytes{0xE0, 1});
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  EXPECT_FALSE(tx->imme);
  EXPECT_TRUE(tx->ipol);
  EXPECT_EQ(tx->tmst, 5'001'000u);
  EXPECT_EQ(tx->datr, "SF9BW125");
  EXPECT_EQ(tx->codr, "4/5");
  EXPECT_DOUBLE_EQ(tx->freq, 868.3);
  EXPECT_EQ(tx->powe, 14);
  EXPECT_EQ(tx->data, (Bytes{0xE0, 1}));
}

TEST(Region, Rx1TimestampWrapsLikeTheGatewayCounter) {
  auto tx = Rx1Downlink(Region::kEU868, Uplink(0xFFFFFFFFu - 999, 868.1), {});
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->tmst, kRx1DelayUs - 1000);
}

TEST(Region, Us915Rx1IsSf7Bw500OnTheChannelOfTheUplinkFrequency) {
  // 903.9 MHz is channel 8: 923.3 + 0.6 × (8 mod 8).
  auto tx = Rx1Downlink(Region::kUS915, Uplink(10, 903.9, /*chan (IF chain)=*/3), {0xE0});
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  EXPECT_EQ(tx->tmst, 5'000'010u);
  EXPECT_EQ(tx->datr, "SF7BW500");
  EXPECT_DOUBLE_EQ(tx->freq, 923.3);
  EXPECT_EQ(tx->powe, 20);
  // Channel 13 (904.9 MHz) → 923.3 + 0.6 × 5 = 926.3.
  tx = Rx1Downlink(Region::kUS915, Uplink(10, 904.9, 0), {0xE0});
  ASSERT_TRUE(tx.ok());
  EXPECT_DOUBLE_EQ(tx->freq, 926.3);
  // Channel 63 (914.9 MHz) → 923.3 + 0.6 × 7 = 927.5.
  tx = Rx1Downlink(Region::kUS915, Uplink(10, 914.9), {0xE0});
  ASSERT_TRUE(tx.ok());
  EXPECT_DOUBLE_EQ(tx->freq, 927.5);
  // 500 kHz channel 65 (904.6 MHz) → 923.3 + 0.6 × 1.
  tx = Rx1Downlink(Region::kUS915, Uplink(10, 904.6), {0xE0});
  ASSERT_TRUE(tx.ok());
  EXPECT_DOUBLE_EQ(tx->freq, 923.9);
}

TEST(Region, Us915UplinkOffTheGridIsRefused) {
  EXPECT_FALSE(Rx1Downlink(Region::kUS915, Uplink(10, 868.1), {}).ok());
  EXPECT_FALSE(Rx1Downlink(Region::kUS915, Uplink(10, 902.4), {}).ok());
  EXPECT_FALSE(Rx1Downlink(Region::kUS915, Uplink(10, 915.1), {})
                   .ok());  // 902.3 + 0.2 × 64: past channel 63
}

TEST(Region, Cn470Rx1IsSf9OnTheChannelOfTheUplinkFrequency) {
  // 470.3 + 0.2 × 50 = 480.3 MHz is channel 50 → 500.3 + 0.2 × (50 mod 48) = 500.7.
  auto tx = Rx1Downlink(Region::kCN470, Uplink(77, 480.3, 1), {0xE0});
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  EXPECT_EQ(tx->tmst, 5'000'077u);
  EXPECT_EQ(tx->datr, "SF9BW125");
  EXPECT_DOUBLE_EQ(tx->freq, 500.7);
  EXPECT_EQ(tx->powe, 17);
  tx = Rx1Downlink(Region::kCN470, Uplink(77, 470.3), {0xE0});
  ASSERT_TRUE(tx.ok());
  EXPECT_DOUBLE_EQ(tx->freq, 500.3);
  EXPECT_FALSE(Rx1Downlink(Region::kCN470, Uplink(77, 489.5), {}).ok());  // channel 96
}

TEST(Region, UplinkFrequencyAndChannelAgree) {
  for (Region r : {Region::kUS915, Region::kCN470}) {
    for (int ch : {0, 1, 7, 8, 47, 48, 63}) {
      auto back = UplinkChannel(r, UplinkFrequencyHz(r, ch));
      ASSERT_TRUE(back.ok()) << RegionName(r) << " " << ch;
      EXPECT_EQ(*back, ch);
    }
  }
  EXPECT_EQ(UplinkFrequencyHz(Region::kEU868, 1), 868'300'000u);
  EXPECT_EQ(UplinkDataRate(Region::kUS915), "SF7BW125");
  EXPECT_EQ(UplinkDataRate(Region::kCN470), "SF9BW125");
}

}  // namespace
}  // namespace roost::gateway
