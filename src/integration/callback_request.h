// What a callback sends (pipeline.md, "Callbacks"): for a URL callback the
// method, expanded url, headers and body of one delivery; for a BATCH_URL
// callback one line per delivery and the request that carries a batch of them;
// for an EMAIL callback the recipient, subject and message. Pure: no I/O, no
// storage; HttpSender (http_sender.h) and the dispatcher's email sender do the
// sending.
//
// A callback is checked once when it is saved (ValidateCallback) and compiled
// once when the dispatcher loads it (CompileCallback, kept in
// CompiledCallbacks); rendering a delivery is then a few expansions with no
// parsing.
//
// Values of the variables, as Render gives them:
//   {device}        the device id as the API writes it (uppercase hex, "2C")
//   {deviceTypeId}  the id of the device type the callback belongs to
//   {time}          the message's time in epoch seconds (rounded down)
//   {data}          the payload, lowercase hex
//   {seqNumber}     the sequence number
//   {duplicate}     "true" for a delivery of a later station's report
//                   (sendDuplicate), else "false"
//   {station}       the delivery's station: the first one for the message's
//                   delivery, the joining one for a duplicate's
//   {snr} {rssi}    that station's SNR and RSSI, 2 decimals (as the Sigfox
//                   Cloud's callbacks give them)
//   {avgSnr}        the mean SNR of the stations that had heard the frame
//                   when the delivery was queued (that station and those
//                   before it), 2 decimals; {avgSignal} is its older name
//   {lat} {lng}     that station's position, 6 decimals; empty without one
//                   Every radio value depends on the delivery alone: each
//                   attempt sends the same ones, however many stations join
//                   the message in between.
//   {ack}           "true" when the device asked for a downlink
//   {longPolling}   "false": Roost answers downlinks itself
//   {customData#f}  field f of the callback's own payloadConfig applied to the
//                   data: numbers and booleans as JSON writes them, char
//                   fields as their text (escaped where they land like every
//                   value), empty when the field does not fit in the data
//   {temp} {batt} {downlinkAck} {info} {severity}
//                   SERVICE and ERROR deliveries: the values queued with the
//                   delivery (Delivery::variables); such deliveries have no
//                   radio values, so {snr}, {rssi}, {lat}, ... are empty
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/payload_format.h"
#include "core/status.h"
#include "integration/callback_template.h"
#include "model/callback.h"
#include "model/message.h"

namespace roost::integration {

struct HttpRequest {
  std::string method;  // GET, POST or PUT
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // in the callback's order
  std::string body;                                          // empty for GET
};

// The kind of a callback from its callbackType and callbackSubtype; InvalidInput
// naming callbackSubtype when they do not pair (DATA takes UPLINK or BIDIR,
// SERVICE takes STATUS or ACKNOWLEDGE, ERROR takes NONE).
Result<CallbackKind> KindOf(const Callback& callback);

// The checks of a callback being saved, on every field its channel uses. The
// message starts with the field's API name:
//   "url: position 12: unknown variable {foo} for DATA UPLINK callbacks"
//   "url: must start with http:// or https:// and name a host"
//   "httpMethod: must be GET, POST or PUT"
//   "header X-Key: position 3: ..."      (a value that does not compile)
//   "headers: 'X Key' is not a header name"
//   "headers: Content-Type is set by contentType"
//   "contentType: must be a media type such as application/json"
//   "bodyTemplate: a GET callback sends no body"
//   "payloadConfig: position 4: expected ..."
// Per channel: URL needs url; BATCH_URL needs url and linePattern, POSTs or
// PUTs (not GET), and its url and header values have no variables (one request
// carries many messages: only its lines vary), and its linePattern has no line
// break (one delivery, one line); EMAIL needs recipient (one
// address, a pattern), subject and message. A downlinkHook is a DATA BIDIR URL
// callback. Headers Content-Type, Content-Length, Transfer-Encoding,
// Connection and Host are refused (case-insensitively): the first follows
// contentType, the others belong to the HTTP connection; so is a name given
// twice (in any case), and more than kMaxCallbackHeaders headers.
inline constexpr size_t kMaxCallbackHeaders = 32;
Status ValidateCallback(const Callback& callback);

// What an EMAIL callback sends for one delivery: its patterns expanded. The
// recipient and subject are header values, so control characters (CR, LF,
// ...) are removed from them, values and literal text alike; the message is
// text as is. The recipient is checked as an address only when sent.
struct EmailParts {
  std::string recipient;
  std::string subject;
  std::string body;
};

// A callback ready to render deliveries. Immutable once built: one instance
// may be shared by every dispatcher thread. Values the message lacks expand to
// nothing, so rendering never fails.
class CompiledCallback {
 public:
  const std::string& id() const { return id_; }
  CallbackKind kind() const { return kind_; }
  CallbackChannel channel() const { return channel_; }

