// Outbound email over SMTP (libcurl): user invitations now, email callbacks
// and alerts later.
//
// BuildMessage is pure: it renders an RFC 5322 message (UTF-8 text body,
// encoded-word subject when not ASCII, CRLF line ends) and refuses header
// values that could inject headers. The body goes 8bit, or quoted-printable
// when a line is longer than the 998 octets a mail server must take.
// SmtpSender does the network part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace roost::integration {

struct Email {
  std::string from;             // "Roost <roost@example.com>" or a bare address
  std::vector<std::string> to;  // bare addresses
  std::string subject;          // UTF-8
  std::string body;             // UTF-8 text; any line ending
};

struct SmtpSettings {
  std::string host = "localhost";
  uint16_t port = 25;
  std::string user;      // empty: no AUTH
  std::string password;  // never logged
  enum class Tls { kNone, kStartTlsIfOffered, kStartTlsRequired, kImplicit } tls = Tls::kNone;
  long timeout_ms = 10000;
};

// Checks an address: one '@', non-empty local part and domain, no spaces,
// control characters, '<', '>' or ','. Returns the bare address.
Result<std::string> ValidateAddress(std::string_view address);

// The message as sent (headers + body), with `date` (RFC 5322 form) and
// `message_id` given so tests are deterministic.
Result<std::string> BuildMessage(const Email& email, const std::string& date,
                                 const std::string& message_id);

class SmtpSender {
 public:
  explicit SmtpSender(SmtpSettings settings);
  // Sends one message. An error's message says what failed (the mail server
  // could not be reached, refused the recipient, ...) in words fit for any
  // user: it names neither the server nor the password, since it is shown on
  // tenants' deliveries. `detail`, when given, gets the operator's version
  // for the log: the server's address and the client's own error text.
  // Blocking: call it from a worker, not the event loop.
  Status Send(const Email& email, std::string* detail = nullptr) const;

 private:
  SmtpSettings settings_;
};

}  // namespace roost::integration
