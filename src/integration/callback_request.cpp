#include "integration/callback_request.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <tuple>

#include "core/hex.h"
#include "core/text.h"
#include "integration/email.h"
#include "model/signal.h"

namespace roost::integration {
namespace {

std::string FormatFixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Epoch seconds rounded down, also before 1970.
int64_t FloorSeconds(EpochMillis ms) {
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

// RFC 9110 token: the characters a header name may have.
bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kSymbols.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Names shown in messages are cut and stripped of controls, since they come
// from the request being refused.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  return out;
}

Status CheckHeaderName(std::string_view name) {
  if (!IsToken(name))
    return Status::InvalidInput("headers: '" + Shown(name) + "' is not a header name");
  if (EqualsIgnoreCase(name, "Content-Type")) {
    return Status::InvalidInput("headers: Content-Type is set by contentType");
  }
  // These describe the connection and the message framing, which the sender
  // owns: a callback setting them could break keep-alive or smuggle a request.
  for (std::string_view reserved : {"Content-Length", "Transfer-Encoding", "Connection", "Host"}) {
    if (EqualsIgnoreCase(name, reserved)) {
      return Status::InvalidInput("headers: " + std::string(reserved) + " is set by Roost");
    }
  }
  return Status::Ok();
}

// "[user[:password]@]host[:port]" as written, so that a URL no request can be
// sent to is refused when saved rather than failing every delivery. One with
// a variable is checked when it is sent: its values are not known yet.
Status CheckUrlAuthority(std::string_view authority) {
  if (authority.find('{') != std::string_view::npos) return Status::Ok();
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {  // an IPv6 address
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) {
      return Status::InvalidInput("url: an IPv6 host is written [address]");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      return Status::InvalidInput("url: only :port may follow an IPv6 host's ']'");
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    if (colon == 0 || authority.empty()) {
      return Status::InvalidInput("url: must start with http:// or https:// and name a host");
    }
    has_port = colon != std::string_view::npos;
    if (has_port) port = authority.substr(colon + 1);
  }
  if (has_port) {
    int n = 0;
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) n = std::stoi(std::string(port));
    if (!digits || n < 1 || n > 65535) {
      // Not quoted: in "http://user:password?@host/" it is the password.
      return Status::InvalidInput("url: the port must be a number 1..65535");
    }
  }
  return Status::Ok();
}

Status CheckUrlPattern(std::string_view url) {
  if (url.empty()) return Status::InvalidInput("url: required");
  size_t rest = 0;
  if (StartsWithIgnoreCase(url, "http://")) {
    rest = 7;
  } else if (StartsWithIgnoreCase(url, "https://")) {
    rest = 8;
  } else {
    return Status::InvalidInput("url: must start with http:// or https:// and name a host");
  }
  size_t host_end = url.find_first_of("/?#", rest);
  if (host_end == std::string_view::npos) host_end = url.size();
  if (host_end == rest) {
    return Status::InvalidInput("url: must start with http:// or https:// and name a host");
  }
  ROOST_RETURN_IF_ERROR(CheckUrlAuthority(url.substr(rest, host_end - rest)));
  // Values are percent-encoded, but the pattern's own text goes out as written.
  size_t position = 0;
  for (size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if ((c & 0xC0) != 0x80) ++position;
    if (c <= 0x20 || c == 0x7f) {
      return Status::InvalidInput("url: position " + std::to_string(position) +
                                  ": spaces and control characters must be percent-encoded");
    }
  }
  return Status::Ok();
}

// A pattern that lands in a header (of the request or the email) is refused
// with a control character in its own text: it could never be sent as written.
// Values inserted into it have theirs removed when it is expanded.
Status CheckNoControls(std::string_view field, std::string_view pattern) {
  size_t position = 0;
  for (char ch : pattern) {
    auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) ++position;
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidInput(std::string(field) + ": position " + std::to_string(position) +
                                  ": control characters (CR, LF, ...) cannot be sent in a header");
    }
  }
  return Status::Ok();
}

Result<CompiledTemplate> CompileField(std::string_view field, std::string_view pattern,
                                      CallbackKind kind, const std::vector<std::string>& fields) {
  auto compiled = Compile(pattern, kind, fields);
  if (!compiled.ok()) return compiled.status().WithPrefix(std::string(field));
  return compiled;
}

// "type/subtype" of tokens, then optional parameters without control characters.
Status CheckContentType(std::string_view content_type) {
  if (content_type.empty()) return Status::Ok();
  const Status refusal =
      Status::InvalidInput("contentType: must be a media type such as application/json");
  for (char c : content_type) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return refusal;
  }
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  size_t slash = media.find('/');
  if (slash == std::string_view::npos || !IsToken(media.substr(0, slash)) ||
      !IsToken(media.substr(slash + 1))) {
    return refusal;
  }
  return Status::Ok();
}

