#include "model/roles.h"

#include <algorithm>

namespace roost {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view RoleName(Role role) {
  return kRoleNames[static_cast<size_t>(role)];
}

Result<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (EqualsIgnoreCase(name, kRoleNames[i])) return static_cast<Role>(i);
  }
  return Status::InvalidInput("unknown role '" + std::string(name.substr(0, 40)) +
                              "' (expected ADMIN, DEVICE_MANAGER, READER, FACTORY or STATION)");
}

Result<RoleSet> ParseRoleList(std::string_view list) {
  RoleSet roles;
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return Status::InvalidInput("empty role in list '" + std::string(list) + "'");
    auto role = ParseRole(item);
    if (!role.ok()) return role.status();
    roles.Add(*role);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return roles;
}

std::string FormatRoleList(RoleSet roles) {
  std::string out;
  for (int i = 0; i < kRoleCount; ++i) {
    if (!roles.Has(static_cast<Role>(i))) continue;
    if (!out.empty()) out += ',';
    out += kRoleNames[static_cast<size_t>(i)];
  }
  return out;
}

Status ValidateRoles(const Roles& roles) {
  if (roles.empty()) return Status::InvalidInput("roles: give at least one role");
  for (size_t i = 0; i < roles.size(); ++i) {
    if (std::find(kRoleNames.begin(), kRoleNames.end(), roles[i]) == kRoleNames.end()) {
      return Status::InvalidInput("roles: unknown role \"" + roles[i] +
                                  "\" (known: ADMIN, DEVICE_MANAGER, READER, FACTORY, STATION)");
    }
    if (std::find(roles.begin(), roles.begin() + static_cast<std::ptrdiff_t>(i), roles[i]) !=
        roles.begin() + static_cast<std::ptrdiff_t>(i)) {
      return Status::InvalidInput("roles: \"" + roles[i] + "\" is given twice");
    }
  }
  return Status::Ok();
}

RoleSet RoleSetOf(const Roles& roles) {
  RoleSet set;
  for (const std::string& name : roles) {
    auto role = ParseRole(name);
    if (role.ok()) set.Add(*role);
  }
  return set;
}

}  // namespace roost
