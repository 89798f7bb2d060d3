// The Sigfox fields of groups, users, API users and product certificates.
#include <gtest/gtest.h>

#include "api/json/api_user_json.h"
#include "api/json/certificate_json.h"
#include "api/json/group_json.h"
#include "api/json/user_json.h"

namespace roost::api {
namespace {

using nlohmann::json;

void ExpectNull(const json& object, std::initializer_list<const char*> fields) {
  for (const char* field : fields) {
    ASSERT_TRUE(object.contains(field)) << field;
    EXPECT_TRUE(object[field].is_null()) << field;
  }
}

TEST(GroupJson, CarriesTheSigfoxFields) {
  Group g;
  g.id = "g";
  g.name = "Acme Sensors";
  json out = GroupJson(g, "g");
  EXPECT_EQ(out["nameCI"], "acme sensors");
  ExpectNull(out, {"type", "timezone", "bssId", "networkOperatorId"});
}

TEST(UserJson, CarriesTheSigfoxFieldsWithoutSecrets) {
  User u;
  u.id = "u";
  u.group = "g";
  u.email = "ann@example.test";
  u.name = "Ann Smith";
  u.password_hash = "$argon2id$secret";
  u.roles = {"ADMIN", "READER"};
  json out = UserJson(u);
  EXPECT_EQ(out["firstName"], "Ann Smith");
  ExpectNull(out, {"lastName", "lastLogin"});
  EXPECT_EQ(out["locked"], false);
  EXPECT_EQ(out["userRoles"],
            json::parse(R"([{"group": {"id": "g"}, "roles": [{"id": "ADMIN", "name": "ADMIN"},
                          {"id": "READER", "name": "READER"}]}])"));
  EXPECT_EQ(out.dump().find("argon2"), std::string::npos);
}

TEST(ApiUserJson, CarriesTheSigfoxFieldsWithoutSecrets) {
  ApiUser a;
  a.login = "0123456789abcdef01234567";
  a.name = "ci";
  a.group = "g";
  a.password_hash = "$argon2id$secret";
  a.roles = {"DEVICE_MANAGER"};
  json out = ApiUserJson(a);
  EXPECT_EQ(out["id"], a.login);
  EXPECT_EQ(out["profiles"],
            json::parse(R"([{"id": "DEVICE_MANAGER", "name": "DEVICE_MANAGER"}])"));
  ExpectNull(out, {"timezone"});
  EXPECT_EQ(out.dump().find("argon2"), std::string::npos);
}

TEST(CertificateJson, CarriesTheSigfoxNames) {
  ProductCertificate pc;
  pc.key = "P_0004_D356_03";
  pc.product_name = "Tracker";
  pc.revision = "03";
  json out = CertificateJson(pc);
  EXPECT_EQ(out["id"], "P_0004_D356_03");
  EXPECT_EQ(out["name"], "Tracker");
  EXPECT_EQ(out["version"], "03");
  EXPECT_EQ(out["productName"], "Tracker");
}

}  // namespace
}  // namespace roost::api
