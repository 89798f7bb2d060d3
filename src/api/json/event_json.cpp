#include "api/json/event_json.h"

#include <charconv>

#include "api/json/body.h"
#include "core/identifiers.h"

namespace roost::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxKinds = 16;
constexpr size_t kMaxEmails = 100;  // the service allows fewer; this bounds the work before it

std::string_view ScopeName(EventScope scope) {
  switch (scope) {
    case EventScope::kDevice:
      return "DEVICE";
    case EventScope::kDeviceType:
      return "DEVICE_TYPE";
    case EventScope::kGroup:
      return "GROUP";
  }
  return "DEVICE";
}

}  // namespace

json EventJson(const Event& e) {
  const std::string device = SigfoxId{e.device}.ToApi();
  json out{{"id", std::to_string(e.id)},
           {"device", device},
           // The Sigfox API v1's names: `deviceId` on every event, and a WARN
           // event's devices as `deviceIds`.
           {"deviceId", device},
           {"deviceType", e.type},
           {"deviceTypeId", e.type},
           {"kind", std::string(EnumByValue(kEventKinds, e.kind).name)},
           {"severity", std::string(EnumByValue(kEventSeverities, e.severity).name)},
           {"message", e.text},
           {"time", e.time}};
  if (e.severity == EventSeverity::kWarn) out["deviceIds"] = json::array({device});
  return out;
}

std::string EventCursorText(const storage::EventCursor& c) {
  return std::to_string(c.time) + "-" + std::to_string(c.id);
}

Parsed<storage::EventCursor> ParseEventCursor(std::string_view text) {
  auto bad = ApiError::BadField("after", "must be a cursor from a previous page's paging.next");
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return bad;
  storage::EventCursor c;
  auto num = [](std::string_view s, int64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (!num(text.substr(0, dash), c.time) || !num(text.substr(dash + 1), c.id)) return bad;
  return c;
}

Parsed<EventConfig> ParseEventConfigCreate(const json& body) {
  if (auto e = RejectUnknownFields(body, {"kinds", "emails"})) return *e;
  EventConfig config;
  auto kinds = body.find("kinds");
  if (kinds == body.end()) return ApiError::BadField("kinds", "is required");
  if (!kinds->is_array()) return WrongType("kinds", "an array", *kinds);
  if (kinds->size() > kMaxKinds) return ApiError::BadField("kinds", "has too many items");
  for (size_t i = 0; i < kinds->size(); ++i) {
    const json& k = (*kinds)[i];
    const std::string field = "kinds[" + std::to_string(i) + "]";
    const EnumEntry<EventKind>* entry = nullptr;
    if (k.is_string()) {
      entry = EnumByName(kEventKinds, k.get_ref<const std::string&>());
    } else if (k.is_number_integer()) {
      entry = EnumByCode(kEventKinds, k.get<int64_t>());
    } else {
      return WrongType(field, "an event kind name or code", k);
    }
    if (entry == nullptr) {
      return ApiError::BadField(field, "must be " + EnumChoices(kEventKinds));
    }
    config.kinds.push_back(entry->value);
  }
  auto emails = body.find("emails");
  if (emails == body.end()) return ApiError::BadField("emails", "is required");
  if (!emails->is_array()) return WrongType("emails", "an array", *emails);
  if (emails->size() > kMaxEmails) return ApiError::BadField("emails", "has too many items");
  for (size_t i = 0; i < emails->size(); ++i) {
    const std::string field = "emails[" + std::to_string(i) + "]";
    std::string address;
    if (auto e = ReadString((*emails)[i], field, 254, address)) return *e;
    // An address is at most 254 bytes (RFC 5321 counts octets), however many
    // characters: the character bound above lets a non-ASCII one be longer.
    if (address.size() > 254) return ApiError::BadField(field, "is longer than 254 bytes");
    config.emails.push_back(std::move(address));
  }
  return config;
}

json EventConfigJson(const EventConfig& c) {
  json kinds = json::array();
  for (EventKind k : c.kinds) kinds.push_back(std::string(EnumByValue(kEventKinds, k).name));
  std::string target = c.target;
  if (c.scope == EventScope::kDevice) {
    if (auto id = ParseSigfoxId(c.target); id.ok()) target = id->ToApi();
  }
  return json{{"id", c.id},         {"scope", std::string(ScopeName(c.scope))},
              {"target", target},   {"kinds", std::move(kinds)},
              {"emails", c.emails}, {"creationTime", c.creation_time}};
}

}  // namespace roost::api
