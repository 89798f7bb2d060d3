// Roles of registry.md: what a principal may do within its group subtree.
//
// Two spellings of the same thing: `Role`/`RoleSet` (a bit set, used to decide
// access) and `Roles` (the names as stored and shown, e.g. {"ADMIN", "READER"}).
// Every role name in the project comes from kRoleNames here.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost {

enum class Role : uint8_t {
  kAdmin = 0,          // everything in the group subtree: users, API access, groups
  kDeviceManager = 1,  // device types, devices, callbacks, registrations
  kReader = 2,         // read only
  kFactory = 3,        // register devices / import credentials, nothing else
  kStation = 4,        // report uplinks to the ingest endpoints, nothing else
};
inline constexpr int kRoleCount = 5;
inline constexpr std::array<std::string_view, kRoleCount> kRoleNames = {
    "ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION"};

// A small bit set of roles.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Has(Role r) const { return (bits_ & Bit(r)) != 0; }
  constexpr bool Intersects(RoleSet other) const { return (bits_ & other.bits_) != 0; }
  constexpr bool Empty() const { return bits_ == 0; }
  constexpr void Add(Role r) { bits_ |= Bit(r); }
  constexpr uint8_t bits() const { return bits_; }
  constexpr bool operator==(const RoleSet&) const = default;

 private:
  static constexpr uint8_t Bit(Role r) { return static_cast<uint8_t>(1u << static_cast<int>(r)); }
  uint8_t bits_ = 0;
};

// Role names as stored on a user or API user, in the order given.
using Roles = std::vector<std::string>;

// "ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION" (input any case).
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);
// A comma-separated list ("ADMIN,READER"); empty items are an error.
Result<RoleSet> ParseRoleList(std::string_view list);
std::string FormatRoleList(RoleSet roles);  // "ADMIN,READER" in enum order

// The one check of a role list given by a client: at least one role, each a
// canonical (upper-case) name of kRoleNames, none twice. Messages start "roles: ".
Status ValidateRoles(const Roles& roles);

// The set a stored list stands for; names that are not roles are ignored.
RoleSet RoleSetOf(const Roles& roles);

}  // namespace roost
