// Accounts: the first-start bootstrap (root group + admin user) and API users.
//
// Passwords are stored only as Argon2id hashes (crypto/password.h). A generated
// password is returned once, to be shown once; it is never stored or logged.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/accounts.h"
#include "storage/store.h"

namespace roost::registry {

struct BootstrapResult {
  std::string root_group;  // id of the root group
  bool created = false;    // true when this call created the root group and admin
  std::string admin_email;
  // Set only when created and no password was supplied: show it once.
  std::string generated_password;
};

// On an empty store, creates the root group "root" and an ADMIN user
// `admin_email` whose password is `admin_password` (e.g. from
// ROOST_ADMIN_PASSWORD) or a generated one. On a store that already has a root
// group, changes nothing and returns its id. A supplied password shorter than
// 12 characters is refused.
Result<BootstrapResult> Bootstrap(storage::Store& store, std::string_view admin_email,
                                  std::optional<std::string> admin_password, EpochMillis now);

struct NewApiUser {
  ApiUser user;          // as stored (password hash, no password)
  std::string password;  // the only copy of the password: show it once
};

// Creates API credentials in `group` ("" = the root group) with `roles`
// ("ADMIN,READER" style names, validated by the caller). Unavailable when no
// Argon2id slot is free for hashing the password (retry later).
Result<NewApiUser> CreateApiUser(storage::Store& store, std::string_view name, const Roles& roles,
                                 std::string_view group, EpochMillis now);

// The root group's id (NotFound on a store that was never bootstrapped).
Result<std::string> RootGroup(storage::Store& store);

}  // namespace roost::registry
