// Callbacks as the API reads and writes them (docs/api.md, "Callbacks"): the
// Sigfox API v1 fields, enumerations by name or v1 code.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/callback.h"

namespace roost::api {

// The body of POST /api/devicetypes/{id}/callbacks/new: an array of callback
// objects (or {"data": [...]}), 1..100. Shape and types only: the patterns are
// checked by the caller (integration::ValidateCallback). Errors name the item
// ("data[2].url"). Ids, type and creation time are the caller's to set: the
// `id`, `creationTime` and `dead` of a listed callback are taken and ignored,
// so that a list can be posted back. `downlinkHook` (at most one true) is read
// into Callback::downlink_hook, for the caller to give the mark.
Parsed<std::vector<Callback>> ParseCallbacksCreate(const nlohmann::json& body);

// The body of POST /api/devicetypes/{id}/callbacks/{cid}/edit: one callback
// object as ParseCallbacksCreate takes for one item, checked by the same code.
// Errors name the field alone ("url"). `enabled_given`: the body set "enabled"
// (otherwise the callback keeps its state).
struct CallbackEdit {
  Callback callback;
  bool enabled_given = false;
};
Parsed<CallbackEdit> ParseCallbackEdit(const nlohmann::json& body);

// `secrets` false (a READER's view) blanks what may carry a credential: every
// header value; in the URL, the user and password, each path segment that is
// not a template variable alone, and the query's values ("***"); the body
// template and line pattern ("***" when not empty).
nlohmann::json CallbackJson(const Callback& callback, bool secrets = true);

// A delivery as a message's "callbacks" item and as an error of
// GET /api/callbacks/messages/error: "url" (URL, BATCH_URL) or "email"
// (EMAIL) where it goes, when known; "history", every attempt oldest first
// ({"time", "status", "info"}). `secrets` false (a READER's view) masks the
// url as CallbackJson does.
// AppendDeliveryJson writes it as JSON text to `out` (a page of messages
// writes each of its deliveries so); DeliveryJson parses that text.
void AppendDeliveryJson(std::string& out, const Delivery& delivery, bool secrets);
nlohmann::json DeliveryJson(const Delivery& delivery, bool secrets = true);

}  // namespace roost::api
