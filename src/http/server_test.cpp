// In-process tests of the HTTP server over real TCP on 127.0.0.1, with a raw
// socket client so that malformed and partial requests can be sent.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http/ops.h"

namespace roost::http {
namespace {

using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::string head;
  std::string body;

  std::string Header(std::string_view name) const {
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      size_t end = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, end - pos - 2);
      size_t colon = line.find(':');
      if (colon == name.size() && ::strncasecmp(line.data(), name.data(), colon) == 0) {
        size_t v = line.find_first_not_of(' ', colon + 1);
        return v == std::string::npos ? "" : line.substr(v);
      }
      pos = end;
    }
    return "";
  }
};

// The path /proc/self/maps gives for the mapping that holds `p` ("" if none).
std::string MappingOf(const void* p) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || at < lo || at >= hi) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? std::string() : line.substr(slash);
  }
  return "";
}

class Client {
 public:
  // From `source` (another loopback address, such as 127.0.0.2, stands for
  // another client host); by default from the one the kernel picks.
  explicit Client(uint16_t port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &from.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
        throw std::runtime_error("bind failed");
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~Client() { ::close(fd_); }

  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response (a 1xx one too); nullopt when the connection closes or
  // nothing arrives within `timeout`.
  std::optional<RawResponse> Read(bool head_request = false,
                                  std::chrono::milliseconds timeout = 5000ms) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(timeout)) return std::nullopt;
    }
    RawResponse r;
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    if (r.head.rfind("HTTP/1.", 0) != 0 || r.head.size() < 12) return std::nullopt;
    r.status = std::stoi(r.head.substr(9, 3));
    std::string length = r.Header("Content-Length");
    size_t want = head_request || length.empty() ? 0 : std::stoul(length);
    while (buf_.size() < want) {
      if (!Fill(timeout)) return std::nullopt;
    }
    r.body = buf_.substr(0, want);
    buf_.erase(0, want);
    return r;
  }

  RawResponse Get(std::string_view path) {
    Send("GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n\r\n");
    auto r = Read();
    if (!r) throw std::runtime_error("no response");
    return *r;
  }

  // Reads until what arrived holds `needle`; returns everything read so far
  // (and forgets it), or nullopt when it does not come within `timeout`.
  std::optional<std::string> ReadUntil(std::string_view needle,
                                       std::chrono::milliseconds timeout = 5000ms) {
    while (buf_.find(needle) == std::string::npos) {
      if (!Fill(timeout)) return std::nullopt;
    }
    std::string all;
    all.swap(buf_);
    return all;
  }

  // True when the server closes the connection within `timeout`.
  bool ClosedWithin(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        char c[4096];
        ssize_t n = ::recv(fd_, c, sizeof c, 0);
        if (n <= 0) return true;
      }
    }
    return false;
  }

 private:
  bool Fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

// 8 MiB that no prefix or shift of itself matches: every piece is numbered.
std::string BigBody() {
  std::string body;
  for (int i = 0; body.size() < 8 * 1024 * 1024; ++i) body += std::to_string(i) + ",";
  return body;
}

