// Fuzzes the bodies a client sends to save callbacks and stations:
// POST …/callbacks/new (an array or {"data": [...]}), …/callbacks/{id}/edit,
// POST /api/stations/create and /api/stations/edit. Any bytes are parsed as the
// API parses a JSON body, then read as each of them. None may crash; a refusal
// is a 400 that says what; what is accepted is text without faults, keeps the
// limits, reads back unchanged from what the API writes of it, and (callbacks)
// passes or fails the save-time check without crashing. A callback that passes
// it has header names that are tokens and no line break in a header value, so
// nothing a client saves can split a request Roost sends.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/json/body.h"
#include "api/json/callback_json.h"
#include "api/json/message_json.h"
#include "core/text.h"
#include "integration/callback_request.h"

namespace {

using namespace roost;
using nlohmann::json;

template <typename T>
void CheckRefusal(const api::Parsed<T>& parsed) {
  if (!parsed.ok() && (parsed.error().status != 400 || parsed.error().message.empty())) {
    __builtin_trap();
  }
}

bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '"' || c == '/' || c == '[' || c == ']' || c == '{' || c == '}' || c == '<' ||
        c == '>' || c == '=' || c == '?' || c == '@' || c == '\\') {
      return false;
    }
  }
  return true;
}

void CheckCallback(const Callback& cb) {
  // What the store gives, not the client.
  if (!cb.id.empty() || cb.creation_time != 0 || cb.dead) __builtin_trap();
  for (const std::string* s :
       {&cb.url, &cb.http_method, &cb.content_type, &cb.body_template, &cb.line_pattern,
        &cb.recipient, &cb.subject, &cb.message, &cb.payload_config}) {
    if (s->size() > 64 * 1024 || FindTextFault(*s)) __builtin_trap();
  }
  for (const auto& [name, value] : cb.headers) {
    if (FindTextFault(name) || FindTextFault(value)) __builtin_trap();
  }
  // EMAIL callbacks send no HTTP request: their headers are never used.
  if (cb.channel != CallbackChannel::kEmail && integration::ValidateCallback(cb).ok()) {
    for (const auto& [name, value] : cb.headers) {
      if (!IsToken(name) || value.find_first_of("\r\n") != std::string::npos) __builtin_trap();
    }
  }
}

void FuzzCallbacks(const json& body) {
  auto created = api::ParseCallbacksCreate(body);
  CheckRefusal(created);
  if (created.ok()) {
    if (created->empty() || created->size() > 100) __builtin_trap();
    int hooks = 0;
    for (const Callback& cb : *created) {
      CheckCallback(cb);
      hooks += cb.downlink_hook ? 1 : 0;
      // As it is listed, posted back: the same callback.
      auto again = api::ParseCallbacksCreate(json::array({api::CallbackJson(cb)}));
      if (!again.ok() || again->size() != 1 || !(again->front() == cb)) __builtin_trap();
    }
    if (hooks > 1) __builtin_trap();
  }

  auto edit = api::ParseCallbackEdit(body);
  CheckRefusal(edit);
  if (edit.ok()) {
    CheckCallback(edit->callback);
    auto again = api::ParseCallbackEdit(api::CallbackJson(edit->callback));
    if (!again.ok() || !(again->callback == edit->callback) || !again->enabled_given) {
      __builtin_trap();
    }
  }
}

// A station as the API writes it, as a body again: what the client may send.
json AsBody(const Station& s) {
  json out = api::StationJson(s);
  out.erase("group");
  out.erase("creationTime");
  return out;
}

void FuzzStations(const json& body) {
  auto created = api::ParseStationCreate(body);
  CheckRefusal(created);
  if (created.ok()) {
    // The id's form (4 hex digits) is the station service's to check.
    // Limits count characters, not bytes.
    if (CountCharacters(created->id) > 16 || CountCharacters(created->name) > 100 ||
        FindTextFault(created->id) || FindTextFault(created->name)) {
      __builtin_trap();
    }
    auto again = api::ParseStationCreate(AsBody(*created));
    if (!again.ok() || !(*again == *created)) __builtin_trap();
  }

  Station station;
  station.id = "1A2B";
  station.name = "roof";
  station.lat = 43.6;
  station.lng = 1.44;
  Station edited = station;
  if (auto refused = api::ApplyStationEdit(body, edited)) {
    if (refused->status != 400 || refused->message.empty()) __builtin_trap();
    return;
  }
  if (edited.id != station.id || CountCharacters(edited.name) > 100 || FindTextFault(edited.name)) {
    __builtin_trap();
  }
  // The edit applied twice is the edit applied once.
  Station twice = edited;
  if (api::ApplyStationEdit(body, twice) || !(twice == edited)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = api::ParseJsonValue(text);
  if (!body.ok()) return 0;
  FuzzCallbacks(*body);
  if (body->is_object()) FuzzStations(*body);
  return 0;
}
