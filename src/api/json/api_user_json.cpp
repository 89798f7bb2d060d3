#include "api/json/api_user_json.h"

#include "api/json/role_json.h"

namespace roost::api {

using nlohmann::json;

json ApiUserJson(const ApiUser& u) {
  return json{{"login", u.login},
              {"name", u.name},
              {"group", json{{"id", u.group}}},
              {"roles", RolesJson(u.roles)},
              {"creationTime", u.creation_time},
              {"id", u.login},
              {"profiles", ProfilesJson(u.roles)},
              {"timezone", nullptr}};
}

}  // namespace roost::api
