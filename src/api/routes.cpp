#include "api/routes.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

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

Response JsonResponse(int status, const json& body) {
  return Response::Json(status, body.dump());
}

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

// NotFound unless `group` is the principal's group or below it.
std::optional<ApiError> CheckVisible(ApiContext& ctx, const Principal& p, std::string_view group,
                                     std::string_view what) {
  auto visible = ctx.store.IsInSubtree(group, p.group);
  if (!visible.ok()) {
    if (visible.status().code() == Status::Code::kNotFound) {
      return ApiError{404, std::string(what) + " not found", {}};
    }
    return FromStatus(visible.status());
  }
  if (!*visible) return ApiError{404, std::string(what) + " not found", {}};
  return std::nullopt;
}

Parsed<registry::DeviceType> VisibleDeviceType(ApiContext& ctx, const Principal& p,
                                               std::string_view id) {
  std::string what = "device type " + std::string(id);
  auto type = ctx.store.GetDeviceType(id);
  if (!type.ok()) {
    if (type.status().code() == Status::Code::kNotFound)
      return ApiError{404, what + " not found", {}};
    return FromStatus(type.status());
  }
  if (auto e = CheckVisible(ctx, p, type->group, what)) return *e;
  return *type;
}

Parsed<registry::Device> VisibleDevice(ApiContext& ctx, const Principal& p, std::string_view id) {
  auto parsed = ParseSigfoxId(id);
  if (!parsed.ok()) return ApiError{404, "device " + std::string(id) + " not found", {}};
  std::string what = "device " + parsed->ToApi();
  auto device = ctx.store.GetDevice(parsed->value);
  if (!device.ok()) {
    if (device.status().code() == Status::Code::kNotFound) {
      return ApiError{404, what + " not found", {}};
    }
    return FromStatus(device.status());
  }
  if (auto e = CheckVisible(ctx, p, device->group, what)) return *e;
  return *device;
}

bool SeesPac(const Principal& p) {
  return p.roles.Has(Role::kAdmin) || p.roles.Has(Role::kDeviceManager);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// "<path>?k=v&...&limit=N&after=CURSOR" keeping the request's filters.
std::string NextUrl(const Request& req, const std::vector<std::string_view>& keep, int limit,
                    std::string_view after) {
  std::string url = req.path + "?";
  for (std::string_view key : keep) {
    if (auto v = req.QueryParam(key)) {
      url += std::string(key) + "=" + PercentEncode(*v) + "&";
    }
  }
  url += "limit=" + std::to_string(limit) + "&after=" + PercentEncode(after);
  return url;
}

// --- device types --------------------------------------------------------

Response ListDeviceTypes(ApiContext& ctx, const Principal& p, const Request& req) {
  auto limit = ParseLimit(req.QueryParam("limit"));
  if (!limit.ok()) return limit.error().ToResponse();
  std::string after = req.QueryParam("after").value_or("");
  auto types = ctx.store.ListDeviceTypes(p.group);
  if (!types.ok()) return FromStatus(types.status()).ToResponse();
  json data = json::array();
  std::string last;
  bool more = false;
  for (const auto& t : *types) {  // ordered by id
    if (!after.empty() && t.id <= after) continue;
    if (static_cast<int>(data.size()) == *limit) {
      more = true;
      break;
    }
    data.push_back(DeviceTypeJson(t));
    last = t.id;
  }
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (more) body["paging"]["next"] = NextUrl(req, {}, *limit, last);
  return JsonResponse(200, body);
}

Response GetDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  return JsonResponse(200, DeviceTypeJson(*type));
}

Response CreateDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  registry::DeviceType type;
  if (auto e = ApplyDeviceTypeFields(*body, false, type)) return e->ToResponse();
  type.group = p.group;
  if (auto g = body->find("group"); g != body->end() && !g->is_null()) {
    if (!g->is_string())
      return ApiError::BadField("group", "must be a group id string").ToResponse();
    type.group = g->get<std::string>();
    if (auto e = CheckVisible(ctx, p, type.group, "group " + type.group)) {
      e->errors.push_back(http::ErrorDetail::Field("group", "not found"));
      return e->ToResponse();
    }
  }
  if (!body->contains("name")) return ApiError::BadField("name", "is required").ToResponse();
  if (auto e = ValidateDeviceType(type)) return e->ToResponse();
  type.id = registry::DeviceRegistry::NewObjectId();
  type.creation_time = type.update_time = ctx.now_ms();
  Status created = ctx.store.CreateDeviceType(type);
  if (!created.ok()) return FromStatus(created).ToResponse();
  return JsonResponse(200, json{{"id", type.id}});
}

Response EditDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto id = body->find("id");
  if (id == body->end()) return ApiError::BadField("id", "is required").ToResponse();
  if (!id->is_string()) return ApiError::BadField("id", "must be a string").ToResponse();
  auto type = VisibleDeviceType(ctx, p, id->get<std::string>());
  if (!type.ok()) return type.error().ToResponse();
  registry::DeviceType edited = *type;
  if (auto e = ApplyDeviceTypeFields(*body, true, edited)) return e->ToResponse();
  if (auto g = body->find("group"); g != body->end() && *g != json(type->group)) {
    return ApiError::BadField("group", "cannot be changed by an edit").ToResponse();
  }
  if (auto e = ValidateDeviceType(edited)) return e->ToResponse();
  edited.update_time = ctx.now_ms();
  Status updated = ctx.store.UpdateDeviceType(edited);
  if (!updated.ok()) return FromStatus(updated).ToResponse();
  return JsonResponse(200, DeviceTypeJson(edited));
}

