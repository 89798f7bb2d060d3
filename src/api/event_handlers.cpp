// /api/devices/{id}/status/…, /api/devicetypes/{id}/status/… (device events)
// and the event configurations of devices, device types and groups
// (…/events/config…).
#include <charconv>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/callback_json.h"
#include "api/json/event_json.h"
#include "observe/json_string.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Response Unavailable() {
  return Response::Error(503, "the message pipeline is not running");
}

// GET …/status/error|warn: since, before (epoch ms), limit, after (the paging cursor).
// As `p` may see them (callback destinations, URL credentials).
Response ListEvents(ApiContext& ctx, const Principal& p, const Request& req,
                    storage::EventQuery query) {
  if (auto e = ParseTimeWindow(req, query.limit, query.offset, query.since, query.before)) {
    return e->ToResponse();
  }
  if (auto after = req.QueryParam("after")) {
    auto cursor = ParseEventCursor(*after);
    if (!cursor.ok()) return cursor.error().ToResponse();
    query.after = *cursor;
  }
  auto page = ctx.events->ListEvents(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  auto deliveries = ctx.events->ListEventDeliveries(page->events, DestinationsVisibleTo(ctx, p));
  const bool secrets = SeesCallbackSecrets(p);
  if (!deliveries.ok()) return FromStatus(deliveries.status()).ToResponse();
  // Each event's deliveries as the text of a JSON list, as a page of messages
  // writes them; the event itself is small and stays an object.
  std::map<std::pair<uint32_t, int64_t>, std::string> callbacks;
  for (const Delivery& d : *deliveries) {
    std::string& list = callbacks[{d.device, d.message_time}];
    list += list.empty() ? '[' : ',';
    AppendDeliveryJson(list, d, secrets);
  }
  for (auto& [key, list] : callbacks) list += ']';
  std::string text = "{\"data\":[";
  for (size_t i = 0; i < page->events.size(); ++i) {
    const Event& e = page->events[i];
    if (i > 0) text += ',';
    std::string item = EventJson(e).dump(-1, ' ', false, json::error_handler_t::replace);
    auto it = callbacks.find({e.device, e.time});
    // The object without its closing brace, then its "callbacks" member.
    item.pop_back();
    item += item.size() > 1 ? ",\"callbacks\":" : "\"callbacks\":";
    item += it == callbacks.end() ? std::string_view("[]") : std::string_view(it->second);
    item += '}';
    text += item;
  }
  text += "],\"paging\":{";
  if (page->next) {
    text += "\"next\":";
    observe::AppendJsonString(
        text, NextUrl(req, {"since", "before"}, query.limit, EventCursorText(*page->next)));
  }
  text += "}}";
  return Response::Json(200, std::move(text));
}

Response DeviceEvents(ApiContext& ctx, const Principal& p, const Request& req,
                      EventSeverity severity) {
  if (ctx.events == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  storage::EventQuery query;
  query.device = device->id.value;
  query.severity = severity;
  return ListEvents(ctx, p, req, std::move(query));
}

Response DeviceTypeEvents(ApiContext& ctx, const Principal& p, const Request& req,
                          EventSeverity severity) {
  if (ctx.events == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  storage::EventQuery query;
  query.type = type->id;
  query.severity = severity;
  return ListEvents(ctx, p, req, std::move(query));
}

// What an event configuration route is about: the visible object {id} names,
// as the store keys it, and the group that owns it now.
struct ConfigTarget {
  EventScope scope = EventScope::kDevice;
  std::string target;
  std::string group;
};

Parsed<ConfigTarget> DeviceTarget(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error();
  return ConfigTarget{EventScope::kDevice, device->id.ToFile(), device->group};
}

Parsed<ConfigTarget> DeviceTypeTarget(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error();
  return ConfigTarget{EventScope::kDeviceType, type->id, type->group};
}

Parsed<ConfigTarget> GroupTarget(ApiContext& ctx, const Principal& p, const Request& req) {
  const std::string_view id = req.Param("id");
  const std::string what = "group " + QuoteForMessage(id);
  auto group = ctx.accounts.GetGroup(id);
  if (!group.ok()) return NotFoundOr(group.status(), what);
  if (auto e = CheckVisible(ctx, p, group->id, what)) return *e;
  return ConfigTarget{EventScope::kGroup, group->id, group->id};
}

Parsed<ConfigTarget> TargetOf(EventScope scope, ApiContext& ctx, const Principal& p,
                              const Request& req) {
  switch (scope) {
    case EventScope::kDevice:
      return DeviceTarget(ctx, p, req);
    case EventScope::kDeviceType:
      return DeviceTypeTarget(ctx, p, req);
    case EventScope::kGroup:
      return GroupTarget(ctx, p, req);
  }
  return ApiError{404, "event configuration target not found", {}};  // no other scope exists
}

// A configuration applies (and is shown) only while its target is still in the
// group that made it: after a transfer the new owner neither sees nor inherits
// the old owner's addresses.
bool Owned(const EventConfig& config, const ConfigTarget& t) {
  return config.scope == t.scope && config.target == t.target && config.group == t.group;
}

Response ListConfigs(EventScope scope, ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.events == nullptr) return Unavailable();
  auto t = TargetOf(scope, ctx, p, req);
  if (!t.ok()) return t.error().ToResponse();
  auto configs = ctx.events->ListEventConfigs(t->scope, t->target);
  if (!configs.ok()) return FromStatus(configs.status()).ToResponse();
  json data = json::array();
  for (const EventConfig& c : *configs) {
    if (Owned(c, *t)) data.push_back(EventConfigJson(c));
  }
  return JsonResponse(200, json{{"data", std::move(data)}});
}

Response CreateConfig(EventScope scope, ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.events == nullptr) return Unavailable();
  auto t = TargetOf(scope, ctx, p, req);
  if (!t.ok()) return t.error().ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto config = ParseEventConfigCreate(*body);
  if (!config.ok()) return config.error().ToResponse();
  config->scope = t->scope;
  config->target = t->target;
  config->group = t->group;
  auto created = ctx.events->CreateEventConfig(std::move(*config));
  if (!created.ok()) {
    // The service names the field first ("emails[1]: ..."); FromStatus only
    // recognises plain names, so the item is named here.
    const std::string& message = created.status().message();
    const size_t colon = message.find(": ");
    if (created.status().code() == Status::Code::kInvalidInput && colon != std::string::npos &&
        (message.starts_with("kinds") || message.starts_with("emails"))) {
      return ApiError::BadField(message.substr(0, colon), message.substr(colon + 2)).ToResponse();
    }
    return FromStatus(created.status()).ToResponse();
  }
  return JsonResponse(201, EventConfigJson(*created));
}

Response DeleteConfig(EventScope scope, ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.events == nullptr) return Unavailable();
  auto t = TargetOf(scope, ctx, p, req);
  if (!t.ok()) return t.error().ToResponse();
  const std::string id(req.Param("cid"));
  const std::string what = "event configuration " + QuoteForMessage(id);
  auto config = ctx.events->GetEventConfig(id);
  if (!config.ok()) return NotFoundOr(config.status(), what).ToResponse();
  if (!Owned(*config, *t)) return ApiError{404, what + " not found", {}}.ToResponse();
  Status deleted = ctx.events->DeleteEventConfig(id);
  if (!deleted.ok()) return NotFoundOr(deleted, what).ToResponse();
  return NoContent();
}

}  // namespace

