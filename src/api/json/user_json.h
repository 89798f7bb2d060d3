// Users (people) as the registry API shows them (/api/users…, /api/session…).
// The password hash is never shown, only whether one is set.
#pragma once

#include <nlohmann/json.hpp>

#include "model/accounts.h"
#include "registry/users.h"

namespace roost::api {

nlohmann::json UserJson(const User& user);

// {"emailSent", "emailError" (when not sent), "passwordLinkExpires" (when a link was made)}.
nlohmann::json InviteJson(const registry::InviteOutcome& outcome);

}  // namespace roost::api
