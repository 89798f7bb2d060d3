#include "http/ops.h"

#include <gtest/gtest.h>

namespace roost::http {
namespace {

TEST(IsLoopbackClient, AcceptsOnlyLoopbackAddresses) {
  for (const char* remote : {"127.0.0.1:5000", "127.255.0.9:1", "[::1]:8080", "::1",
                             "[::ffff:127.0.0.1]:443", "[::FFFF:127.1.2.3]:1", "127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackClient(remote)) << remote;
  }
  for (const char* remote :
       {"10.0.0.1:5000", "128.0.0.1:1", "192.168.1.127:80", "[::2]:8080", "[::ffff:10.0.0.1]:1",
        "[2001:db8::1]:80", "[::127.0.0.1]:80", "[::]:80", "0.0.0.0:1", "", "localhost:80",
        "[::1:80", "127.0.0.1:80:90", "1.127.0.0.1:2"}) {
    EXPECT_FALSE(IsLoopbackClient(remote)) << remote;
  }
}

class MetricsAccessTest : public ::testing::Test {
 protected:
  Response Scrape(MetricsAccess access, std::string remote, std::string authorization = "") {
    Router router;
    EXPECT_TRUE(AddOperationalRoutes(router, metrics_, readiness_, std::move(access)).ok());
    Request req;
    req.method = "GET";
    req.path = "/metrics";
    req.remote = std::move(remote);
    if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
    RouteMatch m = router.Match("GET", "/metrics");
    EXPECT_EQ(m.kind, RouteMatch::Kind::kFound);
    return RunMatched(m, req);  // the admission, then the handler
  }
  observe::MetricsRegistry metrics_;
  Readiness readiness_;
};

TEST_F(MetricsAccessTest, WithoutATokenOnlyLoopbackClientsScrape) {
  EXPECT_EQ(Scrape({}, "127.0.0.1:40000").status, 200);
  EXPECT_EQ(Scrape({}, "[::1]:40000").status, 200);
  EXPECT_EQ(Scrape({}, "[::ffff:127.0.0.1]:40000").status, 200);
  EXPECT_EQ(Scrape({}, "192.0.2.7:40000").status, 403);
  EXPECT_EQ(Scrape({}, "[2001:db8::7]:40000").status, 403);
}

TEST_F(MetricsAccessTest, WithATokenEveryClientNeedsIt) {
  const MetricsAccess access{"tok-en.1"};
  Response r = Scrape(access, "127.0.0.1:40000");
  EXPECT_EQ(r.status, 401);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.body.find("tok-en.1"), std::string::npos);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "Bearer tok-en.2").status, 401);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "Bearer tok-en.1x").status, 401);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "Bearer tok-en.").status, 401);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "Basic tok-en.1").status, 401);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "tok-en.1").status, 401);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "Bearer tok-en.1").status, 200);
  EXPECT_EQ(Scrape(access, "192.0.2.7:1", "bearer tok-en.1").status, 200);
}

}  // namespace
}  // namespace roost::http
