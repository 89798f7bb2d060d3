#include "api/json/device_type_json.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::api {
namespace {

using nlohmann::json;

// The "field" named by the first errors[] item, "" when there is none.
std::string FirstField(const ApiError& e) {
  if (e.errors.empty() || e.errors[0].key != "field") return "";
  return json::parse(e.errors[0].value_json).get<std::string>();
}

TEST(DeviceTypeFields, SetsEveryField) {
  DeviceType t;
  auto e = ApplyDeviceTypeFields(json{{"name", "n"},
                                      {"description", "d"},
                                      {"keepAlive", 3600},
                                      {"alertEmail", "ops@example.com"},
                                      {"payloadType", "Custom"},
                                      {"payloadConfig", "t::uint:8"},
                                      {"downlinkMode", "CALLBACK"},
                                      {"downlinkDataString", "x"},
                                      {"automaticRenewal", true}},
                                 false, t);
  ASSERT_FALSE(e.has_value()) << e->message;
  EXPECT_EQ(t.name, "n");
  EXPECT_EQ(t.description, "d");
  EXPECT_EQ(t.keep_alive, 3600);
  EXPECT_EQ(t.alert_email, "ops@example.com");
  EXPECT_EQ(t.payload_type, PayloadType::kCustom);
  EXPECT_EQ(t.downlink_mode, DownlinkMode::kCallback);
  EXPECT_TRUE(t.automatic_renewal);
  // A CALLBACK type's downlinkDataString is not a template: not checked.
  EXPECT_FALSE(ValidateDeviceType(t).has_value());
  json out = DeviceTypeJson(t);
  EXPECT_EQ(out["payloadType"], "Custom");
  EXPECT_EQ(out["downlinkMode"], "CALLBACK");
  EXPECT_EQ(out["keepAlive"], 3600);
}

TEST(DeviceTypeFields, NullClearsAndAbsentKeeps) {
  DeviceType t;
  t.name = "n";
  t.description = "d";
  t.keep_alive = 5;
  t.payload_type = PayloadType::kString;
  t.automatic_renewal = true;
  auto e = ApplyDeviceTypeFields(json{{"id", "x"},
                                      {"description", nullptr},
                                      {"payloadType", nullptr},
                                      {"automaticRenewal", nullptr}},
                                 true, t);
  ASSERT_FALSE(e.has_value()) << e->message;
  EXPECT_EQ(t.name, "n");
  EXPECT_EQ(t.keep_alive, 5);
  EXPECT_EQ(t.description, "");
  EXPECT_EQ(t.payload_type, PayloadType::kNone);
  EXPECT_FALSE(t.automatic_renewal);
  auto name = ApplyDeviceTypeFields(json{{"name", nullptr}}, true, t);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(FirstField(*name), "name");
}

TEST(DeviceTypeFields, WrongTypesAndValuesNameTheField) {
  struct Case {
    json body;
    std::string field;
    std::string fragment;
  };
  const Case cases[] = {
      {{{"name", 5}}, "name", "must be a string, not a number"},
      {{{"keepAlive", "60"}}, "keepAlive", "integer"},
      {{{"keepAlive", 1.5}}, "keepAlive", "integer"},
      {{{"keepAlive", -1}}, "keepAlive", "negative"},
      {{{"keepAlive", 4000000000u}}, "keepAlive", "at most"},
      {{{"alertEmail", "nobody"}}, "alertEmail", "email"},
      {{{"payloadType", "Geolocation"}}, "payloadType", "reserved"},
      {{{"payloadType", "custom"}}, "payloadType", "None, String or Custom"},
      {{{"downlinkMode", 1}}, "downlinkMode", "string"},
      {{{"downlinkMode", "BIDIR"}}, "downlinkMode", "DIRECT, CALLBACK or NONE"},
      {{{"automaticRenewal", "yes"}}, "automaticRenewal", "boolean"},
      {{{"description", "a\nb"}}, "description", "control characters"},
      {{{"name", std::string(201, 'n')}}, "name", "at most 200"},
      {{{"id", "x"}}, "id", "unknown field"},  // not allowed on create
  };
  for (const Case& c : cases) {
    DeviceType t;
    auto e = ApplyDeviceTypeFields(c.body, false, t);
    ASSERT_TRUE(e.has_value()) << c.body.dump();
    EXPECT_EQ(e->status, 400);
    EXPECT_EQ(FirstField(*e), c.field) << c.body.dump();
    EXPECT_NE(e->message.find(c.fragment), std::string::npos) << e->message;
  }
}

TEST(ValidateDeviceType, NamesFieldAndPosition) {
  DeviceType t;
  EXPECT_EQ(FirstField(*ValidateDeviceType(t)), "name");
  t.name = "n";
  EXPECT_FALSE(ValidateDeviceType(t).has_value());
  t.payload_type = PayloadType::kCustom;
  auto missing = ValidateDeviceType(t);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(FirstField(*missing), "payloadConfig");
  t.payload_config = "a::uint:8 b::bogus";
  auto bad = ValidateDeviceType(t);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(FirstField(*bad), "payloadConfig");
  EXPECT_NE(bad->message.find("position 14"), std::string::npos) << bad->message;
  t.payload_config = "a::uint:8";
  EXPECT_FALSE(ValidateDeviceType(t).has_value());
  t.downlink_data_string = "{time}00";
  auto tmpl = ValidateDeviceType(t);
  ASSERT_TRUE(tmpl.has_value());
  EXPECT_EQ(FirstField(*tmpl), "downlinkDataString");
  t.downlink_data_string = "{time}0000{rssi}";
  EXPECT_FALSE(ValidateDeviceType(t).has_value());
  t.downlink_mode = DownlinkMode::kNone;
  t.downlink_data_string = "not checked";
  EXPECT_FALSE(ValidateDeviceType(t).has_value());
}

}  // namespace
}  // namespace roost::api