  // URL: the request for `delivery` of `message`.
  HttpRequest Render(const Message& message, const Delivery& delivery) const;

  // BATCH_URL: the line of `delivery` of `message`, linePattern expanded. Its
  // values are escaped for the body's content type; in a text body (any type
  // but JSON and form) control characters are removed from the line, values
  // and literal text, so that one delivery is always exactly one line.
  std::string RenderLine(const Message& message, const Delivery& delivery) const;
  // BATCH_URL: the request carrying `lines` joined with "\n" (no trailing
  // newline), with Content-Type the callback's contentType, or text/plain.
  HttpRequest RenderBatch(const std::vector<std::string>& lines) const;

  // EMAIL: the email of `delivery` of `message`.
  EmailParts RenderEmail(const Message& message, const Delivery& delivery) const;

  // Where `delivery` of `message` goes, for people reading a message or an
  // event: the expanded url of a URL callback, the url of a BATCH_URL one,
  // the recipient of an EMAIL one.
  std::string Destination(const Message& message, const Delivery& delivery) const;
  // The variables of `delivery` of `message`, as listed at the top of this
  // file: at least those in `needed`; others may be left empty ({avgSnr} and
  // {avgSignal} come together, as do a SERVICE or ERROR delivery's own values).
  // For other uses of the same values (BATCH_URL lines, emails).
  void FillVariables(const Message& message, const Delivery& delivery, Variables& out,
                     const VariableSet& needed = VariableSet::All()) const;

 private:
  friend Result<CompiledCallback> CompileCallback(const Callback& callback);
  // Sets the *_uses_ sets from the compiled patterns, once per compilation.
  void NoteUses();

  std::string id_;
  std::string device_type_;
  CallbackKind kind_ = CallbackKind::kDataUplink;
  CallbackChannel channel_ = CallbackChannel::kUrl;
  std::string method_;
  CompiledTemplate url_;
  std::vector<std::pair<std::string, CompiledTemplate>> headers_;
  std::optional<CompiledTemplate> body_;  // URL: nullopt for GET; BATCH_URL: the line
  std::string content_type_;
  Escaping body_escaping_ = Escaping::kText;
  std::optional<CompiledTemplate> recipient_, subject_, message_;  // EMAIL
  std::optional<codec::PayloadFormat> custom_format_;
  // What each rendering fills (FillVariables): a request or BATCH_URL line
  // (url, headers, body), a url alone, an email, a recipient alone.
  VariableSet request_uses_, url_uses_, email_uses_, recipient_uses_;
};

// Compiles a callback of any channel (it need not be enabled). Refusals are
// InvalidInput naming the pattern as ValidateCallback does ("url: ...",
// "header X: ...", "bodyTemplate: ...", "linePattern: ...", "subject: ...").
Result<CompiledCallback> CompileCallback(const Callback& callback);

// Compiled callbacks kept for reuse (pipeline.md: compiled once, not per
// message), by id. A callback can be edited, here or by another instance, so
// a kept compilation serves only the definition it was compiled from; the
// callback's state (enabled, dead, downlinkHook) does not count. At most
// `max` are kept (all are dropped past it). Thread-safe.
class CompiledCallbacks {
 public:
  explicit CompiledCallbacks(size_t max = 10'000) : max_(max) {}
  // The compilation of `callback`, kept or new; CompileCallback's refusals.
  Result<std::shared_ptr<const CompiledCallback>> Get(const Callback& callback);

 private:
  struct Entry {
    Callback source;
    std::shared_ptr<const CompiledCallback> compiled;
  };
  const size_t max_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by callback id; guarded by mu_
};

}  // namespace roost::integration
