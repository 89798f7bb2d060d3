// Device events and event configurations as the API reads and writes them
// (docs/api.md, "Events"): enumerations by name or code.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/event.h"
#include "storage/store.h"

namespace roost::api {

// An item of GET …/status/error and …/status/warn: "id", "device", "deviceType"
// (and its Sigfox API v1 name "deviceTypeId"), "kind", "severity", "message",
// "time". The group is not shown; the handler adds "callbacks".
nlohmann::json EventJson(const Event& event);

// "<time>-<id>" of the last event of a page; parsed back from "after".
std::string EventCursorText(const storage::EventCursor& cursor);
Parsed<storage::EventCursor> ParseEventCursor(std::string_view text);

// The body of POST …/events/config/new: {"kinds": [name or code, ...],
// "emails": ["a@example.com", ...]}, nothing else. Shape and types only: the
// values are checked by pipeline::EventService. Errors name the field
// ("kinds[1]").
Parsed<EventConfig> ParseEventConfigCreate(const nlohmann::json& body);

// "id", "scope" (DEVICE, DEVICE_TYPE, GROUP), "target", "kinds", "emails",
// "creationTime".
nlohmann::json EventConfigJson(const EventConfig& config);

}  // namespace roost::api
