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
      // Each of these the mailer refuses: a dead callback's alert would be lost.
      {{{"alertEmail", "ops@example.com,boss@example.com"}}, "alertEmail", "email address"},
      {{{"alertEmail", "<ops@example.com>"}}, "alertEmail", "email address"},
      {{{"alertEmail", "a@b@c"}}, "alertEmail", "email address"},
      {{{"alertEmail", "ops\"x@example.com"}}, "alertEmail", "email address"},
      {{{"payloadType", "Geolocation"}}, "payloadType", "reserved"},
      {{{"payloadType", "custom"}}, "payloadType", "None (2), String (5) or Custom (3)"},
      {{{"payloadType", 4}}, "payloadType", "Geolocation (4) is reserved"},
      {{{"payloadType", 6}}, "payloadType", "None (2), String (5) or Custom (3)"},
      {{{"payloadType", 2.0}}, "payloadType", "a name or an integer code"},
      {{{"downlinkMode", true}}, "downlinkMode", "a name or an integer code"},
      {{{"downlinkMode", 7}}, "downlinkMode", "must be DIRECT (0), CALLBACK (1) or NONE (2)"},
      {{{"downlinkMode", -1}}, "downlinkMode", "DIRECT (0), CALLBACK (1) or NONE (2)"},
      {{{"downlinkMode", 18446744073709551615u}}, "downlinkMode", "DIRECT (0)"},
      {{{"downlinkMode", 3}}, "downlinkMode", "MANAGED (3) is reserved"},
      {{{"downlinkMode", "MANAGED"}}, "downlinkMode", "MANAGED (3) is reserved"},
      {{{"downlinkMode", "BIDIR"}}, "downlinkMode", "DIRECT (0), CALLBACK (1) or NONE (2)"},
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

TEST(DeviceTypeFields, SigfoxIntegerCodesAreAcceptedLikeNames) {
  const struct {
    json code;
    DownlinkMode mode;
  } modes[] = {{0, DownlinkMode::kDirect}, {1, DownlinkMode::kCallback}, {2, DownlinkMode::kNone}};
  for (const auto& m : modes) {
    DeviceType t;
    t.downlink_mode = DownlinkMode::kCallback;
    if (m.mode == DownlinkMode::kCallback) t.downlink_mode = DownlinkMode::kDirect;
    auto e = ApplyDeviceTypeFields(json{{"downlinkMode", m.code}}, false, t);
    ASSERT_FALSE(e.has_value()) << e->message;
    EXPECT_EQ(t.downlink_mode, m.mode) << m.code;
  }
  const struct {
    json code;
    PayloadType type;
  } types[] = {{2, PayloadType::kNone}, {5, PayloadType::kString}, {3, PayloadType::kCustom}};
  for (const auto& p : types) {
    DeviceType t;
    t.payload_type = PayloadType::kGeolocation;
    auto e = ApplyDeviceTypeFields(json{{"payloadType", p.code}}, false, t);
    ASSERT_FALSE(e.has_value()) << e->message;
    EXPECT_EQ(t.payload_type, p.type) << p.code;
  }
}

TEST(DeviceTypeJson, CarriesTheSigfoxFieldsWithEmptyValues) {
  DeviceType t;
  t.id = "i";
  t.name = "n";
  t.group = "g";
  t.downlink_mode = DownlinkMode::kNone;
  json out = DeviceTypeJson(t);
  for (const char* field : {"contract", "createdBy", "lastEditedBy"}) {
    ASSERT_TRUE(out.contains(field)) << field;
    EXPECT_TRUE(out[field].is_null()) << field;
  }
  EXPECT_EQ(out["downlinkMode"], "NONE");
  EXPECT_EQ(out["payloadType"], "None");
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
