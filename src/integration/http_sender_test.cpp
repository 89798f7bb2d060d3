#include "integration/http_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/loopback_http_server.h"

namespace roost::integration {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::LoopbackHttpServer;
using testing::ReceivedRequest;

Answer Ok(std::string body) {
  return Answer{200, std::move(body), {}, 0};
}

HttpSenderOptions LoopbackAllowed() {
  HttpSenderOptions options;
  options.refuse_private_destinations = false;
  return options;
}

HttpRequest Post(std::string url, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.url = std::move(url);
  r.headers = {{"Content-Type", "application/json"}, {"X-Key", "secret-value"}};
  r.body = std::move(body);
  return r;
}

// Sends bodies "0", "1", ... one after the other; each must be answered
// "seen <body>" with 200.
template <typename Sender>
void SendInTurn(Sender& sender, const LoopbackHttpServer& server, int sends) {
  for (int i = 0; i < sends; ++i) {
    HttpOutcome out = sender.Send(Post(server.Url("/"), std::to_string(i)), 2s);
    ASSERT_EQ(out.status, 200) << i << ": " << out.info;
    EXPECT_EQ(out.body, "seen " + std::to_string(i));
  }
}

TEST(HttpSender, PostsAndCapturesTheAnswer) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok("{\"ok\":true}"); });
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post(server.Url("/up?x=1"), R"({"device":"2C"})"), 2s);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.info, "");
  EXPECT_EQ(out.body, "{\"ok\":true}");
  EXPECT_GT(out.seconds, 0);
  EXPECT_LT(out.seconds, 2);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/up?x=1");
  EXPECT_EQ(requests[0].body, R"({"device":"2C"})");
  EXPECT_EQ(requests[0].Header("content-type"), "application/json");
  EXPECT_EQ(requests[0].Header("x-key"), "secret-value");
  EXPECT_EQ(requests[0].Header("user-agent"), "Roost");
  EXPECT_EQ(requests[0].Header("expect"), "<absent>");
}

TEST(HttpSender, MethodsBodiesAndContentTypes) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok(""); });
  HttpSender sender(LoopbackAllowed());

  HttpRequest get{"GET", server.Url("/get?d=2C"), {{"X-Empty", ""}}, ""};
  EXPECT_EQ(sender.Send(get, 2s).status, 200);
  HttpRequest put{"PUT", server.Url("/put"), {}, "1234"};
  EXPECT_EQ(sender.Send(put, 2s).status, 200);
  // A POST after a PUT on the same handle is a POST again.
  HttpRequest post{"POST", server.Url("/post"), {}, "a=1"};
  EXPECT_EQ(sender.Send(post, 2s).status, 200);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/get?d=2C");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[0].Header("x-empty"), "");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "1234");
  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(requests[2].body, "a=1");
  // Without a Content-Type from the callback, none is invented.
  EXPECT_EQ(requests[1].Header("content-type"), "<absent>");
  EXPECT_EQ(requests[2].Header("content-type"), "<absent>");
}

TEST(HttpSender, ServerErrorIsItsStatus) {
  LoopbackHttpServer server([](const ReceivedRequest&) {
    return Answer{500, "database down", {}, 0};
  });
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post(server.Url("/"), "x"), 2s);
  EXPECT_EQ(out.status, 500);
  EXPECT_EQ(out.body, "database down");
  EXPECT_EQ(out.info, "");
}

TEST(HttpSender, RedirectIsNotFollowed) {
  LoopbackHttpServer server([](const ReceivedRequest& r) {
    if (r.target == "/moved") return Answer{302, "", {{"Location", "/elsewhere"}}, 0};
    return Ok("followed");
  });
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post(server.Url("/moved"), "x"), 2s);
  EXPECT_EQ(out.status, 302);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpSender, ConnectionRefused) {
  // A port that was free a moment ago and has no listener now.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out =
      sender.Send(Post("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", "x"), 2s);
  EXPECT_EQ(out.status, kStatusCannotConnect) << out.info;
  EXPECT_FALSE(out.info.empty());
}

TEST(HttpSender, SilentServerTimesOut) {
  LoopbackHttpServer server(nullptr, LoopbackHttpServer::Mode::kSilent);
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post(server.Url("/"), "x"), 300ms);
  EXPECT_EQ(out.status, kStatusTimeout) << out.info;
  EXPECT_GE(out.seconds, 0.29);
  EXPECT_LT(out.seconds, 1.5);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpSender, UnknownHost) {
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post("http://roost-test.invalid/", "x"), 5s);
  EXPECT_EQ(out.status, kStatusCannotResolve) << out.info;
}