// The event loop a server runs on, as the process provides it: an io_context
// run by `threads` threads until destroyed.
class Loop {
 public:
  explicit Loop(unsigned threads) : ioc_(static_cast<int>(threads)), work_(ioc_.get_executor()) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~Loop() {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context& context() { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions opts = {}, unsigned loop_threads = 2) {
    ASSERT_TRUE(RegisterProcessMetrics(metrics).ok());
    ASSERT_TRUE(AddOperationalRoutes(router, metrics, readiness).ok());
    ASSERT_TRUE(router
                    .Add("GET", "/boom",
                         [](const Request&) -> Response { throw std::runtime_error("kaboom"); })
                    .ok());
    // A streamed response; the test produces its pieces through `streams`.
    RouteOptions streamed;
    streamed.runs = Runs::kWorkers;
    ASSERT_TRUE(router
                    .Add(
                        "GET", "/stream",
                        [this](const Request&) {
                          auto stream = std::make_shared<ResponseStream>(stream_bound);
                          std::lock_guard<std::mutex> lock(streams_mu);
                          streams.push_back(stream);
                          return Response::Stream(stream);
                        },
                        streamed)
                    .ok());
    // Who the server takes the client to be.
    ASSERT_TRUE(
        router.Add("GET", "/whoami", [](const Request& r) { return Response::Text(200, r.remote); })
            .ok());
    // A body far larger than a socket's send buffer, with a policy of its own.
    ASSERT_TRUE(router
                    .Add("GET", "/big",
                         [](const Request&) {
                           Response r = Response::Text(200, BigBody());
                           r.headers.emplace_back("Content-Security-Policy", "sandbox");
                           return r;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("POST", "/nothing",
                         [](const Request&) {
                           // A body and framing fields a 204 must not carry.
                           Response r;
                           r.status = 204;
                           r.content_type.clear();
                           r.body = "not sent";
                           r.headers.emplace_back("Content-Length", "8");
                           r.headers.emplace_back("connection", "close");
                           r.headers.emplace_back("X-Split", "a\r\nInjected: yes");
                           r.headers.emplace_back("X-Kept", "yes");
                           // Not sent, so the server's own is.
                           r.headers.emplace_back("Referrer-Policy", "a\r\nb");
                           return r;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("GET", "/slow",
                         [](const Request&) {
                           std::this_thread::sleep_for(400ms);
                           return Response::Json(200, "{\"slow\":true}");
                         })
                    .ok());
    RouteOptions items;
    items.max_body_bytes = items_limit;
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/items/{id}",
                        [](const Request& r) {
                          return Response::Text(201, std::string(r.Param("id")) + "|" +
                                                         r.QueryParam("q").value_or("-") + "|" +
                                                         std::to_string(r.body.size()));
                        },
                        items)
                    .ok());
    // Admitted only with "X-Key: open"; the handler echoes what the admission left.
    RouteOptions guarded;
    guarded.runs = Runs::kWorkers;
    guarded.max_body_bytes = 8 * 1024 * 1024;
    guarded.admit = [this](Request& r) -> std::optional<Response> {
      admissions.fetch_add(1);
      admission_saw_body.store(r.body.size());
      if (r.Header("X-Key") == std::optional<std::string_view>("boom")) {
        throw std::runtime_error("admission kaboom");
      }
      if (r.Header("X-Key") != std::optional<std::string_view>("open")) {
        return Response::Error(401, "no key");
      }
      r.admitted = std::string("friend");
      return std::nullopt;
    };
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/guarded",
                        [this](const Request& r) {
                          handled.fetch_add(1);
                          return Response::Text(200, std::any_cast<std::string>(r.admitted) + "|" +
                                                         std::to_string(r.body.size()));
                        },
                        guarded)
                    .ok());
    // Answered on the event loop when the request carries "X-Fast: yes" (a
    // Later response, completed by another thread, with "X-Fast: later");
    // otherwise it declines and the handler answers on the workers.
    RouteOptions fast;
    fast.runs = Runs::kWorkers;
    fast.max_body_bytes = 1024 * 1024;
    fast.fast_path = [this](Request& r) -> std::optional<Response> {
      fast_tries.fetch_add(1);
      auto mode = r.Header("X-Fast");
      if (mode == std::optional<std::string_view>("yes")) {
        return Response::Text(200, "fast|" + std::to_string(r.body.size()));
      }
      if (mode == std::optional<std::string_view>("boom")) throw std::runtime_error("fast kaboom");
      if (mode == std::optional<std::string_view>("later")) {
        auto pending = std::make_shared<PendingResponse>();
        std::thread([pending, n = r.body.size()] {
          std::this_thread::sleep_for(20ms);
          pending->Complete(Response::Text(200, "later|" + std::to_string(n)));
        }).detach();
        return Response::Later(pending);
      }
      return std::nullopt;
    };
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/fast",
                        [](const Request& r) {
                          return Response::Text(200, "slow|" + std::to_string(r.body.size()));
                        },
                        fast)
                    .ok());
    RouteOptions upload;
    upload.runs = Runs::kWorkers;
    upload.max_body_bytes = 64 * 1024 * 1024;
    upload.storage = BodyStorage::kFile;
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/upload",
                        [](const Request& r) {
                          std::string_view b = r.body_view();
                          uint64_t sum = 0;
                          for (char c : b) sum = sum * 31 + static_cast<unsigned char>(c);
                          return Response::Text(200, std::to_string(b.size()) + "|" +
                                                         std::to_string(r.body.size()) + "|" +
                                                         std::to_string(sum));
                        },
                        upload)
                    .ok());
    // The same in a memory file: answers what backs the body's mapping.
    RouteOptions secret_upload = upload;
    secret_upload.storage = BodyStorage::kSecretFile;
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/secret-upload",
                        [](const Request& r) {
                          return Response::Text(200, std::to_string(r.body_view().size()) + "|" +
                                                         MappingOf(r.body_view().data()));
                        },
                        secret_upload)
                    .ok());
    ASSERT_TRUE(router
                    .Add(
                        "GET", "/blocking",
                        [this](const Request&) {
                          blocked.fetch_add(1);
                          gate_open.wait();
                          return Response::Json(200, "{\"blocking\":true}");
                        },
                        Runs::kWorkers)
                    .ok());
    ASSERT_TRUE(router
                    .Add(
                        "GET", "/boom-on-worker",
                        [](const Request&) -> Response { throw std::runtime_error("kaboom"); },
                        Runs::kWorkers)
                    .ok());
    // Hands the response to the test, which completes it from its own thread;
    // "?now" completes it inside the handler, before the server waits.
    ASSERT_TRUE(router
                    .Add("GET", "/later",
                         [this](const Request& r) {
                           auto pending = std::make_shared<PendingResponse>();
                           if (r.QueryParam("now")) {
                             pending->Complete(Response::Json(200, "{\"now\":true}"));
                           } else {
                             std::lock_guard lock(later_mu);
                             later.push_back(pending);
                           }
                           return Response::Later(pending);
                         })
                    .ok());
    // A body's handler whose response the test completes (as an ingest report
    // held for its downlink is).
    RouteOptions held;
    held.max_body_bytes = 4096;
    ASSERT_TRUE(router
                    .Add(
                        "POST", "/held",
                        [this](const Request& r) {
                          auto pending = std::make_shared<PendingResponse>();
                          std::lock_guard lock(later_mu);
                          held_sizes.push_back(r.body.size());
                          later.push_back(pending);
                          return Response::Later(pending);
                        },
                        held)
                    .ok());
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.metrics = &metrics;
    opts.readiness = &readiness;
    opts.logger = &logger;
    loop = std::make_unique<Loop>(loop_threads);
    auto s = Server::Listen(loop->context(), opts, router);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server = std::move(s).value();
    readiness.Set(Readiness::State::kReady);
    server->Start();
  }

  std::vector<std::string> Lines() {
    std::lock_guard lock(log_mu);
    return log_lines;
  }

  observe::MetricsRegistry metrics;
  Readiness readiness;
  Router router;
  std::mutex log_mu;
  std::vector<std::string> log_lines;
  observe::Logger logger{[this](std::string_view l) {
                           std::lock_guard lock(log_mu);
                           log_lines.emplace_back(l);
                         },
                         observe::Logger::Level::kDebug};
  std::unique_ptr<Loop> loop;  // outlives the server
  std::unique_ptr<Server> server;
  // /blocking handlers wait until the test opens the gate.
  std::promise<void> gate;
  std::shared_future<void> gate_open = gate.get_future().share();
  std::atomic<int> blocked{0};
  size_t items_limit = 10 * 1024 * 1024;
  std::atomic<int> admissions{0};
  size_t stream_bound = 64 * 1024;
  std::mutex streams_mu;
  std::vector<std::shared_ptr<ResponseStream>> streams;
  // The stream the n-th request to /stream got, once its handler ran.
  std::shared_ptr<ResponseStream> StreamNumber(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(streams_mu);
        if (streams.size() > n) return streams[n];
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }
  std::atomic<int> handled{0};
  std::atomic<size_t> admission_saw_body{0};
  std::atomic<int> fast_tries{0};
  std::mutex later_mu;
  std::vector<std::shared_ptr<PendingResponse>> later;  // guarded by later_mu
  std::vector<size_t> held_sizes;                       // guarded by later_mu
};

TEST_F(ServerTest, LaterResponsesWaitWithoutHoldingAThreadAndArriveWhenCompleted) {
  // One loop thread, told to the server: connections run without strands, as
  // in `roost serve --threads 1`.
  ServerOptions one_thread;
  one_thread.loop_threads = 1;
  StartServer(one_thread, /*loop_threads=*/1);
  constexpr int kClients = 20;
  std::vector<std::thread> clients;
  std::vector<std::string> bodies(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Client c(server->port());
      bodies[i] = c.Get("/later").body;
    });
  }
  for (int tries = 0; tries < 500; ++tries) {
    {
      std::lock_guard lock(later_mu);
      if (later.size() == kClients) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::vector<std::shared_ptr<PendingResponse>> waiting;
  {
    std::lock_guard lock(later_mu);
    waiting = later;
  }
  ASSERT_EQ(waiting.size(), static_cast<size_t>(kClients));
  // Twenty requests wait, on one event-loop thread, and the server still answers.
  {
    Client c(server->port());
    EXPECT_EQ(c.Get("/healthz").status, 200);
    EXPECT_EQ(c.Get("/later?now=1").body, "{\"now\":true}");
  }
  for (int i = kClients - 1; i >= 0; --i) {
    waiting[i]->Complete(Response::Json(200, "{\"n\":" + std::to_string(i) + "}"));
    waiting[i]->Complete(Response::Json(500, "{}"));  // ignored: once only
  }
  for (auto& t : clients) t.join();
  std::set<std::string> distinct(bodies.begin(), bodies.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kClients));
  for (const auto& b : bodies) EXPECT_EQ(b.rfind("{\"n\":", 0), 0u) << b;
}

