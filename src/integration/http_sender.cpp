#include "integration/http_sender.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "integration/curl_init.h"

namespace roost::integration {
namespace {

bool IsPublicIpv4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return !(in(0x00000000, 8) ||   // 0.0.0.0/8: "this network", reaches the host itself
           in(0x7F000000, 8) ||   // 127/8 loopback
           in(0x0A000000, 8) ||   // 10/8
           in(0xAC100000, 12) ||  // 172.16/12
           in(0xC0A80000, 16) ||  // 192.168/16
           in(0x64400000, 10) ||  // 100.64/10 shared address space (carrier NAT)
           in(0xA9FE0000, 16) ||  // 169.254/16 link-local, cloud metadata services
           in(0xE0000000, 3));    // 224/4 multicast, 240/4 reserved, broadcast
}

CURL* Handle(void* curl) {
  return static_cast<CURL*>(curl);
}

bool IsTlsError(CURLcode rc) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

bool HasLineBreak(std::string_view value) {
  return value.find_first_of("\r\n") != std::string_view::npos ||
         value.find('\0') != std::string_view::npos;
}

bool IsContentType(std::string_view name) {
  constexpr std::string_view kName = "content-type";
  return name.size() == kName.size() &&
         std::equal(name.begin(), name.end(), kName.begin(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
}

}  // namespace

bool IsPublicAddress(const sockaddr* address) {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return IsPublicIpv4(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family != AF_INET6) return false;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
  const uint8_t* b = v6->sin6_addr.s6_addr;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMappedPrefix, 12) == 0) {
    uint32_t v4 =
        (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    return IsPublicIpv4(v4);
  }
  // 64:ff9b::/96, the well-known NAT64 prefix: a NAT64 gateway connects to the
  // IPv4 address in its last 32 bits.
  static constexpr uint8_t kNat64Prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64Prefix, 12) == 0) {
    uint32_t v4 =
        (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    return IsPublicIpv4(v4);
  }
  static constexpr uint8_t kZero[15] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return false;  // ::, ::1
  if ((b[0] & 0xfe) == 0xfc) return false;                                         // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;                         // fe80::/10
  if (b[0] == 0xff) return false;                                                  // ff00::/8
  return true;
}

// What one Send shares with libcurl's callbacks.
struct HttpSender::Transfer {
  std::string* body = nullptr;
  size_t max_body = 0;
  bool cut = false;
  bool check_destination = false;
  int refused = 0;  // addresses refused by the destination check
  int opened = 0;   // sockets opened

  static size_t Write(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    const size_t room = t->max_body - std::min(t->max_body, t->body->size());
    if (n > room) {
      t->body->append(data, room);
      t->cut = true;
      return 0;  // anything but n aborts the transfer
    }
    t->body->append(data, n);
    return n;
  }

  static curl_socket_t Open(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(user);
    // The address here is the one connect() will use: checking it, rather than
    // the name, leaves no gap between a check and a second resolution.
    if (purpose == CURLSOCKTYPE_IPCXN && t->check_destination && !IsPublicAddress(&address->addr)) {
      ++t->refused;
      return CURL_SOCKET_BAD;
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    ++t->opened;
    return fd;
  }
};

HttpSender::HttpSender(HttpSenderOptions options) : curl_(nullptr), options_(std::move(options)) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

HttpSender::~HttpSender() {
  if (curl_ != nullptr) curl_easy_cleanup(Handle(curl_));
}

HttpOutcome HttpSender::Send(const HttpRequest& request, std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  HttpOutcome outcome;
  auto finish = [&](int status, std::string info) {
    outcome.status = status;
    outcome.info = std::move(info);
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(outcome);
  };
  CURL* curl = Handle(curl_);
  if (curl == nullptr) return finish(kStatusOther, "cannot initialise libcurl");

  curl_slist* headers = nullptr;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    // The request builder already guarantees both; a header that could split
    // the request is never handed to libcurl whatever the caller.
    if (!IsHeaderToken(name) || HasLineBreak(value)) {
      curl_slist_free_all(headers);
      return finish(kStatusOther, "a request header cannot be sent");
    }
    has_content_type = has_content_type || IsContentType(name);
    // "Name:" would make libcurl drop the header; "Name;" sends it empty.
    headers = curl_slist_append(headers, (name + (value.empty() ? ";" : ": " + value)).c_str());
  }
  // libcurl would add "Expect: 100-continue" to large bodies (one more round
  // trip) and a form Content-Type to any POST: the callback decides both.
  headers = curl_slist_append(headers, "Expect:");
  if (!has_content_type) headers = curl_slist_append(headers, "Content-Type:");

  Transfer transfer;
  transfer.body = &outcome.body;
  transfer.max_body = options_.max_answer_bytes;
  transfer.check_destination = options_.refuse_private_destinations;
  char error[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  // libcurl reads 0 as "no timeout"; a deadline already passed is one millisecond.
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::Write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &Transfer::Open);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                     request.method == "POST" ? nullptr : request.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);

  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  // The handle outlives this call: nothing of this send may stay referenced.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_slist_free_all(headers);

  // libcurl's error texts name the host, port and cause, never the path,
  // headers or body.
  std::string detail = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
  if (rc == CURLE_OK) return finish(static_cast<int>(http_status), "");
  if (rc == CURLE_WRITE_ERROR && transfer.cut) {
    return finish(static_cast<int>(http_status),
                  "answer cut at " + std::to_string(options_.max_answer_bytes) + " bytes");
  }
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return finish(kStatusCannotResolve, detail);
    case CURLE_COULDNT_CONNECT:
      if (transfer.refused > 0 && transfer.opened == 0) {
        return finish(kStatusDestinationNotAllowed, "destination address not allowed");
      }
      return finish(kStatusCannotConnect, detail);
    case CURLE_OPERATION_TIMEDOUT:
      return finish(kStatusTimeout, detail);
    default:
      break;
  }
  if (IsTlsError(rc)) return finish(kStatusTls, detail);
  return finish(kStatusOther, detail);
}

}  // namespace roost::integration
