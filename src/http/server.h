// The asynchronous HTTP/1.1 server behind `roost serve`.
//
// The server runs on an event loop (io_context) it is given and does not own:
// the process's one loop, run by its own threads (server/event_loop.h), which
// other listeners share. Each connection is a coroutine on its own strand. Per
// connection the server:
//  - keeps the connection alive between requests (HTTP/1.1 keep-alive);
//  - bounds every phase with a timeout: `idle_timeout` while waiting for the
//    first byte of the next request, `header_timeout` for the rest of the request
//    head once it started (so a client trickling header bytes cannot hold a
//    socket), `body_timeout` for the body and `write_timeout` for the response;
//  - matches the route on the request head, then, before reading any byte of
//    the body (and before answering "Expect: 100-continue"): runs the route's
//    Admission (authentication: a refusal is sent without reading the body),
//    refuses a body over the route's max_body_bytes with 413 (router.h
//    RouteOptions; only once admitted, so a stranger never learns the limit;
//    at once on a route without Admission), and takes the body's size from a budget shared by all
//    in-memory bodies in flight (`max_body_bytes_in_flight`; past it, 503 with Retry-After;
//    bodies of routes without an Admission, which anyone may send, are charged to a budget of
//    the same size of their own, so strangers cannot spend what authenticated clients need;
//    memory-file bodies to `max_memory_spool_bytes`). A
//    connection whose body was not read is closed after the answer. Bodies of BodyStorage::kFile
//    routes go to an unnamed temporary file in `spool_dir` instead of memory;
//  - after a request whose body was large, gives freed heap back to the system
//    (malloc_trim) so that one big upload does not keep the process large;
//  - adds X-Content-Type-Options: nosniff, a strict Content-Security-Policy
//    and Referrer-Policy: no-referrer to every response that does not set its own;
//  - answers every error with a JSON body {"message": ..., "errors": [...]}:
//    400 malformed request or path, 404 unknown path, 405 wrong method (with an
//    Allow header), 413 body too large, 431 header too large, 500 when a handler
//    throws (the server keeps running), 503 when the body budget is spent;
//  - logs one JSON line per request (method, path without query, status,
//    duration, peer) and never bodies, query strings or header values;
//  - counts requests in roost_http_requests_total{method,route,code},
//    roost_http_request_duration_seconds{method,route} (histogram),
//    roost_http_connections_open and roost_http_connections_total.
//
// A route added with Runs::kWorkers (router.h) runs on a separate pool of
// `handler_threads` threads; the connection's coroutine waits for it without
// holding an event-loop thread, so a handler that blocks on the database or
// hashes a password delays only its own request. Routes added with
// Runs::kEventLoop run inline and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "http/router.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace boost::asio {
class io_context;
}

namespace roost::http {

// What /readyz reports. The server moves it to kDraining when Shutdown starts.
class Readiness {
 public:
  enum class State { kStarting, kReady, kDraining };
  void Set(State s) { state_.store(s, std::memory_order_release); }
  State Get() const { return state_.load(std::memory_order_acquire); }
  bool IsReady() const { return Get() == State::kReady; }

 private:
  std::atomic<State> state_{State::kStarting};
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // IP literal or a name resolved at Listen()
  uint16_t port = 8080;            // 0 = an ephemeral port; see Server::address()
  unsigned handler_threads = 0;    // pool for Runs::kWorkers; 0 = max(4, 2 × CPUs)
  // How many threads run the loop given to Listen; 0 = not known. With one,
  // connections run on the loop itself rather than on a strand each (a
  // strand's locking and bookkeeping on every step of every request).
  unsigned loop_threads = 0;
  // In-memory request bodies being read or handled, all connections together;
  // a body that would pass it gets 503 + Retry-After. Spooled bodies do not count.
  size_t max_body_bytes_in_flight = 64 * 1024 * 1024;
  // Bodies spooled to memory files (BodyStorage::kSecretFile), all connections
  // together; a body that would pass it gets 503 + Retry-After.
  size_t max_memory_spool_bytes = 256 * 1024 * 1024;
  std::string spool_dir;                // BodyStorage::kFile bodies; "" = $TMPDIR or /tmp
  size_t max_header_bytes = 16 * 1024;  // larger request heads get 431
  size_t max_connections = 10000;       // further connections are closed at once
  // Open connections from one client address (an IPv4 address, or an IPv6
  // /64: one host's share), so that one client cannot take them all; further
  // ones are closed at once. Loopback clients are not limited: a reverse
  // proxy on the same host brings every client's requests from there.
  size_t max_connections_per_address = 1000;
  bool limit_loopback_clients = false;  // tests: count loopback clients too
  // Behind a reverse proxy on the same host: a request from a loopback peer
  // that carries X-Forwarded-For is Request::remote = the address its last
  // entry names (the proxy's own client, which the proxy appended), so that
  // what is limited per client (failed logins) is each client's, not the
  // proxy's. Any other peer's X-Forwarded-For is ignored: it is the client's word.
  bool trust_forwarded_for = false;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  // Sent on every response whose handler sets none; "" = ContentSecurityPolicy().
  std::string content_security_policy;
  // Optional collaborators; when set they must outlive the server.
  Readiness* readiness = nullptr;
  observe::Logger* logger = nullptr;
  observe::MetricsRegistry* metrics = nullptr;
};

// The strict policy the API and the console's files are served with: scripts,
// styles, connections and images from the server's own origin only (no
// inline script or style, no framing); `image_origin` ("https://tiles.example.org",
// from a trusted setting, not checked here) is allowed as an image source too.
std::string ContentSecurityPolicy(std::string_view image_origin = {});

class Server {
 public:
  // Binds and listens on `loop` (nothing is served until Start). `loop` and
  // `router` must outlive the server. Fails with IoError naming the address when
  // it cannot bind, or with the registry's error when the server's metrics
  // cannot be registered.
  static Result<std::unique_ptr<Server>> Listen(boost::asio::io_context& loop,
                                                ServerOptions options, const Router& router);
  ~Server();  // Shutdown with no drain time if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound address, "127.0.0.1:43125" or "[::1]:8080".
  std::string address() const;
  uint16_t port() const;
  unsigned handler_threads() const;

  // Starts accepting connections; they are served while the loop runs.
  void Start();
  // Graceful stop: stops accepting, closes idle keep-alive connections, lets
  // requests already started finish (their responses carry Connection: close).
  // Connections still open after `drain_timeout` are dropped (closed; a handler
  // still running finishes first). Returns, once nothing of the server runs on
  // the loop any more, true when every connection finished in time. The loop
  // must keep running until then. Call from a non-loop thread; later calls
  // return at once.
  bool Shutdown(std::chrono::milliseconds drain_timeout);

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roost::http
