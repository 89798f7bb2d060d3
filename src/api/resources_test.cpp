#include "api/resources.h"

#include <gtest/gtest.h>

namespace roost::api {
namespace {

using nlohmann::json;

// The "field" named by the first errors[] item, "" when there is none.
std::string FirstField(const ApiError& e) {
  if (e.errors.empty() || e.errors[0].key != "field") return "";
  return json::parse(e.errors[0].value_json).get<std::string>();
}

TEST(ParseJsonObject, AcceptsAnObject) {
  auto v = ParseJsonObject(R"({"a": 1})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["a"], 1);
}

TEST(ParseJsonObject, MalformedJsonNamesLineColumnAndOffset) {
  auto v = ParseJsonObject("{\"a\": 1,\n  \"b\" 2}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().status, 400);
  EXPECT_NE(v.error().message.find("line 2, column 7"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("byte offset 15"), std::string::npos) << v.error().message;
  ASSERT_EQ(v.error().errors.size(), 1u);
  EXPECT_EQ(v.error().errors[0].key, "line");
  EXPECT_EQ(v.error().errors[0].value_json, "2");
}

TEST(ParseJsonObject, TruncatedEmptyAndNonObjectBodies) {
  EXPECT_FALSE(ParseJsonObject("{\"a\": ").ok());
  auto empty = ParseJsonObject("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("JSON object is required"), std::string::npos);
  auto array = ParseJsonObject("[1, 2]");
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.error().message.find("not an array"), std::string::npos);
  EXPECT_FALSE(ParseJsonObject("\"text\"").ok());
}

TEST(RejectUnknownFields, NamesTheField) {
  auto e = RejectUnknownFields(json{{"name", "x"}, {"colour", 1}}, {"name"});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(FirstField(*e), "colour");
  EXPECT_NE(e->message.find("unknown field"), std::string::npos);
  EXPECT_FALSE(RejectUnknownFields(json{{"name", "x"}}, {"name"}).has_value());
}

TEST(FromStatus, MapsCodesAndExtractsTheField) {
  ApiError e = FromStatus(Status::InvalidInput("pac: PAC does not match device 2C"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(FirstField(e), "pac");
  EXPECT_EQ(FromStatus(Status::NotFound("device type x not found")).status, 404);
  EXPECT_TRUE(FromStatus(Status::NotFound("device type x not found")).errors.empty());
  EXPECT_EQ(FromStatus(Status::AlreadyExists("id: device 2C is already registered")).status, 409);
  ApiError io = FromStatus(Status::IoError("sqlite: insert devices failed: disk full"));
  EXPECT_EQ(io.status, 500);
  EXPECT_EQ(io.message.find("disk"), std::string::npos);  // store details are not shown
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

TEST(ParseRegistration, FieldsAndErrors) {
  auto r = ParseRegistration(json{{"id", "2c"},
                                  {"pac", "0123456789abcdef"},
                                  {"name", "n"},
                                  {"type", "t"},
                                  {"lat", 1.5},
                                  {"lng", -2},
                                  {"productCertificate", {{"key", "P_0004_D356_03"}}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->id, "2c");
  EXPECT_EQ(*r->lat, 1.5);
  EXPECT_EQ(*r->lng, -2.0);
  EXPECT_EQ(r->product_certificate, "P_0004_D356_03");
  auto s = ParseRegistration(json{
      {"id", "2c"}, {"pac", "p"}, {"name", "n"}, {"type", "t"}, {"productCertificate", "P 0004"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->product_certificate, "P 0004");

  EXPECT_EQ(FirstField(ParseRegistration(json{{"pac", "p"}, {"name", "n"}, {"type", "t"}}).error()),
            "id");
  EXPECT_EQ(
      FirstField(
          ParseRegistration(json{{"id", 44}, {"pac", "p"}, {"name", "n"}, {"type", "t"}}).error()),
      "id");
  EXPECT_EQ(
      FirstField(ParseRegistration(
                     json{{"id", "1"}, {"pac", "p"}, {"name", "n"}, {"type", "t"}, {"lat", "n"}})
                     .error()),
      "lat");
  EXPECT_EQ(FirstField(ParseRegistration(
                           json{{"id", "1"}, {"pac", "p"}, {"name", "n"}, {"type", "t"}, {"x", 1}})
                           .error()),
            "x");
  EXPECT_EQ(FirstField(ParseRegistration(json{{"id", "1"},
                                              {"pac", "p"},
                                              {"name", "n"},
                                              {"type", "t"},
                                              {"productCertificate", {{"code", "x"}}}})
                           .error()),
            "productCertificate");
}

TEST(ParseBulkCreate, ItemsAndErrors) {
  auto r = ParseBulkCreate(json{{"prefix", "dev-"},
                                {"ids", json::array({json{{"id", "C031"}, {"pac", "6A75"}}})},
                                {"productCertificate", "P_0004_D356_03"}},
                           "type1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, "type1");
  EXPECT_EQ(r->prefix, "dev-");
  ASSERT_EQ(r->ids.size(), 1u);
  EXPECT_EQ(r->ids[0].first, "C031");
  EXPECT_EQ(r->ids[0].second, "6A75");

  EXPECT_EQ(FirstField(ParseBulkCreate(json{{"prefix", "p"}}, "t").error()), "ids");
  EXPECT_EQ(FirstField(ParseBulkCreate(json{{"ids", "C031"}}, "t").error()), "ids");
  EXPECT_EQ(FirstField(ParseBulkCreate(json{{"ids", json::array({1})}}, "t").error()), "ids[0]");
  EXPECT_EQ(
      FirstField(
          ParseBulkCreate(
              json{{"ids", json::array({json{{"id", "1"}, {"pac", "2"}}, json{{"id", "1"}}})}}, "t")
              .error()),
      "ids[1].pac");
  EXPECT_EQ(
      FirstField(ParseBulkCreate(
                     json{{"ids", json::array({json{{"id", "1"}, {"pac", "2"}, {"x", 3}}})}}, "t")
                     .error()),
      "ids[0]");
  EXPECT_EQ(FirstField(ParseBulkCreate(json{{"ids", json::array()}, {"extra", 1}}, "t").error()),
            "extra");
}

TEST(DeviceJson, PacOnlyWhenAllowed) {
  Device d;
  d.id = SigfoxId{0x2C};
  d.name = "n";
  d.type = "t";
  d.group = "g";
  d.pac = "0123456789ABCDEF";
  d.product_certificate = "P_0004_D356_03";
  d.lat = 1.0;
  json with = DeviceJson(d, true);
  EXPECT_EQ(with["id"], "2C");
  EXPECT_EQ(with["pac"], "0123456789ABCDEF");
  EXPECT_EQ(with["productCertificate"]["key"], "P_0004_D356_03");
  EXPECT_EQ(with["lat"], 1.0);
  EXPECT_FALSE(with.contains("lng"));
  json without = DeviceJson(d, false);
  EXPECT_FALSE(without.contains("pac"));
  EXPECT_EQ(without.dump().find("0123456789ABCDEF"), std::string::npos);
}

TEST(JobStatusJson, Shape) {
  JobStatus s;
  s.done = true;
  s.total = 3;
  s.success = 2;
  s.failed.push_back({"C031", "PAC does not match"});
  json j = JobStatusJson(s);
  EXPECT_EQ(j["jobDone"], true);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["status"]["success"], 2);
  EXPECT_EQ(j["status"]["failed"][0]["id"], "C031");
  EXPECT_EQ(j["status"]["failed"][0]["message"], "PAC does not match");
}

TEST(ParseLimit, DefaultsAndBounds) {
  EXPECT_EQ(*ParseLimit(std::nullopt), 100);
  EXPECT_EQ(*ParseLimit(std::string("1")), 1);
  EXPECT_EQ(*ParseLimit(std::string("1000")), 1000);
  for (const char* bad : {"0", "1001", "-1", "", "abc", "10x", "99999"}) {
    auto l = ParseLimit(std::string(bad));
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(FirstField(l.error()), "limit");
  }
}

}  // namespace
}  // namespace roost::api
