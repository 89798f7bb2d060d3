#include "http/router.h"

#include <gtest/gtest.h>

#include <ostream>

namespace roost::http {
namespace {

Handler Named(std::string name) {
  return [name](const Request&) { return Response::Text(200, name); };
}

std::string CallHandler(const RouteMatch& m) {
  EXPECT_EQ(m.kind, RouteMatch::Kind::kFound);
  if (m.kind != RouteMatch::Kind::kFound) return "";
  return (*m.handler)(Request{}).body;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router.Add("GET", "/", Named("root")).ok());
    ASSERT_TRUE(router.Add("GET", "/healthz", Named("health")).ok());
    ASSERT_TRUE(router.Add("GET", "/api/devices/{id}", Named("get-device")).ok());
    ASSERT_TRUE(router.Add("PUT", "/api/devices/{id}", Named("put-device")).ok());
    ASSERT_TRUE(router.Add("POST", "/api/devices/bulk", Named("bulk")).ok());
    ASSERT_TRUE(
        router.Add("POST", "/api/devicetypes/{id}/devices/bulk/create/async", Named("async")).ok());
    ASSERT_TRUE(
        router.Add("GET", "/api/devicetypes/{id}/callbacks/{callbackId}", Named("cb")).ok());
  }
  Router router;
};

TEST_F(RouterTest, MatchesLiteralsAndRoot) {
  EXPECT_EQ(CallHandler(router.Match("GET", "/healthz")), "health");
  EXPECT_EQ(CallHandler(router.Match("GET", "/")), "root");
  EXPECT_EQ(router.Match("GET", "/healthz").pattern, "/healthz");
}

TEST_F(RouterTest, ExtractsDecodedParameters) {
  RouteMatch m = router.Match("GET", "/api/devicetypes/abc/callbacks/x%20y");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.pattern, "/api/devicetypes/{id}/callbacks/{callbackId}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>("id", "abc")));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>("callbackId", "x y")));
}

TEST_F(RouterTest, LiteralBeatsParameterAndMethodChoosesRoute) {
  EXPECT_EQ(CallHandler(router.Match("POST", "/api/devices/bulk")), "bulk");
  // GET has no literal route: the parameter route takes "bulk" as an id.
  RouteMatch m = router.Match("GET", "/api/devices/bulk");
  EXPECT_EQ(CallHandler(m), "get-device");
  EXPECT_EQ(m.params.at(0).second, "bulk");
  EXPECT_EQ(CallHandler(router.Match("PUT", "/api/devices/0A1B")), "put-device");
  EXPECT_EQ(CallHandler(router.Match("POST", "/api/devicetypes/t1/devices/bulk/create/async")),
            "async");
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  EXPECT_EQ(router.Match("GET", "/nope").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/healthz/").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/HEALTHZ").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api/devices").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api/devices/").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api//devices/x").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api/devices/a/b").kind, RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, WrongMethodIsMethodNotAllowedWithAllow) {
  RouteMatch m = router.Match("DELETE", "/api/devices/42");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, PUT");
  EXPECT_EQ(m.pattern, "/api/devices/{id}");
  // Both the literal and the parameter route match the path: allow lists both.
  m = router.Match("DELETE", "/api/devices/bulk");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST, PUT");
  m = router.Match("POST", "/healthz");
  EXPECT_EQ(m.allow, "GET, HEAD");
  // Methods are case-sensitive tokens.
  EXPECT_EQ(router.Match("get", "/healthz").kind, RouteMatch::Kind::kMethodNotAllowed);
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  EXPECT_EQ(CallHandler(router.Match("HEAD", "/healthz")), "health");
  EXPECT_EQ(router.Match("HEAD", "/api/devices/bulk").pattern, "/api/devices/{id}");
}

