#include "api/json/callback_json.h"

#include <string_view>
#include <utility>

#include "api/json/body.h"
#include "api/json/enum_json.h"
#include "core/identifiers.h"
#include "core/json_number.h"
#include "core/text.h"
#include "model/message.h"
#include "observe/json_string.h"
#include "pipeline/attempt_log.h"

namespace roost::api {

using nlohmann::json;

namespace {

// Whether a send of `cb` names its host in a TLS handshake (SNI): an https://
// URL does, always; plain http:// and email have no such handshake.
bool SendsSni(const Callback& cb) {
  constexpr std::string_view kHttps = "https://";
  return cb.channel != CallbackChannel::kEmail && cb.url.size() >= kHttps.size() &&
         EqualsIgnoreCase(std::string_view(cb.url).substr(0, kHttps.size()), kHttps);
}

constexpr size_t kMaxCallbacks = kMaxCallbacksPerType;  // per request, too
constexpr size_t kMaxPattern = 64 * 1024;
// As a device type's payloadConfig: each delivery decodes every field of it
// on the event loop, so it is bounded like the type's.
constexpr size_t kMaxPayloadConfig = 4000;

Parsed<Callback> ParseOne(const json& item, const std::string& where) {
  // `where` is "" for the single object of an edit: fields are then named alone.
  auto at = [&](std::string_view field) {
    return where.empty() ? std::string(field) : where + "." + std::string(field);
  };
  if (!item.is_object()) {
    return ApiError::BadField(where.empty() ? "body" : where, "must be a JSON object");
  }
  if (auto e = RejectUnknownFields(
          item,
          {"channel", "callbackType", "callbackSubtype", "url", "httpMethod", "headers",
           "contentType", "bodyTemplate", "linePattern", "recipient", "subject", "message",
           "sendDuplicate", "payloadConfig", "enabled", "sendSni", "downlinkHook",
           // What a list shows and the store decides: taken and ignored, so
           // that a listed callback can be posted back as it is.
           "id", "creationTime", "dead"},
          where)) {
    return *e;
  }
  Callback cb;
  if (auto it = item.find("channel"); it != item.end()) {
    auto v = ReadEnum(*it, at("channel"), kCallbackChannels);
    if (!v.ok()) return v.error();
    cb.channel = *v;
  }
  if (auto it = item.find("callbackType"); it != item.end()) {
    auto v = ReadEnum(*it, at("callbackType"), kCallbackTypes);
    if (!v.ok()) return v.error();
    cb.callback_type = *v;
  }
  if (auto it = item.find("callbackSubtype"); it != item.end()) {
    auto v = ReadEnum(*it, at("callbackSubtype"), kCallbackSubtypes);
    if (!v.ok()) return v.error();
    cb.subtype = *v;
  } else {
    cb.subtype = cb.callback_type == CallbackType::kData      ? CallbackSubtype::kUplink
                 : cb.callback_type == CallbackType::kService ? CallbackSubtype::kStatus
                                                              : CallbackSubtype::kNone;
  }
  struct Text {
    const char* field;
    std::string* out;
  };
  for (const Text& t :
       {Text{"url", &cb.url}, Text{"httpMethod", &cb.http_method},
        Text{"contentType", &cb.content_type}, Text{"bodyTemplate", &cb.body_template},
        Text{"linePattern", &cb.line_pattern}, Text{"recipient", &cb.recipient},
        Text{"subject", &cb.subject}, Text{"message", &cb.message},
        Text{"payloadConfig", &cb.payload_config}}) {
    auto it = item.find(t.field);
    if (it == item.end() || it->is_null()) continue;
    if (!it->is_string()) return WrongType(at(t.field), "a string", *it);
    const auto& v = it->get_ref<const std::string&>();
    if (v.size() > kMaxPattern) return ApiError::BadField(at(t.field), "is too long");
    if (t.out == &cb.payload_config && v.size() > kMaxPayloadConfig) {
      return ApiError::BadField(
          at(t.field),
          "is too long (at most " + std::to_string(kMaxPayloadConfig) + " characters)");
    }
    *t.out = v;
  }
  for (char& c : cb.http_method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (auto it = item.find("headers"); it != item.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType(at("headers"), "an object of header patterns", *it);
    for (const auto& [name, value] : it->items()) {
      if (!value.is_string()) return WrongType(at("headers." + name), "a string", value);
      cb.headers.emplace_back(name, value.get<std::string>());
    }
  }
  for (auto [field, out] : {std::pair<const char*, bool*>{"sendDuplicate", &cb.send_duplicate},
                            std::pair<const char*, bool*>{"enabled", &cb.enabled},
                            std::pair<const char*, bool*>{"downlinkHook", &cb.downlink_hook}}) {
    auto it = item.find(field);
    if (it == item.end() || it->is_null()) continue;
    if (!it->is_boolean()) return WrongType(at(field), "true or false", *it);
    *out = it->get<bool>();
  }
  // Sigfox lets a callback leave out the host name (SNI) of its https://
  // handshake. Roost always sends it (libcurl does; a server that does not
  // use SNI ignores it), and lists the truth; false is accepted, so that
  // callbacks copied from the Sigfox Cloud (often with false) are taken.
  if (auto it = item.find("sendSni"); it != item.end() && !it->is_null()) {
    if (!it->is_boolean()) return WrongType(at("sendSni"), "true or false", *it);
  }
  // A channel's own fields only: those of another channel are never used, so
  // nothing checks them; kept, they would be stored and listed as sent.
  if (cb.channel == CallbackChannel::kEmail) {
    cb.url.clear();
    cb.http_method = Callback{}.http_method;
    cb.headers.clear();
    cb.content_type.clear();
    cb.body_template.clear();
    cb.line_pattern.clear();
  } else {
    cb.recipient.clear();
    cb.subject.clear();
    cb.message.clear();
    if (cb.channel == CallbackChannel::kUrl) cb.line_pattern.clear();
  }
  return cb;
}

}  // namespace

Parsed<std::vector<Callback>> ParseCallbacksCreate(const json& body) {
  const json* items = &body;
  std::string prefix = "data";
  if (body.is_object()) {
    auto it = body.find("data");
    if (it == body.end()) return ApiError::BadField("data", "an array of callbacks is required");
    items = &*it;
  }
  if (!items->is_array()) return WrongType("data", "an array of callbacks", *items);
  if (items->empty() || items->size() > kMaxCallbacks) {
    return ApiError::BadField("data",
                              "must hold 1.." + std::to_string(kMaxCallbacks) + " callbacks");
  }
  std::vector<Callback> out;
  bool hook = false;
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string where = prefix + "[" + std::to_string(i) + "]";
    auto cb = ParseOne((*items)[i], where);
    if (!cb.ok()) return cb.error();
    if (cb->downlink_hook && std::exchange(hook, true)) {
      return ApiError::BadField(where + ".downlinkHook",
                                "a device type has one downlinkHook callback: another callback "
                                "of this request is it already");
    }
    out.push_back(std::move(*cb));
  }
  return out;
}

Parsed<CallbackEdit> ParseCallbackEdit(const json& body) {
  auto cb = ParseOne(body, "");
  if (!cb.ok()) return cb.error();
  auto enabled = body.find("enabled");
  return CallbackEdit{std::move(*cb), enabled != body.end() && !enabled->is_null()};
}

namespace {

// Characters of a template variable's name, as integration/callback_template.cpp
// reads them: a '{' followed by anything else is a literal brace.
bool IsVariableNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '#';
}

// The length of the template variable ("{device}") at `at`, or 0 when none
// starts there.
size_t VariableAt(std::string_view s, size_t at) {
  if (at >= s.size() || s[at] != '{') return 0;
  size_t end = at + 1;
  while (end < s.size() && IsVariableNameChar(s[end])) ++end;
  return end > at + 1 && end < s.size() && s[end] == '}' ? end + 1 - at : 0;
}

// The first of `chars` at or after `from` outside template variables: the '#'
// of "{customData#t}" starts no fragment. Literal braces ("{.token}", which
// the template sends as they are) hide nothing: a '/' or '&' within them
// splits as anywhere else.
size_t FindOutsideVariables(std::string_view s, std::string_view chars, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (const size_t variable = VariableAt(s, i); variable > 0) {
      i += variable - 1;
    } else if (chars.find(s[i]) != std::string_view::npos) {
      return i;
    }
  }
  return std::string_view::npos;
}

