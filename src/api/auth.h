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
#include "model/roles.h"

namespace roost::api {

struct BasicCredentials {
  std::string login;
  std::string password;
};

// Parses an Authorization header value "Basic base64(login:password)".
// NotFound when the scheme is not Basic (another scheme may apply);
// InvalidInput when it is Basic but malformed, including a decoded login or
// password that holds NUL or is not UTF-8: the stores would not agree on what
// such a login is (libpq ends a text parameter at NUL, so "victim\0x" would be
// looked up as "victim" but throttled as another login). Messages never contain
// the password or the encoded value.
Result<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// The value of cookie `name` in a Cookie header value ("a=1; roost_session=xyz"),
// or nullopt when absent. The first occurrence wins; values are not decoded.
std::optional<std::string> FindCookie(std::string_view cookie_header, std::string_view name);

// True for methods that change state and so need a CSRF token with cookie
// authentication: everything but GET, HEAD and OPTIONS (POST, PUT, PATCH, DELETE, ...).
bool IsUnsafeMethod(std::string_view method);

}  // namespace roost::api
