#include "api/handlers.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/json/body.h"
#include "api/json/bulk_json.h"
#include "api/json/device_json.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "model/device.h"
#include "model/enum_table.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// A device state filter: the v1 name ("OK", "DEAD", ...) or its integer code.
std::optional<ApiError> ParseStateFilter(std::string_view text, storage::DeviceQuery& query) {
  const EnumEntry<DeviceState>* e = nullptr;
  if (!text.empty() && text.size() <= 2 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    e = EnumByCode(kDeviceStates, std::stoll(std::string(text)));
  } else {
    e = EnumByName(kDeviceStates, text);
  }
  if (e == nullptr) {
    return ApiError::BadField("state", "must be " + EnumChoices(kDeviceStates));
  }
  query.state = e->value;
  return std::nullopt;
}

// The `after` of a device list's next page: the last device's ID, or with
// namePrefix (pages by name, then ID) "N" + the name in hex + "." + the ID.
// Clients treat it as opaque.
std::string DeviceCursor(const storage::DevicePage& page) {
  const std::string id = SigfoxId{*page.next}.ToApi();
  if (!page.next_name) return id;
  const std::string& name = *page.next_name;
  return "N" + ToHex(std::span(reinterpret_cast<const uint8_t*>(name.data()), name.size())) + "." +
         id;
}

std::optional<ApiError> ParseDeviceCursor(std::string_view text, storage::DeviceQuery& query) {
  std::string_view id_text = text;
  if (!text.empty() && text.front() == 'N') {
    const size_t dot = text.find('.');
    if (dot == std::string_view::npos) {
      return ApiError::BadField("after", "is not a cursor of this list: follow paging.next");
    }
    auto name = FromHex(text.substr(1, dot - 1));
    if (!name.ok() || name->size() > 1000) {
      return ApiError::BadField("after", "is not a cursor of this list: follow paging.next");
    }
    query.after_name = std::string(name->begin(), name->end());
    id_text = text.substr(dot + 1);
  }
  auto id = ParseSigfoxId(id_text);
  if (!id.ok()) return ApiError::BadField("after", id.status().message());
  query.after = id->value;
  return std::nullopt;
}

Response ListDevicesWith(ApiContext& ctx, const Principal& p, const Request& req,
                         storage::DeviceQuery query, const std::vector<std::string_view>& keep) {
  auto window = ParsePageWindow(req, storage::kMaxDeviceOffset);
  if (!window.ok()) return window.error().ToResponse();
  query.limit = window->limit;
  query.offset = window->offset;
  if (auto after = req.QueryParam("after")) {
    if (auto e = ParseDeviceCursor(*after, query)) return e->ToResponse();
  }
  if (auto prefix = req.QueryParam("idPrefix")) {
    std::string s = *prefix;
    if (s.empty() || s.size() > 8 || !std::all_of(s.begin(), s.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        })) {
      return ApiError::BadField("idPrefix", "must be 1 to 8 hex digits").ToResponse();
    }
    query.id_prefix = AsciiUpper(s);
  }
  if (auto prefix = req.QueryParam("namePrefix")) query.name_prefix = *prefix;
  if (query.after && query.after_name.has_value() == query.name_prefix.empty()) {
    return ApiError::BadField("after", "is not a cursor of this list: follow paging.next")
        .ToResponse();
  }
  if (auto state = req.QueryParam("state")) {
    if (auto e = ParseStateFilter(*state, query)) return e->ToResponse();
  }
  if (auto since = req.QueryParam("lastSeenSince")) {
    if (auto e = ParseEpochFilter("lastSeenSince", *since, query.last_since)) {
      return e->ToResponse();
    }
  }
  if (auto before = req.QueryParam("lastSeenBefore")) {
    if (auto e = ParseEpochFilter("lastSeenBefore", *before, query.last_before)) {
      return e->ToResponse();
    }
  }
  if (auto positioned = req.QueryParam("positioned")) {
    if (*positioned != "true" && *positioned != "false") {
      return ApiError::BadField("positioned", "must be true or false").ToResponse();
    }
    query.positioned = *positioned == "true";
  }
  auto page = ctx.devices.ListDevices(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json data = json::array();
  const bool pac = SeesPac(p);
  for (const auto& d : page->devices) data.push_back(DeviceJson(d, pac));
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (page->next) {
    body["paging"]["next"] = NextUrl(req, keep, query.limit, DeviceCursor(*page));
  }
  return JsonResponse(200, body);
}

}  // namespace

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
                         {"deviceTypeId", "groupId", "idPrefix", "namePrefix", "state",
                          "lastSeenSince", "lastSeenBefore", "positioned"});
}

Response ListDeviceTypeDevices(ApiContext& ctx, const Principal& p, const Request& req) {
  auto t = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!t.ok()) return t.error().ToResponse();
  storage::DeviceQuery query;
  query.group_subtree = p.group;
  query.type = t->id;
  return ListDevicesWith(
      ctx, p, req, std::move(query),
      {"idPrefix", "namePrefix", "state", "lastSeenSince", "lastSeenBefore", "positioned"});
}

Response GetDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  return JsonResponse(200, DeviceJson(*device, SeesPac(p)));
}

Response DeleteDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  Status deleted = ctx.devices.DeleteDevice(device->id.value);
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
  auto request = ParseBulkCreateBody(req.body, type->id);
  if (!request.ok()) return request.error().ToResponse();
  auto job = ctx.devices.StartBulkCreate(p.group, *request);
  if (!job.ok()) return FromStatus(job.status()).ToResponse();
  return JsonResponse(202, json{{"total", job->total}, {"jobId", job->id}});
}

Response BulkCreateStatus(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  return JobStatusOf(ctx, p, req.Param("jobId"));
}

}  // namespace roost::api
