#include "api/handlers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
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

namespace {

// A decimal number of degrees in a query parameter, within [-limit, limit].
std::optional<ApiError> ParseCoordinate(const Request& req, std::string_view name, int limit,
                                        double& out) {
  const std::string text = *req.QueryParam(name);
  const char* end = text.data() + text.size();
  auto r = text.size() <= 32 ? std::from_chars(text.data(), end, out)
                             : std::from_chars_result{text.data(), std::errc::invalid_argument};
  if (text.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(out) || out < -limit ||
      out > limit) {
    return ApiError::BadField(std::string(name), "must be a number from -" + std::to_string(limit) +
                                                     " to " + std::to_string(limit));
  }
  return std::nullopt;
}

json AreaJson(const storage::PositionArea& a) {
  return json{{"south", a.south}, {"west", a.west}, {"north", a.north}, {"east", a.east}};
}

}  // namespace

// The type's positioned devices for a map: listed one by one up to maxListed,
// else counted in the cells of a grid, so that every one of them is on the map
// whatever the fleet's size; an area (all four of south, west, north, east)
// narrows it to what the map shows.
Response ListDeviceTypePositions(ApiContext& ctx, const Principal& p, const Request& req) {
  auto t = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!t.ok()) return t.error().ToResponse();
  storage::DevicePositionQuery query;
  query.group_subtree = p.group;
  query.type = t->id;
  const std::array<std::string_view, 4> sides{"south", "west", "north", "east"};
  const int given = static_cast<int>(std::count_if(
      sides.begin(), sides.end(), [&](auto side) { return req.QueryParam(side).has_value(); }));
  if (given != 0 && given != 4) {
    const auto missing =
        *std::find_if(sides.begin(), sides.end(), [&](auto side) { return !req.QueryParam(side); });
    return ApiError::BadField(std::string(missing),
                              "missing: an area needs all four of south, west, north and east")
        .ToResponse();
  }
  if (given == 4) {
    storage::PositionArea a;
    if (auto e = ParseCoordinate(req, "south", 90, a.south)) return e->ToResponse();
    if (auto e = ParseCoordinate(req, "west", 180, a.west)) return e->ToResponse();
    if (auto e = ParseCoordinate(req, "north", 90, a.north)) return e->ToResponse();
    if (auto e = ParseCoordinate(req, "east", 180, a.east)) return e->ToResponse();
    if (a.north < a.south)
      return ApiError::BadField("north", "must not be below south").ToResponse();
    if (a.east < a.west) {
      return ApiError::BadField("east",
                                "must not be west of west (an area across the 180th "
                                "meridian is asked for as two)")
          .ToResponse();
    }
    query.area = a;
  }
  auto max_listed = ParseBoundedInt(req.QueryParam("maxListed"), "maxListed", 1,
                                    storage::kMaxPositionsListed, query.max_listed);
  if (!max_listed.ok()) return max_listed.error().ToResponse();
  query.max_listed = static_cast<int>(*max_listed);
  auto grid =
      ParseBoundedInt(req.QueryParam("grid"), "grid", 1, storage::kMaxPositionGrid, query.grid);
  if (!grid.ok()) return grid.error().ToResponse();
  query.grid = static_cast<int>(*grid);
  auto positions = ctx.devices.ListDevicePositions(query);
  if (!positions.ok()) return FromStatus(positions.status()).ToResponse();
  json body{{"total", positions->total}, {"bounds", nullptr}};
  if (positions->bounds) body["bounds"] = AreaJson(*positions->bounds);
  json devices = json::array();
  for (const auto& d : positions->devices) {
    devices.push_back(
        json{{"id", SigfoxId{d.id}.ToApi()}, {"name", d.name}, {"lat", d.lat}, {"lng", d.lng}});
  }
  json cells = json::array();
  for (const auto& c : positions->cells) {
    json cell = AreaJson(c.bounds);
    cell["count"] = c.count;
    cell["lat"] = c.lat;
    cell["lng"] = c.lng;
    cells.push_back(std::move(cell));
  }
  body["devices"] = std::move(devices);
  body["cells"] = std::move(cells);
  return JsonResponse(200, body);
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
