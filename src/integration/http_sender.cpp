#include "integration/http_sender.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "integration/curl_init.h"
#include "integration/plain_http_client.h"

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
           in(0xC0000000, 24) ||  // 192.0.0/24 IETF protocol assignments (NAT64 and DS-Lite)
           in(0xC6120000, 15) ||  // 198.18/15 benchmarking, often used inside networks
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

bool IsContentType(std::string_view name) {
  constexpr std::string_view kName = "content-type";
  return name.size() == kName.size() &&
         std::equal(name.begin(), name.end(), kName.begin(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

}  // namespace

bool HeaderCanBeSent(std::string_view name, std::string_view value) {
  return IsHeaderToken(name) &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsPublicAddress(const sockaddr* address) {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return IsPublicIpv4(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family != AF_INET6) return false;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
  const uint8_t* b = v6->sin6_addr.s6_addr;
  auto v4_at = [&](int i) {
    return (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) |
           b[i + 3];
  };
  // Forms that carry an IPv4 address are judged by it: a host may route them
  // to it (IPv4-mapped, a NAT64 gateway, the sit0 tunnel of the deprecated
  // IPv4-compatible form, SIIT's IPv4-translated form, a 6to4 relay).
  static constexpr uint8_t kCompatible[12] = {};  // ::/96, with :: and ::1
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kTranslated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  for (const uint8_t* prefix : {kCompatible, kMapped, kTranslated, kNat64}) {
    if (std::memcmp(b, prefix, 12) == 0) return IsPublicIpv4(v4_at(12));
  }
  if (b[0] == 0x20 && b[1] == 0x02) return IsPublicIpv4(v4_at(2));  // 2002::/16, 6to4
  if ((b[0] & 0xfe) == 0xfc) return false;                          // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;          // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;          // fec0::/10, site-local
  // 64:ff9b:1::/48, NAT64 for local use (where the IPv4 address sits depends
  // on the prefix length chosen), and 2001::/32, Teredo (its IPv4 addresses
  // are obfuscated): not a callback destination either way.
  if (std::memcmp(b, "\x00\x64\xff\x9b\x00\x01", 6) == 0) return false;
  if (std::memcmp(b, "\x20\x01\x00\x00", 4) == 0) return false;
  if (b[0] == 0xff) return false;  // ff00::/8
  return true;
}

namespace {

// One transfer: what libcurl's callbacks share with the code that prepared it.
struct CurlTransfer {
  HttpOutcome outcome;  // the answer's body is written here
  size_t max_body = 0;
  bool cut = false;
  bool check_destination = false;
  int refused = 0;                                // addresses refused by the destination check
  int opened = 0;                                 // sockets opened
  std::unordered_set<int>* opened_fds = nullptr;  // when set, each socket opened is added
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
  std::chrono::steady_clock::time_point start;

  static size_t Write(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<CurlTransfer*>(user);
    const size_t n = size * count;
    std::string& body = t->outcome.body;
    const size_t room = t->max_body - std::min(t->max_body, body.size());
    if (n > room) {
      body.append(data, room);
      t->cut = true;
      return 0;  // anything but n aborts the transfer
    }
    body.append(data, n);
    return n;
  }

  static curl_socket_t Open(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* t = static_cast<CurlTransfer*>(user);
    // The address here is the one connect() will use: checking it, rather than
    // the name, leaves no gap between a check and a second resolution.
    if (purpose == CURLSOCKTYPE_IPCXN && t->check_destination && !IsPublicAddress(&address->addr)) {
      ++t->refused;
      return CURL_SOCKET_BAD;
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    ++t->opened;
    if (t->opened_fds != nullptr) t->opened_fds->insert(fd);
    return fd;
  }
};

HttpOutcome Finish(CurlTransfer& t, int status, std::string info) {
  t.outcome.status = status;
  t.outcome.info = std::move(info);
  t.outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t.start).count();
  return std::move(t.outcome);
}

// Sets `curl` up to send `request` for `t`. False (and t's outcome made) when
// the request cannot be sent. `request` must outlive the transfer: libcurl
// reads the body from it.
bool PrepareTransfer(CURL* curl, const HttpRequest& request, std::chrono::milliseconds timeout,
                     const HttpSenderOptions& options, CurlTransfer& t) {
  t.start = std::chrono::steady_clock::now();
  // A handle carries state between transfers besides its options: libcurl
  // 7.88 counts the retries on connections found dead across all of them, and
  // after five fails the transfer ("Connection died, tried 5 times"). Kept-alive
  // connections and the DNS cache are not reset.
  curl_easy_reset(curl);
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    // The request builder already guarantees both; a header that could split
    // the request is never handed to libcurl whatever the caller.
    if (!HeaderCanBeSent(name, value)) {
      curl_slist_free_all(t.headers);
      t.headers = nullptr;
      t.outcome = Finish(t, kStatusOther, "a request header cannot be sent");
      return false;
    }
    has_content_type = has_content_type || IsContentType(name);
    // "Name:" would make libcurl drop the header; "Name;" sends it empty.
    t.headers = curl_slist_append(t.headers, (name + (value.empty() ? ";" : ": " + value)).c_str());
  }
  // libcurl would add "Expect: 100-continue" to large bodies (one more round
  // trip) and a form Content-Type to any POST: the callback decides both.
  t.headers = curl_slist_append(t.headers, "Expect:");
  if (!has_content_type) t.headers = curl_slist_append(t.headers, "Content-Type:");

  t.max_body = options.max_answer_bytes;
  t.check_destination = options.refuse_private_destinations;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  // libcurl reads 0 as "no timeout"; a deadline already passed is one millisecond.
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CurlTransfer::Write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &CurlTransfer::Open);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t.error);
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
  return true;
}

// What the transfer prepared on `curl` met, once libcurl finished it with `rc`.
// Leaves `curl` referencing nothing of the transfer, ready for the next one.
HttpOutcome ConcludeTransfer(CURL* curl, CURLcode rc, CurlTransfer& t,
                             const HttpSenderOptions& options) {
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_slist_free_all(t.headers);
  t.headers = nullptr;

  // libcurl's error texts name the host, port and cause, never the path,
  // headers or body.
  std::string detail = t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(rc);
  if (rc == CURLE_OK) return Finish(t, static_cast<int>(http_status), "");
  if (rc == CURLE_WRITE_ERROR && t.cut) {
    return Finish(t, static_cast<int>(http_status),
                  "answer cut at " + std::to_string(options.max_answer_bytes) + " bytes");
  }
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return Finish(t, kStatusCannotResolve, detail);
    case CURLE_COULDNT_CONNECT:
      if (t.refused > 0 && t.opened == 0) {
        return Finish(t, kStatusDestinationNotAllowed, "destination address not allowed");
      }
      return Finish(t, kStatusCannotConnect, detail);
    case CURLE_OPERATION_TIMEDOUT:
      return Finish(t, kStatusTimeout, detail);
    default:
      break;
  }
  if (IsTlsError(rc)) return Finish(t, kStatusTls, detail);
  return Finish(t, kStatusOther, detail);
}

}  // namespace

