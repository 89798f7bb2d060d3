#include "api/json/body.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::api {
namespace {

using nlohmann::json;

// The "field" named by the first errors[] item, "" when there is none.
std::string FirstField(const ApiError& e) {
  if (e.errors.empty() || e.errors[0].key != "field") return "";
  return json::parse(e.errors[0].value_json).get<std::string>();
}

TEST(ParseJsonObject, AcceptsAnObject) {
  auto v = ParseJsonObject(R"({"a": 1})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["a"], 1);
}

TEST(ParseJsonObject, MalformedJsonNamesLineColumnAndOffset) {
  auto v = ParseJsonObject("{\"a\": 1,\n  \"b\" 2}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().status, 400);
  EXPECT_NE(v.error().message.find("line 2, column 7"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("byte offset 15"), std::string::npos) << v.error().message;
  ASSERT_EQ(v.error().errors.size(), 1u);
  EXPECT_EQ(v.error().errors[0].key, "line");
  EXPECT_EQ(v.error().errors[0].value_json, "2");
}

TEST(ParseJsonObject, TruncatedEmptyAndNonObjectBodies) {
  EXPECT_FALSE(ParseJsonObject("{\"a\": ").ok());
  auto empty = ParseJsonObject("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("JSON object is required"), std::string::npos);
  auto array = ParseJsonObject("[1, 2]");
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.error().message.find("not an array"), std::string::npos);
  EXPECT_FALSE(ParseJsonObject("\"text\"").ok());
}

TEST(ParseJsonValue, AcceptsAnyValueAndLocatesErrors) {
  EXPECT_TRUE(ParseJsonValue("[1]").ok());
  EXPECT_TRUE(ParseJsonValue("3").ok());
  auto bad = ParseJsonValue("[1,\n 2,");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("malformed JSON at line 2"), std::string::npos);
  EXPECT_FALSE(ParseJsonValue("").ok());
}

TEST(RejectUnknownFields, NamesTheField) {
  auto e = RejectUnknownFields(json{{"name", "x"}, {"colour", 1}}, {"name"});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(FirstField(*e), "colour");
  EXPECT_NE(e->message.find("unknown field"), std::string::npos);
  EXPECT_FALSE(RejectUnknownFields(json{{"name", "x"}}, {"name"}).has_value());
}

TEST(ParseLimit, DefaultsAndBounds) {
  EXPECT_EQ(*ParseLimit(std::nullopt), 100);
  EXPECT_EQ(*ParseLimit(std::string("1")), 1);
  EXPECT_EQ(*ParseLimit(std::string("1000")), 1000);
  for (const char* bad : {"0", "1001", "-1", "", "abc", "10x", "99999"}) {
    auto l = ParseLimit(std::string(bad));
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(FirstField(l.error()), "limit");
  }
}

}  // namespace
}  // namespace roost::api

namespace roost::api {
namespace {

TEST(JsonDepth, NestingPastTheLimitIsFoundWithoutParsing) {
  EXPECT_EQ(FindJsonTooDeep("[[[]]]", 3), std::nullopt);
  EXPECT_EQ(FindJsonTooDeep("[[[[]]]]", 3), std::optional<size_t>(3));
  EXPECT_EQ(FindJsonTooDeep(R"({"a":{"b":[{"c":1}]}})", 3), std::optional<size_t>(11));
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_EQ(FindJsonTooDeep(R"(["[[[[", "\"[[[[", {"k]]": "{{{{"}])", 2), std::nullopt);
  // Siblings do not add up: depth returns after each closes.
  EXPECT_EQ(FindJsonTooDeep("[[],[],[[]],[]]", 3), std::nullopt);
  const std::string hostile = R"({"email":)" + std::string(10'000'000, '[');
  EXPECT_EQ(FindJsonTooDeep(hostile, kMaxJsonDepth), std::optional<size_t>(9 + kMaxJsonDepth - 1));
}

TEST(JsonDepth, TooDeepBodiesAreRefusedNamingTheOffset) {
  auto parsed = ParseJsonValue(std::string(40, '[') + std::string(40, ']'));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().status, 400);
  EXPECT_NE(parsed.error().message.find("nested deeper than 32 levels (byte offset 32)"),
            std::string::npos)
      << parsed.error().message;
  EXPECT_TRUE(ParseJsonValue(std::string(32, '[') + std::string(32, ']')).ok());
}

}  // namespace
}  // namespace roost::api
