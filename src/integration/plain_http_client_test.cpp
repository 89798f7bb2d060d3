#include "integration/plain_http_client.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/loopback_http_server.h"

namespace roost::integration {
namespace {

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using testing::Answer;
using testing::LoopbackHttpServer;
using testing::ReceivedRequest;

TEST(ParsePlainHttpUrl, TakesPlainHttpUrls) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    const char* host_header;
    const char* target;
  };
  const Case cases[] = {
      {"http://example.com", "example.com", 80, "example.com", "/"},
      {"http://example.com/", "example.com", 80, "example.com", "/"},
      {"http://Example.COM:8080/a/b?c=1&d=%20", "Example.COM", 8080, "Example.COM:8080",
       "/a/b?c=1&d=%20"},
      {"http://10.0.0.1:80/x", "10.0.0.1", 80, "10.0.0.1", "/x"},
      {"http://h?x=1", "h", 80, "h", "/?x=1"},
      {"http://h/p#fragment", "h", 80, "h", "/p"},
      {"http://h#fragment", "h", 80, "h", "/"},
      {"http://[::1]:9000/up", "::1", 9000, "[::1]:9000", "/up"},
      {"http://[2001:db8::7]/", "2001:db8::7", 80, "[2001:db8::7]", "/"},
      {"http://h:65535/{x}|~", "h", 65535, "h:65535", "/{x}|~"},
      {"http://h/a.b/..c/.d?x=/../", "h", 80, "h", "/a.b/..c/.d?x=/../"},
  };
  for (const Case& c : cases) {
    auto t = ParsePlainHttpUrl(c.url);
    ASSERT_TRUE(t.has_value()) << c.url;
    EXPECT_EQ(t->host, c.host) << c.url;
    EXPECT_EQ(t->port, c.port) << c.url;
    EXPECT_EQ(t->host_header, c.host_header) << c.url;
    EXPECT_EQ(t->target, c.target) << c.url;
  }
}

TEST(ParsePlainHttpUrl, LeavesTheRestToLibcurl) {
  for (const char* url : {
           "https://example.com/",             // TLS
           "HTTP://example.com/",              // libcurl's rules for the scheme's case
           "ftp://example.com/",               //
           "http://user:pass@example.com/",    // user information: Basic auth in libcurl
           "http://@example.com/",             //
           "http://",                          // no host
           "http:///path",                     //
           "http://:80/",                      //
           "http://exa_mple.com/",             // characters beyond the plain ones
           "http://ex%41mple.com/",            //
           "http://bücher.example/",           // an internationalised name
           "http://example.com:/",             // an empty port
           "http://example.com:0/",            // ports out of range
           "http://example.com:65536/",        //
           "http://example.com:123456/",       //
           "http://example.com:8a/",           //
           "http://[::1/",                     // unclosed bracket
           "http://[::1]x/",                   //
           "http://[fe80::1%25eth0]/",         // a zone
           "http://[not-v6]/",                 //
           "http://example.com/a b",           // path characters beyond printable ASCII
           "http://example.com/\x7f",          //
           "http://example.com/caf\xc3\xa9",   //
           "http://example.com/a\r\nHost: x",  //
           "http://example.com/a/../b",        // dot segments: libcurl removes them
           "http://example.com/./b",           //
           "http://example.com/a/..",          //
           "http://example.com/..?x",          //
       }) {
    EXPECT_FALSE(ParsePlainHttpUrl(url).has_value()) << url;
  }
  // A NUL inside the brackets: an address parser reading up to it saw "::1".
  EXPECT_FALSE(ParsePlainHttpUrl("http://[::1\0\0]/"sv).has_value());
  EXPECT_FALSE(ParsePlainHttpUrl("http://h\0/"sv).has_value());
  EXPECT_FALSE(ParsePlainHttpUrl("http://h/\0"sv).has_value());
}

bool WaitUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
  return done();
}

// A PlainHttpClient on a loop of two threads of its own.
class Client {
 public:
  explicit Client(HttpSenderOptions options = Open()) : client_(loop_, std::move(options)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { loop_.run(); });
  }
  ~Client() {
    client_.Close();
    guard_.reset();
    loop_.stop();
    for (auto& t : threads_) t.join();
  }
  static HttpSenderOptions Open() {
    HttpSenderOptions options;
    options.refuse_private_destinations = false;
    return options;
  }
  HttpOutcome Send(HttpRequest request, std::chrono::milliseconds timeout = 2s) {
    auto target = ParsePlainHttpUrl(request.url);
    EXPECT_TRUE(target.has_value()) << request.url;
    if (!target) return {};
    std::promise<HttpOutcome> answer;
    auto outcome = answer.get_future();
    client_.Send(*target, std::move(request), timeout,
                 [&answer](HttpOutcome out) { answer.set_value(std::move(out)); });
    return outcome.get();
  }
  PlainHttpClient& client() { return client_; }

 private:
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      loop_.get_executor()};
  PlainHttpClient client_;
  std::vector<std::thread> threads_;
};