Status CheckMethod(std::string_view method) {
  if (method == "GET" || method == "POST" || method == "PUT") return Status::Ok();
  return Status::InvalidInput("httpMethod: must be GET, POST or PUT");
}

struct CustomFormat {
  std::optional<codec::PayloadFormat> format;
  std::vector<std::string> names;
};

Result<CustomFormat> CompileCustomFormat(const Callback& callback) {
  CustomFormat out;
  if (callback.payload_config.empty()) return out;
  auto format = codec::CompilePayloadFormat(callback.payload_config);
  if (!format.ok()) return format.status().WithPrefix("payloadConfig");
  for (const auto& field : format->fields()) out.names.push_back(field.name);
  out.format = std::move(*format);
  return out;
}

// The parts of a URL or BATCH_URL callback that go into its HTTP request.
Status CheckHttpParts(const Callback& callback, CallbackKind kind,
                      const std::vector<std::string>& fields) {
  ROOST_RETURN_IF_ERROR(CheckUrlPattern(callback.url));
  ROOST_RETURN_IF_ERROR(CompileField("url", callback.url, kind, fields).status());
  ROOST_RETURN_IF_ERROR(CheckMethod(callback.http_method));
  // Each is rendered for every delivery; a name given twice (in any case) would
  // send two headers where the receiver may read either.
  if (callback.headers.size() > kMaxCallbackHeaders) {
    return Status::InvalidInput("headers: at most " + std::to_string(kMaxCallbackHeaders));
  }
  for (auto it = callback.headers.begin(); it != callback.headers.end(); ++it) {
    const std::string& name = it->first;
    const std::string& value = it->second;
    ROOST_RETURN_IF_ERROR(CheckHeaderName(name));
    if (std::any_of(callback.headers.begin(), it,
                    [&](const auto& earlier) { return EqualsIgnoreCase(earlier.first, name); })) {
      return Status::InvalidInput("headers: '" + Shown(name) + "' is given more than once");
    }
    ROOST_RETURN_IF_ERROR(CheckNoControls("header " + name, value));
    ROOST_RETURN_IF_ERROR(CompileField("header " + name, value, kind, fields).status());
  }
  return Status::Ok();
}

bool HasVariables(const CompiledTemplate& compiled) {
  for (const auto& part : compiled.parts()) {
    if (part.kind != CompiledTemplate::Part::Kind::kLiteral) return true;
  }
  return false;
}