Response DeleteDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto count = ctx.store.CountDevices(type->id);
  if (!count.ok()) return FromStatus(count.status()).ToResponse();
  std::string busy = "device type " + type->id + " still has devices; delete or move them first";
  if (*count > 0) return ApiError{409, busy, {}}.ToResponse();
  Status deleted = ctx.store.DeleteDeviceType(type->id);
  if (deleted.code() == Status::Code::kInvalidInput) return ApiError{409, busy, {}}.ToResponse();
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

// --- devices -------------------------------------------------------------

Response ListDevicesWith(ApiContext& ctx, const Principal& p, const Request& req,
                         storage::DeviceQuery query, const std::vector<std::string_view>& keep) {
  auto limit = ParseLimit(req.QueryParam("limit"));
  if (!limit.ok()) return limit.error().ToResponse();
  query.limit = *limit;
  if (auto after = req.QueryParam("after")) {
    auto id = ParseSigfoxId(*after);
    if (!id.ok()) return ApiError::BadField("after", id.status().message()).ToResponse();
    query.after = id->value;
  }
  if (auto prefix = req.QueryParam("idPrefix")) {
    std::string s = *prefix;
    if (s.empty() || s.size() > 8 || !std::all_of(s.begin(), s.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        })) {
      return ApiError::BadField("idPrefix", "must be 1 to 8 hex digits").ToResponse();
    }
    std::transform(s.begin(), s.end(), s.begin(), [](char c) {
      return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    query.id_prefix = s;
  }
  if (auto prefix = req.QueryParam("namePrefix")) query.name_prefix = *prefix;
  auto page = ctx.store.ListDevices(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json data = json::array();
  const bool pac = SeesPac(p);
  for (const auto& d : page->devices) data.push_back(DeviceJson(d, pac));
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (page->next) {
    body["paging"]["next"] = NextUrl(req, keep, *limit, SigfoxId{*page->next}.ToApi());
  }
  return JsonResponse(200, body);
}

Response ListDevices(ApiContext& ctx, const Principal& p, const Request& req) {
  storage::DeviceQuery query;
  query.group_subtree = p.group;
  if (auto group = req.QueryParam("groupId")) {
    if (auto e = CheckVisible(ctx, p, *group, "group " + *group)) return e->ToResponse();
    query.group_subtree = *group;
  }
  if (auto type = req.QueryParam("deviceTypeId")) {
    auto t = VisibleDeviceType(ctx, p, *type);
    if (!t.ok()) return t.error().ToResponse();
    query.type = t->id;
  }
  return ListDevicesWith(ctx, p, req, std::move(query),
                         {"deviceTypeId", "groupId", "idPrefix", "namePrefix"});
}

Response ListDeviceTypeDevices(ApiContext& ctx, const Principal& p, const Request& req) {
  auto t = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!t.ok()) return t.error().ToResponse();
  storage::DeviceQuery query;
  query.group_subtree = p.group;
  query.type = t->id;
  return ListDevicesWith(ctx, p, req, std::move(query), {"idPrefix", "namePrefix"});
}

Response GetDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  return JsonResponse(200, DeviceJson(*device, SeesPac(p)));
}

Response DeleteDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  Status deleted = ctx.store.DeleteDevice(device->id.value);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

Response CreateDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto request = ParseRegistration(*body);
  if (!request.ok()) return request.error().ToResponse();
  auto device = ctx.devices.Register(p.group, *request);
  if (!device.ok()) {
    ApiError e = FromStatus(device.status());
    if (device.status().code() == Status::Code::kNotFound && e.errors.empty()) {
      e.errors.push_back(http::ErrorDetail::Field("type", "not found"));
    }
    return e.ToResponse();
  }
  return JsonResponse(200, DeviceJson(*device, SeesPac(p)));
}

Response BulkCreate(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto request = ParseBulkCreate(*body, type->id);
  if (!request.ok()) return request.error().ToResponse();
  auto job = ctx.devices.StartBulkCreate(p.group, *request);
  if (!job.ok()) return FromStatus(job.status()).ToResponse();
  return JsonResponse(202, json{{"total", job->total}, {"jobId", job->id}});
}

Response JobStatusOf(ApiContext& ctx, const Principal& p, std::string_view job_id) {
  auto status = ctx.devices.BulkStatus(p.group, job_id);
  if (!status.ok()) {
    if (status.status().code() == Status::Code::kNotFound) {
      return ApiError{404, "job " + std::string(job_id) + " not found", {}}.ToResponse();
    }
    return FromStatus(status.status()).ToResponse();
  }
  return JsonResponse(200, JobStatusJson(*status));
}

Response BulkCreateStatus(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  return JobStatusOf(ctx, p, req.Param("jobId"));
}

Response GetJob(ApiContext& ctx, const Principal& p, const Request& req) {
  return JobStatusOf(ctx, p, req.Param("jobId"));
}

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
      {"GET", "/api/devices", kRead, ListDevices},
      {"POST", "/api/devices/create", kRegister, CreateDevice},
      {"GET", "/api/devices/{id}", kRead, GetDevice},
      {"DELETE", "/api/devices/{id}", kManage, DeleteDevice},
      {"GET", "/api/jobs/{jobId}", kJobRead, GetJob},
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
  for (const ApiRoute& route : ApiRoutes()) {
    const ApiRoute* r = &route;
    ApiContext* c = &ctx;
    Status added = router.Add(route.method, route.pattern, [r, c](const Request& req) {
      AuthOutcome auth = Authenticate(*c, req);
      if (!auth.ok) return auth.refusal;
      if (!RouteAllows(*r, auth.principal.roles)) {
        return Response::Error(403, "your roles do not allow " + std::string(r->method) + " " +
                                        std::string(r->pattern));
      }
      return r->handler(*c, auth.principal, req);
    });
    if (!added.ok()) return added;
  }
  return Status::Ok();
}

}  // namespace roost::api