Response ListDeviceErrors(ApiContext& ctx, const Principal& p, const Request& req) {
  return DeviceEvents(ctx, p, req, EventSeverity::kError);
}
Response ListDeviceWarnings(ApiContext& ctx, const Principal& p, const Request& req) {
  return DeviceEvents(ctx, p, req, EventSeverity::kWarn);
}
Response ListDeviceTypeErrors(ApiContext& ctx, const Principal& p, const Request& req) {
  return DeviceTypeEvents(ctx, p, req, EventSeverity::kError);
}
Response ListDeviceTypeWarnings(ApiContext& ctx, const Principal& p, const Request& req) {
  return DeviceTypeEvents(ctx, p, req, EventSeverity::kWarn);
}

ApiHandler ListEventConfigs(EventScope scope) {
  return [scope](ApiContext& ctx, const Principal& p, const Request& req) {
    return ListConfigs(scope, ctx, p, req);
  };
}
ApiHandler CreateEventConfig(EventScope scope) {
  return [scope](ApiContext& ctx, const Principal& p, const Request& req) {
    return CreateConfig(scope, ctx, p, req);
  };
}
ApiHandler DeleteEventConfig(EventScope scope) {
  return [scope](ApiContext& ctx, const Principal& p, const Request& req) {
    return DeleteConfig(scope, ctx, p, req);
  };
}

}  // namespace roost::api
