// The only translation unit that instantiates Boost.Beast and the Asio
// coroutine machinery; keep it that way (compile time).
#include "http/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/cpus.h"
#include "core/text.h"
#include "core/thread_name.h"

namespace roost::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

auto Redirect(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

// Metric label for a method: the standard ones as they are, anything else
// "OTHER" (so clients cannot grow the label set).
std::string_view MethodLabel(std::string_view m) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST", "PUT",
                                                "DELETE", "OPTIONS", "PATCH"};
  for (std::string_view k : kKnown) {
    if (m == k) return k;
  }
  return "OTHER";
}

ServerOptions WithThreads(ServerOptions opts) {
  if (opts.content_security_policy.empty()) opts.content_security_policy = ContentSecurityPolicy();
  if (opts.handler_threads == 0) {
    opts.handler_threads = std::max(4u, 2 * UsableCpus());
  }
  return opts;
}

// One accepted connection, shared between its connection coroutine and Shutdown().
// `stream` and `idle` are touched only on the connection's strand.
struct Conn {
  explicit Conn(asio::any_io_executor ex) : executor(std::move(ex)) {}
  asio::any_io_executor executor;
  std::string client;  // the client's share of max_connections_per_address; "" = unlimited
  beast::tcp_stream* stream = nullptr;
  bool idle = false;
  // The response body being streamed on this connection (ResponseStream), if any.
  std::shared_ptr<ResponseStream> live;
};

// What a connection answers, and what it logs and counts about it.
struct Outcome {
  Response response;
  std::string method;
  std::string path;
  std::string_view route = "none";
  bool close = false;  // close the connection after writing
  // Set when a route matched: the handler still to run, and how.
  const Handler* handler = nullptr;
  const RouteOptions* options = nullptr;
};

bool IsLoopback(const asio::ip::address& a) {
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() &&
         asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

// The address the last X-Forwarded-For entry names (the last such header's:
// a proxy appends to what the client sent); nullopt when there is none or it
// is no address.
std::optional<std::string> ForwardedClient(const Request& req) {
  std::optional<std::string_view> last;
  for (const auto& [name, value] : req.headers) {
    if (EqualsIgnoreCase(name, "X-Forwarded-For")) last = value;
  }
  if (!last) return std::nullopt;
  std::string_view entry = *last;
  if (size_t comma = entry.rfind(','); comma != std::string_view::npos) {
    entry.remove_prefix(comma + 1);
  }
  while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
  while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(std::string(entry), ec);
  if (ec) return std::nullopt;
  return address.to_string();
}

// Whose share of ServerOptions::max_connections_per_address a connection from
// `remote` takes: its IPv4 address (also when mapped into IPv6), or its IPv6
// /64, since one host is given a /64 to pick addresses from. "" = a loopback
// client, not limited unless `limit_loopback`.
std::string ClientShare(const asio::ip::address& remote, bool limit_loopback) {
  if (remote.is_loopback() && !limit_loopback) return "";
  if (remote.is_v6()) {
    const asio::ip::address_v6 v6 = remote.to_v6();
    if (v6.is_v4_mapped()) {
      const auto v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
      if (v4.is_loopback() && !limit_loopback) return "";
      return v4.to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return asio::ip::address_v6(bytes).to_string() + "/64";
  }
  return remote.to_string();
}

// The characters of a request's path a log line keeps.
constexpr size_t kLoggedPathLength = 200;

// A body of this size or more is "large": after it, freed heap is given back.
constexpr size_t kLargeBody = 1024 * 1024;
// What one read of Beast's takes at most (its read_size); a connection's
// buffer holds a head and one read more.
constexpr size_t kReadSize = 64 * 1024;

Response TooLarge(size_t limit) {
  if (limit == 0) return Response::Error(413, "this route takes no request body");
  return Response::Error(413, "request body larger than " + std::to_string(limit) + " bytes");
}

Response Busy() {
  Response r = Response::Error(503, "the server is reading too many request bodies; retry later");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// The bytes of in-memory request bodies in flight, all connections together.
class BodyBudget {
 public:
  explicit BodyBudget(size_t cap) : cap_(cap) {}

  // What one request took; given back when released or destroyed.
  class Hold {
   public:
    Hold() = default;
    explicit Hold(BodyBudget& budget) : budget_(&budget) {}
    Hold(Hold&& o) noexcept : budget_(o.budget_), taken_(std::exchange(o.taken_, 0)) {}
    Hold& operator=(Hold&& o) noexcept {
      if (this != &o) {
        Release();
        budget_ = o.budget_;
        taken_ = std::exchange(o.taken_, 0);
      }
      return *this;
    }
    ~Hold() { Release(); }
    bool Take(size_t n) {
      if (!budget_->TryTake(n)) return false;
      taken_ += n;
      return true;
    }
    void Release() {
      if (budget_ != nullptr && taken_ > 0) budget_->used_.fetch_sub(taken_);
      taken_ = 0;
    }

   private:
    BodyBudget* budget_ = nullptr;
    size_t taken_ = 0;
  };

 private:
  bool TryTake(size_t n) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > cap_ || used > cap_ - n) return false;
    } while (!used_.compare_exchange_weak(used, used + n));
    return true;
  }
  const size_t cap_;
  std::atomic<size_t> used_{0};
};