TEST_F(ServerTest, BindsEphemeralPort) {
  StartServer();
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  Client c(server->port());
  RawResponse a = c.Get("/healthz");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"status\":\"ok\"}");
  EXPECT_EQ(a.Header("Content-Type"), "application/json");
  RawResponse b = c.Get("/readyz");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "{\"status\":\"ready\"}");
  // Both on one connection: exactly one connection was accepted.
  EXPECT_NE(metrics.Render().find("roost_http_connections_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.Render().find("roost_http_connections_open 1\n"), std::string::npos);
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  Client c(server->port());
  c.Send(
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /items/7 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(c.Read()->status, 200);
  EXPECT_EQ(c.Read()->status, 404);
  auto third = c.Read();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 201);
  EXPECT_EQ(third->body, "7|-|3");
}

TEST_F(ServerTest, HeadsAndBodiesAreTakenWhateverTheSegmentsTheyCameIn) {
  StartServer();
  Client c(server->port());
  // Two bodies and a head in one segment: each request takes its own bytes.
  c.Send(
      "POST /items/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"
      "POST /items/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto first = c.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "1|-|2");
  auto second = c.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "2|-|5");
  auto third = c.Read();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 200);
  // A head and a body that come in pieces of 7 bytes.
  const std::string request = "POST /items/3 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nwxyz";
  for (size_t at = 0; at < request.size(); at += 7) {
    c.Send(request.substr(at, 7));
    std::this_thread::sleep_for(5ms);
  }
  auto pieces = c.Read();
  ASSERT_TRUE(pieces);
  EXPECT_EQ(pieces->body, "3|-|4");
}

TEST_F(ServerTest, OversizedContentLengthGets413WithoutSendingTheBody) {
  StartServer();
  Client c(server->port());
  auto start = std::chrono::steady_clock::now();
  c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 11534336\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_EQ(r->body, "{\"message\":\"request body larger than 10485760 bytes\",\"errors\":[]}");
  EXPECT_TRUE(c.ClosedWithin(3s));
  EXPECT_NE(
      metrics.Render().find(
          "roost_http_requests_total{method=\"POST\",route=\"/items/{id}\",code=\"413\"} 1\n"),
      std::string::npos);
}

TEST_F(ServerTest, ExactlyTheLimitIsAccepted) {
  items_limit = 1000;
  StartServer();
  Client c(server->port());
  c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
         std::string(1000, 'x'));
  EXPECT_EQ(c.Read()->body, "1|-|1000");
  c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
  EXPECT_EQ(c.Read()->status, 413);
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  items_limit = 100;
  StartServer();
  Client c(server->port());
  c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  c.Send("64\r\n" + std::string(100, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("\"message\":\"request body larger than 100 bytes\""), std::string::npos);
}

TEST_F(ServerTest, ChunkedBodyOfExactlyTheLimitIsAccepted) {
  items_limit = 100;
  StartServer();
  Client c(server->port());
  c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  c.Send("32\r\n" + std::string(50, 'a') + "\r\n32\r\n" + std::string(50, 'b') + "\r\n0\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "1|-|100");
}

// Beast bounds a chunk's data but not its size line (extensions) nor the
// trailer; a line that never ends must not grow the connection's buffer.
TEST_F(ServerTest, AChunkLineOrTrailerThatNeverEndsGets400) {
  StartServer();
  const std::vector<std::string> starts = {"1;", "1\r\na\r\n0\r\nX-Trailer: "};
  for (const std::string& start : starts) {
    Client c(server->port());
    c.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + start);
    // Up to 4 MiB more of the same line; the server stops reading well before.
    size_t sent = 0;
    try {
      const std::string piece(16 * 1024, 'a');
      for (; sent < 4 * 1024 * 1024; sent += piece.size()) c.Send(piece);
    } catch (const std::runtime_error&) {
      // the server closed: what it answered is still there to read
    }
    auto r = c.Read();
    ASSERT_TRUE(r) << start;
    EXPECT_EQ(r->status, 400) << start;
    EXPECT_NE(r->body.find("a chunk's size line or the trailer is longer than"), std::string::npos)
        << r->body;
    EXPECT_TRUE(c.ClosedWithin(3s)) << start;
  }
  // The server is still up.
  Client after(server->port());
  EXPECT_EQ(after.Get("/healthz").status, 200);
}

TEST_F(ServerTest, AdmissionRefusesOnTheHeadWithoutReadingTheBodyOrSending100) {
  StartServer();
  Client c(server->port());
  c.Send(
      "POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\nExpect: "
      "100-continue\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);  // not 100: the client never sends the 5 MB
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.ClosedWithin(3s));
  EXPECT_EQ(admissions.load(), 1);
  EXPECT_EQ(handled.load(), 0);
}

// A stranger's oversized request is refused as a stranger's: the route's
// body limit is told only to a client that passed its admission.
TEST_F(ServerTest, AnOversizedRequestIsAdmittedBeforeItIsToldTheLimit) {
  StartServer();
  Client stranger(server->port());
  stranger.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 9000000\r\n\r\n");
  auto r = stranger.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body.find("bytes"), std::string::npos);
  EXPECT_TRUE(stranger.ClosedWithin(3s));
  Client known(server->port());
  known.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 9000000\r\n\r\n");
  r = known.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("larger than 8388608 bytes"), std::string::npos);
  EXPECT_TRUE(known.ClosedWithin(3s));
  EXPECT_EQ(admissions.load(), 2);
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(ServerTest, AdmittedRequestGets100AndTheHandlerSeesWhatAdmissionLeft) {
  StartServer();
  Client c(server->port());
  c.Send(
      "POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 3\r\nExpect: "
      "100-continue\r\n\r\n");
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.Send("abc");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "friend|3");
  // Without a body, admission and handler run in one go; keep-alive holds.
  c.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 0\r\n\r\n");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "friend|0");
  EXPECT_EQ(admissions.load(), 2);
}

