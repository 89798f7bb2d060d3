#include "codec/downlink_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/hex.h"

namespace roost::codec {
namespace {

using nlohmann::json;

json LoadVectors() {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/downlink.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

uint16_t TapId(const std::string& hex) {
  std::array<uint8_t, 2> b{};
  EXPECT_TRUE(FromHexInto(hex, b).ok()) << hex;
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

std::string ExpandHex(std::string_view tmpl, int64_t time, double rssi, uint16_t tap) {
  auto t = CompileDownlinkTemplate(tmpl);
  EXPECT_TRUE(t.ok()) << tmpl << ": " << t.status().message();
  if (!t.ok()) return {};
  return ToHex(Expand(*t, time, rssi, tap));
}

std::string ErrorOf(std::string_view tmpl) {
  auto t = CompileDownlinkTemplate(tmpl);
  EXPECT_FALSE(t.ok()) << tmpl;
  return t.ok() ? std::string() : t.status().message();
}

TEST(DownlinkTemplate, ExpandsEveryVectorCase) {
  const json vectors = LoadVectors();
  ASSERT_GE(vectors["cases"].size(), 3u);
  for (const json& c : vectors["cases"]) {
    EXPECT_EQ(ExpandHex(c["template"].get<std::string>(), c["time"].get<int64_t>(),
                        c["rssi"].get<double>(), TapId(c["tapId"])),
              c["downlink"].get<std::string>())
        << c["template"];
  }
}

TEST(DownlinkTemplate, RefusesEveryInvalidVectorTemplate) {
  const json vectors = LoadVectors();
  ASSERT_FALSE(vectors["invalid"].empty());
  for (const json& t : vectors["invalid"]) {
    EXPECT_FALSE(ErrorOf(t.get<std::string>()).empty()) << t;
  }
}

struct BadTemplate {
  const char* text;
  const char* error;
};

class DownlinkTemplateBad : public ::testing::TestWithParam<BadTemplate> {};

TEST_P(DownlinkTemplateBad, SaysWhatIsWrong) {
  EXPECT_EQ(ErrorOf(GetParam().text), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DownlinkTemplateBad,
    ::testing::Values(
        BadTemplate{"{time}0000",
                    "the template expands to 12 hex digits, expected 16 (8 bytes; "
                    "{time} is 8 digits, {rssi} and {tapId} 4)"},
        BadTemplate{"{time}{time}{rssi}",
                    "the template expands to 20 hex digits, expected 16 (8 bytes; {time} is 8 "
                    "digits, {rssi} and {tapId} 4)"},
        BadTemplate{"{time}0000{rssi}00",
                    "the template expands to 18 hex digits, expected 16 (8 bytes; {time} is 8 "
                    "digits, {rssi} and {tapId} 4)"},
        BadTemplate{"zz{time}00{rssi}",
                    "position 1: expected a hex digit or a variable ({time}, {rssi}, {tapId}), "
                    "found 'z'"},
        BadTemplate{"{temp}00000000{rssi}",
                    "position 1: unknown variable '{temp}' (expected {time}, {rssi} or {tapId})"},
        BadTemplate{"",
                    "the template expands to 0 hex digits, expected 16 (8 bytes; {time} is 8 "
                    "digits, {rssi} and {tapId} 4)"},
        BadTemplate{"00000000{rssi", "position 9: '{' without a closing '}'"},
        BadTemplate{"00000000{TIME}",
                    "position 9: unknown variable '{TIME}' (expected {time}, "
                    "{rssi} or {tapId})"},
        BadTemplate{"0000 0000 0000 0000",
                    "position 5: expected a hex digit or a variable ({time}, {rssi}, {tapId}), "
                    "found byte 32"}));

TEST(DownlinkTemplate, VariablesMayStartMidByte) {
  EXPECT_EQ(ExpandHex("0{time}{rssi}000", 0x12345678, -1.0, 0), "012345678ffff000");
  EXPECT_EQ(ExpandHex("a{tapId}{tapId}{rssi}bcd", 0, 2.0, 0xabcd), "aabcdabcd0002bcd");
}

TEST(DownlinkTemplate, RssiIsRoundedAndClampedTimeTruncated) {
  EXPECT_EQ(ExpandHex("{rssi}{rssi}{rssi}{rssi}", 0, -121.5, 0), "ff86ff86ff86ff86");
  EXPECT_EQ(ExpandHex("{rssi}000000000000", 0, -121.4, 0), "ff87000000000000");
  EXPECT_EQ(ExpandHex("{rssi}000000000000", 0, -1e9, 0), "8000000000000000");
  EXPECT_EQ(ExpandHex("{rssi}000000000000", 0, 1e9, 0), "7fff000000000000");
  EXPECT_EQ(ExpandHex("{time}00000000", int64_t{0x1'2345'6789}, 0, 0), "2345678900000000");
  EXPECT_EQ(ExpandHex("ABCDEF{tapId}012345", 0, 0, 0x0a1b), "abcdef0a1b012345");
}

TEST(CallbackAnswer, ParsesTheVectorAnswers) {
  const json vectors = LoadVectors();
  auto example = ParseCallbackAnswer(vectors["callbackAnswer"]["example"].dump());
  ASSERT_TRUE(example.ok()) << example.status().message();
  const CallbackAnswerEntry* e = FindCallbackAnswer(*example, SigfoxId{0x2c});
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->downlink.has_value());
  EXPECT_EQ(ToHex(*e->downlink), "0102030405060708");
  EXPECT_EQ(FindCallbackAnswer(*example, SigfoxId{0x2d}), nullptr);

  auto none = ParseCallbackAnswer(vectors["callbackAnswer"]["none"].dump());
  ASSERT_TRUE(none.ok()) << none.status().message();
  e = FindCallbackAnswer(*none, SigfoxId{0x2c});
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->downlink.has_value());
}

TEST(CallbackAnswer, SeveralDevicesAndCaseInsensitiveIds) {
  auto a = ParseCallbackAnswer(
      R"({"2c": {"downlinkData": "AABBCCDDEEFF0011", "extra": 1}, "0041A2F0": {"noData": true}})");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ(ToHex(*FindCallbackAnswer(*a, SigfoxId{0x2c})->downlink), "aabbccddeeff0011");
  EXPECT_FALSE(FindCallbackAnswer(*a, SigfoxId{0x41a2f0})->downlink.has_value());
  auto empty = ParseCallbackAnswer("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

struct BadAnswer {
  const char* body;
  const char* error;
};

class CallbackAnswerBad : public ::testing::TestWithParam<BadAnswer> {};

TEST_P(CallbackAnswerBad, SaysWhatIsWrong) {
  auto a = ParseCallbackAnswer(GetParam().body);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find(GetParam().error), std::string::npos) << a.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CallbackAnswerBad,
    ::testing::Values(
        BadAnswer{"", "not valid JSON"}, BadAnswer{"{\"2C\": ", "not valid JSON"},
        BadAnswer{"[]", "not a JSON object"},
        BadAnswer{R"({"xyz": {"noData": true}})", "key 'xyz': not a device ID"},
        BadAnswer{R"({"2C": {"noData": true}, "002c": {"noData": true}})",
                  "device 2C appears twice"},
        BadAnswer{R"({"2C": "0102030405060708"})", "device 2C: expected an object"},
        BadAnswer{R"({"2C": {}})", "device 2C: expected \"downlinkData\" or \"noData\""},
        BadAnswer{R"({"2C": {"downlinkData": "01020304"}})",
                  "device 2C: \"downlinkData\": expected 16 hex digits, got 8"},
        BadAnswer{R"({"2C": {"downlinkData": "01020304050607zz"}})",
                  "device 2C: \"downlinkData\": not a hex digit at position 15"},
        BadAnswer{R"({"2C": {"downlinkData": 1234}})", "must be a string of 16 hex digits"},
        BadAnswer{R"({"2C": {"noData": false}})", "device 2C: \"noData\" must be true"},
        BadAnswer{R"({"2C": {"noData": true, "downlinkData": "0102030405060708"}})",
                  "both \"downlinkData\" and \"noData\""}));

}  // namespace
}  // namespace roost::codec