// A request body on disk: an unnamed temporary file (gone when closed, even
// after a crash), mapped read-only for the handler once complete.
class Spool {
 public:
  static Result<Spool> Create(const std::string& dir_option, bool secret) {
    if (secret) {
      const int fd = ::memfd_create("roost-upload", MFD_CLOEXEC);
      if (fd < 0) {
        return Status::IoError(std::string("cannot create a memory file: ") + std::strerror(errno));
      }
      return Spool(fd);
    }
    std::string dir = dir_option;
    if (dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      // File systems without O_TMPFILE: a named file, unlinked at once.
      std::string path = dir + "/roost-upload-XXXXXX";
      fd = ::mkstemp(path.data());
      if (fd < 0) return Status::IoError(dir + ": cannot create a temporary file");
      ::unlink(path.c_str());
    }
    return Spool(fd);
  }
  Spool(Spool&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)),
        size_(std::exchange(o.size_, 0)),
        map_(std::exchange(o.map_, nullptr)) {}
  Spool& operator=(Spool&&) = delete;
  ~Spool() {
    if (map_ != nullptr) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::IoError(std::string("writing an upload: ") + std::strerror(errno));
      size_ += static_cast<size_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }
  Result<std::string_view> Map() {
    if (size_ == 0) return std::string_view();
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      return Status::IoError(std::string("mapping an upload: ") + std::strerror(errno));
    }
    map_ = p;
    return std::string_view(static_cast<const char*>(p), size_);
  }

 private:
  explicit Spool(int fd) : fd_(fd) {}
  int fd_ = -1;
  size_t size_ = 0;
  void* map_ = nullptr;
};

// The security headers every response carries unless its handler set them
// (the Content-Security-Policy is ServerOptions::content_security_policy).
constexpr std::pair<std::string_view, std::string_view> kSecurityHeaders[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
};

// Framing is the server's alone (message.h): a handler's Content-Length,
// Connection or Transfer-Encoding, a second Content-Type, or a field that would
// end the line early, is not sent.
bool Sendable(const Response& r, std::string_view name, std::string_view value) {
  return !((beast::iequals(name, "Content-Type") && !r.content_type.empty()) ||
           beast::iequals(name, "Content-Length") || beast::iequals(name, "Connection") ||
           beast::iequals(name, "Transfer-Encoding") ||
           name.find_first_of("\r\n:") != std::string_view::npos ||
           value.find_first_of("\r\n") != std::string_view::npos);
}

// Whether the handler set `name` in a field that is sent.
bool HasHeader(const Response& r, std::string_view name) {
  return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) {
    return beast::iequals(h.first, name) && Sendable(r, h.first, h.second);
  });
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// Statuses whose answers end at the head (RFC 9110, 6.4.1).
bool Bodiless(int status) {
  return status / 100 == 1 || status == 204 || status == 304;
}

// The status line and fields of a response with a body in memory, built in one
// string so that the answer goes out in one send: Beast's reason phrases and
// Connection rules; a length on every answer that has a body (a HEAD answer:
// the length of the body it leaves out).
std::string ResponseHead(const Response& r, unsigned version, bool keep_alive,
                         std::string_view content_security_policy) {
  std::string out;
  out.reserve(320);
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  const unsigned status = static_cast<unsigned>(r.status);
  out.append(std::to_string(status)).push_back(' ');
  const beast::string_view reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
  out.append(reason.data(), reason.size()).append("\r\n");
  if (!r.content_type.empty()) AppendHeader(out, "Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) {
    if (Sendable(r, name, value)) AppendHeader(out, name, value);
  }
  if (!HasHeader(r, "Content-Security-Policy")) {
    AppendHeader(out, "Content-Security-Policy", content_security_policy);
  }
  for (const auto& [name, value] : kSecurityHeaders) {
    if (!HasHeader(r, name)) AppendHeader(out, name, value);
  }
  if (version == 10) {
    if (keep_alive) AppendHeader(out, "Connection", "keep-alive");
  } else if (!keep_alive) {
    AppendHeader(out, "Connection", "close");
  }
  // No length on a 1xx, 204 or 304: they have no body (a 304's length would
  // describe the cached representation), and Write sends none.
  if (!Bodiless(r.status)) AppendHeader(out, "Content-Length", std::to_string(r.body.size()));
  out.append("\r\n");
  return out;
}

}  // namespace

std::string ContentSecurityPolicy(std::string_view image_origin) {
  std::string img_src = "'self' data:";
  if (!image_origin.empty()) img_src += " " + std::string(image_origin);
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img_src +
         "; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
         "frame-ancestors 'none'";
}

class Server::Impl {
 public:
  Impl(asio::io_context& ioc, ServerOptions options, const Router& router)
      : opts_(WithThreads(std::move(options))),
        router_(router),
        budget_(opts_.max_body_bytes_in_flight),
        unadmitted_budget_(opts_.max_body_bytes_in_flight),
        memory_spool_budget_(opts_.max_memory_spool_bytes),
        workers_(opts_.handler_threads),
        ioc_(ioc),
        acceptor_(asio::make_strand(ioc_)) {}

  Status Init();
  Status Bind();
  void Start();
  bool Shutdown(std::chrono::milliseconds drain_timeout);