// A body that came with its head costs no read: taking it before the
// admission lets admission and handler share one trip to the workers instead
// of two (each trip is two thread switches).
TEST_F(ServerTest, AdmissionAndHandlerShareOneTripWhenTheBodyCameWithTheHead) {
  StartServer();
  Client c(server->port());
  c.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 5\r\n\r\nhello");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "friend|5");
  EXPECT_EQ(admission_saw_body.load(), 5u);
  // Refused all the same; the handler never runs.
  Client refused(server->port());
  refused.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  r = refused.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(handled.load(), 1);
}

TEST_F(ServerTest, FastPathAnswersOnTheLoopOrHandsTheRequestOn) {
  StartServer();
  Client c(server->port());
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: yes\r\nContent-Length: 3\r\n\r\nabc");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fast|3");
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: later\r\nContent-Length: 2\r\n\r\nab");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "later|2");
  // Declined: the handler answers.
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow|3");
  EXPECT_EQ(fast_tries.load(), 3);
}

TEST_F(ServerTest, AThrowingAdmissionOrFastPathAnswers500AndTheConnectionGoesOn) {
  StartServer();
  Client c(server->port());
  c.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: boom\r\nContent-Length: 3\r\n\r\nabc");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(handled.load(), 0);  // refused: the handler never ran
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: boom\r\nContent-Length: 3\r\n\r\nabc");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("kaboom"), std::string::npos);  // the error stays in the log
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: yes\r\nContent-Length: 3\r\n\r\nabc");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fast|3");
}

TEST_F(ServerTest, FastPathIsNotTriedForABodyStillToComeOrALargeOne) {
  StartServer();
  Client c(server->port());
  // The body follows the head later: reading it may wait, so not on the fast path.
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: yes\r\nContent-Length: 3\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  c.Send("abc");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow|3");
  // Asked for 100 Continue.
  c.Send(
      "POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: yes\r\nExpect: 100-continue\r\n"
      "Content-Length: 3\r\n\r\n");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  c.Send("abc");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow|3");
  // Larger than a fast path parses on the event loop.
  const std::string big(kMaxFastPathBody + 1, 'x');
  c.Send("POST /fast HTTP/1.1\r\nHost: t\r\nX-Fast: yes\r\nContent-Length: " +
         std::to_string(big.size()) + "\r\n\r\n" + big);
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow|" + std::to_string(big.size()));
  EXPECT_EQ(fast_tries.load(), 0);
}

TEST_F(ServerTest, BodiesInFlightPastTheBudgetGet503WithRetryAfter) {
  ServerOptions opts;
  opts.max_body_bytes_in_flight = 1000;
  StartServer(opts);
  const std::string head = "POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\n";
  // The first request declares 600 bytes and sends only half: its 600 stay taken.
  Client slow(server->port());
  slow.Send(head + "Content-Length: 600\r\n\r\n" + std::string(300, 'x'));
  std::this_thread::sleep_for(200ms);
  Client second(server->port());
  second.Send(head + "Content-Length: 600\r\n\r\n");
  auto busy = second.Read();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->Header("Retry-After"), "1");
  // A small one still fits beside the slow one.
  Client small(server->port());
  small.Send(head + "Content-Length: 10\r\n\r\n0123456789");
  EXPECT_EQ(small.Read()->body, "friend|10");
  // Once the slow body is complete and answered, its share is free again.
  slow.Send(std::string(300, 'y'));
  EXPECT_EQ(slow.Read()->body, "friend|600");
  Client third(server->port());
  third.Send(head + "Content-Length: 600\r\n\r\n" + std::string(600, 'z'));
  EXPECT_EQ(third.Read()->body, "friend|600");
}

// A response completed later (an ingest report held for its downlink, for
// seconds) gives its body's share of the budget back once its handler has run:
// held bodies cannot make every other client's body wait for a 503.
TEST_F(ServerTest, AHeldResponseGivesItsBodysShareBackWhileItWaits) {
  ServerOptions opts;
  opts.max_body_bytes_in_flight = 1000;
  StartServer(opts);
  Client held(server->port());
  held.Send("POST /held HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n" +
            std::string(900, 'x'));
  std::shared_ptr<PendingResponse> pending;
  for (int tries = 0; tries < 500 && !pending; ++tries) {
    {
      std::lock_guard lock(later_mu);
      if (!later.empty()) pending = later.front();
    }
    if (!pending) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(pending);
  {
    std::lock_guard lock(later_mu);
    EXPECT_EQ(held_sizes, std::vector<size_t>{900});
  }
  Client other(server->port());
  other.Send("POST /fast HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n" +
             std::string(900, 'y'));
  auto answered = other.Read();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body, "slow|900");
  pending->Complete(Response::Text(200, "held"));
  auto released = held.Read();
  ASSERT_TRUE(released);
  EXPECT_EQ(released->body, "held");
}

// Anyone may send a body to a route without an Admission: those bodies have a
// budget of their own, and holding all of it leaves the admitted clients' alone.
TEST_F(ServerTest, StrangersBodiesCannotSpendTheAdmittedClientsBudget) {
  ServerOptions opts;
  opts.max_body_bytes_in_flight = 1000;  // each of the two budgets
  StartServer(opts);
  Client stranger(server->port());
  stranger.Send("POST /items/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n");
  std::this_thread::sleep_for(200ms);
  Client another(server->port());
  another.Send("POST /items/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 200\r\n\r\n");
  auto busy = another.Read();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  // An admitted client's body larger than what the strangers left still fits.
  Client admitted(server->port());
  admitted.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 800\r\n\r\n" +
                std::string(800, 'a'));
  auto ok = admitted.Read();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "friend|800");
  stranger.Send(std::string(900, 's'));
  EXPECT_EQ(stranger.Read()->body, "1|-|900");
}

// GET and HEAD routes take no body: one is refused at once, never read.
TEST_F(ServerTest, ABodyOnAGetIsRefusedWithoutBeingRead) {
  StartServer();
  Client c(server->port());
  c.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("this route takes no request body"), std::string::npos) << r->body;
  Client chunked(server->port());
  chunked.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n");
  r = chunked.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // An empty body is no body.
  Client empty(server->port());
  empty.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  r = empty.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, SpooledBodyReachesTheHandlerWhole) {
  StartServer();
  std::string payload;
  for (int i = 0; i < 3 * 1024 * 1024; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  uint64_t sum = 0;
  for (char c : payload) sum = sum * 31 + static_cast<unsigned char>(c);
  const std::string expected = std::to_string(payload.size()) + "|0|" + std::to_string(sum);
  Client c(server->port());
  c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(payload.size()) +
         "\r\n\r\n" + payload);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, expected);
  // Chunked, in two chunks, on the same connection.
  const size_t half = payload.size() / 2;
  char size1[32], size2[32];
  std::snprintf(size1, sizeof size1, "%zx", half);
  std::snprintf(size2, sizeof size2, "%zx", payload.size() - half);
  c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(size1) + "\r\n" + payload.substr(0, half) + "\r\n" + std::string(size2) +
         "\r\n" + payload.substr(half) + "\r\n0\r\n\r\n");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, expected);
  c.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.Read()->body, "0|0|0");
}

