// What a registry API handler runs with: the principal the request was
// authenticated as (api/authenticate.h) and the services it may call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "api/login_throttle.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "model/roles.h"
#include "registry/devices.h"
#include "registry/users.h"
#include "storage/store.h"

namespace roost::api {

// Who is calling: an authenticated API user or user (person); empty for a
// public route.
struct Principal {
  std::string login;    // the API user's login; "" for a person
  std::string user_id;  // the person's id; "" for an API user
  std::string group;    // the principal sees this group and the groups below it
  RoleSet roles;
  // Cookie sessions only: the stored hash of the session token, and its CSRF token.
  std::string session_hash;
  std::string csrf_token;
};

// What the handlers work with; everything must outlive the router.
struct ApiContext {
  storage::Store& store;
  registry::DeviceRegistry& devices;
  crypto::PasswordVerifyCache& passwords;
  LoginThrottle& throttle;
  std::function<int64_t()> now_ms;  // wall clock, epoch ms
  // Seals device KEYs on credentials import; nullptr = import unavailable (503).
  const crypto::Sealer* sealer = nullptr;
  // Users, sessions, password links. Without it, cookies are not accepted and
  // the user and session routes answer 500.
  registry::Accounts* accounts = nullptr;
};

}  // namespace roost::api