  const ServerOptions& opts() const { return opts_; }
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> ServeConnection(tcp::socket socket, std::shared_ptr<Conn> conn);
  asio::awaitable<bool> Write(beast::tcp_stream& stream, Outcome& out, unsigned version,
                              bool keep_alive, bool head);
  asio::awaitable<void> LingeringClose(beast::tcp_stream& stream);
  // Sends the head of a streamed response, then its pieces until it ends.
  asio::awaitable<void> WriteStream(beast::tcp_stream& stream, Conn& conn, Outcome& out,
                                    unsigned version, bool head);
  // Sends `out` (a refusal), counts and logs it, and closes the connection.
  asio::awaitable<void> Refuse(beast::tcp_stream& stream, Outcome& out, const std::string& remote,
                               Clock::time_point start);
  struct BodyRead;
  // Runs the route's admission and/or its handler where the route says, then
  // waits for a response completed later. With `read`, the body is released
  // once the handler has run, before that wait (ReleaseBody).
  asio::awaitable<void> Run(Outcome& out, Request& req, bool admit, bool invoke,
                            BodyRead* read = nullptr);
  // Tries the route's fast path here, on the event loop; true when it answered
  // (out.response set, perhaps a Later one).
  bool TryFastPath(Outcome& out, Request& req);
  // Waits, without a thread, for a Later response to be completed.
  asio::awaitable<void> AwaitLater(Outcome& out);
  // The route's admission; false (out.response set) when it refused.
  bool Admit(Outcome& out, Request& req);
  // Calls a route's admission or fast path; one that throws is logged as
  // `failure` and answers 500.
  std::optional<Response> CallHook(const std::function<std::optional<Response>(Request&)>& hook,
                                   const char* failure, const Outcome& out, Request& req);
  struct BodyRead {
    BodyBudget::Hold budget;
    std::unique_ptr<Spool> spool;
    std::optional<Response> refusal;  // answer this and close
    bool gone = false;                // the peer went away or was too slow
    bool large = false;
  };
  asio::awaitable<BodyRead> ReadBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     bhttp::request_parser<bhttp::buffer_body>& parser,
                                     const RouteOptions& route, Request& req);
  void TrimHeapSoon();
  // The handler is done with the body: a response completed later (an ingest
  // report held for its downlink, up to seconds) keeps neither the body's
  // memory nor its share of the budget of bodies in memory while it waits.
  void ReleaseBody(Request& req, BodyRead& read);
  // Matches the request to a route; the Outcome carries either the response or
  // the handler to run (with Invoke).
  Outcome Dispatch(Request& req);
  void Invoke(Outcome& out, const Request& req);
  void Record(const Outcome& out, const std::string& remote, Clock::time_point start);

  bool Register(const std::shared_ptr<Conn>& conn);
  void Unregister(const std::shared_ptr<Conn>& conn);

  ServerOptions opts_;
  const Router& router_;
  std::string address_;
  uint16_t port_ = 0;

  // Lines for refused requests (status 400 and up) a second: anyone can send
  // those as fast as the connection goes, with paths as long as a head may be.
  static constexpr int kRefusalLinesPerSecond = 50;
  observe::LineBudget refusal_lines_{kRefusalLinesPerSecond};

  observe::CounterFamily* requests_ = nullptr;
  observe::HistogramFamily* durations_ = nullptr;
  observe::Gauge* open_ = nullptr;
  observe::Counter* accepted_ = nullptr;
  observe::Counter* refused_per_client_ = nullptr;

  std::mutex mu_;
  std::condition_variable drained_;
  std::unordered_set<std::shared_ptr<Conn>> conns_;
  std::unordered_map<std::string, size_t> per_client_;  // guarded by mu_: open, by ClientShare
  bool draining_ = false;                               // guarded by mu_
  std::atomic<bool> stopping_{false};  // lock-free copy of draining_ for the connections
  bool started_ = false;
  bool shut_down_ = false;
  bool accepting_ = false;  // the accept loop runs; guarded by mu_
  BodyBudget budget_;
  // Bodies of routes without an Admission (a login): anyone may send them, so
  // they are charged to a budget of their own (of the same size: their routes'
  // small limits times max_connections stay within it), and strangers cannot
  // spend what authenticated clients need.
  BodyBudget unadmitted_budget_;
  // Bodies spooled to memory files (BodyStorage::kSecretFile).
  BodyBudget memory_spool_budget_;
  std::atomic<bool> trim_pending_{false};
  // Runs Runs::kWorkers handlers. Joined in Shutdown once no connection waits
  // for one any more.
  asio::thread_pool workers_;

  // Shutdown returns only when no coroutine of this server is left on the loop,
  // so nothing on it refers to the members above once the server is destroyed.
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
};

Status Server::Impl::Init() {
  if (opts_.metrics == nullptr) return Status::Ok();
  observe::MetricsRegistry& m = *opts_.metrics;
  auto requests = m.AddCounter("roost_http_requests_total",
                               "HTTP requests answered, by method, route pattern and status code",
                               {"method", "route", "code"});
  if (!requests.ok()) return requests.status();
  auto durations =
      m.AddHistogram("roost_http_request_duration_seconds",
                     "Time from the first byte of a request until its response is ready, by route",
                     {"method", "route"}, observe::DefaultLatencyBuckets());
  if (!durations.ok()) return durations.status();
  auto open = m.AddGauge("roost_http_connections_open", "HTTP connections currently open");
  if (!open.ok()) return open.status();
  auto accepted = m.AddCounter("roost_http_connections_total", "HTTP connections accepted");
  if (!accepted.ok()) return accepted.status();
  auto refused = m.AddCounter("roost_http_connections_refused_per_address_total",
                              "HTTP connections closed at once: their client address had "
                              "max_connections_per_address open");
  if (!refused.ok()) return refused.status();
  refused_per_client_ = &(*refused)->Get();
  requests_ = *requests;
  durations_ = *durations;
  open_ = &(*open)->Get();
  accepted_ = &(*accepted)->Get();
  return Status::Ok();
}

Status Server::Impl::Bind() {
  std::string where = "listen " + opts_.host + ":" + std::to_string(opts_.port);
  error_code ec;
  tcp::resolver resolver(ioc_);
  auto results =
      resolver.resolve(opts_.host, std::to_string(opts_.port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::IoError(where + ": cannot resolve host: " + ec.message());
  }
  tcp::endpoint ep = results.begin()->endpoint();
  if (acceptor_.open(ep.protocol(), ec); ec) return Status::IoError(where + ": " + ec.message());
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor_.bind(ep, ec); ec) return Status::IoError(where + ": " + ec.message());
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::IoError(where + ": " + ec.message());
  }
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return Status::IoError(where + ": " + ec.message());
  address_ = FormatEndpoint(bound);
  port_ = bound.port();
  return Status::Ok();
}

