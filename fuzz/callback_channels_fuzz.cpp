// Fuzzes what the BATCH_URL and EMAIL channels render from a pattern and a
// message whose payload (a char field of the callback's payloadConfig) is any
// bytes. Input: one byte choosing the batch's content type, the pattern, a NUL,
// then up to 12 payload bytes. A pattern that validates must compile; a batch
// line never holds a line break (one delivery, one line), and in a text body
// no control character at all; a batch's body
// is its lines joined with "\n"; an email's subject and recipient never hold a
// control character (no header can be added), whatever the payload. The whole
// email, as sent, and again with its body repeated past the 998-octet line
// limit: CRLF line ends only, no NUL, no line over 998 octets; a quoted-printable
// body is ASCII in lines of at most 76 with no trailing blank; the body, decoded,
// is valid UTF-8 with no control but TAB, CR and LF.
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/hex.h"
#include "core/text.h"
#include "integration/callback_request.h"
#include "integration/email.h"

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

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The checks above on one message as BuildMessage renders it.
void CheckEmail(const std::string& message) {
  if (message.find('\0') != std::string::npos) __builtin_trap();
  size_t line_start = 0;
  for (size_t i = 0; i < message.size(); ++i) {
    const bool cr = message[i] == '\r';
    if (cr && (i + 1 == message.size() || message[i + 1] != '\n')) __builtin_trap();
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) __builtin_trap();
    if (cr) {
      if (i - line_start > 998) __builtin_trap();
      line_start = i + 2;
    }
  }
  const size_t head_end = message.find("\r\n\r\n");
  if (head_end == std::string::npos) __builtin_trap();
  const std::string_view head(message.data(), head_end);
  const std::string_view body = std::string_view(message).substr(head_end + 4);
  std::string decoded;
  if (head.find("Content-Transfer-Encoding: quoted-printable") != std::string_view::npos) {
    for (size_t at = 0; at < body.size();) {
      size_t end = body.find("\r\n", at);
      if (end == std::string_view::npos) __builtin_trap();  // the body ends with CRLF
      const std::string_view line = body.substr(at, end - at);
      if (line.size() > 76) __builtin_trap();
      if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) __builtin_trap();
      bool soft = false;
      for (size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c >= 0x80) __builtin_trap();
        if (c != '=') {
          decoded += static_cast<char>(c);
        } else if (i + 1 == line.size()) {
          soft = true;
        } else {
          if (i + 2 >= line.size()) __builtin_trap();  // "=" and two hex digits
          const int hi = HexDigit(line[i + 1]), lo = HexDigit(line[i + 2]);
          if (hi < 0 || lo < 0) __builtin_trap();
          decoded += static_cast<char>(hi * 16 + lo);
          i += 2;
        }
      }
      if (!soft) decoded += "\r\n";
      at = end + 2;
    }
  } else {
    decoded = body;
  }
  if (!IsValidUtf8(decoded)) __builtin_trap();
  for (char c : decoded) {
    if (IsControl(c) && c != '\t' && c != '\r' && c != '\n') __builtin_trap();
  }
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
  std::string long_body = email.body;
  while (!long_body.empty() && long_body.size() < 1100) long_body += email.body;
  for (const std::string* body : {&email.body, static_cast<const std::string*>(&long_body)}) {
    auto built =
        BuildMessage(Email{"roost@example.com", {"ops@example.com"}, "s", *body}, "d", "id@x");
    if (!built.ok()) __builtin_trap();
    CheckEmail(*built);
  }
  return 0;
}
