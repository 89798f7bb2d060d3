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

Response Unauthorized() {
  Response r = Response::Error(401, "authentication required: HTTP Basic with an API login");
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

AuthOutcome Authenticate(ApiContext& ctx, const Request& request) {
  AuthOutcome out;
  auto header = request.Header("Authorization");
  if (!header) {
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
  for (const std::string& name : user->roles) {
    auto role = ParseRole(name);
    if (role.ok()) out.principal.roles.Add(*role);
  }
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