TEST(HttpSender, TlsHandshakeFailure) {
  LoopbackHttpServer server(nullptr, LoopbackHttpServer::Mode::kNotTls);
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out =
      sender.Send(Post("https://127.0.0.1:" + std::to_string(server.port()) + "/", "x"), 2s);
  EXPECT_EQ(out.status, kStatusTls) << out.info;
}

TEST(HttpSender, KeepAliveReusesTheConnection) {
  LoopbackHttpServer server([](const ReceivedRequest& r) { return Ok("seen " + r.body); });
  HttpSender sender(LoopbackAllowed());
  HttpOutcome first = sender.Send(Post(server.Url("/a"), "1"), 2s);
  HttpOutcome second = sender.Send(Post(server.Url("/b"), "2"), 2s);
  EXPECT_EQ(first.body, "seen 1");
  EXPECT_EQ(second.body, "seen 2");
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.connections(), 1);
  // A second sender has its own connection.
  HttpSender other(LoopbackAllowed());
  EXPECT_EQ(other.Send(Post(server.Url("/c"), "3"), 2s).status, 200);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpSender, LongAnswerIsCut) {
  LoopbackHttpServer server([](const ReceivedRequest&) {
    return Answer{200, "head", {}, 10 * 1024 * 1024};
  });
  HttpSender sender(LoopbackAllowed());
  HttpOutcome out = sender.Send(Post(server.Url("/"), "x"), 5s);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body.size(), 64u * 1024);
  EXPECT_EQ(out.body.substr(0, 8), "headxxxx");
  EXPECT_EQ(out.info, "answer cut at 65536 bytes");
  // The connection of an abandoned answer is not reused, but the sender is.
  EXPECT_EQ(sender.Send(Post(server.Url("/"), "x"), 5s).status, 200);
}

TEST(HttpSender, HeaderThatCouldSplitTheRequestIsNotSent) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok(""); });
  HttpSender sender(LoopbackAllowed());
  HttpRequest r = Post(server.Url("/"), "x");
  r.headers.emplace_back("X-Evil", "a\r\nHost: elsewhere");
  HttpOutcome out = sender.Send(r, 2s);
  EXPECT_EQ(out.status, kStatusOther);
  EXPECT_EQ(out.info.find("elsewhere"), std::string::npos);
  EXPECT_EQ(server.connections(), 0);
}

TEST(HttpSender, PrivateDestinationsRefusedAfterResolution) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok("reached"); });
  HttpSender guarded;  // the default refuses
  for (std::string host : {"127.0.0.1", "localhost"}) {
    HttpOutcome out =
        guarded.Send(Post("http://" + host + ":" + std::to_string(server.port()) + "/", "x"), 2s);
    EXPECT_EQ(out.status, kStatusDestinationNotAllowed) << host << ": " << out.info;
    EXPECT_EQ(out.info, "destination address not allowed") << host;
  }
  EXPECT_EQ(server.connections(), 0);
  EXPECT_TRUE(server.requests().empty());

  HttpSender open(LoopbackAllowed());
  HttpOutcome out = open.Send(Post(server.Url("/"), "x"), 2s);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "reached");
}

// An AsyncHttpSender on a loop of `threads` threads of its own.
class AsyncSender {
 public:
  explicit AsyncSender(HttpSenderOptions options, unsigned threads = 2)
      : sender_(loop_, std::move(options)) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop_.run(); });
  }
  ~AsyncSender() {
    sender_.Close();
    guard_.reset();
    loop_.stop();
    for (auto& t : threads_) t.join();
  }
  AsyncHttpSender& sender() { return sender_; }
  // Sends and waits for the outcome.
  HttpOutcome Send(HttpRequest request, std::chrono::milliseconds timeout) {
    std::promise<HttpOutcome> answer;
    auto outcome = answer.get_future();
    sender_.Send(std::move(request), timeout,
                 [&answer](HttpOutcome out) { answer.set_value(std::move(out)); });
    return outcome.get();
  }

 private:
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      loop_.get_executor()};
  AsyncHttpSender sender_;
  std::vector<std::thread> threads_;
};

