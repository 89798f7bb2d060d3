// Keeps /api/openapi.json true: every route of the table is documented with its
// roles and path parameters, nothing else is, and every reference resolves.
#include "api/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "api/routes.h"

namespace roost::api {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::set<std::string> PathParams(const std::string& path) {
  std::set<std::string> names;
  static const std::regex kParam("\\{([A-Za-z]+)\\}");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), kParam);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

const json& Document() {
  static const json kDoc = json::parse(OpenApiDocument());
  return kDoc;
}

TEST(OpenApi, ServedTextIsTheCommittedFileByteForByte) {
  std::ifstream in(std::string(ROOST_SOURCE_DIR) + "/src/api/openapi.json", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(OpenApiDocument(), file.str());
}

TEST(OpenApi, IsAnOpenApi3Document) {
  const json& doc = Document();
  EXPECT_EQ(doc.at("openapi").get<std::string>().substr(0, 2), "3.");
  EXPECT_TRUE(doc.at("info").contains("title"));
  EXPECT_TRUE(doc.at("info").contains("version"));
  EXPECT_TRUE(doc.at("paths").is_object());
}

TEST(OpenApi, EveryRouteIsDocumentedWithItsRolesAndParameters) {
  const json& paths = Document().at("paths");
  for (const ApiRoute& r : ApiRoutes()) {
    std::string path(r.pattern);
    SCOPED_TRACE(std::string(r.method) + " " + path);
    ASSERT_TRUE(paths.contains(path)) << "route missing from openapi.json";
    const json& item = paths.at(path);
    ASSERT_TRUE(item.contains(Lower(r.method))) << "method missing from openapi.json";
    const json& op = item.at(Lower(r.method));
    EXPECT_FALSE(op.value("summary", "").empty());
    std::set<std::string> documented_roles;
    for (const auto& role : op.at("x-roles")) documented_roles.insert(role.get<std::string>());
    std::set<std::string> roles;
    for (int i = 0; i < kRoleCount; ++i) {
      Role role = static_cast<Role>(i);
      if (r.roles.Has(role)) roles.insert(std::string(RoleName(role)));
    }
    EXPECT_EQ(documented_roles, roles);
    std::set<std::string> declared;
    for (const auto& p : op.value("parameters", json::array())) {
      if (p.at("in") == "path") {
        EXPECT_TRUE(p.value("required", false));
        declared.insert(p.at("name").get<std::string>());
      }
    }
    EXPECT_EQ(declared, PathParams(path));
    bool has_success = false;
    for (const auto& [code, response] : op.at("responses").items()) {
      has_success = has_success || code[0] == '2';
    }
    EXPECT_TRUE(has_success);
    const std::string access = r.access == Access::kPublic         ? "public"
                               : r.access == Access::kAnyPrincipal ? "authenticated"
                                                                   : "roles";
    EXPECT_EQ(op.at("x-access"), access);
    if (r.access != Access::kPublic) {
      EXPECT_TRUE(op.at("responses").contains("401"));
    }
    EXPECT_EQ(op.at("responses").contains("403"), r.access == Access::kRoles);
  }
}

TEST(OpenApi, DocumentsNoOperationWithoutARoute) {
  std::set<std::string> routes = {"get /api/openapi.json"};
  for (const ApiRoute& r : ApiRoutes())
    routes.insert(Lower(r.method) + " " + std::string(r.pattern));
  for (const auto& [path, item] : Document().at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(routes.count(method + " " + path)) << method << " " << path << " has no route";
    }
  }
}

void CollectRefs(const json& node, std::vector<std::string>& refs) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) refs.push_back(value.get<std::string>());
      CollectRefs(value, refs);
    }
  } else if (node.is_array()) {
    for (const auto& value : node) CollectRefs(value, refs);
  }
}

TEST(OpenApi, EveryReferenceResolves) {
  std::vector<std::string> refs;
  CollectRefs(Document(), refs);
  EXPECT_FALSE(refs.empty());
  for (const std::string& ref : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
    EXPECT_NO_THROW((void)Document().at(json::json_pointer(ref.substr(1)))) << ref;
  }
}

}  // namespace
}  // namespace roost::api
