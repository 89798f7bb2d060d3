// The registry API's one table of routes, each with the roles it requires
// (docs/api.md is the user-facing version), and its mounting on the router.
//
// Every request to a route of the table (except the ones marked Access::kPublic):
//  1. authenticates on the request head (api/authenticate.h), before any byte
//     of the body is read: a refusal (401/403/429) is sent without reading it;
//  2. is refused with 403 when the route is Access::kRoles and none of the
//     principal's roles is in its RoleSet (also before the body);
//  3. has its body read, within the route's BodyLimits (413 past it);
//  4. runs the handler, which sees only the principal's group subtree: an object
//     outside it is answered 404 exactly like one that does not exist.
//
// Handlers call the services synchronously; they are added with
// http::Runs::kWorkers, so they run on the server's handler pool, never on an
// event-loop thread.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "api/auth.h"
#include "api/context.h"
#include "core/status.h"
#include "http/message.h"
#include "http/router.h"
#include "model/roles.h"

namespace roost::api {

using ApiHandler =
    std::function<http::Response(ApiContext&, const Principal&, const http::Request&)>;
// A route's handler for the event loop (http::FastPath): answers what it can
// without blocking, or returns nullopt having changed nothing.
using ApiFastHandler = std::optional<http::Response> (*)(ApiContext&, const Principal&,
                                                         const http::Request&);

// Who may call a route. Every route states it; kRoles is the default.
enum class Access {
  kRoles,         // an authenticated principal holding at least one of `roles`
  kAnyPrincipal,  // any authenticated principal (e.g. "who am I"); `roles` is empty
  kPublic,        // no authentication at all (log in, set a password); `roles` is empty
};

// What a route's request body may be, and so how large and where it is kept
// (BodyLimits below).
enum class Body {
  kJson,          // a JSON object of a few fields (public routes: kept smaller still)
  kSmall,         // a JSON object of a few short fields (a format to try): BodyLimits::small_json
  kBulk,          // a bulk JSON request: up to ~200 000 devices
  kBatch,         // a batch of ingest reports: up to 1 000
  kUpload,        // files (CSV, multipart): streamed to a temporary file, not memory
  kSecretUpload,  // kUpload that carries a secret: to a memory file, never a disk
  kReport,        // a Provision ID report CSV: like kUpload, with room for 1 000 000 rows
};

struct ApiRoute {
  std::string_view method;
  std::string_view pattern;
  RoleSet roles;  // kRoles: a principal needs at least one of them
  ApiHandler handler;
  Access access = Access::kRoles;
  Body body = Body::kJson;
  // kChangesState marks a GET that changes state (Sigfox API compatibility): it
  // needs the CSRF header with a session cookie, and HEAD on it is 405.
  http::Safety safety = http::Safety::kSafe;
  // Optional, for a hot route: tried on the event loop for an API user whose
  // credentials are cached (AuthenticateFromCache), before the usual way.
  ApiFastHandler fast = nullptr;
  // kEventLoop only for a public route that answers from memory (never blocks).
  http::Runs runs = http::Runs::kWorkers;
};

// The largest body per kind of route; over it, 413 before the body is read.
struct BodyLimits {
  size_t public_json = 4 * 1024;  // log in, set a password: a stranger's request
  size_t json = http::kDefaultMaxBodyBytes;
  size_t small_json = 16 * 1024;
  size_t bulk = 32 * 1024 * 1024;
  size_t batch = 512 * 1024;          // 1 000 reports of ~200 bytes, with room
  size_t upload = 128 * 1024 * 1024;  // a CRA batch of 1 000 000 devices is ≈ 58 MB
  size_t report = 256 * 1024 * 1024;  // 1 000 000 report rows are ≈ 150 MB
};

// The single source of truth: every API route and the roles it requires.
const std::vector<ApiRoute>& ApiRoutes();

// True when calling `route` may change state: its method is unsafe, or the
// table marks it so.
inline bool RouteChangesState(const ApiRoute& route) {
  return route.safety == http::Safety::kChangesState || IsUnsafeMethod(route.method);
}

// True when a principal holding `roles` may call `route`.
inline bool RouteAllows(const ApiRoute& route, RoleSet roles) {
  return route.access != Access::kRoles || route.roles.Intersects(roles);
}

// Adds every route of ApiRoutes() to `router`, wrapped in authentication and
// the role check, and the public GET /api/openapi.json (api/openapi.h).
Status AddApiRoutes(http::Router& router, ApiContext& ctx, const BodyLimits& limits = {});

}  // namespace roost::api