// An upload that carries a secret is spooled to a memory file, never to a
// file system whose blocks would keep it; the upload route's goes to one.
TEST_F(ServerTest, ASecretUploadIsSpooledToMemoryNeverToADisk) {
  ServerOptions opts;
  opts.spool_dir = ::testing::TempDir();
  StartServer(opts);
  const std::string payload(256 * 1024, 'k');
  Client c(server->port());
  c.Send("POST /secret-upload HTTP/1.1\r\nHost: t\r\nContent-Length: " +
         std::to_string(payload.size()) + "\r\n\r\n" + payload);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind(std::to_string(payload.size()) + "|/memfd:roost-upload", 0), 0u)
      << r->body;
}

// Memory files are memory: past their budget, 503 before the body is read.
TEST_F(ServerTest, MemoryFileBodiesHaveABudget) {
  ServerOptions opts;
  opts.max_memory_spool_bytes = 1000;
  StartServer(opts);
  Client c(server->port());
  c.Send("POST /secret-upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  Client fits(server->port());
  fits.Send("POST /secret-upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
            std::string(1000, 'k'));
  r = fits.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(ServerTest, EveryResponseCarriesTheSecurityHeaders) {
  StartServer();
  Client c(server->port());
  for (std::string_view path : {"/healthz", "/nowhere"}) {
    RawResponse r = c.Get(path);
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_NE(r.Header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
    EXPECT_NE(r.Header("Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer");
  }
}

TEST_F(ServerTest, ABodyLargerThanTheSendBufferArrivesWholeAndTheConnectionGoesOn) {
  StartServer();
  Client c(server->port());
  c.Send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  // Read nothing for a while: the server's first send fills the socket's
  // buffers and the rest must wait for the client.
  std::this_thread::sleep_for(300ms);
  auto r = c.Read(false, 10000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), BigBody().size());
  EXPECT_TRUE(r->body == BigBody());
  // The handler's own policy replaces the server's, once.
  EXPECT_EQ(r->Header("Content-Security-Policy"), "sandbox");
  EXPECT_EQ(r->head.find("Content-Security-Policy", r->head.find("Content-Security-Policy") + 1),
            std::string::npos);
  EXPECT_EQ(c.Get("/healthz").status, 200);
}

TEST_F(ServerTest, StatusLineFieldsAndLengthFollowTheStatusAndVersion) {
  StartServer();
  {
    Client c(server->port());
    RawResponse missing = c.Get("/nowhere");
    EXPECT_EQ(missing.head.substr(0, missing.head.find("\r\n")), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(missing.Header("Content-Type"), "application/json");
    EXPECT_EQ(missing.Header("Content-Length"), std::to_string(missing.body.size()));
    EXPECT_EQ(missing.Header("Connection"), "");  // HTTP/1.1 keeps the connection by default
    // A 204 has no body, so no length either.
    c.Send("POST /nothing HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    auto empty = c.Read();
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->head.substr(0, empty->head.find("\r\n")), "HTTP/1.1 204 No Content");
    EXPECT_EQ(empty->Header("Content-Length"), "");
    EXPECT_EQ(empty->Header("Content-Type"), "");
    EXPECT_EQ(empty->Header("Connection"), "");
    EXPECT_EQ(empty->Header("Injected"), "");
    EXPECT_EQ(empty->Header("X-Kept"), "yes");
    EXPECT_EQ(empty->Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(empty->Header("Referrer-Policy"), "no-referrer");
    // Nothing of the body was sent: the next answer starts where the head ended.
    RawResponse next = c.Get("/healthz");
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body, "{\"status\":\"ok\"}");
  }
  {
    // HTTP/1.0 closes unless asked to keep the connection, and says when it keeps it.
    Client c(server->port());
    c.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto kept = c.Read();
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->head.substr(0, kept->head.find("\r\n")), "HTTP/1.0 200 OK");
    EXPECT_EQ(kept->Header("Connection"), "keep-alive");
    c.Send("GET /healthz HTTP/1.0\r\n\r\n");
    auto last = c.Read();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->Header("Connection"), "");
    EXPECT_EQ(last->body, "{\"status\":\"ok\"}");
    EXPECT_TRUE(c.ClosedWithin(2s));
  }
}

TEST_F(ServerTest, ExpectContinueGets100ThenTheResponse) {
  StartServer();
  Client c(server->port());
  c.Send(
      "POST /items/9?q=x%20y HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: "
      "100-continue\r\n\r\n");
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.Send("hello");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "9|x y|5");
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  StartServer();
  const std::vector<std::string> bad = {
      "GARBAGE\r\n\r\n",
      "GET /healthz HTTP/9.9\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
      "POST /items/1 HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /items/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const std::string& req : bad) {
    Client c(server->port());
    c.Send(req);
    auto r = c.Read();
    ASSERT_TRUE(r) << req;
    EXPECT_EQ(r->status, 400) << req;
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    EXPECT_EQ(r->body.rfind("{\"message\":\"malformed request", 0), 0u) << r->body;
    EXPECT_NE(r->body.find("\"errors\":[]}"), std::string::npos) << r->body;
    EXPECT_TRUE(c.ClosedWithin(3s)) << req;
  }
}

TEST_F(ServerTest, MalformedPathGets400) {
  StartServer();
  Client c(server->port());
  RawResponse r = c.Get("/items/%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "{\"message\":\"malformed request path\",\"errors\":[]}");
}

TEST_F(ServerTest, UnknownPathGets404Json) {
  StartServer();
  Client c(server->port());
  RawResponse r = c.Get("/nope?x=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, "{\"message\":\"no resource at /nope\",\"errors\":[]}");
  // The connection stays usable after a 404.
  EXPECT_EQ(c.Get("/healthz").status, 200);
}

TEST_F(ServerTest, WrongMethodGets405WithAllow) {
  StartServer();
  Client c(server->port());
  c.Send("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("Allow"), "GET, HEAD");
  EXPECT_EQ(r->body,
            "{\"message\":\"method DELETE not allowed on /healthz\",\"errors\":"
            "[{\"field\":\"method\",\"message\":\"allowed: GET, HEAD\"}]}");
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  StartServer();
  Client c(server->port());
  c.Send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.Read(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Content-Length"), "15");
  // The next response on the connection starts right after the head.
  EXPECT_EQ(c.Get("/healthz").body, "{\"status\":\"ok\"}");
}

TEST_F(ServerTest, HandlerExceptionGets500AndServerStaysUp) {
  StartServer();
  {
    Client c(server->port());
    RawResponse r = c.Get("/boom");
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "{\"message\":\"internal server error\",\"errors\":[]}");
    EXPECT_EQ(c.Get("/healthz").status, 200);
  }
  Client c2(server->port());
  EXPECT_EQ(c2.Get("/healthz").status, 200);
  bool logged = false;
  for (const auto& l : Lines()) {
    logged |= l.find("\"msg\":\"handler failed\"") != std::string::npos &&
              l.find("kaboom") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

// Refused requests are logged, but a client sending many with long paths
// cannot flood the log: paths are cut, and at most 50 lines a second are
// written; the next line says how many were left out.
TEST_F(ServerTest, RefusedRequestsAreLoggedWithinABudgetAndWithCutPaths) {
  StartServer();
  const std::string long_path = "/nowhere/" + std::string(8000, 'a');
  {
    Client c(server->port());
    for (int i = 0; i < 400; ++i) EXPECT_EQ(c.Get(long_path).status, 404);
  }
  auto refusal_lines = [&] {
    std::vector<std::string> out;
    for (const auto& l : Lines()) {
      if (l.find("\"msg\":\"request\"") != std::string::npos &&
          l.find("\"status\":404") != std::string::npos) {
        out.push_back(l);
      }
    }
    return out;
  };
  const auto lines = refusal_lines();
  ASSERT_GE(lines.size(), 1u);
  // 400 requests take a few seconds at most here: a handful of seconds' budget.
  EXPECT_LE(lines.size(), 50u * 4) << "refusal lines were not limited";
  for (const auto& l : lines) EXPECT_LT(l.size(), 600u) << "the path was not cut";
  EXPECT_NE(lines.front().find("/nowhere/aaa"), std::string::npos) << lines.front();
  EXPECT_NE(lines.front().find("\"earlier_refusals_not_logged\":0"), std::string::npos);
  // A second later the budget is back, and the line counts those left out.
  std::this_thread::sleep_for(1100ms);
  {
    Client c(server->port());
    EXPECT_EQ(c.Get("/nowhere/again").status, 404);
  }
  const auto after = refusal_lines();
  ASSERT_EQ(after.size(), lines.size() + 1);
  EXPECT_NE(after.back().find("/nowhere/again"), std::string::npos) << after.back();
  // Every refusal is either logged or counted by a later line.
  const std::string key = "\"earlier_refusals_not_logged\":";
  long left_out = 0;
  for (const auto& l : after) {
    const size_t at = l.find(key);
    ASSERT_NE(at, std::string::npos) << l;
    left_out += std::strtol(l.c_str() + at + key.size(), nullptr, 10);
  }
  EXPECT_GT(left_out, 0);
  EXPECT_EQ(left_out + static_cast<long>(lines.size()), 400);
}

TEST_F(ServerTest, OversizedHeaderGets431) {
  ServerOptions opts;
  opts.max_header_bytes = 1024;
  StartServer(opts);
  Client c(server->port());
  c.Send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_NE(r->body.find("request head larger than 1024 bytes"), std::string::npos);
}

TEST_F(ServerTest, SlowHeaderIsCutOff) {
  ServerOptions opts;
  opts.header_timeout = 300ms;
  StartServer(opts);
  Client c(server->port());
  c.Send("GET /healthz HTTP/1.1\r\n");
  auto start = std::chrono::steady_clock::now();
  // Trickle header bytes: each arrives well within any per-read timeout, but the
  // head as a whole takes too long.
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    try {
      c.Send("X");
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    closed = c.ClosedWithin(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions opts;
  opts.idle_timeout = 300ms;
  StartServer(opts);
  Client c(server->port());
  EXPECT_EQ(c.Get("/healthz").status, 200);
  EXPECT_TRUE(c.ClosedWithin(2s));
  Client silent(server->port());
  EXPECT_TRUE(silent.ClosedWithin(2s));
}

// A new connection that sends nothing is closed after the head's timeout,
// not the (longer) idle time a kept-alive connection gets between requests.
TEST_F(ServerTest, ANewConnectionThatAsksNothingIsClosedAfterTheHeadTimeout) {
  ServerOptions opts;
  opts.idle_timeout = 60s;
  opts.header_timeout = 300ms;
  StartServer(opts);
  Client silent(server->port());
  EXPECT_TRUE(silent.ClosedWithin(2s));
  // Between requests a kept-alive connection still gets its idle time.
  Client kept(server->port());
  EXPECT_EQ(kept.Get("/healthz").status, 200);
  EXPECT_FALSE(kept.ClosedWithin(1s));
  EXPECT_EQ(kept.Get("/healthz").status, 200);
}

// One client address cannot hold every connection: past its share, its new
// connections are closed at once, and other clients are still served.
TEST_F(ServerTest, OneClientAddressGetsAtMostItsShareOfConnections) {
  ServerOptions opts;
  opts.max_connections_per_address = 3;
  opts.limit_loopback_clients = true;  // the test's clients are all on loopback
  StartServer(opts);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server->port(), "127.0.0.1"));
    EXPECT_EQ(held.back()->Get("/healthz").status, 200);
  }
  Client fourth(server->port(), "127.0.0.1");
  EXPECT_TRUE(fourth.ClosedWithin(3s));
  Client other(server->port(), "127.0.0.2");
  EXPECT_EQ(other.Get("/healthz").status, 200);
  EXPECT_NE(other.Get("/metrics").body.find("roost_http_connections_refused_per_address_total 1\n"),
            std::string::npos);
  // A connection closed gives its place back.
  held.pop_back();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Client again(server->port(), "127.0.0.1");
    try {
      served = again.Get("/healthz").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(20ms);  // the close not seen by the server yet
    }
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerTest, ALoopbackProxysForwardedForNamesTheClientWhenTrusted) {
  auto ask = [&](const std::string& forwarded) {
    Client c(server->port());
    c.Send("GET /whoami HTTP/1.1\r\nHost: t\r\n" + forwarded + "\r\n");
    auto r = c.Read();
    return r ? r->body : std::string("no answer");
  };
  ServerOptions opts;
  opts.trust_forwarded_for = true;
  StartServer(opts);
  // The proxy appends its client to what the client sent: the last entry counts.
  EXPECT_EQ(ask("X-Forwarded-For: 198.51.100.1, 203.0.113.9\r\n"), "203.0.113.9");
  EXPECT_EQ(ask("X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2001:db8::7\r\n"), "2001:db8::7");
  // No header, or an entry that is no address: the peer itself.
  EXPECT_EQ(ask("").rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(ask("X-Forwarded-For: 203.0.113.9, unknown\r\n").rfind("127.0.0.1:", 0), 0u);
  // A kept-alive connection's next request without the header is the peer again.
  Client kept(server->port());
  kept.Send("GET /whoami HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
  EXPECT_EQ(kept.Read()->body, "203.0.113.9");
  EXPECT_EQ(kept.Get("/whoami").body.rfind("127.0.0.1:", 0), 0u);
}

TEST_F(ServerTest, ForwardedForIsIgnoredUnlessTrusted) {
  StartServer();  // the default: the header is the client's word
  Client c(server->port());
  c.Send("GET /whoami HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("127.0.0.1:", 0), 0u) << r->body;
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  Client c(server->port());
  c.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.ClosedWithin(2s));
}

TEST_F(ServerTest, MetricsCountRequestsByRouteAndCode) {
  StartServer();
  Client c(server->port());
  c.Get("/healthz");
  c.Get("/healthz");
  c.Get("/nope");
  RawResponse m = c.Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(
      m.body.find("roost_http_requests_total{method=\"GET\",route=\"/healthz\",code=\"200\"} 2\n"),
      std::string::npos)
      << m.body;
  EXPECT_NE(
      m.body.find("roost_http_requests_total{method=\"GET\",route=\"none\",code=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_NE(m.body.find("roost_http_request_duration_seconds_count{method=\"GET\",route=\"/"
                        "healthz\"} 2\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("# TYPE roost_http_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("roost_build_info{version=\""), std::string::npos);
  EXPECT_NE(m.body.find("\nprocess_start_time_seconds 1"), std::string::npos);
  EXPECT_NE(m.body.find("\nprocess_resident_memory_bytes "), std::string::npos);
}

TEST_F(ServerTest, LogsOneLinePerRequestWithoutSecrets) {
  StartServer();
  Client c(server->port());
  c.Send(
      "POST /items/5?token=s3cr3t HTTP/1.1\r\nHost: t\r\nAuthorization: Basic "
      "dXNlcjpzM2NyM3Q=\r\nContent-Length: 11\r\n\r\nbody-secret");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  // The line is written once the response is out: wait for it.
  auto has_request_line = [&] {
    for (const auto& l : Lines()) {
      if (l.find("\"msg\":\"request\"") != std::string::npos) return true;
    }
    return false;
  };
  for (int i = 0; i < 200 && !has_request_line(); ++i) std::this_thread::sleep_for(10ms);
  std::vector<std::string> request_lines;
  for (const auto& l : Lines()) {
    if (l.find("\"msg\":\"request\"") != std::string::npos) request_lines.push_back(l);
    EXPECT_EQ(l.find("dXNlcjpzM2NyM3Q"), std::string::npos) << l;
    EXPECT_EQ(l.find("s3cr3t"), std::string::npos) << l;
    EXPECT_EQ(l.find("body-secret"), std::string::npos) << l;
  }
  ASSERT_EQ(request_lines.size(), 1u);
  const std::string& l = request_lines[0];
  EXPECT_NE(l.find("\"method\":\"POST\",\"path\":\"/items/5\",\"status\":201,\"duration_ms\":"),
            std::string::npos)
      << l;
  EXPECT_NE(l.find("\"level\":\"debug\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"remote\":\"127.0.0.1:"), std::string::npos) << l;
  EXPECT_EQ(l.back(), '\n');
}

// At info, a busy server wrote a line per answered request (ingest: tens of
// thousands a second); only refusals and failures are worth one there.
TEST_F(ServerTest, AnsweredRequestsAreLoggedAtDebugAndRefusalsAtInfo) {
  StartServer();
  Client c(server->port());
  EXPECT_EQ(c.Get("/healthz").status, 200);
  EXPECT_EQ(c.Get("/no/such/thing").status, 404);
  auto levels = [&] {
    std::vector<std::string> found;
    for (const auto& l : Lines()) {
      if (l.find("\"msg\":\"request\"") == std::string::npos) continue;
      found.push_back(l.find("\"level\":\"debug\"") != std::string::npos  ? "debug"
                      : l.find("\"level\":\"info\"") != std::string::npos ? "info"
                                                                          : "other");
    }
    return found;
  };
  for (int i = 0; i < 200 && levels().size() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(levels(), (std::vector<std::string>{"debug", "info"}));
}

TEST_F(ServerTest, ShutdownFinishesInFlightRequestAndClosesIdleOnes) {
  StartServer();
  Client idle(server->port());
  EXPECT_EQ(idle.Get("/healthz").status, 200);
  Client busy(server->port());
  busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the handler is now sleeping
  auto start = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, [&] { return server->Shutdown(5s); });
  auto r = busy.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"slow\":true}");
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(done.get());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(readiness.Get(), Readiness::State::kDraining);
  EXPECT_TRUE(idle.ClosedWithin(1s));
  EXPECT_THROW(Client late(server->port()), std::runtime_error);
}

TEST_F(ServerTest, StreamSendsItsHeadAtOnceThenEachPieceAsItComes) {
  StartServer();
  Client c(server->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head = c.Read();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head->Header("Cache-Control"), "no-cache");
  EXPECT_EQ(head->Header("X-Accel-Buffering"), "no");
  EXPECT_EQ(head->Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(head->Header("Content-Security-Policy"), ContentSecurityPolicy());
  auto stream = StreamNumber(0);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->end(), ResponseStream::End::kOpen);
  EXPECT_TRUE(stream->Write("data: one\n\n"));
  auto first = c.ReadUntil("data: one\n\n");
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("b\r\ndata: one\n\n\r\n"), std::string::npos) << *first;
  EXPECT_TRUE(stream->Write("data: two\n\n"));
  EXPECT_TRUE(c.ReadUntil("data: two\n\n"));
  // The producer ends it: the last chunk, then the connection closes.
  stream->Close();
  EXPECT_FALSE(stream->Write("data: late\n\n"));
  EXPECT_TRUE(c.ReadUntil("0\r\n\r\n"));
  EXPECT_TRUE(c.ClosedWithin(2s));
}

TEST_F(ServerTest, OneLoopThreadWithoutStrandsServesStreamsAndShutsThemDown) {
  ServerOptions opts;
  opts.loop_threads = 1;
  StartServer(opts, 1);
  Client c(server->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.Read());
  auto stream = StreamNumber(0);
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->Write("data: one\n\n"));
  ASSERT_TRUE(c.ReadUntil("data: one"));
  // Another connection is served meanwhile.
  Client other(server->port());
  EXPECT_EQ(other.Get("/healthz").status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(server->Shutdown(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(stream->end(), ResponseStream::End::kShutdown);
  EXPECT_TRUE(c.ReadUntil("0\r\n\r\n", 1000ms));
  EXPECT_TRUE(c.ClosedWithin(1s));
}

TEST_F(ServerTest, StreamEndsWhenTheClientGoesAway) {
  StartServer();
  std::shared_ptr<ResponseStream> stream;
  std::atomic<bool> told{false};
  {
    Client c(server->port());
    c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(c.Read());
    stream = StreamNumber(0);
    ASSERT_TRUE(stream);
    stream->OnEnd([&told] { told.store(true); });
  }
  for (int i = 0; i < 200 && stream->end() == ResponseStream::End::kOpen; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(stream->end(), ResponseStream::End::kClientGone);
  EXPECT_TRUE(told.load());
  EXPECT_FALSE(stream->Write("data: nobody\n\n"));
  // The server goes on.
  Client other(server->port());
  EXPECT_EQ(other.Get("/healthz").status, 200);
}

TEST_F(ServerTest, StreamDropsAReaderThatFallsBehindInsteadOfQueueingMore) {
  stream_bound = 64 * 1024;
  StartServer();
  Client c(server->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.Read());
  auto stream = StreamNumber(0);
  ASSERT_TRUE(stream);
  // The client reads nothing: the socket's buffers fill, then the queue.
  const std::string piece(4096, 'x');
  size_t written = 0;
  while (stream->Write(piece) && written < (256u << 20)) {
    written += piece.size();
    EXPECT_LE(stream->queued_bytes(), stream_bound);
    if (written % (1u << 20) == 0) std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(stream->end(), ResponseStream::End::kTooSlow);
  EXPECT_EQ(stream->queued_bytes(), 0u);
}

TEST_F(ServerTest, EachStreamWriteHasItsOwnTimeout) {
  ServerOptions opts;
  opts.write_timeout = 300ms;
  stream_bound = 512u << 20;
  StartServer(opts);
  Client c(server->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.Read());
  auto stream = StreamNumber(0);
  ASSERT_TRUE(stream);
  // Quiet for longer than the write timeout: that alone ends nothing.
  std::this_thread::sleep_for(600ms);
  EXPECT_TRUE(stream->Write("data: still here\n\n"));
  EXPECT_TRUE(c.ReadUntil("still here"));
  // A write that cannot finish (the client reads nothing) ends the stream.
  const std::string piece(1u << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  while (stream->Write(piece) && std::chrono::steady_clock::now() - start < 10s) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(stream->end(), ResponseStream::End::kClientGone);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ServerTest, IdleStreamsHoldNoHandlerThread) {
  ServerOptions opts;
  opts.handler_threads = 1;
  StartServer(opts);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    clients.back()->Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    auto head = clients.back()->Read();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
  }
  // The one handler thread is free for an ordinary request.
  Client c(server->port());
  c.Send("POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: open\r\nContent-Length: 2\r\n\r\nhi");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (size_t i = 0; i < 6; ++i) {
    auto stream = StreamNumber(i);
    ASSERT_TRUE(stream);
    EXPECT_TRUE(stream->Write("data: x\n\n"));
    EXPECT_TRUE(clients[i]->ReadUntil("data: x\n\n"));
  }
}

TEST_F(ServerTest, ShutdownEndsOpenStreamsPromptly) {
  StartServer();
  Client c(server->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.Read());
  auto stream = StreamNumber(0);
  ASSERT_TRUE(stream);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(server->Shutdown(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(stream->end(), ResponseStream::End::kShutdown);
  EXPECT_TRUE(c.ReadUntil("0\r\n\r\n", 1000ms));
  EXPECT_TRUE(c.ClosedWithin(1s));
}

TEST_F(ServerTest, ReadyzIs503WhileNotReady) {
  StartServer();
  Client c(server->port());
  readiness.Set(Readiness::State::kDraining);
  RawResponse r = c.Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"message\":\"not ready: draining\",\"errors\":[]}");
  readiness.Set(Readiness::State::kStarting);
  EXPECT_EQ(c.Get("/readyz").body, "{\"message\":\"not ready: starting\",\"errors\":[]}");
}

TEST_F(ServerTest, DrainTimeoutDropsStuckConnections) {
  StartServer();
  Client busy(server->port());
  busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(server->Shutdown(50ms));
}

TEST_F(ServerTest, BlockingHandlersRunOnWorkersAndNeverStallTheEventLoop) {
  ServerOptions opts;
  opts.handler_threads = 3;
  // A single event-loop thread (without strands): a blocked handler there
  // would stall everything.
  opts.loop_threads = 1;
  StartServer(opts, 1);
  EXPECT_EQ(server->handler_threads(), 3u);
  Client a(server->port()), b(server->port());
  a.Send("GET /blocking HTTP/1.1\r\nHost: t\r\n\r\n");
  b.Send("GET /blocking HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 200 && blocked.load() < 2; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(blocked.load(), 2);
  // Both handlers are blocked, yet the one event-loop thread still serves.
  Client c(server->port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.Get("/healthz").status, 200);
  EXPECT_EQ(c.Get("/boom-on-worker").status, 500);  // a throwing worker handler: 500, still up
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(a.Read(false, 100ms).has_value());  // still waiting for the gate
  gate.set_value();
  auto ra = a.Read(), rb = b.Read();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->status, 200);
  EXPECT_EQ(rb->body, "{\"blocking\":true}");
}

TEST_F(ServerTest, DrainTimeoutWaitsForAStuckWorkerHandlerBeforeReturning) {
  StartServer();
  Client busy(server->port());
  busy.Send("GET /blocking HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 200 && blocked.load() < 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(blocked.load(), 1);
  // Open the gate shortly after the drain gives up: Shutdown must not return
  // (and free what the handler uses) before the handler has finished.
  std::thread opener([this] {
    std::this_thread::sleep_for(300ms);
    gate.set_value();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(server->Shutdown(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  opener.join();
}

TEST(ServerListenTest, ReportsBindErrors) {
  boost::asio::io_context loop;
  Router router;
  ServerOptions opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  auto first = Server::Listen(loop, opts, router);
  ASSERT_TRUE(first.ok());
  opts.port = (*first)->port();
  auto second = Server::Listen(loop, opts, router);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIoError);
  EXPECT_NE(second.status().message().find("listen 127.0.0.1:" + std::to_string(opts.port)),
            std::string::npos)
      << second.status().message();
  opts.host = "no-such-host.invalid";
  auto third = Server::Listen(loop, opts, router);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("cannot resolve"), std::string::npos);
}

TEST(ServerListenTest, ReportsMetricConflicts) {
  boost::asio::io_context loop;
  Router router;
  observe::MetricsRegistry metrics;
  ASSERT_TRUE(metrics.AddGauge("roost_http_requests_total", "taken").ok());
  ServerOptions opts;
  opts.port = 0;
  opts.metrics = &metrics;
  auto s = Server::Listen(loop, opts, router);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kAlreadyExists);
}

}  // namespace
}  // namespace roost::http