// One BATCH_URL request carries many messages, so only its lines may vary.
Status CheckBatchParts(const Callback& callback, CallbackKind kind,
                       const std::vector<std::string>& fields) {
  if (callback.http_method == "GET") {
    return Status::InvalidInput(
        "httpMethod: a BATCH_URL callback sends its lines with POST or PUT");
  }
  auto url = CompileField("url", callback.url, kind, fields);
  if (!url.ok()) return url.status();
  if (HasVariables(*url)) {
    return Status::InvalidInput(
        "url: a BATCH_URL callback's url has no variables (its lines carry the messages)");
  }
  for (const auto& [name, value] : callback.headers) {
    auto header = CompileField("header " + name, value, kind, fields);
    if (!header.ok()) return header.status();
    if (HasVariables(*header)) {
      return Status::InvalidInput("header " + Shown(name) +
                                  ": a BATCH_URL callback's headers have no variables");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CallbackKind> KindOf(const Callback& callback) {
  const CallbackSubtype sub = callback.subtype;
  switch (callback.callback_type) {
    case CallbackType::kData:
      if (sub == CallbackSubtype::kUplink) return CallbackKind::kDataUplink;
      if (sub == CallbackSubtype::kBidir) return CallbackKind::kDataBidir;
      break;
    case CallbackType::kService:
      if (sub == CallbackSubtype::kStatus) return CallbackKind::kServiceStatus;
      if (sub == CallbackSubtype::kAcknowledge) return CallbackKind::kServiceAcknowledge;
      break;
    case CallbackType::kError:
      if (sub == CallbackSubtype::kNone) return CallbackKind::kError;
      break;
  }
  return Status::InvalidInput(
      "callbackSubtype: " + std::string(EnumByValue(kCallbackSubtypes, sub).name) +
      " does not go with callbackType " +
      std::string(EnumByValue(kCallbackTypes, callback.callback_type).name));
}

Status ValidateCallback(const Callback& callback) {
  auto kind = KindOf(callback);
  if (!kind.ok()) return kind.status();
  auto custom = CompileCustomFormat(callback);
  if (!custom.ok()) return custom.status();
  const std::vector<std::string>& fields = custom->names;

  if (callback.downlink_hook &&
      (*kind != CallbackKind::kDataBidir || callback.channel != CallbackChannel::kUrl)) {
    return Status::InvalidInput("downlinkHook: only a DATA BIDIR URL callback answers downlinks");
  }
  switch (callback.channel) {
    case CallbackChannel::kUrl:
      ROOST_RETURN_IF_ERROR(CheckHttpParts(callback, *kind, fields));
      ROOST_RETURN_IF_ERROR(CheckContentType(callback.content_type));
      if (callback.http_method == "GET" && !callback.body_template.empty()) {
        return Status::InvalidInput("bodyTemplate: a GET callback sends no body");
      }
      ROOST_RETURN_IF_ERROR(
          CompileField("bodyTemplate", callback.body_template, *kind, fields).status());
      return Status::Ok();
    case CallbackChannel::kBatchUrl:
      ROOST_RETURN_IF_ERROR(CheckHttpParts(callback, *kind, fields));
      ROOST_RETURN_IF_ERROR(CheckBatchParts(callback, *kind, fields));
      ROOST_RETURN_IF_ERROR(CheckContentType(callback.content_type));
      if (callback.line_pattern.empty()) return Status::InvalidInput("linePattern: required");
      if (callback.line_pattern.find_first_of("\r\n") != std::string::npos) {
        return Status::InvalidInput("linePattern: one line per message: no line breaks");
      }
      ROOST_RETURN_IF_ERROR(
          CompileField("linePattern", callback.line_pattern, *kind, fields).status());
      return Status::Ok();
    case CallbackChannel::kEmail: {
      if (callback.recipient.empty()) return Status::InvalidInput("recipient: required");
      auto address = ValidateAddress(callback.recipient);
      if (!address.ok()) return address.status().WithPrefix("recipient");
      ROOST_RETURN_IF_ERROR(CompileField("recipient", callback.recipient, *kind, fields).status());
      if (callback.subject.empty()) return Status::InvalidInput("subject: required");
      ROOST_RETURN_IF_ERROR(CheckNoControls("subject", callback.subject));
      ROOST_RETURN_IF_ERROR(CompileField("subject", callback.subject, *kind, fields).status());
      if (callback.message.empty()) return Status::InvalidInput("message: required");
      ROOST_RETURN_IF_ERROR(CompileField("message", callback.message, *kind, fields).status());
      return Status::Ok();
    }
  }
  return Status::InvalidInput("channel: unknown");
}

Result<CompiledCallback> CompileCallback(const Callback& callback) {
  auto kind = KindOf(callback);
  if (!kind.ok()) return kind.status();
  auto custom = CompileCustomFormat(callback);
  if (!custom.ok()) return custom.status();
  const std::vector<std::string>& fields = custom->names;

  CompiledCallback out;
  out.id_ = callback.id;
  out.device_type_ = callback.type;
  out.kind_ = *kind;
  out.channel_ = callback.channel;
  out.custom_format_ = std::move(custom->format);
  if (callback.channel == CallbackChannel::kEmail) {
    for (auto [field, pattern, compiled] :
         {std::tuple{"recipient", &callback.recipient, &out.recipient_},
          std::tuple{"subject", &callback.subject, &out.subject_},
          std::tuple{"message", &callback.message, &out.message_}}) {
      auto part = CompileField(field, *pattern, *kind, fields);
      if (!part.ok()) return part.status();
      *compiled = std::move(*part);
    }
    out.NoteUses();
    return out;
  }
  ROOST_RETURN_IF_ERROR(CheckMethod(callback.http_method));
  out.method_ = callback.http_method;
  ROOST_RETURN_IF_ERROR(CheckUrlPattern(callback.url));
  auto url = CompileField("url", callback.url, *kind, fields);
  if (!url.ok()) return url.status();
  out.url_ = std::move(*url);
  for (const auto& [name, value] : callback.headers) {
    ROOST_RETURN_IF_ERROR(CheckHeaderName(name));
    auto header = CompileField("header " + name, value, *kind, fields);
    if (!header.ok()) return header.status();
    out.headers_.emplace_back(name, std::move(*header));
  }
  if (callback.channel == CallbackChannel::kBatchUrl) {
    auto line = CompileField("linePattern", callback.line_pattern, *kind, fields);
    if (!line.ok()) return line.status();
    out.body_ = std::move(*line);
    out.content_type_ = callback.content_type.empty() ? "text/plain" : callback.content_type;
    out.body_escaping_ = EscapingFor(PatternPlace::kBody, out.content_type_);
    // In a text body a line break inside a value would make two lines of one delivery.
    if (out.body_escaping_ == Escaping::kText) out.body_escaping_ = Escaping::kHeader;
    out.NoteUses();
    return out;
  }
  if (out.method_ != "GET") {
    std::string_view pattern = callback.body_template.empty()
                                   ? DefaultBodyTemplate(callback.content_type)
                                   : std::string_view(callback.body_template);
    auto body = CompileField("bodyTemplate", pattern, *kind, fields);
    if (!body.ok()) return body.status();
    out.body_ = std::move(*body);
    out.content_type_ = callback.content_type;
    out.body_escaping_ = EscapingFor(PatternPlace::kBody, callback.content_type);
  }
  out.NoteUses();
  return out;
}

void CompiledCallback::NoteUses() {
  url_.AddUsesTo(url_uses_);
  request_uses_ = url_uses_;
  for (const auto& header : headers_) header.second.AddUsesTo(request_uses_);
  if (body_) body_->AddUsesTo(request_uses_);
  if (recipient_) recipient_->AddUsesTo(recipient_uses_);
  email_uses_ = recipient_uses_;
  for (const auto* pattern : {&subject_, &message_}) {
    if (*pattern) (*pattern)->AddUsesTo(email_uses_);
  }
}

void CompiledCallback::FillVariables(const Message& message, const Delivery& delivery,
                                     Variables& out, const VariableSet& needed) const {
  out.Clear();
  auto set = [&](Variable v, auto&& make) {
    if (needed.Has(v)) out.Set(v, make());
  };
  set(Variable::kDevice, [&] { return message.device.ToApi(); });
  set(Variable::kDeviceTypeId, [&] { return std::string_view(device_type_); });
  set(Variable::kTime, [&] { return std::to_string(FloorSeconds(message.time)); });
  set(Variable::kData, [&] { return std::string_view(message.data); });
  // -1: an event, or a service report that gave none: no value.
  if (message.seq_number >= 0) {
    set(Variable::kSeqNumber, [&] { return std::to_string(message.seq_number); });
  }
  set(Variable::kDuplicate,
      [&] { return std::string_view(delivery.duplicate ? "true" : "false"); });
  set(Variable::kStation, [&] { return StationOfKey(delivery.station); });
  set(Variable::kAck, [&] { return std::string_view(message.ack ? "true" : "false"); });
  set(Variable::kLongPolling, [&] { return std::string_view("false"); });
  const bool own_values_needed = needed.Has(Variable::kTemp) || needed.Has(Variable::kBatt) ||
                                 needed.Has(Variable::kDownlinkAck) ||
                                 needed.Has(Variable::kInfo) || needed.Has(Variable::kSeverity);
  if (!delivery.variables.empty() && own_values_needed) {
    // A SERVICE or ERROR delivery: its own values, checked when they were queued.
    auto values = nlohmann::json::parse(delivery.variables, nullptr, /*allow_exceptions=*/false);
    if (values.is_object()) {
      for (Variable v : {Variable::kTemp, Variable::kBatt, Variable::kDownlinkAck, Variable::kInfo,
                         Variable::kSeverity}) {
        auto it = values.find(std::string(VariableName(v)));
        if (it != values.end() && it->is_string()) out.Set(v, it->get<std::string>());
      }
    }
  }
  if (message.rinfos.empty()) return;  // no radio values: not a stored uplink
  // The radio values are those of the delivery's own station, as the Sigfox
  // Cloud gives them: the first station's for the message's delivery, the
  // joining one's for a duplicate. Stations only ever join a message after
  // the ones it has, so these values are the same at every attempt, however
  // many stations joined it between them.
  const auto reporting =
      std::find_if(message.rinfos.begin(), message.rinfos.end(), [&](const Reception& r) {
        return ReceptionKey(r.station, r.public_network) == delivery.station;
      });
  const size_t k = reporting == message.rinfos.end()
                       ? 0
                       : static_cast<size_t>(reporting - message.rinfos.begin());
  const Reception& own = message.rinfos[k];
  set(Variable::kSnr, [&] { return FormatFixed(own.snr, 2); });
  if (needed.Has(Variable::kAvgSnr) || needed.Has(Variable::kAvgSignal)) {
    // The stations that had heard the frame when the delivery was queued.
    const std::string mean =
        FormatFixed(AverageSnr(std::span<const Reception>(message.rinfos.data(), k + 1)), 2);
    out.Set(Variable::kAvgSnr, mean);
    out.Set(Variable::kAvgSignal, mean);
  }
  set(Variable::kRssi, [&] { return FormatFixed(own.rssi, 2); });
  if (own.lat && own.lng) {
    set(Variable::kLat, [&] { return FormatFixed(*own.lat, 6); });
    set(Variable::kLng, [&] { return FormatFixed(*own.lng, 6); });
  }
  if (!custom_format_ || !needed.custom_data) return;
  auto bytes = FromHex(message.data);
  if (!bytes.ok()) return;
  const auto& fields = custom_format_->fields();
  std::string json;
  for (size_t i = 0; i < fields.size(); ++i) {
    json.clear();
    if (!codec::AppendFieldJson(*custom_format_, i, *bytes, json)) continue;
    if (!json.empty() && json.front() == '"') {
      // The value is a string's text; escaping for its destination comes later.
      auto parsed = nlohmann::json::parse(json, nullptr, false);
      if (parsed.is_string()) {
        out.SetCustomData(fields[i].name, parsed.get<std::string>());
        continue;
      }
    }
    out.SetCustomData(fields[i].name, json);
  }
}

HttpRequest CompiledCallback::Render(const Message& message, const Delivery& delivery) const {
  Variables values;
  FillVariables(message, delivery, values, request_uses_);
  HttpRequest request;
  request.method = method_;
  request.url = Expand(url_, values, Escaping::kUrl);
  request.headers.reserve(headers_.size() + 1);
  for (const auto& [name, value] : headers_) {
    request.headers.emplace_back(name, Expand(value, values, Escaping::kHeader));
  }
  if (body_) {
    request.body = Expand(*body_, values, body_escaping_);
    if (!content_type_.empty()) {
      // contentType comes from the callback as saved; strip controls as for any header value.
      std::string type;
      for (char c : content_type_) {
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) type += c;
      }
      request.headers.emplace_back("Content-Type", std::move(type));
    }
  }
  return request;
}

std::string CompiledCallback::RenderLine(const Message& message, const Delivery& delivery) const {
  if (!body_) return {};
  Variables values;
  FillVariables(message, delivery, values, request_uses_);
  return Expand(*body_, values, body_escaping_);
}

HttpRequest CompiledCallback::RenderBatch(const std::vector<std::string>& lines) const {
  Variables none;  // the url and headers of a batch have no variables
  HttpRequest request;
  request.method = method_;
  request.url = Expand(url_, none, Escaping::kUrl);
  for (const auto& [name, value] : headers_) {
    request.headers.emplace_back(name, Expand(value, none, Escaping::kHeader));
  }
  size_t size = lines.size();
  for (const std::string& line : lines) size += line.size();
  request.body.reserve(size);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) request.body += '\n';
    request.body += lines[i];
  }
  std::string type;
  for (char c : content_type_) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) type += c;
  }
  request.headers.emplace_back("Content-Type", std::move(type));
  return request;
}

