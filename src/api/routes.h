// The registry API: authentication of API users and the one table of routes,
// each with the roles it requires (docs/api.md is the user-facing version).
//
// Every request to a route of the table (except the ones marked Access::kPublic):
//  1. authenticates, either
//     - with HTTP Basic as an API user (store lookup, password checked through a
//       process-wide PasswordVerifyCache). Failed attempts are throttled per login
//       and per client address (LoginThrottle): over the limit, 429 with
//       Retry-After (seconds) and no password check; or
//     - with the console's session cookie `roost_session` as a user (person). A
//       request with an unsafe method (POST, PUT, PATCH, DELETE) must then carry
//       the header X-CSRF-Token equal to the session's CSRF token, else 403.
//     An Authorization header wins over a cookie. Missing or wrong credentials:
//     401 with WWW-Authenticate: Basic realm="roost";
//  2. is refused with 403 when the route is Access::kRoles and none of the
//     principal's roles is in its RoleSet (decided before the body is looked at);
//  3. runs the handler, which sees only the principal's group subtree: an object
//     outside it is answered 404 exactly like one that does not exist.
// Credentials are never logged or echoed in a response.
//
// Handlers call the store synchronously; they are added with http::Runs::kWorkers,
// so they run on the server's handler pool, never on an event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/auth.h"
#include "api/login_throttle.h"
#include "core/status.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "http/message.h"
#include "http/router.h"
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

using ApiHandler =
    std::function<http::Response(ApiContext&, const Principal&, const http::Request&)>;

// Who may call a route. Every route states it; kRoles is the default.
enum class Access {
  kRoles,         // an authenticated principal holding at least one of `roles`
  kAnyPrincipal,  // any authenticated principal (e.g. "who am I"); `roles` is empty
  kPublic,        // no authentication at all (log in, set a password); `roles` is empty
};

struct ApiRoute {
  std::string_view method;
  std::string_view pattern;
  RoleSet roles;  // kRoles: a principal needs at least one of them
  ApiHandler handler;
  Access access = Access::kRoles;
};

// The single source of truth: every API route and the roles it requires.
const std::vector<ApiRoute>& ApiRoutes();

// True when a principal holding `roles` may call `route`.
inline bool RouteAllows(const ApiRoute& route, RoleSet roles) {
  return route.access != Access::kRoles || route.roles.Intersects(roles);
}

// The session cookie's name and the CSRF header's.
inline constexpr std::string_view kSessionCookie = "roost_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// Authenticates a request. On failure returns the 401/429 response to send.
struct AuthOutcome {
  bool ok = false;
  Principal principal;     // when ok
  http::Response refusal;  // when !ok
};
AuthOutcome Authenticate(ApiContext& ctx, const http::Request& request);

// Adds every route of ApiRoutes() to `router`, wrapped in authentication and
// the role check, and the public GET /api/openapi.json (api/openapi.h).
Status AddApiRoutes(http::Router& router, ApiContext& ctx);

// The client address of "ip:port" / "[v6]:port" (what failures are counted per).
std::string ClientAddress(std::string_view remote);

}  // namespace roost::api
