// Role names in API bodies: "roles": ["ADMIN", "READER"] (model/roles.h).
#pragma once

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/accounts.h"

namespace roost::api {

// "roles" of `body`: a non-empty array of role names (any case), returned
// canonical; a role given twice is refused. Absent: 400 when `required`, else empty.
Parsed<Roles> RolesField(const nlohmann::json& body, bool required);

nlohmann::json RolesJson(const Roles& roles);

}  // namespace roost::api
