// The fast bulk parsers against the nlohmann ones: same result, same error,
// on bodies that succeed and on bodies each rule refuses.
#include "api/json/bulk_json.h"

#include <gtest/gtest.h>

#include <string>

#include "api/json/body.h"
#include "api/json/device_json.h"

namespace roost::api {
namespace {

// "status message | key=value message | ..." of an error.
std::string Describe(const ApiError& e) {
  std::string out = std::to_string(e.status) + " " + e.message;
  for (const auto& d : e.errors) out += " | " + d.key + "=" + d.value_json + " " + d.message;
  return out;
}

std::string Describe(Parsed<registry::BulkCreateRequest> r) {
  if (!r.ok()) return "error " + Describe(r.error());
  std::string out = "type=" + r->type + " prefix=" + r->prefix + " cert=" + r->product_certificate;
  for (const auto& [id, pac] : r->ids) out += " (" + id + "," + pac + ")";
  return out;
}

std::string Coordinate(const std::optional<std::optional<double>>& c) {
  if (!c) return "-";
  if (!*c) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", **c);  // exact, sign of zero included
  return buf;
}

std::string Describe(Parsed<std::vector<registry::DeviceEdit>> r) {
  if (!r.ok()) return "error " + Describe(r.error());
  std::string out;
  for (const auto& e : *r) {
    out += "{id=" + e.id + " name=" + e.name.value_or("-") + " lat=" + Coordinate(e.lat) +
           " lng=" + Coordinate(e.lng) + " type=" + e.type.value_or("-") +
           " trf=" + (e.token_renew_forbidden ? (*e.token_renew_forbidden ? "1" : "0") : "-") +
           " cert=" + e.product_certificate.value_or("-") + " pac=" + e.pac.value_or("-") + "}";
  }
  return out;
}

Parsed<registry::BulkCreateRequest> SlowBulkCreate(std::string_view body) {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return json.error();
  return ParseBulkCreate(*json, "type-1");
}

Parsed<std::vector<registry::DeviceEdit>> SlowBulkEdit(std::string_view body) {
  auto json = ParseJsonValue(body);
  if (!json.ok()) return json.error();
  return ParseBulkEdit(*json);
}

TEST(FastBulkCreate, ReadsTheUsualBodyItself) {
  const std::string body =
      R"({"prefix": "dev-", "ids": [{"id": "C031", "pac": "0123456789ABCDEF"},)"
      R"( {"pac": "FEDC", "id": "C\u0030\u00e932"}], "productCertificate": "P_0004_D356_03"})";
  auto fast = FastBulkCreate(body, "type-1");
  ASSERT_TRUE(fast.has_value());
  ASSERT_EQ(fast->ids.size(), 2u);
  EXPECT_EQ(fast->ids[1].first,
            "C0\xc3\xa9"
            "32");
  EXPECT_EQ(fast->ids[1].second, "FEDC");
  EXPECT_EQ(Describe(ParseBulkCreateBody(body, "type-1")), Describe(SlowBulkCreate(body)));
  EXPECT_TRUE(FastBulkCreate(R"({"ids": [], "prefix": null, "productCertificate": null})", "t"));
}

TEST(FastBulkCreate, DefersAndAnswersExactlyAsTheSlowPath) {
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  const std::vector<std::string> bodies = {
      "",
      " ",
      "[]",
      "{}",
      "null",
      R"({"ids": [{"id": "1", "pac": "2"}]} x)",
      R"({"ids": [{"id": "1", "pac": "2"}]}{})",
      R"({"ids": [{"id": "1", "pac": "2"},]})",
      R"({"ids": [{"id": "1", "pac": "2"})",
      R"({"ids": [{"id": "1", "pac": "2"}])",
      R"({"ids": [{"id": "1" "pac": "2"}]})",
      R"({"ids": [{"id": "1", "pac": 2}]})",
      R"({"ids": [{"id": "1"}]})",
      R"({"ids": [{"id": "1", "pac": "2", "x": 3}]})",
      R"({"ids": [{"id": "1", "pac": "2", "id": "3"}]})",
      R"({"ids": [1]})",
      R"({"ids": "C031"})",
      R"({"ids": [], "ids": [{"id": "1", "pac": "2"}]})",
      R"({"ids": [], "extra": 1})",
      R"({"prefix": "p"})",
      R"({"prefix": 5, "ids": []})",
      R"({"prefix": "a\tb", "ids": []})",
      R"({"prefix": ")" + std::string(193, 'x') + R"(", "ids": []})",
      R"({"prefix": ")" + std::string(192, 'x') + R"(", "ids": []})",
      R"({"productCertificate": {"key": "P_1"}, "ids": []})",
      R"({"productCertificate": {"nope": "P_1"}, "ids": []})",
      R"({"productCertificate": 7, "ids": []})",
      R"({"ids": [{"id": "1\u0000", "pac": "2"}]})",
      R"({"ids": [{"id": "\ud800", "pac": "2"}]})",
      R"({"ids": [{"id": "1", "pac": "2"}], "prefix": "\u0000"})",
      "{\"ids\": [{\"id\": \"\xff\", \"pac\": \"2\"}]}",
      "{\"ids\": [{\"id\": \"\xc3\", \"pac\": \"2\"}]}",
      "{\n  \"ids\": [\n    {\"id\": \"1\", \"pac\": tru}\n  ]\n}",
      R"({"ids": [{"id": "1", "pac": "2"}], "prefix": "p\"q"})",
      "{\"ids\": " + deep + "}",
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(Describe(ParseBulkCreateBody(body, "type-1")), Describe(SlowBulkCreate(body)))
        << body;
  }
  // The fast path itself refuses what it must not decide: NUL, invalid UTF-8,
  // repeated keys, trailing content, nesting past the limit.
  for (size_t i : {5, 14, 17, 27, 30, 34}) {
    EXPECT_FALSE(FastBulkCreate(bodies[i], "t").has_value()) << bodies[i];
  }
}