HttpRequest Post(std::string url, std::string body) {
  return HttpRequest{"POST", std::move(url), {{"Content-Type", "text/plain"}}, std::move(body)};
}

Answer Raw(std::string raw) {
  Answer a;
  a.raw = std::move(raw);
  return a;
}

TEST(PlainHttpClient, SendsTheRequestAsLibcurlDid) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Answer{201, "made", {}, 0}; });
  Client c;
  HttpRequest post = Post(server.Url("?q=1#not-sent"), "body");
  post.headers.emplace_back("X-Empty", "");
  post.headers.emplace_back("x-second", "2");
  HttpOutcome out = c.Send(post);
  EXPECT_EQ(out.status, 201);
  EXPECT_EQ(out.body, "made");
  EXPECT_EQ(out.info, "");
  HttpOutcome got = c.Send(HttpRequest{"GET", server.Url("/g"), {}, ""});
  EXPECT_EQ(got.status, 201);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const ReceivedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/?q=1");
  EXPECT_EQ(r.body, "body");
  std::vector<std::pair<std::string, std::string>> expected = {
      {"host", "127.0.0.1:" + std::to_string(server.port())},
      {"user-agent", "Roost"},
      {"accept", "*/*"},
      {"content-type", "text/plain"},
      {"x-empty", ""},
      {"x-second", "2"},
      {"content-length", "4"},
  };
  EXPECT_EQ(r.headers, expected);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].target, "/g");
  EXPECT_EQ(requests[1].Header("content-length"), "<absent>");
  EXPECT_EQ(server.connections(), 1);
}

TEST(PlainHttpClient, TheCallbacksOwnUserAgentAndAcceptReplaceTheDefaults) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Answer{200, "", {}, 0}; });
  Client c;
  HttpRequest get{"GET", server.Url("/"), {{"user-AGENT", "Device/1"}, {"ACCEPT", "text/*"}}, ""};
  EXPECT_EQ(c.Send(get).status, 200);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"host", "127.0.0.1:" + std::to_string(server.port())},
      {"user-agent", "Device/1"},
      {"accept", "text/*"},
  };
  EXPECT_EQ(requests[0].headers, expected);
}

TEST(PlainHttpClient, ReadsEveryFormOfAnswer) {
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest&) {
    switch (n++) {
      case 0:  // chunked, in pieces
        return Raw("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
      case 1: {  // an interim answer first
        Answer a = Raw("\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        a.status = 100;
        return a;
      }
      case 2: {  // no body at all
        Answer a = Raw("\r\n");
        a.status = 204;
        return a;
      }
      default: {  // a body ended by closing the connection
        Answer a = Raw("Connection: close\r\n\r\nuntil the end");
        a.close_after = true;
        return a;
      }
    }
  });
  Client c;
  HttpOutcome chunked = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body, "abcdefg");
  EXPECT_EQ(chunked.info, "");
  HttpOutcome interim = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(interim.body, "ok");
  HttpOutcome empty = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(empty.status, 204) << empty.info;
  EXPECT_EQ(empty.body, "");
  HttpOutcome to_close = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(to_close.status, 200);
  EXPECT_EQ(to_close.body, "until the end");
  EXPECT_EQ(to_close.info, "");
  // The first four shared one connection; the last one ended it.
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(c.Send(Post(server.Url("/"), "x")).body, "until the end");
  EXPECT_EQ(server.connections(), 2);
}

TEST(PlainHttpClient, LongAnswersAreCutInEveryForm) {
  HttpSenderOptions options = Client::Open();
  options.max_answer_bytes = 10;
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest&) {
    if (n++ % 2 == 0) return Answer{202, "0123456789abc", {}, 0};
    return Raw("Transfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n");
  });
  Client c(options);
  for (int i = 0; i < 2; ++i) {
    HttpOutcome out = c.Send(Post(server.Url("/"), "x"));
    EXPECT_EQ(out.status, i == 0 ? 202 : 200);
    EXPECT_EQ(out.body, "0123456789");
    EXPECT_EQ(out.info, "answer cut at 10 bytes");
  }
  // A cut answer's connection is not reused: the rest of it is still coming.
  EXPECT_EQ(server.connections(), 2);
}

