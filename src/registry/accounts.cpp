#include "registry/accounts.h"

#include "crypto/password.h"
#include "model/object_id.h"

namespace roost::registry {

Result<std::string> RootGroup(storage::Store& store) {
  auto roots = store.ListChildGroups("");
  if (!roots.ok()) return roots.status();
  if (roots->empty()) return Status::NotFound("the store has no root group yet");
  // The first root created is the site's root; further roots are tenants
  // created by tests or tools, ordered by id, so pick the oldest.
  const Group* oldest = &roots->front();
  for (const auto& g : *roots) {
    if (g.creation_time < oldest->creation_time) oldest = &g;
  }
  return oldest->id;
}

Result<BootstrapResult> Bootstrap(storage::Store& store, std::string_view admin_email,
                                  std::optional<std::string> admin_password, EpochMillis now) {
  BootstrapResult result;
  result.admin_email = std::string(admin_email);
  auto existing = RootGroup(store);
  if (existing.ok()) {
    result.root_group = *existing;
    return result;
  }
  if (existing.status().code() != Status::Code::kNotFound) return existing.status();
  if (admin_password && admin_password->size() < 12) {
    return Status::InvalidInput("the admin password must have at least 12 characters");
  }

  Group root;
  root.id = NewObjectId();
  root.name = "root";
  root.creation_time = now;
  auto created = store.CreateGroup(root);
  if (!created.ok()) return created.status();

  std::string password = admin_password ? *admin_password : crypto::GeneratePassword();
  auto hash = crypto::HashPassword(password);
  if (!hash.ok()) return hash.status();
  User admin;
  admin.id = NewObjectId();
  admin.group = root.id;
  admin.email = std::string(admin_email);
  admin.name = "Administrator";
  admin.timezone = "UTC";
  admin.password_hash = *hash;
  admin.roles = {"ADMIN"};
  admin.creation_time = now;
  admin.update_time = now;
  ROOST_RETURN_IF_ERROR(store.CreateUser(admin));

  result.root_group = root.id;
  result.created = true;
  if (!admin_password) result.generated_password = std::move(password);
  return result;
}

Result<NewApiUser> CreateApiUser(storage::Store& store, std::string_view name, const Roles& roles,
                                 std::string_view group, EpochMillis now) {
  if (name.empty()) return Status::InvalidInput("name: must not be empty");
  if (roles.empty()) return Status::InvalidInput("roles: give at least one role");
  std::string group_id(group);
  if (group_id.empty()) {
    auto root = RootGroup(store);
    if (!root.ok()) return root.status();
    group_id = *root;
  } else {
    auto g = store.GetGroup(group_id);
    if (!g.ok()) return Status::NotFound("group " + group_id + " not found");
  }
  NewApiUser out;
  out.password = crypto::GeneratePassword();
  auto hash = crypto::HashPassword(out.password);
  if (!hash.ok()) return hash.status();
  out.user.login = crypto::GenerateApiLogin();
  out.user.name = std::string(name);
  out.user.group = group_id;
  out.user.password_hash = *hash;
  out.user.roles = roles;
  out.user.creation_time = now;
  ROOST_RETURN_IF_ERROR(store.CreateApiUser(out.user));
  return out;
}

}  // namespace roost::registry
