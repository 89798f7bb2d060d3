#include "api/routes.h"

#include <string>

#include "api/authenticate.h"
#include "api/handlers.h"
#include "api/openapi.h"

namespace roost::api {

using http::Request;
using http::Response;

namespace {

const RoleSet kRead{Role::kAdmin, Role::kDeviceManager, Role::kReader};
const RoleSet kManage{Role::kAdmin, Role::kDeviceManager};
const RoleSet kRegister{Role::kAdmin, Role::kDeviceManager, Role::kFactory};
const RoleSet kJobRead{Role::kAdmin, Role::kDeviceManager, Role::kReader, Role::kFactory};
const RoleSet kImport{Role::kAdmin, Role::kFactory};
// Product certificates are global reference data; FACTORY reads them to label devices.
const RoleSet kCertificateRead{Role::kAdmin, Role::kDeviceManager, Role::kReader, Role::kFactory};

const RoleSet kIngest{Role::kAdmin, Role::kStation};

const RoleSet kAdmin{Role::kAdmin};
const RoleSet kNone{};

}  // namespace

const std::vector<ApiRoute>& ApiRoutes() {
  static const std::vector<ApiRoute> kRoutes = {
      {"GET", "/api/devicetypes", kRead, ListDeviceTypes},
      {"POST", "/api/devicetypes/create", kManage, CreateDeviceType},
      {"POST", "/api/devicetypes/edit", kManage, EditDeviceType},
      {"GET", "/api/devicetypes/{id}", kRead, GetDeviceType},
      {"DELETE", "/api/devicetypes/{id}", kManage, DeleteDeviceType},
      {"GET", "/api/devicetypes/{id}/devices", kRead, ListDeviceTypeDevices},
      {"GET", "/api/devicetypes/{id}/positions", kRead, ListDeviceTypePositions},
      {"POST", "/api/devicetypes/{id}/devices/bulk/create/async", kRegister, BulkCreate,
       Access::kRoles, Body::kBulk},
      {"GET", "/api/devicetypes/{id}/devices/bulk/create/async/{jobId}", kJobRead,
       BulkCreateStatus},
      {"POST", "/api/devicetypes/{id}/devices/bulk/create/series", kRegister, BulkCreateSeries,
       Access::kRoles, Body::kUpload},
      {"GET", "/api/devices", kRead, ListDevices},
      {"POST", "/api/devices/create", kRegister, CreateDevice},
      {"POST", "/api/devices/edit", kManage, EditDevice},
      {"POST", "/api/devices/bulk/edit", kManage, BulkEdit, Access::kRoles, Body::kBulk},
      {"GET", "/api/devices/bulk/edit/{jobId}", kRead, BulkEditStatus},
      {"GET", "/api/devices/{id}", kRead, GetDevice},
      {"DELETE", "/api/devices/{id}", kManage, DeleteDevice},
      {"GET", "/api/jobs/{jobId}", kJobRead, GetJob},
      // Its form carries the batch's encryption key.
      {"POST", "/api/credentials/import", kImport, ImportCredentials, Access::kRoles,
       Body::kSecretUpload},
      {"GET", "/api/devices/{id}/token-state", kRead, GetTokenState},
      {"GET", "/api/devices/{id}/networkstate", kRead, GetNetworkState},
      // GET although it changes state: the Sigfox API v1 path and method.
      {"GET", "/api/devicetypes/{id}/disengage", kManage, DisengageDeviceType, Access::kRoles,
       Body::kJson, http::Safety::kChangesState},
      {"POST", "/api/devices/{id}/disengage", kManage, DisengageDevice},
      {"GET", "/api/devices/{id}/messages", kRead, ListDeviceMessages},
      {"GET", "/api/devicetypes/{id}/messages", kRead, ListDeviceTypeMessages},
      {"GET", "/api/devices/{id}/messages/live", kRead, LiveDeviceMessages},
      {"GET", "/api/devicetypes/{id}/messages/live", kRead, LiveDeviceTypeMessages},
      {"GET", "/api/devices/{id}/messages/metric", kRead, GetDeviceMessageMetric},
      {"GET", "/api/devices/{id}/locations", kRead, ListDeviceLocations},
      {"GET", "/api/devices/{id}/stats", kRead, GetDeviceStats},
      {"GET", "/api/devicetypes/{id}/stats", kRead, GetDeviceTypeStats},
      {"GET", "/api/devices/{id}/consumptions/{year}", kRead, GetDeviceConsumptions},
      {"POST", "/api/devicetypes/{id}/callbacks/new", kManage, CreateCallbacks},
      {"GET", "/api/devicetypes/{id}/callbacks", kRead, ListCallbacks},
      {"POST", "/api/devicetypes/{id}/callbacks/{cid}/delete", kManage, DeleteCallback},
      {"POST", "/api/devicetypes/{id}/callbacks/{cid}/edit", kManage, EditCallback},
      {"POST", "/api/devicetypes/{id}/callbacks/{cid}/enable", kManage, EnableCallback},
      {"POST", "/api/devicetypes/{id}/callbacks/{cid}/downlink", kManage, SetDownlinkCallback},
      {"GET", "/api/callbacks/messages/error", kRead, ListCallbackErrors},
      {"GET", "/api/devices/{id}/status/error", kRead, ListDeviceErrors},
      {"GET", "/api/devices/{id}/status/warn", kRead, ListDeviceWarnings},
      {"GET", "/api/devicetypes/{id}/status/error", kRead, ListDeviceTypeErrors},
      {"GET", "/api/devicetypes/{id}/status/warn", kRead, ListDeviceTypeWarnings},
      {"GET", "/api/devices/{id}/events/config", kRead, ListEventConfigs(EventScope::kDevice)},
      {"POST", "/api/devices/{id}/events/config/new", kAdmin,
       CreateEventConfig(EventScope::kDevice)},
      {"POST", "/api/devices/{id}/events/config/{cid}/delete", kAdmin,
       DeleteEventConfig(EventScope::kDevice)},
      {"GET", "/api/devicetypes/{id}/events/config", kRead,
       ListEventConfigs(EventScope::kDeviceType)},
      {"POST", "/api/devicetypes/{id}/events/config/new", kAdmin,
       CreateEventConfig(EventScope::kDeviceType)},
      {"POST", "/api/devicetypes/{id}/events/config/{cid}/delete", kAdmin,
       DeleteEventConfig(EventScope::kDeviceType)},
      {"GET", "/api/groups/{id}/events/config", kRead, ListEventConfigs(EventScope::kGroup)},
      {"POST", "/api/groups/{id}/events/config/new", kAdmin, CreateEventConfig(EventScope::kGroup)},
      {"POST", "/api/groups/{id}/events/config/{cid}/delete", kAdmin,
       DeleteEventConfig(EventScope::kGroup)},
      {"GET", "/api/stations", kRead, ListStations},
      {"POST", "/api/stations/create", kAdmin, CreateStation},
      {"POST", "/api/stations/edit", kAdmin, EditStation},
      {"GET", "/api/stations/{id}", kRead, GetStation},
      {"DELETE", "/api/stations/{id}", kAdmin, DeleteStation},
      {"POST", "/api/ingest/uplink", kIngest, IngestUplink, Access::kRoles, Body::kBatch,
       http::Safety::kSafe, IngestUplinkFast},
      {"POST", "/api/ingest/sigfox-callback", kIngest, IngestSigfoxCallback},
      {"POST", "/api/ingest/sigfox-service-callback", kIngest, IngestSigfoxServiceCallback},
      {"POST", "/api/ingest/service", kIngest, IngestService},
      {"GET", "/api/product-certificates", kCertificateRead, SearchCertificates},
      {"POST", "/api/product-certificates/import", kManage, ImportCertificates, Access::kRoles,
       Body::kUpload},
      {"GET", "/api/product-certificates/{key}", kCertificateRead, GetCertificate},
      {"POST", "/api/provisioning/ids/import", kAdmin, ImportProvisionIds, Access::kRoles,
       Body::kReport},
      {"GET", "/api/provisioning/ids", kRead, ListProvisionIds},
      // Stores nothing; 1 000 report rows (kMaxLabelsPerSheet) fit kBatch's 512 KB.
      {"POST", "/api/provisioning/labels", kJobRead, RenderProvisionLabels, Access::kRoles,
       Body::kBatch},
      {"POST", "/api/provisioning/ids/{pid}/disable", kAdmin, DisableProvisionId},
      {"GET", "/api/provisioning/devices", kRead, ListProvisionedDevices},
      {"GET", "/api/provisioning/devices/{devEui}", kRead, GetProvisionedDevice},
      {"GET", "/api/provisioning/devices/{devEui}/keys", kAdmin, GetProvisionedKeys},
      {"GET", "/api/provisioning/export", kAdmin, ExportProvisionedKeys},
      {"GET", "/api/provisioning/summary", kRead, GetProvisioningSummary},
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
      {"POST", "/api/codec/decode", kRead, DecodeWithCodec, Access::kRoles, Body::kSmall},
      {"POST", "/api/codec/downlink/check", kRead, CheckDownlinkTemplate, Access::kRoles,
       Body::kSmall},
      {"GET", "/api/console/summary", kRead, GetConsoleSummary},
      // Public and answered from memory: the console reads it before anyone logs in.
      {"GET", "/api/console/config", kNone, GetConsoleConfig, Access::kPublic, Body::kJson,
       http::Safety::kSafe, nullptr, http::Runs::kEventLoop},
  };
  return kRoutes;
}

Status AddApiRoutes(http::Router& router, ApiContext& ctx, const BodyLimits& limits) {
  // Public, static, cheap: served on the event loop.
  ROOST_RETURN_IF_ERROR(router.Add("GET", "/api/openapi.json", [](const Request&) {
    return Response::Json(200, std::string(OpenApiDocument()));
  }));
  for (const ApiRoute& route : ApiRoutes()) {
    const ApiRoute* r = &route;
    ApiContext* c = &ctx;
    http::RouteOptions options;
    options.runs = route.runs;
    options.safety = route.safety;
    switch (route.body) {
      case Body::kJson:
        options.max_body_bytes = route.access == Access::kPublic ? limits.public_json : limits.json;
        break;
      case Body::kSmall:
        options.max_body_bytes = limits.small_json;
        break;
      case Body::kBulk:
        options.max_body_bytes = limits.bulk;
        break;
      case Body::kBatch:
        options.max_body_bytes = limits.batch;
        break;
      case Body::kUpload:
        options.max_body_bytes = limits.upload;
        options.storage = http::BodyStorage::kFile;
        break;
      case Body::kSecretUpload:
        options.max_body_bytes = limits.upload;
        options.storage = http::BodyStorage::kSecretFile;
        break;
      case Body::kReport:
        options.max_body_bytes = limits.report;
        options.storage = http::BodyStorage::kFile;
        break;
    }
    if (route.access != Access::kPublic) {
      // On the head alone: nobody gets a body read, or a 100 Continue, before this.
      options.admit = [r, c](Request& req) -> std::optional<Response> {
        AuthOutcome auth = Authenticate(*c, req, RouteChangesState(*r));
        if (!auth.ok) return std::move(auth.refusal);
        if (!RouteAllows(*r, auth.principal.roles)) {
          return Response::Error(403, "your roles do not allow " + std::string(r->method) + " " +
                                          std::string(r->pattern));
        }
        req.admitted = std::move(auth.principal);
        return std::nullopt;
      };
      if (route.fast != nullptr) {
        options.fast_path = [r, c](Request& req) -> std::optional<Response> {
          std::optional<Principal> principal = AuthenticateFromCache(*c, req);
          if (!principal || !RouteAllows(*r, principal->roles)) return std::nullopt;
          return r->fast(*c, *principal, req);
        };
      }
    }
    Status added = router.Add(
        route.method, route.pattern,
        [r, c](const Request& req) {
          if (r->access == Access::kPublic) return r->handler(*c, Principal{}, req);
          const Principal* principal = std::any_cast<Principal>(&req.admitted);
          if (principal == nullptr) return Response::Error(500, "internal error");
          return r->handler(*c, *principal, req);
        },
        std::move(options));
    if (!added.ok()) return added;
  }
  return Status::Ok();
}

}  // namespace roost::api