HttpSender::HttpSender(HttpSenderOptions options) : curl_(nullptr), options_(std::move(options)) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

HttpSender::~HttpSender() {
  if (curl_ != nullptr) curl_easy_cleanup(Handle(curl_));
}

HttpOutcome HttpSender::Send(const HttpRequest& request, std::chrono::milliseconds timeout) {
  CurlTransfer t;
  t.start = std::chrono::steady_clock::now();
  CURL* curl = Handle(curl_);
  if (curl == nullptr) return Finish(t, kStatusOther, "cannot initialise libcurl");
  if (!PrepareTransfer(curl, request, timeout, options_, t)) return std::move(t.outcome);
  const CURLcode rc = curl_easy_perform(curl);
  return ConcludeTransfer(curl, rc, t, options_);
}

// libcurl's multi interface on an asio loop. Every libcurl call is made with
// mu_ held, from Send or a loop handler; libcurl's own callbacks (sockets,
// timer, writes) only run inside those calls. Handlers hold the Impl alive.
class AsyncHttpSender::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& loop, HttpSenderOptions options)
      : loop_(loop), options_(std::move(options)), plain_(loop, options_), timer_(loop) {
    InitCurlOnce();
    multi_ = curl_multi_init();
    if (multi_ != nullptr) {
      curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
      curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
      curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
      curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
      curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, kMaxIdleConnections);
    }
  }

  ~Impl() { Close(); }

  void Send(HttpRequest request, std::chrono::milliseconds timeout, Done done) {
    if (!options_.libcurl_for_plain_http) {
      if (auto target = ParsePlainHttpUrl(request.url)) {
        plain_.Send(std::move(*target), std::move(request), timeout, std::move(done));
        return;
      }
    }
    auto job = std::make_unique<Job>();
    job->request = std::move(request);
    job->done = std::move(done);
    job->transfer.start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    CURL* curl = closed_ || multi_ == nullptr ? nullptr : TakeHandle();
    if (curl == nullptr) {
      Fail(std::move(job), "cannot send: the sender is closed");
      return;
    }
    if (!PrepareTransfer(curl, job->request, timeout, options_, job->transfer)) {
      free_.push_back(curl);
      Post(std::move(job));
      return;
    }
    job->transfer.opened_fds = &connections_;
    curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, &Impl::OnClose);
    curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, job.get());
    if (curl_multi_add_handle(multi_, curl) != CURLM_OK) {
      (void)ConcludeTransfer(curl, CURLE_FAILED_INIT, job->transfer, options_);
      free_.push_back(curl);
      Fail(std::move(job), "cannot start the transfer");
      return;
    }
    jobs_.emplace(curl, std::move(job));
    // libcurl asks, through OnTimer, to be called back at once: the transfer
    // starts from the loop.
  }

  void Close() {
    plain_.Close();
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    if (multi_ != nullptr) {
      for (auto& [curl, job] : jobs_) {
        curl_multi_remove_handle(multi_, curl);
        (void)ConcludeTransfer(curl, CURLE_ABORTED_BY_CALLBACK, job->transfer, options_);
        free_.push_back(curl);
      }
      jobs_.clear();
      for (CURL* curl : free_) curl_easy_cleanup(curl);  // closes nothing: the multi owns them
      free_.clear();
      curl_multi_cleanup(multi_);  // closes the kept-alive connections, through OnClose
      multi_ = nullptr;
    }
    for (auto& [fd, watch] : watches_) Forget(*watch);
    watches_.clear();
    connections_.clear();
    boost::system::error_code ignored;
    timer_.cancel(ignored);
  }

 private:
  static constexpr long kMaxIdleConnections = 256;
  static constexpr size_t kMaxFreeHandles = 256;

  struct Job {
    HttpRequest request;  // libcurl reads the body from here
    CurlTransfer transfer;
    Done done;
  };
  // A socket libcurl asked the loop to watch.
  struct Watch {
    explicit Watch(boost::asio::io_context& loop) : descriptor(loop) {}
    boost::asio::posix::stream_descriptor descriptor;  // does not own the fd
    int fd = -1;
    int what = 0;  // CURL_POLL_IN / OUT / INOUT: what libcurl waits for; 0 between transfers
    bool reading = false, writing = false;  // a wait is queued
    bool gone = false;                      // libcurl is done with the socket
    bool connected = false;                 // libcurl has waited to read from it
  };
  using Completed = std::vector<std::pair<Done, HttpOutcome>>;

  CURL* TakeHandle() {
    if (!free_.empty()) {
      CURL* curl = free_.back();
      free_.pop_back();
      return curl;
    }
    return curl_easy_init();
  }

  // Calls the job's `done` with its outcome from the loop, never from Send.
  void Post(std::unique_ptr<Job> job) {
    auto shared = std::shared_ptr<Job>(std::move(job));
    boost::asio::post(loop_, [self = shared_from_this(), shared] {
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        if (self->closed_) return;
      }
      shared->done(std::move(shared->transfer.outcome));
    });
  }

  void Fail(std::unique_ptr<Job> job, std::string info) {
    job->transfer.outcome = Finish(job->transfer, kStatusOther, std::move(info));
    Post(std::move(job));
  }

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto* self = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      // A connection's socket stays known to the loop while the connection
      // is kept alive: watching it again for its next transfer then costs no
      // system call. OnClose lets go of it. But libcurl 7.88 closes a socket
      // whose connect never completed (a timeout, the loser of happy eyeballs)
      // itself, without OnClose (curl 8.2 no longer does), and may so close
      // one it did not open through Roost (a resolver's). Those are let go of
      // now, lest a new socket given their number be taken for them. libcurl
      // waits to read from a socket only once connected: such a socket of
      // Roost's is closed through OnClose, and may be kept.
      auto it = self->watches_.find(fd);
      if (it != self->watches_.end() && it->second->connected &&
          self->connections_.count(fd) != 0) {
        it->second->what = 0;
      } else {
        self->connections_.erase(fd);
        self->Drop(fd);
      }
      return 0;
    }
    auto& watch = self->watches_[fd];
    if (watch == nullptr) {
      watch = std::make_shared<Watch>(self->loop_);
      watch->fd = fd;
      boost::system::error_code ec;
      watch->descriptor.assign(fd, ec);
      if (ec) {
        self->watches_.erase(fd);
        return -1;  // libcurl fails the transfer
      }
    }
    watch->what = what;
    if ((what & CURL_POLL_IN) != 0) watch->connected = true;
    self->Arm(watch);
    return 0;
  }

  // libcurl moves its deadline with nearly every call; re-arming the loop's
  // timer each time (a timerfd_settime, costly in a virtual machine) took a
  // sixth of a loaded server's CPU. So "now" is a posted call, and the timer is
  // only moved earlier: one that fires early makes libcurl look, find nothing
  // due, and ask again. A cancelled deadline leaves the timer to fire for nothing.
  static int OnTimer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (timeout_ms < 0) return 0;
    if (timeout_ms == 0) {
      if (!self->kick_posted_) {
        self->kick_posted_ = true;
        boost::asio::post(self->loop_, [weak = self->weak_from_this()] {
          auto s = weak.lock();
          if (s == nullptr) return;
          {
            std::lock_guard<std::mutex> lock(s->mu_);
            s->kick_posted_ = false;
          }
          s->Act(CURL_SOCKET_TIMEOUT, 0, nullptr);
        });
      }
      return 0;
    }
    const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (self->timer_armed_ && self->timer_due_ <= due) return 0;
    self->timer_armed_ = true;
    self->timer_due_ = due;
    self->timer_.expires_at(due);
    self->timer_.async_wait([weak = self->weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (s == nullptr || ec == boost::asio::error::operation_aborted) return;
      {
        std::lock_guard<std::mutex> lock(s->mu_);
        s->timer_armed_ = false;
      }
      s->Act(CURL_SOCKET_TIMEOUT, 0, nullptr);
    });
    return 0;
  }

  static int OnClose(void* user, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(user);
    self->connections_.erase(fd);
    self->Drop(fd);
    return ::close(fd);
  }

  // libcurl is done watching `fd` (it may close it next): the loop lets go of it
  // before that, so a new socket on the same number is never mistaken for it.
  void Drop(curl_socket_t fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    Forget(*it->second);
    watches_.erase(it);
  }

  static void Forget(Watch& watch) {
    watch.gone = true;
    boost::system::error_code ignored;
    watch.descriptor.cancel(ignored);
    (void)watch.descriptor.release();
  }

  // Queues a wait for each direction libcurl wants and has none queued. The
  // loop's waits are edge-triggered, yet a socket that is ready already when a
  // wait is queued completes it at once: asio's reactor re-arms the socket's
  // registration (EPOLL_CTL_MOD) for every wait it queues, and epoll then
  // reports the readiness that came before (AsioWait in http_sender_test.cpp).
  void Arm(const std::shared_ptr<Watch>& watch) {
    if ((watch->what & CURL_POLL_IN) != 0 && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                   [weak = weak_from_this(), watch](boost::system::error_code ec) {
                                     if (auto s = weak.lock())
                                       s->Ready(watch, CURL_CSELECT_IN, ec, &Watch::reading);
                                   });
    }
    if ((watch->what & CURL_POLL_OUT) != 0 && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                                   [weak = weak_from_this(), watch](boost::system::error_code ec) {
                                     if (auto s = weak.lock())
                                       s->Ready(watch, CURL_CSELECT_OUT, ec, &Watch::writing);
                                   });
    }
  }

  void Ready(const std::shared_ptr<Watch>& watch, int flags, boost::system::error_code ec,
             bool Watch::*queued) {
    if (ec == boost::asio::error::operation_aborted) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch.get()->*queued = false;
      // A kept-alive connection between transfers: libcurl looks at it again
      // (and finds it closed, if it was) when a transfer takes it.
      if (watch->what == 0) return;
    }
    Act(watch->fd, ec ? CURL_CSELECT_ERR : flags, watch.get());
  }

  // Lets libcurl act on `fd` (or its timers); then calls the `done` of every
  // transfer that finished, without mu_. `watch`: the socket's watch, when
  // acting on one: nothing is done when libcurl let go of it meanwhile.
  void Act(curl_socket_t fd, int flags, Watch* watch) {
    Completed completed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || multi_ == nullptr || (watch != nullptr && watch->gone)) return;
      int running = 0;
      curl_multi_socket_action(multi_, fd, flags, &running);
      if (watch != nullptr && !watch->gone) {
        auto it = watches_.find(fd);
        if (it != watches_.end()) Arm(it->second);
      }
      Collect(completed);
    }
    for (auto& [done, outcome] : completed) done(std::move(outcome));
  }

  void Collect(Completed& completed) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* curl = msg->easy_handle;
      const CURLcode rc = msg->data.result;
      auto it = jobs_.find(curl);
      curl_multi_remove_handle(multi_, curl);
      if (it == jobs_.end()) continue;
      std::unique_ptr<Job> job = std::move(it->second);
      jobs_.erase(it);
      HttpOutcome outcome = ConcludeTransfer(curl, rc, job->transfer, options_);
      if (free_.size() < kMaxFreeHandles) {
        free_.push_back(curl);
      } else {
        curl_easy_cleanup(curl);
      }
      completed.emplace_back(std::move(job->done), std::move(outcome));
    }
  }

  boost::asio::io_context& loop_;
  const HttpSenderOptions options_;
  PlainHttpClient plain_;  // http:// transfers, unless options_.libcurl_for_plain_http
  std::mutex mu_;
  bool closed_ = false;                                      // guarded by mu_
  CURLM* multi_ = nullptr;                                   // guarded by mu_
  std::unordered_map<CURL*, std::unique_ptr<Job>> jobs_;     // guarded by mu_
  std::vector<CURL*> free_;                                  // guarded by mu_
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;  // guarded by mu_
  std::unordered_set<int> connections_;  // sockets opened for connections; guarded by mu_
  boost::asio::steady_timer timer_;      // guarded by mu_
  bool timer_armed_ = false;             // guarded by mu_
  std::chrono::steady_clock::time_point timer_due_;  // guarded by mu_
  bool kick_posted_ = false;  // an immediate libcurl call is posted; guarded by mu_
};

AsyncHttpSender::AsyncHttpSender(boost::asio::io_context& loop, HttpSenderOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}

AsyncHttpSender::~AsyncHttpSender() {
  Close();
}

void AsyncHttpSender::Send(HttpRequest request, std::chrono::milliseconds timeout, Done done) {
  impl_->Send(std::move(request), timeout, std::move(done));
}

void AsyncHttpSender::Close() {
  impl_->Close();
}

}  // namespace roost::integration
