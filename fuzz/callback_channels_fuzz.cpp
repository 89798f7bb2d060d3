// Fuzzes what the BATCH_URL and EMAIL channels render from a pattern and a
// message whose payload (a char field of the callback's payloadConfig) is any
// bytes. Input: one byte choosing the batch's content type, the pattern, a NUL,
// then up to 12 payload bytes. A pattern that validates must compile; a batch
// line never holds a line break (one delivery, one line), and in a text body
// no control character at all; a batch's body
// is its lines joined with "\n"; an email's subject and recipient never hold a
// control character (no header can be added), whatever the payload.
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/hex.h"
#include "core/text.h"
#include "integration/callback_request.h"

namespace {

using namespace roost;
using namespace roost::integration;

constexpr const char* kContentTypes[] = {"", "text/plain", "application/json",
                                         "application/x-www-form-urlencoded", "text/csv"};

Message MessageWith(std::string_view payload) {
  Message m;
  m.device = SigfoxId{0x2C};
  m.type = "5f1e2d3c4b5a697887960a1b";
  m.time = 1440578526789;
  m.seq_number = 12;
  const std::vector<uint8_t> bytes(payload.begin(), payload.end());
  m.data = ToHex(bytes);
  Reception r;
  r.station = "0A1B";
  r.rssi = -100;
  m.rinfos = {r};
  return m;
}

Delivery DeliveryOf(const Message& m) {
  Delivery d;
  d.callback = "cb";
  d.device = m.device.value;
  d.message_time = m.time;
  d.seq_number = m.seq_number;
  d.station = "0A1B";
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* content_type = kContentTypes[data[0] % std::size(kContentTypes)];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = input.find('\0');
  const std::string_view pattern = input.substr(0, nul);
  std::string_view payload =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  if (payload.size() > 12) payload = payload.substr(0, 12);
  const Message message = MessageWith(payload);
  const Delivery delivery = DeliveryOf(message);
  const std::string format = "v:0:char:" + std::to_string(payload.empty() ? 1 : payload.size());

  Callback batch;
  batch.id = "cb";
  batch.type = message.type;
  batch.channel = CallbackChannel::kBatchUrl;
  batch.url = "https://example.com/batch";
  batch.content_type = content_type;
  batch.payload_config = format;
  batch.line_pattern = std::string(pattern);
  if (ValidateCallback(batch).ok()) {
    auto compiled = CompileCallback(batch);
    if (!compiled.ok()) __builtin_trap();
    const std::string line = compiled->RenderLine(message, delivery);
    if (line.find_first_of("\r\n") != std::string::npos) __builtin_trap();
    const bool text = batch.content_type.empty() || batch.content_type.starts_with("text/");
    if (text && HasControl(line)) __builtin_trap();
    const HttpRequest request = compiled->RenderBatch({line, line});
    if (request.body != line + "\n" + line) __builtin_trap();
    if (request.method != "POST" || request.url != batch.url) __builtin_trap();
  }

  Callback mail;
  mail.id = "cb";
  mail.type = message.type;
  mail.channel = CallbackChannel::kEmail;
  mail.payload_config = format;
  mail.recipient = "ops{customData#v}@example.com";
  mail.subject = std::string(pattern);
  mail.message = std::string(pattern);
  auto compiled = CompileCallback(mail);
  if (!compiled.ok()) return 0;
  const EmailParts email = compiled->RenderEmail(message, delivery);
  if (HasControl(email.subject) || HasControl(email.recipient)) __builtin_trap();
  return 0;
}