// Each test of AsyncHttpSender runs twice: http:// URLs through Roost's own
// client (plain_http_client.h), and through libcurl, which https:// URLs take.
class AsyncHttpSender : public ::testing::TestWithParam<bool> {
 protected:
  HttpSenderOptions Options(bool refuse_private = false) const {
    HttpSenderOptions options;
    options.refuse_private_destinations = refuse_private;
    options.libcurl_for_plain_http = GetParam();
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(Clients, AsyncHttpSender, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Libcurl" : "OwnClient";
                         });

TEST_P(AsyncHttpSender, PostsAndCapturesTheAnswer) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok("{\"ok\":true}"); });
  AsyncSender async(Options());
  HttpOutcome out = async.Send(Post(server.Url("/up?x=1"), R"({"device":"2C"})"), 2s);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.info, "");
  EXPECT_EQ(out.body, "{\"ok\":true}");
  EXPECT_GT(out.seconds, 0);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, R"({"device":"2C"})");
  EXPECT_EQ(requests[0].Header("x-key"), "secret-value");
  EXPECT_EQ(requests[0].Header("expect"), "<absent>");
  // A PUT and a GET on the handles the POST left behind.
  HttpRequest put{"PUT", server.Url("/put"), {}, "1234"};
  EXPECT_EQ(async.Send(put, 2s).status, 200);
  HttpRequest get{"GET", server.Url("/get"), {}, ""};
  EXPECT_EQ(async.Send(get, 2s).status, 200);
  requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "1234");
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].body, "");
  // One kept-alive connection carried all three.
  EXPECT_EQ(server.connections(), 1);
}

TEST_P(AsyncHttpSender, ManySendsAtOnceShareKeptAliveConnections) {
  LoopbackHttpServer server([](const ReceivedRequest& r) { return Ok("seen " + r.body); });
  AsyncSender async(Options(), 3);
  constexpr int kRounds = 20;
  constexpr int kAtOnce = 16;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::promise<HttpOutcome>> answers(kAtOnce);
    for (int i = 0; i < kAtOnce; ++i) {
      async.sender().Send(Post(server.Url("/"), std::to_string(round * kAtOnce + i)), 5s,
                          [&answers, i](HttpOutcome out) { answers[i].set_value(std::move(out)); });
    }
    for (int i = 0; i < kAtOnce; ++i) {
      HttpOutcome out = answers[i].get_future().get();
      ASSERT_EQ(out.status, 200) << out.info;
      EXPECT_EQ(out.body, "seen " + std::to_string(round * kAtOnce + i));
    }
  }
  EXPECT_EQ(server.requests().size(), size_t{kRounds * kAtOnce});
  // Connections are opened for what is in flight at once, then reused.
  EXPECT_LE(server.connections(), kAtOnce);
}

TEST_P(AsyncHttpSender, ConnectionsTheServerClosesAreReplaced) {
  // Every third answer announces "Connection: close", every third closes the
  // connection unannounced, so the sender finds it closed only when it takes
  // it for the next transfer. New sockets then often reuse a closed one's number.
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest& r) {
    const int i = n++;
    Answer answer = Ok("seen " + r.body);
    if (i % 3 == 1) answer.headers.emplace_back("Connection", "close");
    answer.close_after = i % 3 != 0;
    return answer;
  });
  AsyncSender async(Options());
  constexpr int kSends = 30;
  SendInTurn(async, server, kSends);
  EXPECT_EQ(server.requests().size(), size_t{kSends});
  // Answers 0 and 1 share a connection, 2 has one of its own, and so on.
  EXPECT_EQ(server.connections(), kSends * 2 / 3);
}

// The server hangs up on every request after the first of a connection,
// without answering: each send after the first finds its kept-alive
// connection dead and goes once more on a new one, every time.
std::function<Answer(const ReceivedRequest&)> HangsUpOnEverySecondRequest(std::atomic<int>& n) {
  return [&n](const ReceivedRequest& r) {
    Answer answer = Ok("seen " + r.body);
    answer.hang_up = n++ % 2 == 1;
    return answer;
  };
}

TEST(HttpSender, KeptAliveConnectionsFoundDeadAreReplacedEveryTime) {
  std::atomic<int> n{0};
  LoopbackHttpServer server(HangsUpOnEverySecondRequest(n));
  HttpSender sender(LoopbackAllowed());
  constexpr int kSends = 12;  // libcurl gives up after five retries on one handle, unless reset
  SendInTurn(sender, server, kSends);
  EXPECT_EQ(server.connections(), kSends);
}

TEST_P(AsyncHttpSender, KeptAliveConnectionsFoundDeadAreReplacedEveryTime) {
  std::atomic<int> n{0};
  LoopbackHttpServer server(HangsUpOnEverySecondRequest(n));
  AsyncSender async(Options());
  constexpr int kSends = 12;
  SendInTurn(async, server, kSends);
  EXPECT_EQ(server.connections(), kSends);
  EXPECT_EQ(server.requests().size(), size_t{2 * kSends - 1});
}