TEST(FastBulkEdit, ReadsTheUsualBodiesItself) {
  const std::vector<std::string> bodies = {
      R"([{"id": "1", "name": "a"}, {"id": "2", "lat": 1, "lng": -2.5}])",
      R"({"data": [{"id": "1", "name": "a", "tokenRenewForbidden": true}]})",
      R"([{"id": "1", "lat": null, "lng": -0, "deviceTypeId": "t", "productCertificate": null,)"
      R"( "tokenRenewForbidden": null}, {"id": "2", "lat": -0.0, "lng": 1e2,)"
      R"( "productCertificate": "P_1"}, {"id": "3", "lat": 18446744073709551615,)"
      R"( "lng": 0.1}])",
  };
  for (const std::string& body : bodies) {
    EXPECT_TRUE(FastBulkEdit(body).has_value()) << body;
    EXPECT_EQ(Describe(ParseBulkEditBody(body)), Describe(SlowBulkEdit(body))) << body;
  }
  auto r = FastBulkEdit(bodies[2]);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(Coordinate((*r)[0].lng), Coordinate(0.0));  // nlohmann reads -0 as the integer 0
  EXPECT_EQ(Coordinate((*r)[1].lat), Coordinate(-0.0));
  EXPECT_EQ((*r)[0].product_certificate, "");
}

TEST(FastBulkEdit, DefersAndAnswersExactlyAsTheSlowPath) {
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "{}",
      "5",
      R"({"data": []})",
      R"({"data": [], "x": 1})",
      R"({"data": [{"id": "1"}], "data": [{"id": "2"}]})",
      R"([{"name": "a"}])",
      R"([{"id": "1", "pac": "p"}])",
      R"([{"id": "1", "nope": 1}])",
      R"([{"id": 1}])",
      R"([{"id": "1", "name": null}])",
      R"([{"id": "1", "name": "a\nb"}])",
      R"([{"id": "1", "name": "a", "name": "b"}])",
      R"([{"id": "1", "lat": "north"}])",
      R"([{"id": "1", "lat": 123456789012345678901234567890}])",
      R"([{"id": "1", "deviceTypeId": null}])",
      R"([{"id": "1", "tokenRenewForbidden": 1}])",
      R"([{"id": "1", "productCertificate": {"key": "P_2"}}])",
      R"([{"id": "1", "name": "a\u0000"}])",
      R"([{"id": "1"}] [])",
      R"([{"id": "1"},])",
      R"([{"id": "1"})",
      R"([1])",
      "[{\"id\": \"\xe2\x82\"}]",
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(Describe(ParseBulkEditBody(body)), Describe(SlowBulkEdit(body))) << body;
  }
  for (size_t i : {6, 13, 19, 20, 24}) {
    EXPECT_FALSE(FastBulkEdit(bodies[i]).has_value()) << bodies[i];
  }
}

}  // namespace
}  // namespace roost::api
