#include "api/json/device_json.h"

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

TEST(ParseDeviceEdit, AbsentNullAndGivenFields) {
  auto e = ParseDeviceEdit(json::parse(
      R"({"id": "c031", "name": "n", "lat": null, "lng": 2.5, "deviceTypeId": "t",
          "tokenRenewForbidden": null, "productCertificate": {"key": "P_0004_D356_03"},
          "pac": "0123456789abcdef"})"));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->id, "c031");
  EXPECT_EQ(e->name, "n");
  ASSERT_TRUE(e->lat.has_value());
  EXPECT_FALSE(e->lat->has_value());  // explicit null: clear
  EXPECT_EQ(e->lng, std::optional<double>(2.5));
  EXPECT_EQ(e->type, "t");
  EXPECT_EQ(e->token_renew_forbidden, false);  // null resets to the default
  EXPECT_EQ(e->product_certificate, "P_0004_D356_03");
  EXPECT_EQ(e->pac, "0123456789abcdef");

  auto only_id = ParseDeviceEdit(json::parse(R"({"id": "1"})"));
  ASSERT_TRUE(only_id.ok());
  EXPECT_FALSE(only_id->name || only_id->lat || only_id->lng || only_id->type ||
               only_id->token_renew_forbidden || only_id->product_certificate || only_id->pac);
  auto cleared = ParseDeviceEdit(json::parse(R"({"id": "1", "productCertificate": null})"));
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->product_certificate, "");
}

TEST(ParseDeviceEdit, EachKindOfBadInputNamesTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name": "x"})", "id"},
      {R"({"id": 1})", "id"},
      {R"({"id": "1", "name": null})", "name"},
      {R"({"id": "1", "name": 3})", "name"},
      {R"({"id": "1", "name": "a\u0001b"})", "name"},
      {R"({"id": "1", "lat": "north"})", "lat"},
      {R"({"id": "1", "lng": [1]})", "lng"},
      {R"({"id": "1", "deviceTypeId": null})", "deviceTypeId"},
      {R"({"id": "1", "deviceTypeId": 5})", "deviceTypeId"},
      {R"({"id": "1", "tokenRenewForbidden": 1})", "tokenRenewForbidden"},
      {R"({"id": "1", "productCertificate": 7})", "productCertificate"},
      {R"({"id": "1", "productCertificate": {"id": "x"}})", "productCertificate"},
      {R"({"id": "1", "pac": null})", "pac"},
      {R"({"id": "1", "colour": "red"})", "colour"},
  };
  for (const auto& [body, field] : cases) {
    SCOPED_TRACE(body);
    auto e = ParseDeviceEdit(json::parse(body));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().status, 400);
    EXPECT_EQ(FirstField(e.error()), field) << e.error().message;
  }
}

TEST(ParseBulkEdit, BareArrayOrDataMember) {
  auto a = ParseBulkEdit(json::parse(R"([{"id": "1", "name": "a"}, {"id": "2", "lat": 1}])"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].name, "a");
  EXPECT_EQ((*a)[1].lat, std::optional<std::optional<double>>(1.0));
  auto b = ParseBulkEdit(json::parse(R"({"data": [{"id": "1", "name": "a"}]})"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 1u);
}

TEST(ParseBulkEdit, WrongShapesNameTheItem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(17)", "data"},
      {R"("x")", "data"},
      {R"({"data": "x"})", "data"},
      {R"({})", "data"},
      {R"([])", "data"},
      {R"({"data": [], "more": 1})", "more"},
      {R"([{"id": "1"}, 2])", "data[1]"},
      {R"([{"id": "1"}, {"name": "x"}])", "data[1].id"},
      {R"([{"id": "1", "lat": "n"}])", "data[0].lat"},
      {R"([{"id": "1", "pac": "0123456789ABCDEF"}])", "data[0].pac"},
      {R"([{"id": "1", "x": 1}])", "data[0].x"},
  };
  for (const auto& [body, field] : cases) {
    SCOPED_TRACE(body);
    auto e = ParseBulkEdit(json::parse(body));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().status, 400);
    EXPECT_EQ(FirstField(e.error()), field) << e.error().message;
  }
}