TEST_P(AsyncHttpSender, SocketsOfConnectionsNeverEstablishedAreNotTakenForNewOnes) {
  // A connect that never completes (libcurl 7.88 closes its socket outside
  // the sender's close callback), and a TLS handshake that never ends (closed
  // through it, once connected). The next connection's socket then often
  // gets the same number, and must not be taken for the closed one.
  int full = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(full, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(full, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(full, 0), 0);
  ASSERT_EQ(::getsockname(full, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<int> queued;  // connections never accepted fill the listener's queue
  for (int i = 0; i < 4; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(c, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), len);
    queued.push_back(c);
  }
  const std::string never_connects =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  LoopbackHttpServer silent(nullptr, LoopbackHttpServer::Mode::kSilent);
  const std::string never_shakes_hands = "https://127.0.0.1:" + std::to_string(silent.port()) + "/";
  // Each answer closes its connection, so that every send opens a socket.
  LoopbackHttpServer fine([](const ReceivedRequest&) {
    Answer answer = Ok("fine");
    answer.headers.emplace_back("Connection", "close");
    answer.close_after = true;
    return answer;
  });
  AsyncSender async(Options());
  for (int round = 0; round < 3; ++round) {
    HttpOutcome out = async.Send(Post(never_connects, "x"), 300ms);
    EXPECT_TRUE(out.status == kStatusTimeout || out.status == kStatusCannotConnect)
        << round << ": " << out.status << " " << out.info;
    out = async.Send(Post(fine.Url("/"), "y"), 2s);
    ASSERT_EQ(out.status, 200) << round << ": " << out.info;
    EXPECT_LT(out.seconds, 1.0);
    out = async.Send(Post(never_shakes_hands, "x"), 300ms);
    EXPECT_EQ(out.status, kStatusTimeout) << round << ": " << out.info;
    out = async.Send(Post(fine.Url("/"), "z"), 2s);
    ASSERT_EQ(out.status, 200) << round << ": " << out.info;
    EXPECT_LT(out.seconds, 1.0);
  }
  for (int c : queued) ::close(c);
  ::close(full);
}

// Arm (http_sender.cpp) relies on this: a wait queued on a socket that became
// ready while no wait was queued, its edge taken by the loop already, still
// completes.
TEST(AsioWait, CompletesOnReadinessThatCameBeforeIt) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  boost::asio::io_context loop;
  boost::asio::posix::stream_descriptor descriptor(loop, fds[0]);
  auto let_the_loop_look = [&loop] {
    boost::asio::steady_timer timer(loop, 20ms);
    bool fired = false;
    timer.async_wait([&fired](boost::system::error_code) { fired = true; });
    while (!fired) loop.run_one();
  };
  auto wait = [&](boost::asio::posix::stream_descriptor::wait_type type) {
    bool ready = false;
    descriptor.async_wait(type, [&ready](boost::system::error_code ec) { ready = !ec; });
    loop.restart();
    loop.run_for(2s);
    loop.restart();
    return ready;
  };
  for (int round = 0; round < 3; ++round) {
    // Each byte makes an edge, which the loop takes with no wait queued; the
    // bytes stay unread, so the socket stays readable.
    ASSERT_EQ(::send(fds[1], "x", 1, 0), 1);
    let_the_loop_look();
    EXPECT_TRUE(wait(boost::asio::posix::stream_descriptor::wait_read)) << "round " << round;
  }
  // Writable from the start: a first wait registers for it, a second comes
  // after the loop took that edge.
  EXPECT_TRUE(wait(boost::asio::posix::stream_descriptor::wait_write));
  let_the_loop_look();
  EXPECT_TRUE(wait(boost::asio::posix::stream_descriptor::wait_write));
  ::close(fds[1]);
}

TEST_P(AsyncHttpSender, FailuresAreOutcomes) {
  LoopbackHttpServer silent(nullptr, LoopbackHttpServer::Mode::kSilent);
  LoopbackHttpServer fine([](const ReceivedRequest&) { return Ok("fine"); });
  AsyncSender async(Options());
  // A silent server times out without holding up a healthy one.
  std::promise<HttpOutcome> slow;
  async.sender().Send(Post(silent.Url("/"), "x"), 500ms,
                      [&slow](HttpOutcome out) { slow.set_value(std::move(out)); });
  HttpOutcome quick = async.Send(Post(fine.Url("/"), "y"), 2s);
  EXPECT_EQ(quick.status, 200);
  EXPECT_LT(quick.seconds, 0.4);
  HttpOutcome timed_out = slow.get_future().get();
  EXPECT_EQ(timed_out.status, kStatusTimeout) << timed_out.info;
  EXPECT_GE(timed_out.seconds, 0.49);

  HttpRequest evil = Post(fine.Url("/"), "x");
  evil.headers.emplace_back("X-Evil", "a\r\nHost: elsewhere");
  EXPECT_EQ(async.Send(evil, 2s).status, kStatusOther);

  LoopbackHttpServer big([](const ReceivedRequest&) {
    return Answer{200, "head", {}, 10 * 1024 * 1024};
  });
  HttpOutcome cut = async.Send(Post(big.Url("/"), "x"), 5s);
  EXPECT_EQ(cut.status, 200);
  EXPECT_EQ(cut.body.size(), 64u * 1024);
  EXPECT_EQ(cut.info, "answer cut at 65536 bytes");
  EXPECT_EQ(async.Send(Post(fine.Url("/"), "z"), 2s).body, "fine");
}

TEST_P(AsyncHttpSender, PrivateDestinationsRefused) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Ok("reached"); });
  AsyncSender guarded(Options(true));
  for (std::string host : {"127.0.0.1", "localhost"}) {
    HttpOutcome out =
        guarded.Send(Post("http://" + host + ":" + std::to_string(server.port()) + "/", "x"), 2s);
    EXPECT_EQ(out.status, kStatusDestinationNotAllowed) << host << ": " << out.info;
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST_P(AsyncHttpSender, ClosedSenderCallsNothing) {
  LoopbackHttpServer silent(nullptr, LoopbackHttpServer::Mode::kSilent);
  AsyncSender async(Options());
  std::atomic<int> called{0};
  async.sender().Send(Post(silent.Url("/"), "x"), 5s, [&called](HttpOutcome) { ++called; });
  for (int i = 0; i < 200 && silent.connections() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(silent.connections(), 1);
  async.sender().Close();
  async.sender().Send(Post(silent.Url("/"), "y"), 5s, [&called](HttpOutcome) { ++called; });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(called.load(), 0);
}

bool IsPublic(const char* text) {
  sockaddr_storage storage{};
  if (std::strchr(text, ':') != nullptr) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text, &v6->sin6_addr), 1) << text;
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text, &v4->sin_addr), 1) << text;
  }
  return IsPublicAddress(reinterpret_cast<const sockaddr*>(&storage));
}