// A lone template variable ("{device}"), which says where a value goes and holds none.
// Any other braces are literal text, masked as the rest.
bool IsVariable(std::string_view segment) {
  return VariableAt(segment, 0) == segment.size() && !segment.empty();
}

// The URL as a READER sees it: "user:password@" of its authority replaced by
// "***@", every path segment that is not a lone template variable by "***"
// (webhooks carry their token in the path as often as in the query:
// ".../services/T0/B0/XXXX"), the query's values (the names stay) and the
// fragment by "***".
std::string WithoutCredentials(const std::string& url) {
  const std::string_view u(url);
  const size_t scheme = u.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t authority_end = std::min(FindOutsideVariables(u, "/?#", start), u.size());
  const size_t at = u.substr(0, authority_end).rfind('@');
  std::string out(u.substr(0, start));
  if (at == std::string_view::npos || at < start) {
    out += u.substr(start, authority_end - start);
  } else {
    out += "***";
    out += u.substr(at, authority_end - at);
  }
  const size_t query = std::min(FindOutsideVariables(u, "?#", authority_end), u.size());
  for (size_t from = authority_end; from < query;) {  // the path: "/seg/seg"
    const size_t next = std::min(FindOutsideVariables(u, "/", from + 1), query);
    const std::string_view segment = u.substr(from + 1, next - from - 1);
    out += '/';
    out += segment.empty() || IsVariable(segment) ? segment : "***";
    from = next;
  }
  const size_t fragment = std::min(FindOutsideVariables(u, "#", query), u.size());
  if (query < fragment) {  // "?name=value&name..."
    out += '?';
    for (size_t from = query + 1; from <= fragment;) {
      const size_t amp = std::min(FindOutsideVariables(u.substr(0, fragment), "&", from), fragment);
      const std::string_view part = u.substr(from, amp - from);
      const size_t eq = part.find('=');
      if (from > query + 1) out += '&';
      if (eq != std::string_view::npos) out += part.substr(0, eq + 1);
      if (!part.empty() || from < fragment) out += "***";
      from = amp + 1;
    }
  }
  if (fragment < u.size()) out += fragment + 1 == u.size() ? "#" : "#***";
  return out;
}