void Server::Impl::Start() {
  std::lock_guard lock(mu_);
  if (started_ || draining_) return;
  started_ = true;
  accepting_ = true;
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
}

bool Server::Impl::Register(const std::shared_ptr<Conn>& conn) {
  std::lock_guard lock(mu_);
  if (draining_ || conns_.size() >= opts_.max_connections) return false;
  if (!conn->client.empty()) {
    const auto held = per_client_.find(conn->client);
    if (held != per_client_.end() && held->second >= opts_.max_connections_per_address) {
      if (refused_per_client_) refused_per_client_->Inc();
      return false;
    }
    ++per_client_[conn->client];
  }
  conns_.insert(conn);
  if (open_) open_->Add(1);
  return true;
}

void Server::Impl::Unregister(const std::shared_ptr<Conn>& conn) {
  std::lock_guard lock(mu_);
  if (conns_.erase(conn) > 0) {
    if (open_) open_->Add(-1);
    if (!conn->client.empty()) {
      auto it = per_client_.find(conn->client);
      if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    }
  }
  if (conns_.empty()) drained_.notify_all();
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  struct Done {
    Impl* self;
    ~Done() {
      std::lock_guard lock(self->mu_);
      self->accepting_ = false;
      self->drained_.notify_all();
    }
  } done{this};
  for (;;) {
    error_code ec;
    // With one thread on the loop, everything on it is serial already.
    asio::any_io_executor conn_ex = opts_.loop_threads == 1
                                        ? asio::any_io_executor(ioc_.get_executor())
                                        : asio::any_io_executor(asio::make_strand(ioc_));
    tcp::socket socket = co_await acceptor_.async_accept(conn_ex, Redirect(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // Out of descriptors or a transient network error: back off briefly.
      if (opts_.logger) opts_.logger->Warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(Redirect(ec));
      continue;
    }
    if (accepted_) accepted_->Inc();
    auto conn = std::make_shared<Conn>(socket.get_executor());
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) continue;  // gone already: the socket closes as it goes out of scope
    conn->client = ClientShare(remote.address(), opts_.limit_loopback_clients);
    if (!Register(conn)) {
      socket.close(ec);
      continue;
    }
    asio::any_io_executor ex = socket.get_executor();
    asio::co_spawn(ex, ServeConnection(std::move(socket), conn), asio::detached);
  }
}

Outcome Server::Impl::Dispatch(Request& req) {
  Outcome out;
  out.method = req.method;
  out.path = req.path;
  RouteMatch m = router_.Match(req.method, req.path);
  switch (m.kind) {
    case RouteMatch::Kind::kBadPath:
      out.response = Response::Error(400, "malformed request path");
      return out;
    case RouteMatch::Kind::kNotFound:
      out.response = Response::Error(404, "no resource at " + QuoteForMessage(req.path, 200));
      return out;
    case RouteMatch::Kind::kMethodNotAllowed:
      out.route = m.pattern;
      out.response = Response::Error(405,
                                     "method " + QuoteForMessage(req.method, 20) +
                                         " not allowed on " + QuoteForMessage(req.path, 200),
                                     {ErrorDetail::Field("method", "allowed: " + m.allow)});
      out.response.headers.emplace_back("Allow", m.allow);
      return out;
    case RouteMatch::Kind::kFound:
      break;
  }
  out.route = m.pattern;
  req.path_params = std::move(m.params);
  out.handler = m.handler;
  out.options = m.options;
  return out;
}

void Server::Impl::Invoke(Outcome& out, const Request& req) {
  const Handler& handler = *out.handler;
  out.handler = nullptr;
  try {
    out.response = handler(req);
  } catch (const std::exception& e) {
    if (opts_.logger) {
      opts_.logger->Error("handler failed",
                          {{"method", req.method}, {"route", out.route}, {"error", e.what()}});
    }
    out.response = Response::Error(500, "internal server error");
  } catch (...) {
    if (opts_.logger) {
      opts_.logger->Error("handler failed", {{"method", req.method}, {"route", out.route}});
    }
    out.response = Response::Error(500, "internal server error");
  }
}

void Server::Impl::Record(const Outcome& out, const std::string& remote, Clock::time_point start) {
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int status = out.response.status;
  if (requests_) {
    char code[8];
    auto r = std::to_chars(code, code + sizeof code, status);
    std::string_view method = MethodLabel(out.method);
    requests_->WithLabels({method, out.route, std::string_view(code, r.ptr)}).Inc();
    durations_->WithLabels({method, out.route}).Observe(seconds);
  }
  // A line per answered request costs a formatted write per request on the
  // hot path (ingest); the counts above say how many went well. Refusals and
  // failures stay at info, where someone looks, within their budget; the next
  // line written says how many were left out. The method and path are the
  // client's: cut, as a refusal's message quotes them.
  const bool refused = status >= 400;
  const auto level = refused ? observe::Logger::Level::kInfo : observe::Logger::Level::kDebug;
  if (opts_.logger == nullptr || !opts_.logger->Enabled(level)) return;
  int64_t left_out = 0;
  if (refused && !refusal_lines_.Take(&left_out)) return;
  opts_.logger->Log(level, "request",
                    {{"method", QuoteForMessage(out.method, 16)},
                     {"path", QuoteForMessage(out.path, kLoggedPathLength)},
                     {"status", status},
                     {"duration_ms", seconds * 1000.0},
                     {"remote", remote},
                     {"earlier_refusals_not_logged", left_out}});
}

