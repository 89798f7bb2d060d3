#include "http/message.h"

#include <gtest/gtest.h>

#include "http/json_text.h"
#include "http/server.h"

namespace roost::http {
namespace {

TEST(JsonTextTest, EscapesStrings) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b\\c\n\r\t"), "\"a\\\"b\\\\c\\n\\r\\t\"");
  EXPECT_EQ(JsonString(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(JsonTextTest, ErrorBodies) {
  EXPECT_EQ(ErrorBody("not found"), "{\"message\":\"not found\",\"errors\":[]}");
  EXPECT_EQ(ErrorBody("bad \"input\"",
                      {ErrorDetail::Field("name", "required"), ErrorDetail::Line(3, "bad hex"),
                       ErrorDetail::Id("0A1B", "unknown device")}),
            "{\"message\":\"bad \\\"input\\\"\",\"errors\":["
            "{\"field\":\"name\",\"message\":\"required\"},"
            "{\"line\":3,\"message\":\"bad hex\"},"
            "{\"id\":\"0A1B\",\"message\":\"unknown device\"}]}");
  Response r = Response::Error(404, "gone");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"message\":\"gone\",\"errors\":[]}");
}

TEST(MessageTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("ab%2"), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0"), std::nullopt);
  EXPECT_EQ(PercentDecode("%0g"), std::nullopt);
}

TEST(MessageTest, HeadersParamsAndQuery) {
  Request req;
  req.headers = {{"Content-Type", "application/json"}, {"X-Dup", "1"}, {"x-dup", "2"}};
  req.path_params = {{"id", "0A1B"}};
  req.query = "limit=10&name=a+b%21&flag&bad=%zz&limit=20";
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("X-DUP"), "1");
  EXPECT_EQ(req.Header("Missing"), std::nullopt);
  EXPECT_EQ(req.Param("id"), "0A1B");
  EXPECT_EQ(req.Param("other"), "");
  EXPECT_EQ(req.QueryParam("limit"), "10");
  EXPECT_EQ(req.QueryParam("name"), "a b!");
  EXPECT_EQ(req.QueryParam("flag"), "");
  EXPECT_EQ(req.QueryParam("bad"), std::nullopt);
  EXPECT_EQ(req.QueryParam("nope"), std::nullopt);
}

TEST(MessageTest, QueryParamNeverReturnsBytesThatAreNotText) {
  Request req;
  req.query = "prefix=%ff&name=a%00b&ok=caf%C3%A9";
  EXPECT_EQ(req.QueryParam("prefix"), std::nullopt);
  EXPECT_EQ(req.QueryParam("name"), std::nullopt);
  EXPECT_EQ(req.QueryParam("ok"), "caf\xC3\xA9");
}

// The body of TargetTextRefusal's answer (always a 400), or "" when the
// target is text.
std::string Refusal(std::string_view path, std::string_view query) {
  auto refusal = TargetTextRefusal(path, query);
  if (!refusal) return "";
  EXPECT_EQ(refusal->status, 400);
  return refusal->body;
}

// A fault in a parameter's value also names the parameter as the errors item's field.
std::string ValueRefusal(std::string_view parameter, std::string_view problem) {
  return ErrorBody("query parameter " + std::string(parameter) + ": " + std::string(problem),
                   {ErrorDetail::Field(parameter, std::string(problem))});
}

TEST(TargetTextRefusal, NamesTheSegmentOrParameter) {
  EXPECT_EQ(Refusal("/api/devices", "limit=10&search=caf%C3%A9"), "");
  EXPECT_EQ(Refusal("/", ""), "");
  EXPECT_EQ(Refusal("/api/x%FF", ""), ErrorBody("path segment 2: not valid UTF-8"));
  EXPECT_EQ(Refusal("/a/b/%00", ""), ErrorBody("path segment 3: contains a NUL byte"));
  EXPECT_EQ(Refusal("/a/\xC0\x80", ""), ErrorBody("path segment 2: not valid UTF-8"));
  EXPECT_EQ(Refusal("/a", "limit=1&prefix=%ff"), ValueRefusal("prefix", "not valid UTF-8"));
  EXPECT_EQ(Refusal("/a", "prefix=a+%00"), ValueRefusal("prefix", "contains a NUL byte"));
  // A bad name is quoted escaped, never as raw bytes, and is no field.
  EXPECT_EQ(Refusal("/a", "p%FFx=1"), ErrorBody("query parameter p\\xFFx: not valid UTF-8"));
  EXPECT_EQ(Refusal("/a", "%00"), ErrorBody("query parameter \\x00: contains a NUL byte"));
  // A parameter given twice is ambiguous (QueryParam would read the first).
  EXPECT_EQ(Refusal("/a", "limit=1&enabled=false&enabled=true"),
            ValueRefusal("enabled", "given more than once"));
  EXPECT_EQ(Refusal("/a", "limit=1&lim%69t=2"), ValueRefusal("limit", "given more than once"));
  EXPECT_EQ(Refusal("/a", "a=1&&b=2&"), "");
  // Malformed escapes in the path are left to the router; in the query they
  // are refused, never taken as an absent parameter.
  EXPECT_EQ(Refusal("/a%zz", "b=1"), "");
  EXPECT_EQ(Refusal("/a", "limit=1&prefix=%zz"),
            ValueRefusal("prefix", "malformed percent escape"));
  EXPECT_EQ(Refusal("/a", "prefix=%"), ValueRefusal("prefix", "malformed percent escape"));
  EXPECT_EQ(Refusal("/a", "p%zz=1"), ErrorBody("query parameter p%zz: malformed percent escape"));
}

TEST(JsonTextTest, NeverWritesInvalidUtf8) {
  // A value that reached a message unchecked still makes valid JSON.
  EXPECT_EQ(JsonString("a\xFF"
                       "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(JsonString("caf\xC3"), "\"caf\xEF\xBF\xBD\"");
  Response r = Response::Error(404, "no resource at /\xFE\xFF");
  EXPECT_EQ(r.body.find('\xFF'), std::string::npos);
}

}  // namespace
}  // namespace roost::http