// A template's text for a READER: withheld when there is any, since a body or
// line may carry a key as a literal ({"apiKey": "..."}).
std::string Withheld(const std::string& text, bool secrets) {
  return secrets || text.empty() ? text : "***";
}

}  // namespace

json CallbackJson(const Callback& cb, bool secrets) {
  json headers = json::object();
  for (const auto& [name, value] : cb.headers) headers[name] = secrets ? value : "";
  return json{{"id", cb.id},
              {"channel", std::string(EnumByValue(kCallbackChannels, cb.channel).name)},
              {"callbackType", EnumByValue(kCallbackTypes, cb.callback_type).code},
              {"callbackSubtype", EnumByValue(kCallbackSubtypes, cb.subtype).code},
              {"url", secrets ? cb.url : WithoutCredentials(cb.url)},
              {"httpMethod", cb.http_method},
              {"headers", std::move(headers)},
              {"contentType", cb.content_type},
              {"bodyTemplate", Withheld(cb.body_template, secrets)},
              {"linePattern", Withheld(cb.line_pattern, secrets)},
              {"recipient", cb.recipient},
              {"subject", cb.subject},
              {"message", cb.message},
              {"sendDuplicate", cb.send_duplicate},
              {"sendSni", SendsSni(cb)},
              {"payloadConfig", cb.payload_config},
              {"enabled", cb.enabled},
              {"downlinkHook", cb.downlink_hook},
              {"dead", cb.dead},
              {"creationTime", cb.creation_time}};
}

