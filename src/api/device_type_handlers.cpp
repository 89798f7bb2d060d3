#include "api/handlers.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/json/body.h"
#include "api/json/device_json.h"
#include "api/json/device_type_json.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "model/object_id.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

Response ListDeviceTypes(ApiContext& ctx, const Principal& p, const Request& req) {
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error().ToResponse();
  const int limit = window->limit;
  int skip = window->offset;
  std::string after = req.QueryParam("after").value_or("");
  auto subtree = ListSubtree(ctx, p, req);
  if (!subtree.ok()) return subtree.error().ToResponse();
  auto name = ContainsFilter(req, "name");
  if (!name.ok()) return name.error().ToResponse();
  // Types are few per group (tens to thousands): filtered here, not in SQL.
  auto types = ctx.devices.ListDeviceTypes(*subtree);
  if (!types.ok()) return FromStatus(types.status()).ToResponse();
  json data = json::array();
  std::string last;
  bool more = false;
  for (const auto& t : *types) {  // ordered by id
    if (!after.empty() && t.id <= after) continue;
    if (!ContainsIgnoreCase(t.name, *name)) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    if (static_cast<int>(data.size()) == limit) {
      more = true;
      break;
    }
    data.push_back(DeviceTypeJson(t));
    last = t.id;
  }
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (more) body["paging"]["next"] = NextUrl(req, {"groupId", "name"}, limit, last);
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
  DeviceType type;
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
  type.id = NewObjectId();
  type.creation_time = type.update_time = ctx.now_ms();
  Status created = ctx.devices.CreateDeviceType(type);
  if (!created.ok()) return FromStatus(created).ToResponse();
  return JsonResponse(200, json{{"id", type.id}});
}

Response EditDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto id = body->find("id");
  if (id == body->end()) return ApiError::BadField("id", "is required").ToResponse();
  if (!id->is_string()) return ApiError::BadField("id", "must be a string").ToResponse();
  // The fields the edit gives go onto the type as stored when it lands: one
  // that another edit changed meanwhile is read again (the fields are checked
  // together, so they are applied and checked again too).
  for (int attempt = 0; attempt < kEditAttempts; ++attempt) {
    auto type = VisibleDeviceType(ctx, p, id->get<std::string>());
    if (!type.ok()) return type.error().ToResponse();
    DeviceType edited = *type;
    if (auto e = ApplyDeviceTypeFields(*body, true, edited)) return e->ToResponse();
    if (auto g = body->find("group"); g != body->end() && *g != json(type->group)) {
      return ApiError::BadField("group", "cannot be changed by an edit").ToResponse();
    }
    if (auto e = ValidateDeviceType(edited)) return e->ToResponse();
    // Past the read one, so that the next edit tells this one from it.
    edited.update_time = std::max(ctx.now_ms(), type->update_time + 1);
    auto updated = ctx.devices.UpdateDeviceType(edited, type->update_time);
    if (!updated.ok()) return FromStatus(updated.status()).ToResponse();
    if (*updated) return JsonResponse(200, DeviceTypeJson(edited));
  }
  return KeepsChanging("device type " + id->get<std::string>());
}

Response DeleteDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto count = ctx.devices.CountDevices(type->id);
  if (!count.ok()) return FromStatus(count.status()).ToResponse();
  std::string busy = "device type " + type->id + " still has devices; delete or move them first";
  if (*count > 0) return ApiError{409, busy, {}}.ToResponse();
  Status deleted = ctx.devices.DeleteDeviceType(type->id);
  if (deleted.code() == Status::Code::kInvalidInput) return ApiError{409, busy, {}}.ToResponse();
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

}  // namespace roost::api
