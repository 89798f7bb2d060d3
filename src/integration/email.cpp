#include "integration/email.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>
#include <utility>

#include "core/base64.h"
#include "core/hex.h"
#include "core/text.h"
#include "crypto/random.h"
#include "integration/curl_init.h"

namespace roost::integration {
namespace {

bool HasLineBreakOrControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// RFC 2047 encoded-word (base64) for a non-ASCII subject.
std::string EncodeWord(std::string_view text) {
  return "=?UTF-8?B?" + EncodeBase64(text) + "?=";
}

// The Subject header's value. ASCII that keeps the line within SMTP's 998
// bytes goes as it is; anything else as encoded-words of at most 75
// characters (RFC 2047: 45 bytes of text each, cut between UTF-8 sequences),
// one per folded line. Unfolded, a long subject made a line the mail server
// refused, and the email was retried until its callback died.
std::string SubjectValue(std::string_view subject) {
  constexpr size_t kAsIsAtMost = 900;
  constexpr size_t kWordBytes = 45;  // 60 base64 characters + 12 = 72 <= 75
  if (IsAscii(subject) && subject.size() <= kAsIsAtMost) return std::string(subject);
  std::string out;
  for (size_t at = 0; at < subject.size();) {
    size_t end = std::min(subject.size(), at + kWordBytes);
    // Back to the start of a UTF-8 sequence (a continuation byte is 10xxxxxx),
    // unless the whole word is one (invalid) run of them.
    size_t cut = end;
    while (cut > at && cut < subject.size() &&
           (static_cast<unsigned char>(subject[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    if (cut > at) end = cut;
    if (!out.empty()) out += "\r\n ";
    out += EncodeWord(subject.substr(at, end - at));
    at = end;
  }
  return out;
}

// The body with CRLF line ends, valid UTF-8 (the header says utf-8; a stray
// byte becomes U+FFFD) and no controls but TAB.
std::string NormaliseBody(std::string_view raw) {
  const std::string repaired = IsValidUtf8(raw) ? std::string() : ReplaceInvalidUtf8(raw);
  const std::string_view body = repaired.empty() ? raw : std::string_view(repaired);
  std::string out;
  out.reserve(body.size() + body.size() / 40 + 2);
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r') {
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else if (c != '\t' && IsControl(c)) {
      continue;  // NUL and the other controls have no place in a message's text
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

// RFC 5322 allows 998 octets on a line; a body with a longer one is sent
// quoted-printable, which no mail server refuses and every reader decodes.
bool HasOverlongLine(std::string_view crlf_body) {
  size_t start = 0;
  while (start < crlf_body.size()) {
    size_t end = crlf_body.find("\r\n", start);
    if (end == std::string_view::npos) end = crlf_body.size();
    if (end - start > 998) return true;
    start = end + 2;
  }
  return false;
}

// RFC 2045 section 6.7 over a CRLF body: line breaks kept as they are, encoded
// lines of at most 76 characters (soft breaks "=" CRLF), a space or tab that ends
// a line encoded so no mail hop can strip it.
std::string QuotedPrintable(std::string_view crlf_body) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(crlf_body.size() + crlf_body.size() / 8 + 8);
  size_t column = 0;
  for (size_t i = 0; i < crlf_body.size(); ++i) {
    const auto c = static_cast<unsigned char>(crlf_body[i]);
    if (c == '\r' && i + 1 < crlf_body.size() && crlf_body[i + 1] == '\n') {
      out += "\r\n";
      column = 0;
      ++i;
      continue;
    }
    const bool line_ends_here =
        i + 1 == crlf_body.size() ||
        (crlf_body[i + 1] == '\r' && i + 2 < crlf_body.size() && crlf_body[i + 2] == '\n');
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_ends_here);
    const size_t width = literal ? 1 : 3;
    if (column + width > 75) {  // room for the soft break's "="
      out += "=\r\n";
      column = 0;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    column += width;
  }
  return out;
}

std::string BareAddress(std::string_view from) {
  size_t lt = from.find('<');
  size_t gt = from.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  return std::string(from);
}

std::string RfcDateNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadChunk(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* up = static_cast<Upload*>(userdata);
  size_t n = std::min(size * nitems, up->data->size() - up->offset);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

// What a failed send is called where tenants read it (a delivery's info):
// the kind of failure and the server's reply code, not the server's address
// or the rest of the client's text.
std::string FailureForUsers(CURLcode rc, std::string_view client_text) {
  // libcurl names the refused SMTP command and its reply code ("RCPT failed: 550").
  for (const auto& [command, what] :
       {std::pair{"RCPT failed: ", "the recipient"}, std::pair{"MAIL failed: ", "the sender"},
        std::pair{"DATA failed: ", "the message"}}) {
    const size_t at = client_text.find(command);
    if (at == std::string_view::npos) continue;
    std::string_view code = client_text.substr(at + std::string_view(command).size(), 3);
    const bool digits = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        });
    return std::string("the mail server refused ") + what +
           (digits ? " (" + std::string(code) + ")" : std::string());
  }
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return "the mail server could not be reached";
    case CURLE_OPERATION_TIMEDOUT:
      return "the mail server did not answer in time";
    case CURLE_LOGIN_DENIED:
      return "the mail server refused Roost's login";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
      return "no secure connection to the mail server";
    default:
      return "the mail server did not take the email (error " +
             std::to_string(static_cast<int>(rc)) + ")";
  }
}

}  // namespace

Result<std::string> ValidateAddress(std::string_view address) {
  size_t at = address.find('@');
  if (address.empty() || at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return Status::InvalidInput("email address '" + QuoteForMessage(address, 80) +
                                "' must be local@domain");
  }
  for (unsigned char c : address) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' || c == '\\') {
      return Status::InvalidInput("email address '" + QuoteForMessage(address, 80) +
                                  "' contains a character not allowed here");
    }
  }
  return std::string(address);
}

Result<std::string> BuildMessage(const Email& email, const std::string& date,
                                 const std::string& message_id) {
  if (email.to.empty()) return Status::InvalidInput("email has no recipient");
  if (HasLineBreakOrControl(email.from) || HasLineBreakOrControl(email.subject)) {
    return Status::InvalidInput("email From and Subject must not contain line breaks");
  }
  auto from = ValidateAddress(BareAddress(email.from));
  if (!from.ok()) return from.status();
  std::string to_list;
  for (const auto& to : email.to) {
    auto addr = ValidateAddress(to);
    if (!addr.ok()) return addr.status();
    if (!to_list.empty()) to_list += ", ";
    to_list += *addr;
  }
  std::string msg;
  msg += "Date: " + date + "\r\n";
  msg += "From: " + email.from + "\r\n";
  msg += "To: " + to_list + "\r\n";
  msg += "Message-ID: <" + message_id + ">\r\n";
  msg += "Subject: " + SubjectValue(email.subject) + "\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += "Content-Type: text/plain; charset=utf-8\r\n";
  std::string body = NormaliseBody(email.body);
  if (HasOverlongLine(body)) {
    msg += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    msg += QuotedPrintable(body);
  } else {
    msg += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    msg += body;
  }
  return msg;
}

SmtpSender::SmtpSender(SmtpSettings settings) : settings_(std::move(settings)) {}

Status SmtpSender::Send(const Email& email, std::string* detail) const {
  InitCurlOnce();
  uint8_t rnd[12];
  crypto::RandomBytes(rnd);
  std::string domain = BareAddress(email.from);
  domain = domain.substr(domain.find('@') == std::string::npos ? 0 : domain.find('@') + 1);
  auto message = BuildMessage(email, RfcDateNow(), ToHex(rnd) + "@" + domain);
  if (!message.ok()) return message.status();

  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("cannot initialise libcurl");
  const bool implicit = settings_.tls == SmtpSettings::Tls::kImplicit;
  std::string url = std::string(implicit ? "smtps://" : "smtp://") + settings_.host + ":" +
                    std::to_string(settings_.port);
  curl_slist* rcpt = nullptr;
  for (const auto& to : email.to) rcpt = curl_slist_append(rcpt, ("<" + to + ">").c_str());
  std::string from = "<" + BareAddress(email.from) + ">";
  Upload upload{&*message};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadChunk);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, settings_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  switch (settings_.tls) {
    case SmtpSettings::Tls::kNone:
      break;
    case SmtpSettings::Tls::kStartTlsIfOffered:
      curl_easy_setopt(curl, CURLOPT_USE_SSL, CURLUSESSL_TRY);
      break;
    case SmtpSettings::Tls::kStartTlsRequired:
    case SmtpSettings::Tls::kImplicit:
      curl_easy_setopt(curl, CURLOPT_USE_SSL, CURLUSESSL_ALL);
      break;
  }
  if (!settings_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    if (detail != nullptr) {
      *detail = "sending email via " + url +
                " failed: " + (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc));
    }
    return Status::IoError(FailureForUsers(rc, errbuf));
  }
  return Status::Ok();
}

}  // namespace roost::integration
