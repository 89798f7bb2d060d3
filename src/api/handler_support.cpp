#include "api/handlers.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/identifiers.h"
#include "core/text.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

Response JsonResponse(int status, const json& body) {
  // Input is checked at the boundary, but rows stored before that check may
  // still hold invalid UTF-8: they are served with U+FFFD rather than failing
  // the whole response (dump's default is to throw).
  return Response::Json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

std::optional<ApiError> CheckVisible(ApiContext& ctx, const Principal& p, std::string_view group,
                                     std::string_view what) {
  auto visible = ctx.accounts.IsInSubtree(group, p.group);
  if (!visible.ok()) {
    if (visible.status().code() == Status::Code::kNotFound) {
      return ApiError{404, std::string(what) + " not found", {}};
    }
    return FromStatus(visible.status());
  }
  if (!*visible) return ApiError{404, std::string(what) + " not found", {}};
  return std::nullopt;
}

Parsed<DeviceType> VisibleDeviceType(ApiContext& ctx, const Principal& p, std::string_view id) {
  std::string what = "device type " + QuoteForMessage(id);
  auto type = ctx.devices.GetDeviceType(id);
  if (!type.ok()) {
    if (type.status().code() == Status::Code::kNotFound)
      return ApiError{404, what + " not found", {}};
    return FromStatus(type.status());
  }
  if (auto e = CheckVisible(ctx, p, type->group, what)) return *e;
  return *type;
}

Parsed<Device> VisibleDevice(ApiContext& ctx, const Principal& p, std::string_view id) {
  auto parsed = ParseSigfoxId(id);
  if (!parsed.ok()) return ApiError{404, "device " + QuoteForMessage(id) + " not found", {}};
  std::string what = "device " + parsed->ToApi();
  auto device = ctx.devices.GetDevice(parsed->value);
  if (!device.ok()) {
    if (device.status().code() == Status::Code::kNotFound) {
      return ApiError{404, what + " not found", {}};
    }
    return FromStatus(device.status());
  }
  if (auto e = CheckVisible(ctx, p, device->group, what)) return *e;
  return *device;
}

// "group"/"parentId" of a create body: a visible group id, or the principal's
// group when absent. 404 naming the field otherwise.
Parsed<std::string> TargetGroup(ApiContext& ctx, const Principal& p, const json& body,
                                std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return p.group;
  if (!it->is_string()) {
    return ApiError::BadField(field,
                              "must be a group id string, not " + std::string(JsonTypeName(*it)));
  }
  std::string id = it->get<std::string>();
  if (auto e = CheckVisible(ctx, p, id, "group " + QuoteForMessage(id))) {
    e->errors.push_back(http::ErrorDetail::Field(field, "not found"));
    return *e;
  }
  return id;
}

Response KeepsChanging(std::string_view what) {
  return ApiError{
      409, std::string(what) + " keeps changing under concurrent edits; retry the edit", {}}
      .ToResponse();
}

// Public routes take JSON only: an HTML form of another site cannot send it
// without a CORS preflight, so these cannot be triggered cross-site.
std::optional<ApiError> RequireJsonBody(const Request& req) {
  auto type = req.Header("Content-Type");
  if (!StartsWithIgnoreCase(type.value_or(""), "application/json")) {
    return ApiError{415, "Content-Type must be application/json", {}};
  }
  return std::nullopt;
}

bool SeesPac(const Principal& p) {
  return p.roles.Has(Role::kAdmin) || p.roles.Has(Role::kDeviceManager);
}

bool SeesCallbackSecrets(const Principal& p) {
  return p.roles.Has(Role::kAdmin) || p.roles.Has(Role::kDeviceManager);
}

pipeline::ShowDestination DestinationsVisibleTo(ApiContext& ctx, const Principal& p) {
  return [&ctx, p](const Callback& cb) { return VisibleDeviceType(ctx, p, cb.type).ok(); };
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

Parsed<std::string> ContainsFilter(const Request& req, std::string_view param) {
  std::string text = req.QueryParam(param).value_or("");
  if (text.size() > 200) return ApiError::BadField(param, "must be at most 200 bytes");
  return text;
}

Parsed<std::string> ListSubtree(ApiContext& ctx, const Principal& p, const Request& req) {
  auto group = req.QueryParam("groupId");
  if (!group) return p.group;
  if (auto e = CheckVisible(ctx, p, *group, "group " + QuoteForMessage(*group))) return *e;
  return *group;
}

std::optional<ApiError> ParseEpochFilter(std::string_view name, std::string_view text,
                                         std::optional<EpochMillis>& out) {
  if (text.empty() || text.size() > 15 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return ApiError::BadField(std::string(name), "must be a time in epoch milliseconds");
  }
  out = std::stoll(std::string(text));
  return std::nullopt;
}

Parsed<PageWindow> ParsePageWindow(const http::Request& req, int64_t max_offset) {
  PageWindow window;
  auto limit = ParseLimit(req.QueryParam("limit"));
  if (!limit.ok()) return limit.error();
  window.limit = *limit;
  auto offset = ParseBoundedInt(req.QueryParam("offset"), "offset", 0, max_offset, 0,
                                "deeper pages: follow paging.next");
  if (!offset.ok()) return offset.error();
  window.offset = static_cast<int>(*offset);
  return window;
}

std::optional<ApiError> ParseTimeWindow(const http::Request& req, int& limit, int& offset,
                                        std::optional<EpochMillis>& since,
                                        std::optional<EpochMillis>& before) {
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error();
  limit = window->limit;
  offset = window->offset;
  if (auto text = req.QueryParam("since")) {
    if (auto e = ParseEpochFilter("since", *text, since)) return e;
  }
  if (auto text = req.QueryParam("before")) {
    if (auto e = ParseEpochFilter("before", *text, before)) return e;
  }
  return std::nullopt;
}

}  // namespace roost::api