asio::awaitable<bool> Server::Impl::Write(beast::tcp_stream& stream, Outcome& out, unsigned version,
                                          bool keep_alive, bool head) {
  const Response& r = out.response;
  const std::string head_text = ResponseHead(r, version, keep_alive, opts_.content_security_policy);
  const bool with_body = !Bodiless(r.status) && !head;
  std::array<asio::const_buffer, 2> pieces{asio::buffer(head_text),
                                           with_body ? asio::buffer(r.body) : asio::const_buffer()};
  const size_t total = head_text.size() + pieces[1].size();
  // Most answers fit in the socket's send buffer: one send, made here, costs
  // no asynchronous operation, timer or trip through the executor (on the
  // ingest route those were a tenth of the server's CPU). The socket is in
  // non-blocking mode (ServeConnection), so this never waits.
  error_code ec;
  size_t sent = stream.socket().write_some(pieces, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    sent = 0;
    ec = {};
  }
  if (ec) co_return false;
  if (sent == total) co_return true;
  beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(pieces);
  rest.consume(sent);
  stream.expires_after(opts_.write_timeout);
  co_await asio::async_write(stream, rest, Redirect(ec));
  co_return !ec;
}

asio::awaitable<void> Server::Impl::WriteStream(beast::tcp_stream& stream, Conn& conn, Outcome& out,
                                                unsigned version, bool head) {
  std::shared_ptr<ResponseStream> live = std::move(out.response.stream);
  // Shutdown ends the streams it finds in conns_ on their strands, and this
  // runs on ours: either it finds this one, or this sees stopping_.
  conn.live = live;
  struct Unset {
    Conn& conn;
    ~Unset() { conn.live = nullptr; }
  } unset{conn};
  if (stopping_.load() || head) live->Finish(ResponseStream::End::kShutdown);

  Response& r = out.response;
  bhttp::response<bhttp::empty_body> res;
  res.version(version == 10 ? 10 : 11);
  res.result(static_cast<unsigned>(r.status));
  res.set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.insert(name, value);
  if (res.find("Content-Security-Policy") == res.end()) {
    res.set("Content-Security-Policy", opts_.content_security_policy);
  }
  for (const auto& [name, value] : kSecurityHeaders) {
    if (res.find(beast::string_view(name.data(), name.size())) == res.end()) {
      res.insert(beast::string_view(name.data(), name.size()),
                 beast::string_view(value.data(), value.size()));
    }
  }
  if (res.find(bhttp::field::cache_control) == res.end())
    res.set(bhttp::field::cache_control, "no-cache");
  if (res.find("X-Accel-Buffering") == res.end()) res.set("X-Accel-Buffering", "no");
  res.keep_alive(false);
  const bool chunked = version != 10 && !head;
  if (chunked) res.chunked(true);
  error_code ec;
  bhttp::response_serializer<bhttp::empty_body> head_writer(res);
  stream.expires_after(opts_.write_timeout);
  co_await bhttp::async_write_header(stream, head_writer, Redirect(ec));
  if (ec || head) {
    live->Finish(ResponseStream::End::kClientGone);
    co_return;
  }

  // An event-stream client sends nothing more: a read that completes means it
  // closed the connection (or misbehaves). Read on the socket itself, so the
  // stream's write timer stays per write; the handler touches only what it owns.
  auto scratch = std::make_shared<std::array<char, 512>>();
  stream.socket().async_read_some(asio::buffer(*scratch), [live, scratch](error_code, size_t) {
    live->Finish(ResponseStream::End::kClientGone);
  });

  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                    asio::steady_timer::time_point::max());
  bool finished = false;  // the last chunk may be written
  for (;;) {
    const bool waiting =
        live->OnReady([timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    if (waiting) {
      co_await timer->async_wait(Redirect(ec));
      timer->expires_at(asio::steady_timer::time_point::max());
    }
    ResponseStream::Taken taken = live->Take();
    if (!taken.data.empty()) {
      stream.expires_after(opts_.write_timeout);
      if (chunked) {
        co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(taken.data)),
                                   Redirect(ec));
      } else {
        co_await asio::async_write(stream, asio::buffer(taken.data), Redirect(ec));
      }
      if (ec) {
        live->Finish(ResponseStream::End::kClientGone);
        break;
      }
    }
    if (taken.end != ResponseStream::End::kOpen) {
      finished =
          taken.end == ResponseStream::End::kClosed || taken.end == ResponseStream::End::kShutdown;
      break;
    }
  }
  if (finished && chunked) {
    stream.expires_after(
        std::min<std::chrono::milliseconds>(opts_.write_timeout, std::chrono::seconds(1)));
    co_await asio::async_write(stream, bhttp::make_chunk_last(), Redirect(ec));
  }
  // Ends the pending read (its handler finds the stream already ended).
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

asio::awaitable<void> Server::Impl::LingeringClose(beast::tcp_stream& stream) {
  // The client may still be sending a request we did not read; closing now
  // could reset the connection before it reads our error response. Stop sending,
  // then discard what arrives for a moment.
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(1));
  char scratch[4096];
  size_t discarded = 0;
  while (!ec && discarded < 256 * 1024) {
    discarded += co_await stream.async_read_some(asio::buffer(scratch), Redirect(ec));
  }
}

