#include "api/routes.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/openapi.h"
#include "api/resources.h"
#include "core/identifiers.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

const RoleSet kRead{Role::kAdmin, Role::kDeviceManager, Role::kReader};
const RoleSet kManage{Role::kAdmin, Role::kDeviceManager};
const RoleSet kRegister{Role::kAdmin, Role::kDeviceManager, Role::kFactory};
const RoleSet kJobRead{Role::kAdmin, Role::kDeviceManager, Role::kReader, Role::kFactory};
const RoleSet kImport{Role::kAdmin, Role::kFactory};
// Product certificates are global reference data; FACTORY reads them to label devices.
const RoleSet kCertificateRead{Role::kAdmin, Role::kDeviceManager, Role::kReader, Role::kFactory};

const RoleSet kAdmin{Role::kAdmin};
const RoleSet kNone{};

Response Unauthorized(std::string_view message =
                          "authentication required: HTTP Basic with an API login, or a "
                          "console session cookie") {
  Response r = Response::Error(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"roost\"");
  return r;
}

// A hash to verify against when the login is unknown, so that an unknown
// login costs as much as a wrong password.
const std::string& DummyHash() {
  static const std::string kHash = [] {
    auto hash = crypto::HashPassword(crypto::GeneratePassword());
    return hash.ok() ? *hash : std::string();
  }();
  return kHash;
}

}  // namespace

const std::vector<ApiRoute>& ApiRoutes() {
  static const std::vector<ApiRoute> kRoutes = {
      {"GET", "/api/devicetypes", kRead, ListDeviceTypes},
      {"POST", "/api/devicetypes/create", kManage, CreateDeviceType},
      {"POST", "/api/devicetypes/edit", kManage, EditDeviceType},
      {"GET", "/api/devicetypes/{id}", kRead, GetDeviceType},
      {"DELETE", "/api/devicetypes/{id}", kManage, DeleteDeviceType},
      {"GET", "/api/devicetypes/{id}/devices", kRead, ListDeviceTypeDevices},
      {"POST", "/api/devicetypes/{id}/devices/bulk/create/async", kRegister, BulkCreate},
      {"GET", "/api/devicetypes/{id}/devices/bulk/create/async/{jobId}", kJobRead,
       BulkCreateStatus},
      {"POST", "/api/devicetypes/{id}/devices/bulk/create/series", kRegister, BulkCreateSeries},
      {"GET", "/api/devices", kRead, ListDevices},
      {"POST", "/api/devices/create", kRegister, CreateDevice},
      {"POST", "/api/devices/edit", kManage, EditDevice},
      {"POST", "/api/devices/bulk/edit", kManage, BulkEdit},
      {"GET", "/api/devices/bulk/edit/{jobId}", kRead, BulkEditStatus},
      {"GET", "/api/devices/{id}", kRead, GetDevice},
      {"DELETE", "/api/devices/{id}", kManage, DeleteDevice},
      {"GET", "/api/jobs/{jobId}", kJobRead, GetJob},
      {"POST", "/api/credentials/import", kImport, ImportCredentials},
      {"GET", "/api/devices/{id}/token-state", kRead, GetTokenState},
      {"GET", "/api/devices/{id}/networkstate", kRead, GetNetworkState},
      // GET although it changes state: the Sigfox API v1 path and method.
      {"GET", "/api/devicetypes/{id}/disengage", kManage, DisengageDeviceType},
      {"GET", "/api/product-certificates", kCertificateRead, SearchCertificates},
      {"POST", "/api/product-certificates/import", kManage, ImportCertificates},
      {"GET", "/api/product-certificates/{key}", kCertificateRead, GetCertificate},
      // Accounts (account_handlers.cpp).
      {"GET", "/api/groups", kRead, ListGroups},
      {"POST", "/api/groups/create", kAdmin, CreateGroup},
      {"POST", "/api/groups/edit", kAdmin, EditGroup},
      {"GET", "/api/groups/{id}", kRead, GetGroup},
      {"DELETE", "/api/groups/{id}", kAdmin, DeleteGroup},
      {"GET", "/api/api-users", kAdmin, ListApiUsers},
      {"POST", "/api/api-users/create", kAdmin, CreateApiUserRoute},
      {"GET", "/api/api-users/{login}", kAdmin, GetApiUser},
      {"DELETE", "/api/api-users/{login}", kAdmin, DeleteApiUser},
      {"GET", "/api/users", kAdmin, ListUsers},
      {"POST", "/api/users/create", kAdmin, CreateUser},
      {"POST", "/api/users/edit", kAdmin, EditUser},
      {"POST", "/api/users/set-password", kNone, SetPassword, Access::kPublic},
      {"GET", "/api/users/{id}", kAdmin, GetUser},
      {"DELETE", "/api/users/{id}", kAdmin, DeleteUser},
      {"POST", "/api/users/{id}/invite", kAdmin, InviteUser},
      {"POST", "/api/session/login", kNone, Login, Access::kPublic},
      {"GET", "/api/session", kNone, GetSession, Access::kAnyPrincipal},
      {"POST", "/api/session/logout", kNone, Logout, Access::kAnyPrincipal},
      {"POST", "/api/session/password", kNone, ChangeOwnPassword, Access::kAnyPrincipal},
  };
  return kRoutes;
}

