// Stations and messages as the API writes them (docs/api.md, "Messages"):
// shapes of the Sigfox API v1 where it has them (`snr` a string with two
// decimals, `rinfos` with `tap`), Roost's additions beside them.
#pragma once

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/message.h"
#include "storage/store.h"

namespace roost::api {

nlohmann::json StationJson(const Station& station);
// Station creation body {"id", "name", "lat", "lng", "group"} ("group" is read
// by the handler). Wrong types and unknown members are 400 naming the field.
Parsed<Station> ParseStationCreate(const nlohmann::json& body);
// Station edit body {"id", "name", "lat", "lng", "group"} ("id" and "group"
// are read by the handler): each member given replaces the station's; a
// `lat`/`lng` of null takes the position away. 400 naming the field.
std::optional<ApiError> ApplyStationEdit(const nlohmann::json& body, Station& station);

// Appends the message's JSON object to `out`, with `callbacks_json` (a JSON
// array's text, e.g. "[]") as its "callbacks". Written straight as text: a
// page of messages is the hottest read of the API, and a JSON tree per message
// cost more than the query. Strings that are not valid UTF-8 get U+FFFD; stored
// `decoded`/`undecoded` texts are copied when they are valid JSON, else null
// (decoded) or left out (undecoded).
void AppendMessageJson(std::string& out, const Message& message, std::string_view callbacks_json);

// The paging cursor of a message list: "<time>-<device hex>-<seqNumber>".
std::string MessageCursorText(const storage::MessageCursor& cursor);
Parsed<storage::MessageCursor> ParseMessageCursor(std::string_view text);

// What ingest decided for one report: {"result": "accepted" | "duplicate" |
// "refused", "reason": <IngestResult name, when refused>}.
nlohmann::json IngestDecisionJson(const storage::IngestDecision& decision);

}  // namespace roost::api
