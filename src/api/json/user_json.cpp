#include "api/json/user_json.h"

#include "api/json/role_json.h"

namespace roost::api {

using nlohmann::json;

json UserJson(const User& u) {
  return json{{"id", u.id},
              {"email", u.email},
              {"name", u.name},
              {"timezone", u.timezone},
              {"group", json{{"id", u.group}}},
              {"roles", RolesJson(u.roles)},
              {"passwordSet", !u.password_hash.empty()},
              {"creationTime", u.creation_time},
              {"lastEditionTime", u.update_time},
              // Roost keeps one name; Sigfox splits it.
              {"firstName", u.name},
              {"lastName", nullptr},
              {"userRoles", UserRolesJson(u.group, u.roles)},
              // Not tracked: logins are not recorded and accounts are not locked.
              {"lastLogin", nullptr},
              {"locked", false}};
}

json InviteJson(const registry::InviteOutcome& out) {
  json j{{"emailSent", out.email_sent}};
  if (!out.email_sent) j["emailError"] = out.email_error;
  if (out.expires > 0) j["passwordLinkExpires"] = out.expires;
  return j;
}

}  // namespace roost::api
