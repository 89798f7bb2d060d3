// Who is calling and what they may do: HTTP Basic credentials, roles, and the
// principal a request runs as. Pure: password checks and lookups are done by
// the caller (the registry), this file only parses and decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base64.h"
#include "core/status.h"

namespace roost::api {

// Roles of registry.md. A principal holds a set of them within its group subtree.
enum class Role : uint8_t {
  kAdmin = 0,          // everything in the group subtree: users, API access, groups
  kDeviceManager = 1,  // device types, devices, callbacks, registrations
  kReader = 2,         // read only
  kFactory = 3,        // register devices / import credentials, nothing else
  kStation = 4,        // report uplinks to the ingest endpoints, nothing else
};
inline constexpr int kRoleCount = 5;

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

// "ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION" (input any case).
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);
// A comma-separated list ("ADMIN,READER"); empty items are an error.
Result<RoleSet> ParseRoleList(std::string_view list);
std::string FormatRoleList(RoleSet roles);  // "ADMIN,READER" in enum order

struct BasicCredentials {
  std::string login;
  std::string password;
};

// Parses an Authorization header value "Basic base64(login:password)".
// NotFound when the scheme is not Basic (another scheme may apply);
// InvalidInput when it is Basic but malformed. Messages never contain the
// password or the encoded value.
Result<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// The value of cookie `name` in a Cookie header value ("a=1; roost_session=xyz"),
// or nullopt when absent. The first occurrence wins; values are not decoded.
std::optional<std::string> FindCookie(std::string_view cookie_header, std::string_view name);

// True for methods that change state and so need a CSRF token with cookie
// authentication: everything but GET, HEAD and OPTIONS (POST, PUT, PATCH, DELETE, ...).
bool IsUnsafeMethod(std::string_view method);

}  // namespace roost::api
