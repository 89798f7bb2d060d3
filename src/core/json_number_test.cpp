#include "core/json_number.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace roost {
namespace {

std::string Num(double v) {
  std::string out;
  AppendJsonNumber(out, v);
  return out;
}

TEST(JsonNumber, ShortestTextThatReadsBack) {
  EXPECT_EQ(Num(-120.5), "-120.5");
  EXPECT_EQ(Num(0.1), "0.1");
  EXPECT_EQ(Num(868130000), "868130000");
  EXPECT_EQ(std::stod(Num(1.0 / 3)), 1.0 / 3);
}

TEST(JsonNumber, NullWhereJsonHasNoNumber) {
  EXPECT_EQ(Num(std::nan("")), "null");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  std::string out;
  AppendJsonNumber(out, std::optional<double>());
  AppendJsonNumber(out, std::optional<double>(2.5));
  AppendJsonInt(out, -9007199254740993);
  EXPECT_EQ(out, "null2.5-9007199254740993");
}

}  // namespace
}  // namespace roost