asio::awaitable<void> Server::Impl::ServeConnection(tcp::socket socket,
                                                    std::shared_ptr<Conn> conn) {
  beast::tcp_stream stream(std::move(socket));
  struct Guard {
    Impl* self;
    std::shared_ptr<Conn> conn;
    ~Guard() {
      conn->stream = nullptr;
      self->Unregister(conn);
    }
  } guard{this, conn};
  conn->stream = &stream;

  error_code ec;
  const tcp::endpoint peer = stream.socket().remote_endpoint(ec);
  std::string remote = FormatEndpoint(peer);
  const bool proxied = opts_.trust_forwarded_for && IsLoopback(peer.address());
  // For Write's send made in place: it must return when the buffer is full.
  stream.socket().non_blocking(true, ec);
  if (ec) co_return;
  // Bounded: Beast limits a request's head and its chunks' data, but not a
  // chunk's size line (its extensions) or the trailer after the last chunk,
  // which it keeps reading into this buffer until their line ends. Room for a
  // whole head and one read past it; a longer line is refused (ReadBody).
  beast::flat_buffer buffer(opts_.max_header_bytes + kReadSize);
  bool first_request = true;
  for (;;) {
    // Idle: wait for the first byte of the next request.
    if (buffer.size() == 0) {
      if (stopping_.load()) break;
      conn->idle = true;
      // A new connection gets the head's time for its first byte, not the
      // idle time a kept-alive one has: an open connection that never asks
      // for anything holds a share of max_connections for nothing.
      stream.expires_after(first_request ? std::min(opts_.idle_timeout, opts_.header_timeout)
                                         : opts_.idle_timeout);
      first_request = false;
      size_t n = co_await stream.async_read_some(buffer.prepare(4096), Redirect(ec));
      conn->idle = false;
      if (ec) break;  // closed by the peer, idle timeout, or cancelled by Shutdown
      buffer.commit(n);
    }
    Clock::time_point start = Clock::now();

    // buffer_body: the body is read into storage this function chooses once
    // the route is known (memory or a spool file), piece by piece.
    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
    // The route's limit is armed once the route is known (below).
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    // A head already in the buffer (the usual case: it came in one segment) is
    // parsed in place, without the read's asynchronous operation, timer and
    // trip through the executor; only an incomplete one is read for.
    ec = {};
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == bhttp::error::need_more) {
      ec = {};
      stream.expires_after(opts_.header_timeout);
      co_await bhttp::async_read_header(stream, buffer, parser, Redirect(ec));
    }
    if (ec) {
      Outcome early;
      if (ec == bhttp::error::header_limit) {
        early.response = Response::Error(
            431, "request head larger than " + std::to_string(opts_.max_header_bytes) + " bytes");
      } else if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
                 ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
                 ec == bhttp::error::partial_message) {
        break;  // the peer went away or was too slow: nothing useful to answer
      } else {
        early.response = Response::Error(400, "malformed request: " + ec.message());
      }
      if (parser.is_header_done()) {
        early.method = std::string(parser.get().method_string());
        std::string_view target = parser.get().target();
        early.path = std::string(target.substr(0, target.find('?')));
      }
      co_await Refuse(stream, early, remote, start);
      co_return;
    }

    auto& msg = parser.get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.remote = remote;
    if (proxied) {
      if (std::optional<std::string> client = ForwardedClient(req)) req.remote = std::move(*client);
    }
    bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    const bool body_pending = !parser.is_done();
    const auto length = parser.content_length();

    Outcome out = Dispatch(req);
    if (out.handler == nullptr) {
      // 400/404/405: a body that may follow is not worth reading.
      if (body_pending) {
        co_await Refuse(stream, out, req.remote, start);
        co_return;
      }
    } else {
      const RouteOptions& route = *out.options;
      if (length && *length > route.max_body_bytes) {
        // Authentication first: a stranger learns nothing of the route,
        // not even its limit.
        if (route.admit) co_await Run(out, req, /*admit=*/true, /*invoke=*/false);
        if (out.handler != nullptr) {
          out.handler = nullptr;
          out.response = TooLarge(route.max_body_bytes);
        }
        co_await Refuse(stream, out, req.remote, start);
        co_return;
      }
      // The whole body came with the head (and nobody waits for a 100
      // Continue): taking it costs no read, so it is taken first and the
      // request needs one trip to where it runs, or none (the fast path).
      const bool body_here = body_pending && length && buffer.size() >= *length &&
                             route.storage == BodyStorage::kMemory &&
                             msg.find(bhttp::field::expect) == msg.end();
      if (!body_pending || body_here) {
        BodyRead read;
        if (body_pending) {
          read = co_await ReadBody(stream, buffer, parser, route, req);
          if (read.refusal) {
            out.handler = nullptr;
            out.response = std::move(*read.refusal);
            co_await Refuse(stream, out, req.remote, start);
            co_return;
          }
          if (read.gone) break;
        }
        if (!TryFastPath(out, req)) {
          co_await Run(out, req, /*admit=*/true, /*invoke=*/true, &read);
        } else {
          ReleaseBody(req, read);
          co_await AwaitLater(out);
        }
      } else {
        if (route.admit) {
          co_await Run(out, req, /*admit=*/true, /*invoke=*/false);
          if (out.handler == nullptr) {  // refused on the head: never read the body
            co_await Refuse(stream, out, req.remote, start);
            co_return;
          }
        }
        BodyRead read = co_await ReadBody(stream, buffer, parser, route, req);
        if (read.refusal) {
          out.handler = nullptr;
          out.response = std::move(*read.refusal);
          co_await Refuse(stream, out, req.remote, start);
          co_return;
        }
        if (read.gone) break;
        co_await Run(out, req, /*admit=*/false, /*invoke=*/true, &read);
      }
    }
    keep_alive = keep_alive && !stopping_.load();
    // Counted and logged before the write, so a client that got its response
    // sees it in the next scrape of /metrics.
    Record(out, req.remote, start);
    if (out.response.stream) {
      co_await WriteStream(stream, *conn, out, version, req.method == "HEAD");
      break;
    }
    bool written = co_await Write(stream, out, version, keep_alive, req.method == "HEAD");
    if (!written) co_return;
    if (!keep_alive) break;
    // Requests parsed and answered in place never yield the loop: pipelined
    // ones already read wait behind the other connections' ready work, so that
    // one client cannot hold the loop for a whole read's worth of requests.
    if (buffer.size() > 0) co_await asio::post(stream.get_executor(), asio::use_awaitable);
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> Server::Impl::Refuse(beast::tcp_stream& stream, Outcome& out,
                                           const std::string& remote, Clock::time_point start) {
  out.close = true;
  Record(out, remote, start);
  co_await Write(stream, out, 11, false, false);
  co_await LingeringClose(stream);
}

