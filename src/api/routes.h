// The registry API: authentication of API users and the one table of routes,
// each with the roles it requires (docs/api.md is the user-facing version).
//
// Every request to a route of the table:
//  1. authenticates with HTTP Basic as an API user (store lookup, password
//     checked through a process-wide PasswordVerifyCache). Missing or wrong
//     credentials: 401 with WWW-Authenticate: Basic realm="roost". Failed
//     attempts are throttled per login and per client address (LoginThrottle):
//     over the limit, 429 with Retry-After (seconds) and no password check;
//  2. is refused with 403 when none of the principal's roles is in the route's
//     RoleSet (decided before the body is looked at);
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
#include "storage/store.h"

namespace roost::api {

// Who is calling: an authenticated API user.
struct Principal {
  std::string login;
  std::string group;  // the principal sees this group and the groups below it
  RoleSet roles;
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
};

using ApiHandler =
    std::function<http::Response(ApiContext&, const Principal&, const http::Request&)>;

struct ApiRoute {
  std::string_view method;
  std::string_view pattern;
  RoleSet roles;  // a principal needs at least one of them
  ApiHandler handler;
};

// The single source of truth: every API route and the roles it requires.
const std::vector<ApiRoute>& ApiRoutes();

// True when a principal holding `roles` may call `route`.
inline bool RouteAllows(const ApiRoute& route, RoleSet roles) {
  return route.roles.Intersects(roles);
}

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
