#include "api/json/role_json.h"

#include <algorithm>
#include <string>
#include <utility>

#include "api/json/body.h"
#include "model/roles.h"

namespace roost::api {

using nlohmann::json;

Parsed<Roles> RolesField(const json& body, bool required) {
  auto it = body.find("roles");
  if (it == body.end()) {
    if (required) return ApiError::BadField("roles", "is required");
    return Roles{};
  }
  if (!it->is_array()) {
    return ApiError::BadField("roles", "must be an array of role names such as [\"READER\"], not " +
                                           std::string(JsonTypeName(*it)));
  }
  if (it->empty()) return ApiError::BadField("roles", "give at least one role");
  Roles roles;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    const std::string field = "roles[" + std::to_string(i) + "]";
    if (!v.is_string()) {
      return ApiError::BadField(field, "must be a string, not " + std::string(JsonTypeName(v)));
    }
    auto role = ParseRole(v.get_ref<const std::string&>());
    if (!role.ok()) return ApiError::BadField(field, role.status().message());
    std::string name(RoleName(*role));
    if (std::find(roles.begin(), roles.end(), name) != roles.end()) {
      return ApiError::BadField(field, name + " is given twice");
    }
    roles.push_back(std::move(name));
  }
  return roles;
}

json RolesJson(const Roles& roles) {
  json out = json::array();
  for (const auto& r : roles) out.push_back(r);
  return out;
}

json ProfilesJson(const Roles& roles) {
  json out = json::array();
  for (const auto& r : roles) out.push_back({{"id", r}, {"name", r}});
  return out;
}

json UserRolesJson(const std::string& group, const Roles& roles) {
  return json::array({{{"group", {{"id", group}}}, {"roles", ProfilesJson(roles)}}});
}

}  // namespace roost::api