namespace {

// Delivery::attempt_log as a JSON list; the one attempt of a delivery that
// succeeded at once from last_status and last_info. An empty log of any other
// delivery (one recorded before the log existed) gives no history rather than
// a made-up one: `attempts`, `status` and `info` still tell the last.
void AppendAttemptHistory(std::string& out, const Delivery& d) {
  auto append_attempt = [&out](int64_t time, int64_t status, std::string_view info) {
    out += "{\"time\":";
    AppendJsonInt(out, time);
    out += ",\"status\":";
    AppendJsonInt(out, status);
    out += ",\"info\":";
    observe::AppendJsonString(out, info);
    out += '}';
  };
  out += '[';
  if (d.attempt_log.empty()) {
    if (d.attempts == 1 && d.state == DeliveryState::kDone && d.first_failure == 0) {
      append_attempt(d.next_attempt, d.last_status, d.last_info);
    }
    out += ']';
    return;
  }
  bool first = true;
  pipeline::ForEachAttempt(d.attempt_log, [&](int64_t time, int64_t status, std::string_view info) {
    if (!first) out += ',';
    first = false;
    append_attempt(time, status, info);
  });
  out += ']';
}

}  // namespace

void AppendDeliveryJson(std::string& out, const Delivery& d, bool secrets) {
  static constexpr const char* kStates[] = {"pending", "done", "dead"};
  const auto state = static_cast<size_t>(d.state);
  auto key = [&out](std::string_view name) {
    out += '"';
    out += name;  // our own member names: nothing to escape
    out += "\":";
  };
  auto text = [&](std::string_view name, std::string_view value) {
    key(name);
    observe::AppendJsonString(out, value);
    out += ',';
  };
  auto number = [&](std::string_view name, int64_t value) {
    key(name);
    AppendJsonInt(out, value);
    out += ',';
  };
  auto number_or_null = [&](std::string_view name, bool known, int64_t value) {
    key(name);
    if (known) {
      AppendJsonInt(out, value);
    } else {
      out += "null";
    }
    out += ',';
  };
  out += '{';
  // Empty when the callback is another group's (FillDestinations).
  if (d.callback.empty()) {
    key("callbackId");
    out += "null,";
  } else {
    text("callbackId", d.callback);
  }
  text("device", SigfoxId{d.device}.ToApi());
  number("messageTime", d.message_time);
  // -1: an event's delivery, or a service report's without a sequence number.
  number_or_null("seqNumber", d.seq_number >= 0, d.seq_number);
  key("duplicate");
  out += d.duplicate ? "true," : "false,";
  text("station", StationOfKey(d.station));
  text("state", state < 3 ? kStates[state] : "pending");
  number("attempts", d.attempts);
  // No attempt ended yet: no status, rather than a 0 that no answer has.
  number_or_null("status", d.attempts > 0, d.last_status);
  text("info", d.last_info);
  number_or_null("firstFailure", d.first_failure != 0, d.first_failure);
  key("history");
  AppendAttemptHistory(out, d);
  if (!d.destination.empty()) {
    out += ',';
    if (d.channel == CallbackChannel::kEmail) {
      key("email");
      observe::AppendJsonString(out, d.destination);
    } else {
      key("url");
      observe::AppendJsonString(out, secrets ? d.destination : WithoutCredentials(d.destination));
    }
  }
  out += '}';
}

json DeliveryJson(const Delivery& d, bool secrets) {
  std::string text;
  AppendDeliveryJson(text, d, secrets);
  // The text is valid JSON by construction (every string through
  // AppendJsonString); a fault there must not throw out of a handler.
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json::object() : parsed;
}

}  // namespace roost::api
