#include "model/signal.h"

#include <gtest/gtest.h>

#include <vector>

namespace roost {
namespace {

Reception Heard(double rssi, double snr) {
  Reception r;
  r.station = "0A1B";
  r.rssi = rssi;
  r.snr = snr;
  return r;
}

TEST(SignalSummaries, AverageSnrAndBestRssi) {
  EXPECT_EQ(AverageSnr({}), 0);
  EXPECT_EQ(BestRssi({}), 0);
  std::vector<Reception> receptions = {Heard(-130, 10), Heard(-101.5, 20), Heard(-140, 33)};
  EXPECT_DOUBLE_EQ(AverageSnr(receptions), 21);
  EXPECT_DOUBLE_EQ(BestRssi(receptions), -101.5);
}

TEST(SignalSummaries, BestRssiOfOnlyWeakReceptionsIsTheLeastWeak) {
  std::vector<Reception> receptions = {Heard(-150, 0), Heard(-149.5, 0)};
  EXPECT_DOUBLE_EQ(BestRssi(receptions), -149.5);
}

}  // namespace
}  // namespace roost
