// /api/devicetypes/{id}/callbacks… and /api/callbacks/messages/error.
#include <algorithm>
#include <optional>
#include <string>

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

// The callback {cid} of the visible device type {id}; 404 otherwise (also for a
// callback of another type).
Parsed<Callback> VisibleCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error();
  const std::string id(req.Param("cid"));
  const std::string what = "callback " + QuoteForMessage(id);
  auto cb = ctx.messages->GetCallback(id);
  if (!cb.ok()) {
    if (cb.status().code() == Status::Code::kNotFound)
      return ApiError{404, what + " not found", {}};
    return FromStatus(cb.status());
  }
  if (cb->type != type->id) return ApiError{404, what + " not found", {}};
  return *cb;
}

// A body's `downlinkHook: true` asks for the mark, which only a URL DATA BIDIR
// callback may carry (the store checks it again when it sets the mark).
std::optional<ApiError> CheckHookKind(const Callback& cb, const std::string& field) {
  if (!cb.downlink_hook ||
      (cb.channel == CallbackChannel::kUrl && cb.callback_type == CallbackType::kData &&
       cb.subtype == CallbackSubtype::kBidir)) {
    return std::nullopt;
  }
  return ApiError::BadField(field, "only a URL callback of type DATA BIDIR can answer downlinks");
}

}  // namespace

Response CreateCallbacks(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto body = ParseJsonValue(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto callbacks = ParseCallbacksCreate(*body);
  if (!callbacks.ok()) return callbacks.error().ToResponse();
  std::optional<size_t> hook;  // at most one (ParseCallbacksCreate)
  for (size_t i = 0; i < callbacks->size(); ++i) {
    if (!(*callbacks)[i].downlink_hook) continue;
    hook = i;
    const std::string field = "data[" + std::to_string(i) + "].downlinkHook";
    if (auto e = CheckHookKind((*callbacks)[i], field)) return e->ToResponse();
  }
  auto created = ctx.messages->CreateCallbacks(type->id, std::move(*callbacks));
  if (!created.ok()) return FromStatus(created.status()).ToResponse();
  if (hook) {
    Status set = ctx.messages->SetDownlinkHook((*created)[*hook].id);
    if (!set.ok()) return FromStatus(set).ToResponse();
  }
  json data = json::array();
  for (const Callback& cb : *created) data.push_back(json{{"id", cb.id}});
  return JsonResponse(200, json{{"data", std::move(data)}});
}

Response EditCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto cb = VisibleCallback(ctx, p, req);
  if (!cb.ok()) return cb.error().ToResponse();
  auto body = ParseJsonValue(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto edit = ParseCallbackEdit(*body);
  if (!edit.ok()) return edit.error().ToResponse();
  Callback& next = edit->callback;
  next.id = cb->id;
  next.type = cb->type;
  // Not named: what is stored when the edit lands (another request may change
  // it meanwhile), not what was read here.
  const bool keep_enabled = !edit->enabled_given;
  // `downlinkHook: true` gives it the mark; false leaves the mark where it is
  // (it moves when another callback takes it).
  const bool hook = next.downlink_hook;
  if (auto e = CheckHookKind(next, "downlinkHook")) return e->ToResponse();
  auto edited = ctx.messages->EditCallback(std::move(next), keep_enabled);
  if (!edited.ok()) return NotFoundOr(edited.status(), "callback " + cb->id).ToResponse();
  if (hook && !edited->downlink_hook) {
    Status set = ctx.messages->SetDownlinkHook(cb->id);
    if (!set.ok()) return NotFoundOr(set, "callback " + cb->id).ToResponse();
    edited->downlink_hook = true;
  }
  return JsonResponse(200, CallbackJson(*edited));
}

Response ListCallbacks(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto callbacks = ctx.messages->ListCallbacks(type->id);
  if (!callbacks.ok()) return FromStatus(callbacks.status()).ToResponse();
  // Header values and URL credentials are for those who may edit the callback.
  const bool secrets = SeesCallbackSecrets(p);
  json data = json::array();
  for (const Callback& cb : *callbacks) data.push_back(CallbackJson(cb, secrets));
  return JsonResponse(200, json{{"data", std::move(data)}});
}

Response DeleteCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto cb = VisibleCallback(ctx, p, req);
  if (!cb.ok()) return cb.error().ToResponse();
  Status deleted = ctx.messages->DeleteCallback(cb->id);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

Response EnableCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto cb = VisibleCallback(ctx, p, req);
  if (!cb.ok()) return cb.error().ToResponse();
  const auto enabled = req.QueryParam("enabled");
  if (!enabled || (*enabled != "true" && *enabled != "false")) {
    return ApiError::BadField("enabled", "must be true or false").ToResponse();
  }
  Status set = ctx.messages->SetCallbackEnabled(cb->id, *enabled == "true");
  if (!set.ok()) return FromStatus(set).ToResponse();
  return NoContent();
}

