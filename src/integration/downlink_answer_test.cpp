#include "integration/downlink_answer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace roost::integration {
namespace {

using nlohmann::json;

constexpr SigfoxId kDevice{0x2c};

json LoadAnswerVectors() {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/downlink.json");
  EXPECT_TRUE(in.good());
  return json::parse(in)["callbackAnswer"];
}

std::string RefusalOf(std::string_view body, SigfoxId device = kDevice) {
  auto a = ParseDownlinkAnswer(body, device);
  EXPECT_FALSE(a.ok()) << body;
  return a.ok() ? std::string() : a.status().message();
}

TEST(DownlinkAnswer, VectorExampleIsTheDownlink) {
  const json vectors = LoadAnswerVectors();
  ASSERT_TRUE(vectors.contains("example"));
  auto a = ParseDownlinkAnswer(vectors["example"].dump(), kDevice);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(a->data.has_value());
  EXPECT_EQ(*a->data, "0102030405060708");
  // Pretty-printed as a server might send it.
  a = ParseDownlinkAnswer(vectors["example"].dump(2), kDevice);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->data.value_or(""), "0102030405060708");
}

TEST(DownlinkAnswer, VectorNoneIsNoDownlink) {
  const json vectors = LoadAnswerVectors();
  ASSERT_TRUE(vectors.contains("none"));
  auto a = ParseDownlinkAnswer(vectors["none"].dump(), kDevice);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_FALSE(a->data.has_value());
}

TEST(DownlinkAnswer, VectorAnswersAreForTheirDeviceOnly) {
  const json vectors = LoadAnswerVectors();
  EXPECT_EQ(RefusalOf(vectors["example"].dump(), SigfoxId{0x2d}),
            "the answer is for another device, not 2D");
  EXPECT_EQ(RefusalOf(vectors["none"].dump(), SigfoxId{0x2c0}),
            "the answer is for another device, not 2C0");
}

TEST(DownlinkAnswer, DataIsLowercased) {
  auto a = ParseDownlinkAnswer(R"({"2C": {"downlinkData": "DEADbeefCAFEBABE"}})", kDevice);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->data.value_or(""), "deadbeefcafebabe");
}

TEST(DownlinkAnswer, DeviceKeyComparesByValue) {
  for (const char* key : {"2C", "2c", "002C", "0000002c", "00000000002C"}) {
    const std::string body = std::string("{\"") + key + "\": {\"noData\": true}}";
    auto a = ParseDownlinkAnswer(body, kDevice);
    EXPECT_TRUE(a.ok()) << key << ": " << a.status().message();
  }
  auto zero = ParseDownlinkAnswer(R"({"000": {"noData": true}})", SigfoxId{0});
  EXPECT_TRUE(zero.ok()) << zero.status().message();
  auto big = ParseDownlinkAnswer(R"({"FFFFFFFF": {"noData": true}})", SigfoxId{0xffffffff});
  EXPECT_TRUE(big.ok()) << big.status().message();
  EXPECT_EQ(RefusalOf(R"({"1FFFFFFFF": {"noData": true}})", SigfoxId{0xffffffff}),
            "the answer is for another device, not FFFFFFFF");
}

struct BadAnswer {
  std::string body;
  const char* reason;
};

class DownlinkAnswerBad : public ::testing::TestWithParam<BadAnswer> {};