TEST(PlainHttpClient, BrokenAnswersAreOutcomes) {
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest&) {
    switch (n++) {
      case 0:
        return Raw("Content-Length: nope\r\n\r\n");
      case 1: {
        Answer a = Raw("Content-Length: 10\r\n\r\nshort");
        a.close_after = true;
        return a;
      }
      default:  // answered, and then bytes that answer nothing
        return Raw("Content-Length: 2\r\n\r\nokHTTP/1.1 200 Status\r\n\r\n");
    }
  });
  Client c;
  HttpOutcome bad = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(bad.status, kStatusOther);
  EXPECT_TRUE(bad.info.starts_with("could not read the answer")) << bad.info;
  HttpOutcome cut_short = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(cut_short.status, kStatusOther) << cut_short.info;
  HttpOutcome trailing = c.Send(Post(server.Url("/"), "x"));
  EXPECT_EQ(trailing.status, 200);
  EXPECT_EQ(trailing.body, "ok");
  // Neither the broken answers' connections nor the one with bytes left over
  // were kept.
  EXPECT_EQ(c.Send(Post(server.Url("/"), "x")).status, 200);
  EXPECT_EQ(server.connections(), 4);
}

TEST(PlainHttpClient, EndlessChunkExtensionsOrTrailersAreRefused) {
  // Beast bounds an answer's header, not a chunk line's extensions nor the
  // trailer: the connection's buffer does. 1 MiB of either, and the server
  // would go on until the deadline.
  const std::string flood(1 << 20, 'a');
  std::atomic<int> n{0};
  LoopbackHttpServer server([&](const ReceivedRequest&) {
    if (n++ % 2 == 0) return Raw("Transfer-Encoding: chunked\r\n\r\n1;x=" + flood);
    return Raw("Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: " + flood);
  });
  Client c;
  for (int i = 0; i < 2; ++i) {
    HttpOutcome out = c.Send(Post(server.Url("/"), "x"), 5s);
    EXPECT_EQ(out.status, kStatusOther) << i << ": " << out.info;
    EXPECT_LT(out.seconds, 4.0) << i;
  }
}

TEST(PlainHttpClient, AnInterimAnswerMeansTheRequestWasReceived) {
  // 100 Continue on a kept-alive connection, then it is closed: the server had
  // the request, so it is not sent again.
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest&) {
    if (n++ == 0) return Answer{200, "first", {}, 0};
    Answer a = Raw("\r\n");
    a.status = 100;
    a.close_after = true;
    return a;
  });
  Client c;
  EXPECT_EQ(c.Send(Post(server.Url("/"), "x")).status, 200);
  HttpOutcome out = c.Send(Post(server.Url("/"), "y"));
  EXPECT_EQ(out.status, kStatusOther) << out.info;
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(PlainHttpClient, AKeptAliveConnectionFoundClosedIsReplacedOnce) {
  // The server answers, keeps the connection, then hangs up on the next
  // request without answering: that request goes once more, on a new
  // connection. On a new connection, a hang-up is the outcome.
  std::atomic<int> n{0};
  LoopbackHttpServer server([&n](const ReceivedRequest&) {
    Answer a{200, "answered", {}, 0};
    const int i = n++;
    a.hang_up = i == 1 || i >= 3;
    return a;
  });
  Client c;
  EXPECT_EQ(c.Send(Post(server.Url("/"), "first")).status, 200);
  HttpOutcome again = c.Send(Post(server.Url("/"), "second"));
  EXPECT_EQ(again.status, 200) << again.info;
  EXPECT_EQ(again.body, "answered");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].body, "second");
  EXPECT_EQ(requests[2].body, "second");
  EXPECT_EQ(server.connections(), 2);
  // The kept-alive connection hangs up, and so does the new one: not a third time.
  HttpOutcome lost = c.Send(Post(server.Url("/"), "third"));
  EXPECT_EQ(lost.status, kStatusOther) << lost.info;
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 3);
}