TEST(Router, HeadNeverRunsAGetThatChangesState) {
  Router router;
  ASSERT_TRUE(router
                  .Add("GET", "/api/devicetypes/{id}/disengage", Named("disengage"), Runs::kWorkers,
                       Safety::kChangesState)
                  .ok());
  ASSERT_TRUE(router.Add("GET", "/api/devicetypes/{id}", Named("get-type")).ok());
  EXPECT_EQ(CallHandler(router.Match("GET", "/api/devicetypes/t1/disengage")), "disengage");
  RouteMatch m = router.Match("HEAD", "/api/devicetypes/t1/disengage");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET");
  m = router.Match("POST", "/api/devicetypes/t1/disengage");
  EXPECT_EQ(m.allow, "GET");
  EXPECT_EQ(CallHandler(router.Match("HEAD", "/api/devicetypes/t1")), "get-type");
}

TEST_F(RouterTest, MalformedPathIsBadPath) {
  EXPECT_EQ(router.Match("GET", "/api/devices/%zz").kind, RouteMatch::Kind::kBadPath);
  EXPECT_EQ(router.Match("GET", "/api/devices/%4").kind, RouteMatch::Kind::kBadPath);
  EXPECT_EQ(router.Match("GET", "healthz").kind, RouteMatch::Kind::kBadPath);
  EXPECT_EQ(router.Match("GET", "").kind, RouteMatch::Kind::kBadPath);
  EXPECT_EQ(router.Match("OPTIONS", "*").kind, RouteMatch::Kind::kBadPath);
}

TEST_F(RouterTest, RefusesPathSegmentsThatAreNotText) {
  RouteMatch m = router.Match("GET", "/api/devices/ab%FFcd");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  Request req;
  req.path = "/api/devices/ab%FFcd";
  Response r = (*m.handler)(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("path segment 3: not valid UTF-8"), std::string::npos) << r.body;
  req.path = "/api/devices/ab%00cd";
  r = (*router.Match("GET", req.path).handler)(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("path segment 3: contains a NUL byte"), std::string::npos) << r.body;
  req.path = "/api/devices/caf%C3%A9";
  EXPECT_EQ((*router.Match("GET", req.path).handler)(req).body, "get-device");
}

TEST_F(RouterTest, RefusesQueryParametersThatAreNotText) {
  Request req;
  req.path = "/healthz";
  req.query = "limit=10&prefix=%ff";
  Response r = (*router.Match("GET", req.path).handler)(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("query parameter prefix: not valid UTF-8"), std::string::npos) << r.body;
  req.query = "name=a%00b";
  r = (*router.Match("GET", req.path).handler)(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("query parameter name: contains a NUL byte"), std::string::npos) << r.body;
  // The errors item names the parameter, as a refused field is named.
  EXPECT_NE(r.body.find(R"("field":"name")"), std::string::npos) << r.body;
  req.query = "a%00=1";  // a name that is not text is not a field to name
  r = (*router.Match("GET", req.path).handler)(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.find(R"("field")"), std::string::npos) << r.body;
  req.query = "name=caf%C3%A9&flag";
  EXPECT_EQ((*router.Match("GET", req.path).handler)(req).body, "health");
}

TEST_F(RouterTest, ListsRoutes) {
  auto routes = router.Routes();
  ASSERT_EQ(routes.size(), 7u);
  EXPECT_EQ(routes[0], (std::pair<std::string, std::string>("GET", "/")));
  EXPECT_EQ(routes[1], (std::pair<std::string, std::string>("POST", "/api/devices/bulk")));
  EXPECT_EQ(routes[2], (std::pair<std::string, std::string>("GET", "/api/devices/{id}")));
  EXPECT_EQ(routes[3], (std::pair<std::string, std::string>("PUT", "/api/devices/{id}")));
}

struct BadRoute {
  const char* method;
  const char* pattern;
  Status::Code code;
  const char* message_part;
};

// Names each case in test listings (ctest shows the parameter, not raw bytes).
void PrintTo(const BadRoute& r, std::ostream* os) {
  *os << "[" << r.method << "] [" << r.pattern << "]";
}

class RouterBadAddTest : public ::testing::TestWithParam<BadRoute> {};