TEST_P(DownlinkAnswerBad, RefusedWithAReason) {
  EXPECT_EQ(RefusalOf(GetParam().body), GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DownlinkAnswerBad,
    ::testing::Values(
        BadAnswer{"", "the answer is empty"}, BadAnswer{" \r\n", "the answer is empty"},
        BadAnswer{"<html>502 Bad Gateway</html>", "the answer is not valid JSON"},
        BadAnswer{R"({"2C": {"noData": true})", "the answer is not valid JSON"},
        BadAnswer{R"({"2C": {"noData": true}} trailing)", "the answer is not valid JSON"},
        BadAnswer{"{\"2C\": {\"downlinkData\": \"\xff\xfe\"}}", "the answer is not valid JSON"},
        BadAnswer{R"([{"2C": {"noData": true}}])", "the answer is not a JSON object"},
        BadAnswer{"\"0102030405060708\"", "the answer is not a JSON object"},
        BadAnswer{"{}", "the answer has 0 members, expected one keyed by device 2C"},
        BadAnswer{R"({"2C": {"noData": true}, "2D": {"noData": true}})",
                  "the answer has 2 members, expected one keyed by device 2C"},
        BadAnswer{R"({"2C": {"downlinkData": "0102030405060708"}, "2C": {"noData": true}})",
                  "the answer has 2 members, expected one keyed by device 2C"},
        BadAnswer{R"({"2D": {"downlinkData": "0102030405060708"}})",
                  "the answer is for another device, not 2C"},
        BadAnswer{R"({"<script>": {"noData": true}})",
                  "the answer's key is not a device ID (expected hex digits, the device 2C)"},
        BadAnswer{R"({"0x2C": {"noData": true}})",
                  "the answer's key is not a device ID (expected hex digits, the device 2C)"},
        BadAnswer{R"({" 2C": {"noData": true}})",
                  "the answer's key is not a device ID (expected hex digits, the device 2C)"},
        BadAnswer{R"({"": {"noData": true}})",
                  "the answer's key is not a device ID (expected hex digits, the device 2C)"},
        BadAnswer{R"({"2C": "0102030405060708"})",
                  "the entry for device 2C is a JSON string, expected an object"},
        BadAnswer{R"({"2C": [{"noData": true}]})",
                  "the entry for device 2C is a JSON array, expected an object"},
        BadAnswer{R"({"2C": {}})",
                  "the entry for device 2C has 0 members, expected one: \"downlinkData\" or "
                  "\"noData\""},
        BadAnswer{R"({"2C": {"noData": true, "downlinkData": "0102030405060708"}})",
                  "the entry for device 2C has 2 members, expected one: \"downlinkData\" or "
                  "\"noData\""},
        BadAnswer{R"({"2C": {"downlinkData": "0102030405060708", "x": 1}})",
                  "the entry for device 2C has 2 members, expected one: \"downlinkData\" or "
                  "\"noData\""},
        BadAnswer{R"({"2C": {"noData": true, "noData": true}})",
                  "the entry for device 2C has 2 members, expected one: \"downlinkData\" or "
                  "\"noData\""},
        BadAnswer{R"({"2C": {"downlinkdata": "0102030405060708"}})",
                  "the entry for device 2C has neither \"downlinkData\" nor \"noData\""},
        BadAnswer{R"({"2C": {"noData": false}})",
                  "the entry for device 2C: \"noData\" must be true"},
        BadAnswer{R"({"2C": {"noData": "true"}})",
                  "the entry for device 2C: \"noData\" must be true"},
        BadAnswer{R"({"2C": {"downlinkData": {"data": "0102030405060708"}}})",
                  "the entry for device 2C: \"downlinkData\" is a JSON object, expected a string "
                  "of 16 hex digits"},
        BadAnswer{R"({"2C": {"downlinkData": 102030405060708}})",
                  "the entry for device 2C: \"downlinkData\" is a JSON number, expected a string "
                  "of 16 hex digits"},
        BadAnswer{R"({"2C": {"downlinkData": "01020304"}})",
                  "the entry for device 2C: \"downlinkData\" is 8 bytes long, expected 16 hex "
                  "digits"},
        BadAnswer{R"({"2C": {"downlinkData": "010203040506070809"}})",
                  "the entry for device 2C: \"downlinkData\" is 18 bytes long, expected 16 hex "
                  "digits"},
        BadAnswer{R"({"2C": {"downlinkData": "01020304050607zz"}})",
                  "the entry for device 2C: \"downlinkData\" has a character that is not a hex "
                  "digit at position 15"},
        BadAnswer{R"({"2C": {"downlinkData": "0x02030405060708"}})",
                  "the entry for device 2C: \"downlinkData\" has a character that is not a hex "
                  "digit at position 2"},
        BadAnswer{R"({"2C": {"downlinkData": "01020304 5060708"}})",
                  "the entry for device 2C: \"downlinkData\" has a character that is not a hex "
                  "digit at position 9"}));

TEST(DownlinkAnswer, RefusesBodiesOverFourKiB) {
  // Valid JSON padded with whitespace: refused for its size alone.
  std::string body = R"({"2C": {"noData": true}})";
  body.append(kMaxDownlinkAnswerBytes - body.size(), ' ');
  EXPECT_TRUE(ParseDownlinkAnswer(body, kDevice).ok());
  body += ' ';
  EXPECT_EQ(RefusalOf(body), "the answer is 4097 bytes, at most 4096");
}

TEST(DownlinkAnswer, ReasonsNeverQuoteTheAnswer) {
  const std::string marker = "EVIL\r\nX-Header: 1";
  const std::vector<std::string> bodies = {
      marker,
      "{\"" + marker + "\": {\"noData\": true}}",
      "{\"2C\": {\"" + marker + "\": true}}",
      "{\"2C\": {\"downlinkData\": \"" + marker + "\"}}",
      "{\"2C\": {\"downlinkData\": \"0102030405060EVIL\"}}",
      "{\"2C\": {\"noData\": \"" + marker + "\"}}",
      "{\"2C\": \"" + marker + "\"}",
  };
  for (const std::string& body : bodies) {
    const std::string reason = RefusalOf(body);
    EXPECT_FALSE(reason.empty()) << body;
    EXPECT_EQ(reason.find("EVIL"), std::string::npos) << reason;
    EXPECT_EQ(reason.find_first_of("\r\n"), std::string::npos) << reason;
  }
}

TEST(DownlinkAnswer, DeepNestingIsRefusedNotFatal) {
  std::string body = R"({"2C": {"downlinkData": )";
  body += std::string(1500, '[') + std::string(1500, ']') + "}}";
  ASSERT_LE(body.size(), kMaxDownlinkAnswerBytes);
  EXPECT_EQ(RefusalOf(body),
            "the entry for device 2C: \"downlinkData\" is a JSON array, expected a string of 16 "
            "hex digits");
}

}  // namespace
}  // namespace roost::integration