void Server::Impl::ReleaseBody(Request& req, BodyRead& read) {
  // A spooled body (a file or memory file) stays until the connection moves
  // on: no route that spools answers later.
  std::string().swap(req.body);
  if (read.large) TrimHeapSoon();
  read.large = false;
  read.budget.Release();
}

asio::awaitable<void> Server::Impl::Run(Outcome& out, Request& req, bool admit, bool invoke,
                                        BodyRead* read) {
  auto work = [this, &out, &req, admit, invoke] {
    if (admit && !Admit(out, req)) return;
    if (invoke) Invoke(out, req);
  };
  if (out.options->runs == Runs::kWorkers) {
    // The request and outcome live in the connection's frame, which stays
    // suspended (and alive) until the pool has run them.
    co_await asio::co_spawn(
        workers_.get_executor(),
        [&work]() -> asio::awaitable<void> {
          // The pool's threads are asio's: each names itself on its first request.
          thread_local const bool named = (NameThisThread("http-handler"), true);
          (void)named;
          work();
          co_return;
        },
        asio::use_awaitable);
  } else {
    work();
  }
  if (read != nullptr) ReleaseBody(req, *read);
  co_await AwaitLater(out);
}

std::optional<Response> Server::Impl::CallHook(
    const std::function<std::optional<Response>(Request&)>& hook, const char* failure,
    const Outcome& out, Request& req) {
  try {
    return hook(req);
  } catch (const std::exception& e) {
    if (opts_.logger) {
      opts_.logger->Error(failure,
                          {{"method", req.method}, {"route", out.route}, {"error", e.what()}});
    }
    return Response::Error(500, "internal server error");
  }
}

bool Server::Impl::TryFastPath(Outcome& out, Request& req) {
  const FastPath& fast = out.options->fast_path;
  if (!fast || req.body.size() > kMaxFastPathBody) return false;
  std::optional<Response> answered = CallHook(fast, "handler failed", out, req);
  if (!answered) return false;
  out.handler = nullptr;
  out.response = std::move(*answered);
  return true;
}

asio::awaitable<void> Server::Impl::AwaitLater(Outcome& out) {
  if (std::shared_ptr<PendingResponse> later = out.response.later) {
    // Wait, on this connection's strand and without a thread, for whoever took
    // the request's work to complete it: a timer that never fires by itself is
    // cancelled by the completion.
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                      asio::steady_timer::time_point::max());
    const bool waiting = later->OnComplete(
        [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    if (waiting) {
      error_code ec;
      co_await timer->async_wait(Redirect(ec));
    }
    out.response = later->Take();
  }
}

bool Server::Impl::Admit(Outcome& out, Request& req) {
  const Admission& admit = out.options->admit;
  if (!admit) return true;
  std::optional<Response> refusal = CallHook(admit, "admission failed", out, req);
  if (!refusal) return true;
  out.handler = nullptr;
  out.response = std::move(*refusal);
  return false;
}

asio::awaitable<Server::Impl::BodyRead> Server::Impl::ReadBody(
    beast::tcp_stream& stream, beast::flat_buffer& buffer,
    bhttp::request_parser<bhttp::buffer_body>& parser, const RouteOptions& route, Request& req) {
  BodyRead read;
  // A memory file is memory too: it is paid from a budget of its own.
  const bool memory_file = route.storage == BodyStorage::kSecretFile;
  read.budget = BodyBudget::Hold(memory_file   ? memory_spool_budget_
                                 : route.admit ? budget_
                                               : unadmitted_budget_);
  auto& msg = parser.get();
  const auto length = parser.content_length();
  const bool to_file = route.storage != BodyStorage::kMemory;
  if ((!to_file || memory_file) && length && !read.budget.Take(*length)) {
    read.refusal = Busy();
    co_return read;
  }
  if (to_file) {
    auto spool = Spool::Create(opts_.spool_dir, route.storage == BodyStorage::kSecretFile);
    if (!spool.ok()) {
      if (opts_.logger) {
        opts_.logger->Error("cannot spool a request body", {{"error", spool.status().message()}});
      }
      read.refusal = Response::Error(503, "the server cannot store uploads now; retry later");
      read.refusal->headers.emplace_back("Retry-After", "5");
      co_return read;
    }
    read.spool = std::make_unique<Spool>(std::move(spool).value());
  }
  parser.body_limit(route.max_body_bytes);  // for chunked bodies, which have no length up front

  error_code ec;
  auto expect = msg.find(bhttp::field::expect);
  if (expect != msg.end() &&
      EqualsIgnoreCase(std::string_view(expect->value().data(), expect->value().size()),
                       "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream.expires_after(opts_.write_timeout);
    co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                               Redirect(ec));
    if (ec) {
      read.gone = true;
      co_return read;
    }
  }

  std::string& body = req.body;
  if (!to_file && length) body.resize(*length);
  std::vector<char> scratch(to_file ? 64 * 1024 : 0);
  size_t filled = 0;  // bytes of `body` holding data
  stream.expires_after(opts_.body_timeout);
  while (!parser.is_done()) {
    char* into;
    size_t room;
    if (to_file) {
      into = scratch.data();
      room = scratch.size();
    } else {
      if (!length && body.size() - filled < 4096 && body.size() <= route.max_body_bytes) {
        // A chunked body: grow geometrically, each step paid from the budget.
        // One byte past the limit lets the parser report body_limit itself.
        size_t grown =
            std::min(std::max<size_t>(body.size() * 2, 64 * 1024), route.max_body_bytes + 1);
        if (!read.budget.Take(grown - body.size())) {
          read.refusal = Busy();
          co_return read;
        }
        body.resize(grown);
      }
      if (body.size() == filled) {
        read.refusal = TooLarge(route.max_body_bytes);
        co_return read;
      }
      into = body.data() + filled;
      room = body.size() - filled;
    }
    msg.body().data = into;
    msg.body().size = room;
    msg.body().more = true;
    // What the buffer holds is parsed in place (a small body comes with its
    // head); only what is still to come is read for.
    ec = {};
    bool read_more = true;
    if (buffer.size() > 0) {
      parser.eager(true);
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec == bhttp::error::need_more) {
        ec = {};
      } else {
        read_more = !ec && !parser.is_done();
      }
    }
    if (read_more) co_await bhttp::async_read(stream, buffer, parser, Redirect(ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t got = room - msg.body().size;
    if (to_file) {
      if (memory_file && !length && !read.budget.Take(got)) {  // chunked: paid as it comes
        read.refusal = Busy();
        co_return read;
      }
      if (Status w = read.spool->Append(std::string_view(scratch.data(), got)); !w.ok()) {
        if (opts_.logger) {
          opts_.logger->Error("cannot spool a request body", {{"error", w.message()}});
        }
        read.refusal = Response::Error(503, "the server cannot store uploads now; retry later");
        read.refusal->headers.emplace_back("Retry-After", "5");
        co_return read;
      }
    } else {
      filled += got;
    }
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        read.refusal = TooLarge(route.max_body_bytes);
      } else if (ec == bhttp::error::buffer_overflow) {
        read.refusal = Response::Error(
            400, "malformed request body: a chunk's size line or the trailer is longer than " +
                     std::to_string(buffer.max_size()) + " bytes");
      } else if (ec == beast::error::timeout || ec == bhttp::error::partial_message ||
                 ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
                 ec == asio::error::connection_reset) {
        read.gone = true;
      } else {
        read.refusal = Response::Error(400, "malformed request body: " + ec.message());
      }
      co_return read;
    }
  }
  if (to_file) {
    auto view = read.spool->Map();
    if (!view.ok()) {
      if (opts_.logger) {
        opts_.logger->Error("cannot map a spooled body", {{"error", view.status().message()}});
      }
      read.refusal = Response::Error(503, "the server cannot store uploads now; retry later");
      read.refusal->headers.emplace_back("Retry-After", "5");
      co_return read;
    }
    req.spooled_body = *view;
    read.large = true;
  } else {
    body.resize(filled);
    read.large = body.size() >= kLargeBody;
  }
  co_return read;
}