Response SetDownlinkCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto cb = VisibleCallback(ctx, p, req);
  if (!cb.ok()) return cb.error().ToResponse();
  // The store judges the callback's kind on the locked row, so an edit racing
  // this request cannot leave the mark on another kind of callback.
  Status set = ctx.messages->SetDownlinkHook(cb->id);
  if (!set.ok()) return FromStatus(set).ToResponse();
  return NoContent();
}

Response ListCallbackErrors(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  // As the Sigfox API v1's list: `since` and `before` (here on the first
  // failure's time, which orders the list), `groupId` (a subtree the caller
  // sees), `hexId` (a device), `deviceTypeId` (a device type the caller
  // sees: its callbacks'), `limit`, `offset`.
  int limit = 100, offset = 0;
  std::optional<EpochMillis> before;
  storage::FailedDeliveryFilter filter;
  if (auto e = ParseTimeWindow(req, limit, offset, filter.since, before)) return e->ToResponse();
  auto subtree = ListSubtree(ctx, p, req);
  if (!subtree.ok()) return subtree.error().ToResponse();
  if (auto hex = req.QueryParam("hexId")) {
    // Not required to be visible: the list holds only the caller's callbacks'
    // deliveries, of devices that may have moved to another group since.
    auto device = ParseSigfoxId(*hex);
    if (!device.ok()) {
      return ApiError::BadField("hexId", "must be a device id of 1 to 8 hex digits").ToResponse();
    }
    filter.device = device->value;
  }
  if (auto type = req.QueryParam("deviceTypeId")) {
    auto t = VisibleDeviceType(ctx, p, *type);
    if (!t.ok()) return t.error().ToResponse();
    filter.type = t->id;
  }
  // The cursor has the event lists' "<time>-<id>" form: the first failure's
  // time, then the delivery's id. `before` is where the newest-first walk
  // starts when no cursor says where to go on.
  std::optional<storage::FailedDeliveryCursor> after;
  if (auto text = req.QueryParam("after")) {
    auto cursor = ParseEventCursor(*text);
    if (!cursor.ok()) return cursor.error().ToResponse();
    after = storage::FailedDeliveryCursor{cursor->time, cursor->id};
  } else if (before) {
    after = storage::FailedDeliveryCursor{*before, 0};
  }
  auto page = ctx.messages->ListFailedDeliveries(*subtree, limit, offset, after, filter,
                                                 DestinationsVisibleTo(ctx, p));
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  const std::vector<Delivery>& failed = page->deliveries;
  const bool secrets = SeesCallbackSecrets(p);
  // Written as text, as a page of messages writes its deliveries: a page of
  // 1 000 failing deliveries, each with its attempt log, is mostly this text.
  std::string text = "{\"data\":[";
  for (size_t i = 0; i < failed.size(); ++i) {
    if (i > 0) text += ',';
    AppendDeliveryJson(text, failed[i], secrets);
  }
  text += "],\"paging\":{";
  if (page->more) {
    const Delivery& last = failed.back();
    text += "\"next\":";
    observe::AppendJsonString(
        text, NextUrl(req, {"since", "before", "groupId", "hexId", "deviceTypeId"}, limit,
                      EventCursorText(storage::EventCursor{last.first_failure, last.id})));
  }
  text += "}}";
  return Response::Json(200, std::move(text));
}

}  // namespace roost::api