TEST_P(RouterBadAddTest, Rejected) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/a/{id}", Named("x")).ok());
  const BadRoute& bad = GetParam();
  Status s = router.Add(bad.method, bad.pattern, Named("y"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), bad.code);
  EXPECT_NE(s.message().find(bad.message_part), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(bad.pattern), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, RouterBadAddTest,
    ::testing::Values(
        BadRoute{"", "/x", Status::Code::kInvalidInput, "not an HTTP token"},
        BadRoute{"GE T", "/x", Status::Code::kInvalidInput, "not an HTTP token"},
        BadRoute{"GET", "x", Status::Code::kInvalidInput, "must start with '/'"},
        BadRoute{"GET", "", Status::Code::kInvalidInput, "must start with '/'"},
        BadRoute{"GET", "/a//b", Status::Code::kInvalidInput, "segment 2 is empty"},
        BadRoute{"GET", "/a/", Status::Code::kInvalidInput, "segment 2 is empty"},
        BadRoute{"GET", "/b/{id", Status::Code::kInvalidInput, "lacks '}'"},
        BadRoute{"GET", "/b/{}", Status::Code::kInvalidInput, "parameter name"},
        BadRoute{"GET", "/b/{1d}", Status::Code::kInvalidInput, "parameter name"},
        BadRoute{"GET", "/b/{id}/{id}", Status::Code::kInvalidInput, "repeated"},
        BadRoute{"GET", "/a/{name}/x", Status::Code::kInvalidInput, "conflicts with {id}"},
        BadRoute{"GET", "/b/x}y", Status::Code::kInvalidInput, "literal contains"},
        BadRoute{"GET", "/b/50%", Status::Code::kInvalidInput, "literal contains"},
        BadRoute{"GET", "/a/{id}", Status::Code::kAlreadyExists, "already registered"}));

TEST(RouterAddTest, RejectsEmptyHandler) {
  Router router;
  Status s = router.Add("GET", "/x", Handler());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_NE(s.message().find("empty handler"), std::string::npos);
}

}  // namespace
}  // namespace roost::http

namespace roost::http {
namespace {

TEST(RouterFallback, AnswersGetAndHeadThatMatchNoRoute) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/healthz", Named("health")).ok());
  ASSERT_TRUE(router.Add("POST", "/api/things", Named("things")).ok());
  ASSERT_TRUE(router.SetFallback("/{console}", Named("fallback")).ok());
  EXPECT_EQ(CallHandler(router.Match("GET", "/devices/1234AB")), "fallback");
  EXPECT_EQ(router.Match("GET", "/devices/1234AB").pattern, "/{console}");
  EXPECT_EQ(CallHandler(router.Match("HEAD", "/")), "fallback");
  EXPECT_EQ(CallHandler(router.Match("GET", "/healthz")), "health");
  // Other methods, wrong methods of a route and malformed paths are not its business.
  EXPECT_EQ(router.Match("POST", "/devices").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api/things").kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(router.Match("GET", "/bad%zz").kind, RouteMatch::Kind::kBadPath);
  // Routes() lists routes only.
  for (const auto& [method, pattern] : router.Routes()) EXPECT_NE(pattern, "/{console}");
}

TEST(RouterFallback, RefusesASecondOrEmptyFallback) {
  Router router;
  EXPECT_FALSE(router.SetFallback("/{console}", nullptr).ok());
  EXPECT_FALSE(router.SetFallback("", Named("x")).ok());
  ASSERT_TRUE(router.SetFallback("/{console}", Named("x")).ok());
  EXPECT_EQ(router.SetFallback("/{console}", Named("y")).code(), Status::Code::kAlreadyExists);
}

TEST(RouterFallback, RefusesTargetsThatAreNotText) {
  Router router;
  ASSERT_TRUE(router.SetFallback("/{console}", Named("x")).ok());
  RouteMatch m = router.Match("GET", "/a%00b");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  Request req;
  req.path = "/a%00b";
  EXPECT_EQ((*m.handler)(req).status, 400);
}

}  // namespace
}  // namespace roost::http