// A full pool of kept-alive connections makes room by the one idle longest:
// closing the newcomer instead, 256 hosts called once held the pool for good
// and every send to a busy host opened a connection of its own.
TEST(PlainHttpClient, AFullPoolOfIdleConnectionsMakesRoomByTheOldest) {
  constexpr int kHostsCalledOnce = 257;  // one more than the pool holds
  std::vector<std::unique_ptr<LoopbackHttpServer>> once;
  for (int i = 0; i < kHostsCalledOnce; ++i) {
    once.push_back(std::make_unique<LoopbackHttpServer>([](const ReceivedRequest&) {
      return Answer{200, "ok", {}, 0};
    }));
  }
  LoopbackHttpServer busy([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  Client c;
  for (const auto& server : once) ASSERT_EQ(c.Send(Post(server->Url("/"), "once")).status, 200);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(c.Send(Post(busy.Url("/"), "busy")).status, 200);
  EXPECT_EQ(busy.connections(), 1);
  // The first hosts' connections made the room: closed by the client.
  ASSERT_TRUE(WaitUntil([&] { return once[0]->ended() == 1 && once[1]->ended() == 1; }));
  EXPECT_EQ(once.back()->ended(), 0) << "the most recent host's connection is kept";
}

TEST(PlainHttpClient, NamesAreResolvedAndChecked) {
  LoopbackHttpServer server([](const ReceivedRequest&) { return Answer{200, "here", {}, 0}; });
  const std::string by_name = "http://localhost:" + std::to_string(server.port()) + "/";
  Client open;
  // Several at once share one resolution.
  std::vector<std::promise<HttpOutcome>> answers(8);
  for (auto& a : answers) {
    open.client().Send(*ParsePlainHttpUrl(by_name), Post(by_name, "x"), 5s,
                       [&a](HttpOutcome out) { a.set_value(std::move(out)); });
  }
  for (auto& a : answers) {
    HttpOutcome out = a.get_future().get();
    EXPECT_EQ(out.status, 200) << out.info;
    EXPECT_EQ(out.body, "here");
  }
  HttpOutcome unknown = open.Send(Post("http://no-such-host.invalid/", "x"), 5s);
  EXPECT_EQ(unknown.status, kStatusCannotResolve) << unknown.info;
  EXPECT_NE(unknown.info.find("no-such-host.invalid"), std::string::npos) << unknown.info;

  Client guarded(HttpSenderOptions{});
  for (const std::string& url : {by_name, server.Url("/")}) {
    HttpOutcome out = guarded.Send(Post(url, "x"));
    EXPECT_EQ(out.status, kStatusDestinationNotAllowed) << url << ": " << out.info;
    EXPECT_EQ(out.info, "destination address not allowed");
  }
  EXPECT_EQ(server.requests().size(), answers.size());
}

TEST(PlainHttpClient, SilenceTimesOutAndRefusalIsAtOnce) {
  LoopbackHttpServer silent(nullptr, LoopbackHttpServer::Mode::kSilent);
  Client c;
  // Silent: the request is sent, no answer comes.
  HttpOutcome out = c.Send(Post(silent.Url("/"), "x"), 300ms);
  EXPECT_EQ(out.status, kStatusTimeout) << out.info;
  EXPECT_EQ(out.info, "no complete answer within 300 ms");
  EXPECT_GE(out.seconds, 0.29);
  EXPECT_LT(out.seconds, 2.0);
  // Nothing listens: refused at once.
  LoopbackHttpServer* gone = new LoopbackHttpServer(nullptr);
  const std::string closed_port = gone->Url("/");
  delete gone;
  HttpOutcome refused = c.Send(Post(closed_port, "x"));
  EXPECT_EQ(refused.status, kStatusCannotConnect) << refused.info;
  EXPECT_LT(refused.seconds, 1.0);
}

TEST(PlainHttpClient, ClosingAbandonsWhatIsInFlight) {
  LoopbackHttpServer silent(nullptr, LoopbackHttpServer::Mode::kSilent);
  LoopbackHttpServer fine([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  auto c = std::make_unique<Client>();
  EXPECT_EQ(c->Send(Post(fine.Url("/"), "kept alive")).status, 200);
  std::atomic<int> called{0};
  c->client().Send(*ParsePlainHttpUrl(silent.Url("/")), Post(silent.Url("/"), "x"), 10s,
                   [&called](HttpOutcome) { ++called; });
  for (int i = 0; i < 200 && silent.connections() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(silent.connections(), 1);
  c->client().Close();
  c->client().Send(*ParsePlainHttpUrl(fine.Url("/")), Post(fine.Url("/"), "y"), 2s,
                   [&called](HttpOutcome) { ++called; });
  // The connection in flight and the kept-alive one are closed at once, not
  // when the 10 s are up.
  for (int i = 0; i < 600 && (silent.ended() < 1 || fine.ended() < 1); ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(silent.ended(), 1);
  EXPECT_EQ(fine.ended(), 1);
  c.reset();
  EXPECT_EQ(called.load(), 0);
  EXPECT_EQ(fine.requests().size(), 1u);
}

}  // namespace
}  // namespace roost::integration
