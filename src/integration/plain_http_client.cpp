#include "integration/plain_http_client.h"

#include "integration/resolved_names.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace roost::integration {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// As libcurl's defaults: its connection cache, its DNS cache's lifetime. A
// connection idle longer than kMaxIdleTime is closed rather than reused.
constexpr size_t kMaxIdleConnections = 256;
constexpr size_t kMaxIdlePerHost = 64;
constexpr auto kMaxIdleTime = std::chrono::seconds(60);
constexpr auto kResolvedLifetime = std::chrono::seconds(60);
// Names whose answers are kept: one per host an operator's callbacks name.
constexpr size_t kMaxResolvedNames = 4'096;
constexpr size_t kMaxResolvers = 64;
constexpr size_t kMaxBufferedBytes = 32 * 1024;

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
}

bool IsTargetChar(char c) {
  return c > 0x20 && c < 0x7f;
}

bool HasHeader(const HttpRequest& request, std::string_view lowercase_name) {
  return std::any_of(request.headers.begin(), request.headers.end(), [&](const auto& header) {
    const std::string& name = header.first;
    return name.size() == lowercase_name.size() &&
           std::equal(name.begin(), name.end(), lowercase_name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

// A path with a "." or ".." segment: libcurl removes them (RFC 3986, 5.2.4).
bool HasDotSegment(std::string_view path) {
  for (size_t at = 0; at < path.size();) {
    const size_t next = std::min(path.find('/', at + 1), path.size());
    const std::string_view segment = path.substr(at + 1, next - at - 1);
    if (segment == "." || segment == "..") return true;
    at = next;
  }
  return false;
}

// A failure that means a kept-alive connection was closed by the server
// before it read the request.
bool IsStale(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

std::optional<PlainHttpTarget> ParsePlainHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const size_t end = url.find_first_of("/?#");
  const std::string_view authority = url.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
  PlainHttpTarget t;
  std::string_view host, port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
    // Only what an IPv6 address is written with: the parser below reads up to
    // a NUL, and a zone ('%') names an interface.
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
        })) {
      return std::nullopt;
    }
    boost::system::error_code ec;
    const auto v6 = asio::ip::make_address_v6(std::string(host), ec);
    if (ec || v6.scope_id() != 0 || host.find('%') != std::string_view::npos) return std::nullopt;
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsNameChar)) return std::nullopt;
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return std::nullopt;
    t.port = static_cast<uint16_t>(n);
  }
  rest = rest.substr(0, rest.find('#'));
  if (!std::all_of(rest.begin(), rest.end(), IsTargetChar)) return std::nullopt;
  if (HasDotSegment(rest.substr(0, rest.find('?')))) return std::nullopt;
  t.host = std::string(host);
  t.host_header = authority.starts_with('[') ? "[" + t.host + "]" : t.host;
  if (t.port != 80) t.host_header += ":" + std::to_string(t.port);
  if (rest.empty()) {
    t.target = "/";
  } else if (rest.front() == '?') {
    t.target = "/" + std::string(rest);
  } else {
    t.target = std::string(rest);
  }
  return t;
}

class PlainHttpClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& loop, HttpSenderOptions options)
      : loop_(loop), options_(std::move(options)) {}

  void Send(PlainHttpTarget target, HttpRequest request, std::chrono::milliseconds timeout,
            Done done) {
    auto t = std::make_shared<Transfer>(shared_from_this(), asio::make_strand(loop_));
    t->start = Clock::now();
    t->timeout = std::max(timeout, std::chrono::milliseconds(1));
    t->deadline = t->start + t->timeout;
    t->done = std::move(done);
    t->key = target.host + " " + std::to_string(target.port);
    t->target = std::move(target);
    const bool sendable = BuildWire(request, *t);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      active_.insert(t);
    }
    // Never from inside Send: the first step is always posted.
    asio::post(t->exec, [t, sendable] {
      if (!sendable) {
        t->Finish(kStatusOther, "a request header cannot be sent");
        return;
      }
      t->Begin();
    });
  }

  void Close() {
    std::vector<std::unique_ptr<Connection>> idle;
    std::vector<std::pair<std::shared_ptr<Transfer>, asio::any_io_executor>> active;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      for (auto& [key, connections] : idle_) {
        for (auto& c : connections) idle.push_back(std::move(c));
      }
      idle_.clear();
      idle_count_ = 0;
      resolving_.clear();
      pending_names_.clear();
      // Each with the strand it runs on now (exec changes only under mu_).
      for (const auto& t : active_) active.emplace_back(t, t->exec);
      active_.clear();  // the posted aborts hold them now
    }
    for (auto& c : idle) {
      boost::system::error_code ignored;
      c->stream.socket().close(ignored);
    }
    for (auto& entry : active) {
      asio::post(entry.second, [t = entry.first] { t->Abort(); });
    }
  }

 private:
  struct Connection {
    explicit Connection(const asio::any_io_executor& exec) : stream(exec) {}
    beast::tcp_stream stream;
    // Bounded: Beast limits an answer's header (8 KiB), but not a chunk's
    // extensions nor the trailer, which a hostile server could send forever.
    beast::flat_buffer buffer{kMaxBufferedBytes};
    Clock::time_point idle_since;
  };

  // One send. Its steps run one at a time, on `exec`: the strand of its
  // connection (a new connection is made on the transfer's own strand, and a
  // kept-alive one brings its own).
  struct Transfer : std::enable_shared_from_this<Transfer> {
    Transfer(std::shared_ptr<Impl> c, asio::any_io_executor e)
        : client(std::move(c)), exec(std::move(e)) {}

    std::shared_ptr<Impl> client;
    asio::any_io_executor exec;  // changed only under client->mu_
    PlainHttpTarget target;
    std::string key;   // the kept-alive connections it may take: host and port
    std::string wire;  // the request as sent
    Done done;
    Clock::time_point start, deadline;
    std::chrono::milliseconds timeout{0};
    std::unique_ptr<Connection> connection;
    bool reused = false;   // the connection was kept alive from an earlier send
    bool retried = false;  // sent again on a new connection once already
    bool interim = false;  // an interim answer (1xx) came: the request was received
    bool finished = false;
    bool resolving = false;
    std::optional<asio::steady_timer> resolve_timer;
    std::optional<http::response_parser<http::buffer_body>> parser;
    std::array<char, 4096> chunk;  // the answer's body passes through here
    HttpOutcome outcome;

    void Begin() {
      if (finished) return;
      if (client->TakeIdle(*this)) {
        reused = true;
        // The connection's strand from here on.
        asio::dispatch(exec, [self = shared_from_this()] { self->Write(); });
        return;
      }
      Open();
    }

    void Open() {
      reused = false;
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(target.host, ec);
      if (!ec) {
        Connect({tcp::endpoint(address, target.port)});
        return;
      }
      resolving = true;
      resolve_timer.emplace(exec);
      resolve_timer->expires_at(deadline);
      resolve_timer->async_wait([self = shared_from_this()](boost::system::error_code waited) {
        if (waited || !self->resolving) return;
        self->resolving = false;
        self->TimedOut();
      });
      if (auto cached = client->Resolve(target.host, target.port, weak_from_this())) {
        Resolved(0, std::move(*cached));
      }
    }

    // The name's addresses, or getaddrinfo's error.
    void Resolved(int error, std::vector<tcp::endpoint> found) {
      if (!resolving) return;
      resolving = false;
      resolve_timer->cancel();
      if (error != 0) {
        Finish(kStatusCannotResolve,
               "could not resolve host " + target.host + ": " + gai_strerror(error));
        return;
      }
      Connect(found);
    }

    void Connect(const std::vector<tcp::endpoint>& found) {
      if (finished) return;
      std::vector<tcp::endpoint> allowed;
      for (const tcp::endpoint& e : found) {
        if (!client->options_.refuse_private_destinations || IsPublicAddress(e.data())) {
          allowed.push_back(e);
        }
      }
      if (allowed.empty()) {
        if (!found.empty()) {
          Finish(kStatusDestinationNotAllowed, "destination address not allowed");
        } else {
          Finish(kStatusCannotResolve, "could not resolve host " + target.host);
        }
        return;
      }
      connection = std::make_unique<Connection>(exec);
      connection->stream.expires_at(deadline);
      connection->stream.async_connect(
          allowed, [self = shared_from_this()](boost::system::error_code ec, const tcp::endpoint&) {
            if (self->finished) return;
            if (ec == beast::error::timeout) {
              self->TimedOut();
              return;
            }
            if (ec) {
              self->Finish(kStatusCannotConnect, "could not connect to " + self->target.host +
                                                     " port " + std::to_string(self->target.port) +
                                                     ": " + ec.message());
              return;
            }
            boost::system::error_code ignored;
            self->connection->stream.socket().set_option(tcp::no_delay(true), ignored);
            self->Write();
          });
    }

    void Write() {
      if (finished) return;
      connection->stream.expires_at(deadline);
      asio::async_write(connection->stream, asio::buffer(wire),
                        [self = shared_from_this()](boost::system::error_code ec, size_t) {
                          if (self->finished) return;
                          if (ec == beast::error::timeout) {
                            self->TimedOut();
                          } else if (ec && self->reused && !self->retried && IsStale(ec)) {
                            self->Retry();
                          } else if (ec) {
                            self->Finish(kStatusOther,
                                         "could not send the request: " + ec.message());
                          } else {
                            self->ReadHeader();
                          }
                        });
    }

    void ReadHeader() {
      parser.emplace();
      parser->body_limit(boost::none);  // cut by ReadBody, at max_answer_bytes
      connection->stream.expires_at(deadline);
      http::async_read_header(
          connection->stream, connection->buffer, *parser,
          [self = shared_from_this()](boost::system::error_code ec, size_t) {
            if (self->finished) return;
            if (ec == beast::error::timeout) {
              self->TimedOut();
            } else if (ec && self->reused && !self->retried && !self->interim &&
                       !self->parser->got_some() && IsStale(ec)) {
              self->Retry();
            } else if (ec) {
              self->Finish(kStatusOther, "could not read the answer: " + ec.message());
            } else if (self->parser->get().result_int() / 100 == 1 &&
                       self->parser->get().result_int() != 101) {
              self->interim = true;
              self->ReadHeader();  // an interim answer (100 Continue): the real one follows
            } else {
              self->ReadBody();
            }
          });
    }

    void ReadBody() {
      if (parser->is_done()) {
        Complete();
        return;
      }
      parser->get().body().data = chunk.data();
      parser->get().body().size = chunk.size();
      connection->stream.expires_at(deadline);
      http::async_read(connection->stream, connection->buffer, *parser,
                       [self = shared_from_this()](boost::system::error_code ec, size_t) {
                         if (self->finished) return;
                         if (ec == http::error::need_buffer) ec = {};
                         if (ec == beast::error::timeout) {
                           self->TimedOut();
                           return;
                         }
                         if (ec) {
                           self->Finish(kStatusOther, "could not read the answer: " + ec.message());
                           return;
                         }
                         const size_t n = self->chunk.size() - self->parser->get().body().size;
                         std::string& body = self->outcome.body;
                         const size_t max = self->client->options_.max_answer_bytes;
                         if (body.size() + n > max) {
                           body.append(self->chunk.data(), max - body.size());
                           self->Finish(self->parser->get().result_int(),
                                        "answer cut at " + std::to_string(max) + " bytes");
                           return;
                         }
                         body.append(self->chunk.data(), n);
                         self->ReadBody();
                       });
    }

    void Complete() {
      const int status = parser->get().result_int();
      // Bytes after the answer would be an answer to nothing: not reused then;
      // nor after 101, which switches to another protocol.
      if (parser->keep_alive() && connection->buffer.size() == 0 && status != 101) {
        client->PutIdle(key, std::move(connection));
      }
      Finish(status, "");
    }

    // The kept-alive connection was closed by the server: once more, on a new one.
    void Retry() {
      retried = true;
      CloseConnection();
      Open();
    }

    void TimedOut() {
      Finish(kStatusTimeout,
             "no complete answer within " + std::to_string(timeout.count()) + " ms");
    }

    // Only between steps: no operation of the connection is in flight.
    void CloseConnection() {
      if (connection == nullptr) return;
      boost::system::error_code ignored;
      connection->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      connection->stream.close();
      connection.reset();
    }

    // Close() came: the step in flight ends at once. Its handler still holds
    // the transfer, and so the connection, whose buffer the step writes to.
    void Abort() {
      if (finished) return;
      finished = true;
      resolving = false;
      if (resolve_timer) resolve_timer->cancel();
      if (connection != nullptr) connection->stream.close();
      client->Forget(this);
    }

    void Finish(int status, std::string info) {
      if (finished) return;
      finished = true;
      if (resolve_timer) resolve_timer->cancel();
      CloseConnection();  // unless Complete kept it
      outcome.status = status;
      outcome.info = std::move(info);
      outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!client->Forget(this)) return;  // closed meanwhile
      done(std::move(outcome));
    }
  };

  // The request as sent: the method, target and Host, libcurl's User-Agent and
  // Accept, the callback's headers in order, and Content-Length for a body.
  bool BuildWire(const HttpRequest& request, Transfer& t) const {
    if (!HeaderCanBeSent(request.method, "")) return false;
    std::string& w = t.wire;
    w.reserve(256 + request.body.size());
    w += request.method;
    w += ' ';
    w += t.target.target;
    w += " HTTP/1.1\r\nHost: ";
    w += t.target.host_header;
    w += "\r\n";
    // As libcurl: the callback's own User-Agent or Accept replaces the default.
    if (!HasHeader(request, "user-agent")) w += "User-Agent: " + options_.user_agent + "\r\n";
    if (!HasHeader(request, "accept")) w += "Accept: */*\r\n";
    for (const auto& [name, value] : request.headers) {
      if (!HeaderCanBeSent(name, value)) return false;
      w += name;
      w += ": ";
      w += value;
      w += "\r\n";
    }
    if (request.method != "GET") {
      w += "Content-Length: ";
      w += std::to_string(request.body.size());
      w += "\r\n";
    }
    w += "\r\n";
    if (request.method != "GET") w += request.body;
    return true;
  }

  // Gives `t` a kept-alive connection to its host, if there is one, and moves
  // it to that connection's strand. Under mu_, so that Close() sees both.
  bool TakeIdle(Transfer& t) {
    std::vector<std::unique_ptr<Connection>> stale;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return false;
      auto it = idle_.find(t.key);
      while (it != idle_.end() && !it->second.empty() && t.connection == nullptr) {
        // The most recently used first: the least likely to have been closed.
        std::unique_ptr<Connection> c = std::move(it->second.back());
        it->second.pop_back();
        --idle_count_;
        if (Clock::now() - c->idle_since < kMaxIdleTime) {
          t.exec = c->stream.get_executor();
          t.connection = std::move(c);
        } else {
          stale.push_back(std::move(c));
        }
      }
      // Hosts may be many (a callback's URL may name one per device).
      if (it != idle_.end() && it->second.empty()) idle_.erase(it);
    }
    for (auto& c : stale) {
      boost::system::error_code ignored;
      c->stream.socket().close(ignored);
    }
    return t.connection != nullptr;
  }

  // Keeps `c` for its host's next send. A full pool makes room by the
  // connection idle longest (as libcurl's cache does): closing the newcomer
  // instead, hosts called once held the pool for good and a busy host got a
  // new connection for every send. Those idle past kMaxIdleTime are closed
  // here too, at most once a second, since only their own host would look.
  void PutIdle(const std::string& key, std::unique_ptr<Connection> c) {
    std::vector<std::unique_ptr<Connection>> gone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) {
        const auto now = Clock::now();
        if (now - last_sweep_ >= std::chrono::seconds(1)) {
          last_sweep_ = now;
          for (auto it = idle_.begin(); it != idle_.end();) {
            auto& held = it->second;  // oldest first
            size_t stale = 0;
            while (stale < held.size() && now - held[stale]->idle_since >= kMaxIdleTime) ++stale;
            for (size_t i = 0; i < stale; ++i) gone.push_back(std::move(held[i]));
            held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(stale));
            idle_count_ -= stale;
            it = held.empty() ? idle_.erase(it) : std::next(it);
          }
        }
        auto& mine = idle_[key];
        if (mine.size() >= kMaxIdlePerHost) {
          gone.push_back(std::move(mine.front()));
          mine.erase(mine.begin());
          --idle_count_;
        }
        if (idle_count_ >= kMaxIdleConnections) {
          auto oldest = idle_.end();
          for (auto it = idle_.begin(); it != idle_.end(); ++it) {
            if (!it->second.empty() &&
                (oldest == idle_.end() ||
                 it->second.front()->idle_since < oldest->second.front()->idle_since)) {
              oldest = it;
            }
          }
          if (oldest != idle_.end()) {
            gone.push_back(std::move(oldest->second.front()));
            oldest->second.erase(oldest->second.begin());
            --idle_count_;
            if (oldest->second.empty() && oldest->first != key) idle_.erase(oldest);
          }
        }
        c->idle_since = now;
        idle_[key].push_back(std::move(c));
        ++idle_count_;
      }
    }
    for (auto& g : gone) {
      boost::system::error_code ignored;
      g->stream.socket().close(ignored);
    }
    if (c != nullptr) {
      boost::system::error_code ignored;
      c->stream.socket().close(ignored);
    }
  }

  // False when the client was closed: the transfer's `done` is not called.
  bool Forget(Transfer* t) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = active_.find(t->shared_from_this());
    if (it != active_.end()) active_.erase(it);
    return !closed_;
  }

  // The name's addresses when they are known (kept from an earlier lookup);
  // else nullopt, and `t` gets them, or getaddrinfo's error, through
  // Transfer::Resolved once a resolver thread has them, unless it is gone or
  // the client closed meanwhile.
  std::optional<std::vector<tcp::endpoint>> Resolve(const std::string& host, uint16_t port,
                                                    std::weak_ptr<Transfer> t) {
    std::vector<asio::ip::address> addresses;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::optional<ResolvedNames::Addresses> cached = resolved_.Find(host, Clock::now());
      if (!cached) {
        auto& waiting = resolving_[host];
        waiting.push_back(Waiter{port, std::move(t)});
        if (waiting.size() == 1) {
          pending_names_.push_back(host);
          StartResolvers();
        }
        return std::nullopt;
      }
      addresses = std::move(*cached);
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& a : addresses) endpoints.emplace_back(a, port);
    return endpoints;
  }

  // With mu_ held. A name whose transfers have all ended meanwhile is not
  // looked up.
  void StartResolvers() {
    while (!closed_ && resolvers_ < kMaxResolvers && !pending_names_.empty()) {
      std::string host = std::move(pending_names_.front());
      pending_names_.pop_front();
      auto it = resolving_.find(host);
      if (it == resolving_.end()) continue;
      std::erase_if(it->second, [](const Waiter& w) { return w.transfer.expired(); });
      if (it->second.empty()) {
        resolving_.erase(it);
        continue;
      }
      ++resolvers_;
      std::thread([self = shared_from_this(), host = std::move(host)] {
        self->Lookup(host);
      }).detach();
    }
  }

  void Lookup(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    std::vector<asio::ip::address> addresses;
    for (addrinfo* a = error == 0 ? list : nullptr; a != nullptr; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        addresses.emplace_back(asio::ip::address_v4(ntohl(v4->sin_addr.s_addr)));
      } else if (a->ai_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
        asio::ip::address_v6::bytes_type bytes;
        std::copy(std::begin(v6->sin6_addr.s6_addr), std::end(v6->sin6_addr.s6_addr),
                  bytes.begin());
        addresses.emplace_back(asio::ip::address_v6(bytes, v6->sin6_scope_id));
      }
    }
    if (list != nullptr) ::freeaddrinfo(list);
    if (error == 0 && addresses.empty()) error = EAI_NONAME;
    // Under mu_ to the end: once Close() has returned, nothing is posted to
    // the loop (which may be gone), and no transfer is released here.
    std::lock_guard<std::mutex> lock(mu_);
    --resolvers_;
    if (closed_) return;
    auto it = resolving_.find(host);
    if (it != resolving_.end()) {
      for (const Waiter& w : it->second) {
        std::shared_ptr<Transfer> t = w.transfer.lock();
        if (t == nullptr) continue;
        std::vector<tcp::endpoint> endpoints;
        for (const auto& a : addresses) endpoints.emplace_back(a, w.port);
        asio::post(t->exec, [t, error, endpoints = std::move(endpoints)]() mutable {
          t->Resolved(error, std::move(endpoints));
        });
      }
      resolving_.erase(it);
    }
    if (error == 0) resolved_.Put(host, std::move(addresses), Clock::now());
    StartResolvers();
  }

  struct Waiter {
    uint16_t port;
    std::weak_ptr<Transfer> transfer;
  };

  asio::io_context& loop_;
  const HttpSenderOptions options_;
  std::mutex mu_;
  bool closed_ = false;                                   // guarded by mu_
  std::unordered_set<std::shared_ptr<Transfer>> active_;  // guarded by mu_
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;  // by mu_
  size_t idle_count_ = 0;                                         // guarded by mu_
  Clock::time_point last_sweep_;                                  // guarded by mu_
  ResolvedNames resolved_{kMaxResolvedNames, kResolvedLifetime};  // guarded by mu_
  std::map<std::string, std::vector<Waiter>> resolving_;          // guarded by mu_
  std::deque<std::string> pending_names_;  // to resolve, once a resolver is free; by mu_
  size_t resolvers_ = 0;                   // threads resolving; guarded by mu_
};

PlainHttpClient::PlainHttpClient(boost::asio::io_context& loop, HttpSenderOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}

PlainHttpClient::~PlainHttpClient() {
  Close();
}

void PlainHttpClient::Send(PlainHttpTarget target, HttpRequest request,
                           std::chrono::milliseconds timeout, Done done) {
  impl_->Send(std::move(target), std::move(request), timeout, std::move(done));
}

void PlainHttpClient::Close() {
  impl_->Close();
}

}  // namespace roost::integration
