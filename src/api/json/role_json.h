// Role names in API bodies: "roles": ["ADMIN", "READER"] (model/roles.h).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/accounts.h"

namespace roost::api {

// "roles" of `body`: a non-empty array of role names (any case), returned
// canonical; a role given twice is refused. Absent: 400 when `required`, else empty.
Parsed<Roles> RolesField(const nlohmann::json& body, bool required);

nlohmann::json RolesJson(const Roles& roles);

// The Sigfox shapes of the same roles: a user's "userRoles" ([{"group": {"id"},
// "roles": [{"id", "name"}]}], one entry: Roost gives a person roles in one
// group) and an API user's "profiles" ([{"id", "name"}]). Roost's roles are
// fixed, so a role's id is its name.
nlohmann::json UserRolesJson(const std::string& group, const Roles& roles);
nlohmann::json ProfilesJson(const Roles& roles);

}  // namespace roost::api