TEST(IsPublicAddress, Ranges) {
  for (const char* internal : {"127.0.0.1",
                               "127.255.0.9",
                               "0.0.0.0",
                               "10.1.2.3",
                               "172.16.0.1",
                               "172.31.255.255",
                               "192.168.1.1",
                               "169.254.169.254",
                               "100.64.0.1",
                               "224.0.0.1",
                               "255.255.255.255",
                               "::",
                               "::1",
                               "fc00::1",
                               "fd12:3456::1",
                               "fe80::1",
                               "febf::1",
                               "ff02::1",
                               "::ffff:127.0.0.1",
                               "::ffff:10.0.0.1",
                               "::ffff:169.254.169.254",
                               "64:ff9b::7f00:1",
                               "64:ff9b::a00:1",
                               "::127.0.0.1",
                               "::7f00:1",
                               "::a9fe:a9fe",
                               "::ffff:0:7f00:1",
                               "::ffff:0:a00:1",
                               "2002:7f00:1::1",
                               "2002:a9fe:a9fe::1",
                               "192.0.0.8",
                               "198.18.0.1",
                               "198.19.255.255",
                               "fec0::1",
                               "feff::1",
                               "64:ff9b:1::a00:1",
                               "64:ff9b:1:ffff::808:808",
                               "2001:0:4136:e378::1"}) {
    EXPECT_FALSE(IsPublic(internal)) << internal;
  }
  for (const char* external :
       {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.169.0.1", "100.128.0.1",
        "2001:db8::1", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "::8.8.8.8",
        "::ffff:0:808:808", "2002:808:808::1", "192.0.1.1", "198.17.255.255", "198.20.0.1",
        "64:ff9b:2::1", "2001:1::1"}) {
    EXPECT_TRUE(IsPublic(external)) << external;
  }
  EXPECT_FALSE(IsPublicAddress(nullptr));
}

}  // namespace
}  // namespace roost::integration