TEST(ParseSeriesUpload, BuildsTheBulkRequestOrNamesTheLine) {
  auto r =
      ParseSeriesUpload("type-1", "id,pac\r\nC031,6a757c859b23471b\r\n", "dev-", "P_0004_D356_03");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, "type-1");
  EXPECT_EQ(r->prefix, "dev-");
  EXPECT_EQ(r->product_certificate, "P_0004_D356_03");
  ASSERT_EQ(r->ids.size(), 1u);
  EXPECT_EQ(r->ids[0], (std::pair<std::string, std::string>{"C031", "6A757C859B23471B"}));
  EXPECT_EQ(r->lines, (std::vector<size_t>{2}));

  auto bad =
      ParseSeriesUpload("t", "C031;6A757C859B23471B\n\nC032;6A75\n", std::nullopt, std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_EQ(bad.error().message.rfind("file: line 3: ", 0), 0u) << bad.error().message;
  ASSERT_EQ(bad.error().errors.size(), 1u);
  EXPECT_EQ(bad.error().errors[0].key, "line");
  EXPECT_EQ(bad.error().errors[0].value_json, "3");

  auto prefix =
      ParseSeriesUpload("t", "C031;6A757C859B23471B\n", std::string(300, 'x'), std::nullopt);
  ASSERT_FALSE(prefix.ok());
  EXPECT_EQ(FirstField(prefix.error()), "prefix");
  auto control =
      ParseSeriesUpload("t", "C031;6A757C859B23471B\n", std::nullopt, std::string("P\n0004"));
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(FirstField(control.error()), "productCertificate");
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
  EXPECT_TRUE(with["lng"].is_null());
  json without = DeviceJson(d, false);
  EXPECT_FALSE(without.contains("pac"));
  EXPECT_EQ(without.dump().find("0123456789ABCDEF"), std::string::npos);
}

TEST(DeviceJson, CarriesTheSigfoxV1FieldsWithEmptyValuesWhenUnknown) {
  Device d;
  d.id = SigfoxId{0x2C};
  d.name = "n";
  d.type = "t";
  d.group = "g";
  d.state = DeviceState::kDisabled;
  json out = DeviceJson(d, false);
  for (const char* field : {"lat",
                            "lng",
                            "location",
                            "last",
                            "lastCom",
                            "averageSnr",
                            "averageRssi",
                            "averageSignal",
                            "activationTime",
                            "sequenceNumber",
                            "computedLocation",
                            "lastComputedLocation",
                            "lqi",
                            "trashSequenceNumber",
                            "tokenType",
                            "tokenEnd",
                            "contractId",
                            "contract",
                            "modemCertificate",
                            "productCertificate",
                            "unsubscriptionTime",
                            "createdBy",
                            "lastEditionTime",
                            "lastEditedBy"}) {
    ASSERT_TRUE(out.contains(field)) << field;
    EXPECT_TRUE(out[field].is_null()) << field;
  }
  EXPECT_EQ(out["state"], 3);
  EXPECT_EQ(out["comState"], 6);  // NOT_SEEN: no message yet
  EXPECT_EQ(out["deviceType"]["id"], "t");
  EXPECT_EQ(out["type"]["id"], "t");
  EXPECT_EQ(out["preventRenewal"], false);
  EXPECT_EQ(out["activable"], true);
  EXPECT_EQ(out["prototype"], false);
}

TEST(DeviceJson, SigfoxV1FieldsFollowWhatRoostKnows) {
  Device d;
  d.id = SigfoxId{0x2C};
  d.lat = 43.5;
  d.lng = 1.25;
  d.last = 1700000000000;
  d.token_renew_forbidden = true;
  d.state = DeviceState::kNotActivable;
  json out = DeviceJson(d, true);
  EXPECT_EQ(out["location"], (json{{"lat", 43.5}, {"lng", 1.25}}));
  EXPECT_EQ(out["lastCom"], 1700000000000);
  EXPECT_EQ(out["comState"], 5);  // NA: seen, but not tracked
  EXPECT_EQ(out["preventRenewal"], true);
  EXPECT_EQ(out["activable"], false);
}

}  // namespace
}  // namespace roost::api