void Server::Impl::TrimHeapSoon() {
#ifdef __GLIBC__
  // One trim at a time is enough; a trim walks the heap and takes its lock.
  if (trim_pending_.exchange(true)) return;
  asio::post(workers_, [this] {
    ::malloc_trim(0);
    trim_pending_.store(false);
  });
#endif
}

bool Server::Impl::Shutdown(std::chrono::milliseconds drain_timeout) {
  std::vector<std::shared_ptr<Conn>> conns;
  bool started = false;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return true;
    shut_down_ = true;
    draining_ = true;
    stopping_.store(true);
    started = started_;
    conns.assign(conns_.begin(), conns_.end());
  }
  if (opts_.readiness) opts_.readiness->Set(Readiness::State::kDraining);
  if (started) {
    // On the acceptor's strand; the accept loop ends after this has run.
    asio::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
    });
  } else {
    error_code ec;  // nothing runs on the loop yet: close it here
    acceptor_.close(ec);
  }
  for (const auto& conn : conns) {
    asio::post(conn->executor, [conn] {
      if (conn->stream && conn->idle) conn->stream->cancel();
      // A streamed response would never finish by itself: end it now.
      if (conn->live) conn->live->Finish(ResponseStream::End::kShutdown);
    });
  }
  bool clean = true;
  {
    std::unique_lock lock(mu_);
    if (started_) {
      clean = drained_.wait_for(lock, drain_timeout, [this] { return conns_.empty(); });
    }
    if (!clean) {
      if (opts_.logger) {
        opts_.logger->Warn("drain timeout; dropping connections",
                           {{"connections", static_cast<int64_t>(conns_.size())}});
      }
      conns.assign(conns_.begin(), conns_.end());
    }
  }
  if (!clean) {
    // Dropped: their sockets close now; a connection waiting for its handler
    // ends once the handler has returned (its response cannot be written).
    for (const auto& conn : conns) {
      asio::post(conn->executor, [conn] {
        if (conn->stream) {
          error_code ec;
          conn->stream->socket().close(ec);
        }
      });
    }
  }
  {
    // Nothing of this server may stay on the shared loop: wait for the
    // connection and accept coroutines to end.
    std::unique_lock lock(mu_);
    drained_.wait(lock, [this] { return conns_.empty() && !accepting_; });
  }
  workers_.join();
  return clean;
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_) impl_->Shutdown(std::chrono::milliseconds(0));
}

Result<std::unique_ptr<Server>> Server::Listen(asio::io_context& loop, ServerOptions options,
                                               const Router& router) {
  auto impl = std::make_unique<Impl>(loop, std::move(options), router);
  ROOST_RETURN_IF_ERROR(impl->Init());
  ROOST_RETURN_IF_ERROR(impl->Bind());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::string Server::address() const {
  return impl_->address();
}
uint16_t Server::port() const {
  return impl_->port();
}
unsigned Server::handler_threads() const {
  return impl_->opts().handler_threads;
}
void Server::Start() {
  impl_->Start();
}
bool Server::Shutdown(std::chrono::milliseconds drain_timeout) {
  return impl_->Shutdown(drain_timeout);
}

}  // namespace roost::http