EmailParts CompiledCallback::RenderEmail(const Message& message, const Delivery& delivery) const {
  EmailParts out;
  if (!recipient_ || !subject_ || !message_) return out;
  Variables values;
  FillVariables(message, delivery, values, email_uses_);
  out.recipient = Expand(*recipient_, values, Escaping::kHeader);
  out.subject = Expand(*subject_, values, Escaping::kHeader);
  out.body = Expand(*message_, values, Escaping::kText);
  return out;
}

std::string CompiledCallback::Destination(const Message& message, const Delivery& delivery) const {
  switch (channel_) {
    case CallbackChannel::kUrl: {
      Variables values;
      FillVariables(message, delivery, values, url_uses_);
      return Expand(url_, values, Escaping::kUrl);
    }
    case CallbackChannel::kBatchUrl: {
      Variables none;  // a batch url has no variables
      return Expand(url_, none, Escaping::kUrl);
    }
    case CallbackChannel::kEmail: {
      if (!recipient_) return {};
      Variables values;
      FillVariables(message, delivery, values, recipient_uses_);
      return Expand(*recipient_, values, Escaping::kHeader);
    }
  }
  return {};
}

Result<std::shared_ptr<const CompiledCallback>> CompiledCallbacks::Get(const Callback& callback) {
  Callback source = callback;
  source.enabled = true;
  source.dead = false;
  source.downlink_hook = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(callback.id);
    if (it != entries_.end() && it->second.source == source) return it->second.compiled;
  }
  auto compiled = CompileCallback(callback);
  if (!compiled.ok()) return compiled.status();
  auto shared = std::make_shared<const CompiledCallback>(std::move(*compiled));
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= max_) entries_.clear();
  entries_.insert_or_assign(callback.id, Entry{std::move(source), shared});
  return shared;
}

}  // namespace roost::integration
