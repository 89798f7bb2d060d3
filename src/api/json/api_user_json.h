// API users as the registry API shows them (/api/api-users…, GET /api/session).
// The password hash is never shown.
#pragma once

#include <nlohmann/json.hpp>

#include "model/accounts.h"

namespace roost::api {

nlohmann::json ApiUserJson(const ApiUser& user);

}  // namespace roost::api
