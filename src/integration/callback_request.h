// What a URL callback sends for one delivery of one message (pipeline.md,
// "Callbacks"): the method, the expanded url, headers and body. Pure: no I/O,
// no storage; HttpSender (http_sender.h) does the sending.
//
// A callback is checked once when it is saved (ValidateCallback) and compiled
// once when the dispatcher loads it (CompileCallback); rendering a delivery is
// then a few expansions with no parsing.
//
// Values of the variables, as Render gives them:
//   {device}        the device id as the API writes it (uppercase hex, "2C")
//   {deviceTypeId}  the id of the device type the callback belongs to
//   {time}          the message's time in epoch seconds (rounded down)
//   {data}          the payload, lowercase hex
//   {seqNumber}     the sequence number
//   {duplicate}     "true" for a delivery of a later station's report
//                   (sendDuplicate), else "false"
//   {snr} {avgSnr}  the mean SNR of the message's receptions, 2 decimals
//   {rssi}          the reporting station's RSSI for a duplicate delivery,
//                   the best RSSI of the message otherwise; 2 decimals
//   {station}       the delivery's station (the first one for the message)
//   {lat} {lng}     the message's computed location, 6 decimals; empty when
//                   it has none
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
// Per channel: URL needs url; BATCH_URL needs url and linePattern; EMAIL needs
// recipient (one address), subject and message. A downlinkHook is a DATA BIDIR
// URL callback. Headers Content-Type, Content-Length, Transfer-Encoding,
// Connection and Host are refused (case-insensitively): the first follows
// contentType, the others belong to the HTTP connection.
Status ValidateCallback(const Callback& callback);

// A URL callback ready to render deliveries. Immutable once built: one
// instance may be shared by every dispatcher thread.
class CompiledCallback {
 public:
  const std::string& id() const { return id_; }
  CallbackKind kind() const { return kind_; }

  // The request for `delivery` of `message`. Values the message lacks expand
  // to nothing, so rendering never fails.
  HttpRequest Render(const Message& message, const Delivery& delivery) const;

  // The variables of `delivery` of `message`, as listed at the top of this
  // file. For other uses of the same values (BATCH_URL lines, emails).
  void FillVariables(const Message& message, const Delivery& delivery, Variables& out) const;

 private:
  friend Result<CompiledCallback> CompileCallback(const Callback& callback);

  std::string id_;
  std::string device_type_;
  CallbackKind kind_ = CallbackKind::kDataUplink;
  std::string method_;
  CompiledTemplate url_;
  std::vector<std::pair<std::string, CompiledTemplate>> headers_;
  std::optional<CompiledTemplate> body_;  // nullopt for GET
  std::string content_type_;
  Escaping body_escaping_ = Escaping::kText;
  std::optional<codec::PayloadFormat> custom_format_;
};

// Compiles a URL callback (it need not be enabled). Refusals are InvalidInput
// naming the pattern as ValidateCallback does ("url: ...", "header X: ...",
// "bodyTemplate: ..."); a callback of another channel is refused.
Result<CompiledCallback> CompileCallback(const Callback& callback);

// CompileCallback and Render in one step, for a single delivery.
Result<HttpRequest> BuildCallbackRequest(const Callback& callback, const Message& message,
                                         const Delivery& delivery);

}  // namespace roost::integration