std::string ClientAddress(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    size_t close = remote.find(']');
    if (close != std::string_view::npos) return std::string(remote.substr(1, close - 1));
  }
  size_t colon = remote.rfind(':');
  if (colon != std::string_view::npos && remote.find(':') == colon) {
    return std::string(remote.substr(0, colon));
  }
  return std::string(remote);
}

namespace {

// A request with the console's session cookie (and no Authorization header).
AuthOutcome AuthenticateSession(ApiContext& ctx, const Request& request, const std::string& token) {
  AuthOutcome out;
  auto active = ctx.accounts->ResolveSession(token);
  if (!active.ok()) {
    if (active.status().code() != Status::Code::kNotFound) {
      out.refusal = Response::Error(500, "internal error");
      return out;
    }
    out.refusal = Unauthorized("your session has expired or is not valid; log in again");
    out.refusal.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                                       "=; HttpOnly; SameSite=Strict; Path=/; "
                                                       "Max-Age=0");
    return out;
  }
  const std::string csrf = registry::CsrfTokenFor(token);
  if (IsUnsafeMethod(request.method)) {
    auto sent = request.Header(kCsrfHeader);
    if (!sent || !crypto::ConstantTimeEquals(*sent, csrf)) {
      out.refusal = Response::Error(
          403, "a " + request.method + " request with a session cookie needs the header " +
                   std::string(kCsrfHeader) + " with the csrfToken of the login response");
      return out;
    }
  }
  out.ok = true;
  out.principal.user_id = active->user.id;
  out.principal.group = active->user.group;
  out.principal.roles = RoleSetOf(active->user.roles);
  out.principal.session_hash = active->token_hash;
  out.principal.csrf_token = csrf;
  return out;
}

}  // namespace

AuthOutcome Authenticate(ApiContext& ctx, const Request& request) {
  AuthOutcome out;
  auto header = request.Header("Authorization");
  if (!header) {
    if (auto cookies = request.Header("Cookie"); cookies && ctx.accounts != nullptr) {
      if (auto token = FindCookie(*cookies, kSessionCookie)) {
        return AuthenticateSession(ctx, request, *token);
      }
    }
    out.refusal = Unauthorized();
    return out;
  }
  auto creds = ParseBasicAuthorization(*header);
  if (!creds.ok()) {
    out.refusal = Unauthorized();
    return out;
  }
  const std::string address = ClientAddress(request.remote);
  const int64_t now = ctx.now_ms();
  if (int64_t wait = ctx.throttle.RetryAfterMs(creds->login, address, now); wait > 0) {
    out.refusal = Response::Error(429, "too many failed logins; retry later");
    out.refusal.headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
    return out;
  }
  auto user = ctx.store.GetApiUser(creds->login);
  bool verified = false;
  if (user.ok()) {
    verified = ctx.passwords.Verify(creds->login, creds->password, user->password_hash);
  } else if (user.status().code() == Status::Code::kNotFound) {
    (void)crypto::VerifyPassword(creds->password, DummyHash());
  } else {
    out.refusal = Response::Error(500, "internal error");
    return out;
  }
  if (!verified) {
    ctx.throttle.RecordFailure(creds->login, address, now);
    out.refusal = Unauthorized();
    return out;
  }
  ctx.throttle.RecordSuccess(creds->login);
  out.ok = true;
  out.principal.login = user->login;
  out.principal.group = user->group;
  out.principal.roles = RoleSetOf(user->roles);
  return out;
}

Status AddApiRoutes(http::Router& router, ApiContext& ctx) {
  // Public, static, cheap: served on the event loop.
  ROOST_RETURN_IF_ERROR(router.Add("GET", "/api/openapi.json", [](const Request&) {
    return Response::Json(200, std::string(OpenApiDocument()));
  }));
  for (const ApiRoute& route : ApiRoutes()) {
    const ApiRoute* r = &route;
    ApiContext* c = &ctx;
    Status added = router.Add(
        route.method, route.pattern,
        [r, c](const Request& req) {
          if (r->access == Access::kPublic) return r->handler(*c, Principal{}, req);
          AuthOutcome auth = Authenticate(*c, req);
          if (!auth.ok) return auth.refusal;
          if (!RouteAllows(*r, auth.principal.roles)) {
            return Response::Error(403, "your roles do not allow " + std::string(r->method) + " " +
                                            std::string(r->pattern));
          }
          return r->handler(*c, auth.principal, req);
        },
        http::Runs::kWorkers);
    if (!added.ok()) return added;
  }
  return Status::Ok();
}

}  // namespace roost::api
