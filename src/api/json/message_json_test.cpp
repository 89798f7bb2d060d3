#include "api/json/message_json.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::api {
namespace {

using nlohmann::json;

Message TwoStationMessage() {
  Message m;
  m.device = SigfoxId{0x2C};
  m.type = "5f0e7c1a2b3c4d5e6f708192";
  m.time = 1700000000123;
  m.seq_number = 42;
  m.data = "0102ff";
  m.rinfos = {Reception{"0A1B", -120.5, 12.25, 868130000, 43.6, 1.44, 0, false},
              Reception{"0A1C", -110, 7.75, 868130000, std::nullopt, std::nullopt, 35, false}};
  m.ack = true;
  m.link_quality = LinkQuality::kGood;
  m.computed_location = ComputedLocation{43.61, 1.45, 250};
  m.decoded = R"({"temp":21.5,"label":"caf\u00e9","flags":[1,2]})";
  return m;
}

json Written(const Message& m, std::string_view callbacks = "[]") {
  std::string text;
  AppendMessageJson(text, m, callbacks);
  return json::parse(text);  // throws, failing the test, when the text is not JSON
}

TEST(MessageJsonText, WritesEveryMemberOfTheApiShape) {
  json j = Written(TwoStationMessage(), R"([{"callbackId":"c1"}])");
  EXPECT_EQ(j["device"], "2C");
  EXPECT_EQ(j["deviceTypeId"], "5f0e7c1a2b3c4d5e6f708192");
  EXPECT_EQ(j["time"], 1700000000123);
  EXPECT_EQ(j["seqNumber"], 42);
  EXPECT_EQ(j["data"], "0102ff");
  EXPECT_EQ(j["station"], "0A1B");
  EXPECT_EQ(j["snr"], "10.00");  // the average, a string with two decimals (Sigfox API v1)
  EXPECT_EQ(j["avgSnr"], "10.00");
  EXPECT_EQ(j["rssi"], -110);  // the best
  EXPECT_EQ(j["nbFrames"], 2);
  ASSERT_EQ(j["rinfos"].size(), 2u);
  EXPECT_EQ(j["rinfos"][0], (json{{"tap", "0A1B"},
                                  {"delay", 0},
                                  {"lat", 43.6},
                                  {"lng", 1.44},
                                  {"rssi", -120.5},
                                  {"snr", 12.25},
                                  {"freq", 868130000}}));
  EXPECT_TRUE(j["rinfos"][1]["lat"].is_null());
  EXPECT_EQ(j["rinfos"][1]["delay"], 35);
  EXPECT_EQ(j["linkQuality"], "GOOD");
  EXPECT_EQ(j["ack"], true);
  EXPECT_EQ(j["computedLocation"], (json{{"lat", 43.61}, {"lng", 1.45}, {"radius", 250}}));
  // The radius in whole metres, as the Sigfox API gives it.
  Message far = TwoStationMessage();
  far.computed_location->radius = 3377.3139087910095;
  EXPECT_EQ(Written(far)["computedLocation"]["radius"], 3377);
  EXPECT_TRUE(Written(far)["computedLocation"]["radius"].is_number_integer());
  EXPECT_EQ(j["decoded"], json::parse(TwoStationMessage().decoded));
  EXPECT_TRUE(j["downlinkAnswerStatus"].is_null());
  EXPECT_FALSE(j.contains("undecoded"));
  EXPECT_EQ(j["callbacks"], json::parse(R"([{"callbackId":"c1"}])"));
}

TEST(MessageJsonText, DownlinkAnswerStatusSentOrRefused) {
  Message m = TwoStationMessage();
  m.downlink_data = "0011223344556677";
  m.downlink_station = "0A1C";
  json j = Written(m);
  EXPECT_EQ(j["downlinkAnswerStatus"],
            (json{{"data", "0011223344556677"}, {"station", "0A1C"}, {"acknowledged", nullptr}}));
  m.downlink_ack = false;
  EXPECT_EQ(Written(m)["downlinkAnswerStatus"]["acknowledged"], false);

  Message refused = TwoStationMessage();
  refused.downlink_info = "the hook answered after the deadline";
  EXPECT_EQ(Written(refused)["downlinkAnswerStatus"],
            (json{{"data", nullptr},
                  {"station", nullptr},
                  {"acknowledged", nullptr},
                  {"reason", "the hook answered after the deadline"}}));
}

TEST(MessageJsonText, StoredTextThatIsNotJsonNeverBreaksTheAnswer) {
  Message m = TwoStationMessage();
  m.decoded = R"({"temp": 21.5)";  // cut short
  m.undecoded = "[1,";
  json j = Written(m);
  EXPECT_TRUE(j["decoded"].is_null());
  EXPECT_FALSE(j.contains("undecoded"));

  m.undecoded = R"([{"name":"extra","bits":4}])";
  EXPECT_EQ(Written(m)["undecoded"], json::parse(m.undecoded));
}

TEST(MessageJsonText, InvalidUtf8AndControlsInStoredStringsAreEscaped) {
  Message m = TwoStationMessage();
  m.downlink_info = "bad \xff byte and \"quote\"\n";
  json j = Written(m);
  EXPECT_EQ(j["downlinkAnswerStatus"]["reason"].get<std::string>(),
            "bad \xEF\xBF\xBD byte and \"quote\"\n");
}

TEST(MessageJsonText, NoStationAndNonFiniteNumbers) {
  Message m;
  m.device = SigfoxId{1};
  m.rinfos = {Reception{"0A1B", std::nan(""), 0, 0, std::nullopt, std::nullopt, 0, false}};
  json j = Written(m);
  EXPECT_TRUE(j["rinfos"][0]["rssi"].is_null());
  m.rinfos.clear();
  j = Written(m);
  EXPECT_EQ(j["station"], "");
  EXPECT_EQ(j["nbFrames"], 0);
  EXPECT_TRUE(j["decoded"].is_null());
}

}  // namespace
}  // namespace roost::api
