// Who is calling the registry API. A request to a route that is not public
// authenticates, either
//  - with HTTP Basic as an API user (password checked through the process-wide
//    PasswordVerifyCache). Credentials that hold NUL or are not UTF-8 are 401
//    before anything is looked up or counted. Failed attempts are throttled
//    (LoginThrottle: per login and address, per address, a slow ceiling per
//    login): over a limit, 429 with Retry-After (seconds) and no password check.
//    When no Argon2id slot is free, 503 with Retry-After and nothing counted; or
//  - with the console's session cookie as a user (person): `roost_session`, or
//    `__Host-roost_session` when ctx.secure_cookies (then the plain name is not
//    read: a __Host- cookie cannot be planted by a sibling domain or over plain
//    http, a plain one can). A
//    request that may change state — an unsafe method (POST, PUT, PATCH,
//    DELETE), or a route the table marks so whatever its method — must then
//    carry the header X-CSRF-Token equal to the session's CSRF token, else 403.
// An Authorization header wins over a cookie. Missing or wrong credentials:
// 401 with WWW-Authenticate: Basic realm="roost" — except for a request a
// page's script made (Sec-Fetch-Mode other than "navigate"), which a browser
// would hold behind its own password dialog. Credentials are never logged
// or echoed in a response.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/context.h"
#include "api/errors.h"
#include "http/message.h"

namespace roost::api {

// The session cookie's names (plain and Secure) and the CSRF header's.
inline constexpr std::string_view kSessionCookie = "roost_session";
inline constexpr std::string_view kSecureSessionCookie = "__Host-roost_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// The session cookie's name on this server (kSecureSessionCookie when ctx.secure_cookies).
std::string_view SessionCookieName(const ApiContext& ctx);
// The Set-Cookie value that sets the session cookie to `value` for `max_age_s`
// seconds; ("", 0) clears it. HttpOnly, SameSite=Strict, Path=/, and Secure
// when ctx.secure_cookies; never a Domain (the __Host- prefix forbids one).
std::string SessionCookieHeader(const ApiContext& ctx, std::string_view value, int64_t max_age_s);

// Authenticates a request to a route that changes state (`changes_state`, see
// RouteChangesState) or not. On failure returns the 401/403/429/500/503 response to send.
struct AuthOutcome {
  bool ok = false;
  Principal principal;     // when ok
  http::Response refusal;  // when !ok
};
AuthOutcome Authenticate(ApiContext& ctx, const http::Request& request, bool changes_state);

// Authenticate for an API user (HTTP Basic) seen moments ago, without
// blocking: the user from Accounts::CachedApiUser and the password from
// PasswordVerifyCache::Recalls — no store query, no Argon2id — and the
// throttle consulted and told of the success as Authenticate does. nullopt
// when that cannot admit the request (no Basic credentials, a miss in either
// cache, a throttled login), with nothing counted: call Authenticate then,
// which also gives the refusals.
std::optional<Principal> AuthenticateFromCache(ApiContext& ctx, const http::Request& request);

// The client address of "ip:port" / "[v6]:port" (what failures are counted per).
std::string ClientAddress(std::string_view remote);

// 400 naming `field` when a credential sent in a JSON body (an email, password
// or password link token) holds NUL or is not UTF-8, for the reason given at
// ParseBasicAuthorization (api/auth.h); nullopt when it is fine. Check before
// anything is looked up or throttled.
std::optional<ApiError> CheckCredentialText(std::string_view field, std::string_view value);

// 429 "<what>; retry later" with Retry-After: the wait in whole seconds, rounded up.
http::Response TooManyAttempts(std::string_view what, int64_t wait_ms);

}  // namespace roost::api
