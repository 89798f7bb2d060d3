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

TEST(ParseJsonValue, RefusesNulInAnyStringWithItsPath) {
  auto top = ParseJsonObject(R"({"name": "a\u0000b"})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().status, 400);
  EXPECT_EQ(top.error().message, "request body: $.name: contains a NUL byte");
  EXPECT_EQ(FirstField(top.error()), "name");

  auto nested = ParseJsonValue(R"([{"id": "1"}, {"id": "2", "tags": ["x", "\u0000"]}])");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message, "request body: $[1].tags[1]: contains a NUL byte");
  EXPECT_EQ(FirstField(nested.error()), "[1].tags[1]");

  auto key = ParseJsonObject(R"({"ok": 1, "na\u0000me": 2})");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message, "request body: $[\"na\\x00me\"]: contains a NUL byte");

  auto bare = ParseJsonValue(R"("\u0000")");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().message, "request body: $: contains a NUL byte");

  EXPECT_TRUE(ParseJsonObject(R"({"name": "tab\there \u00e9 \u0001"})").ok());
}

TEST(ParseJsonValue, FindsNulInDeeplyNestedBodiesWithoutRecursion) {
  const size_t depth = kMaxJsonDepth;  // the deepest a body may be
  std::string body = std::string(depth, '[') + "\"\\u0000\"" + std::string(depth, ']');
  auto nested = ParseJsonValue(body);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().message.find("[0][0][0]: contains a NUL byte"), std::string::npos);
  EXPECT_LT(nested.error().message.size(), 300u);
  EXPECT_TRUE(ParseJsonValue(R"({"a": [{"b": {}}, [], "x"], "c": {"d": [1, "\u00e9"]}})").ok());
  auto late = ParseJsonValue(R"({"a": [{"b": {}}, [], "x"], "c": {"d": [1, "\u0000"]}})");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message, "request body: $.c.d[1]: contains a NUL byte");
}

TEST(ParseJsonValue, InvalidUtf8IsAMalformedBodyNotEchoed) {
  auto bad = ParseJsonObject("{\"name\": \"caf\xFF\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().status, 400);
  EXPECT_NE(bad.error().message.find("line 1, column 14"), std::string::npos)
      << bad.error().message;
  EXPECT_EQ(bad.error().message.find('\xFF'), std::string::npos);
}

TEST(ReadString, RefusesInvalidUtf8FromQueryOrForm) {
  std::string out;
  auto e = ReadString(json(std::string("dev-\xFF")), "prefix", 100, out);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->message, "prefix: not valid UTF-8");
  EXPECT_FALSE(ReadString(json("dev-\xC3\xA9"), "prefix", 100, out).has_value());
  EXPECT_EQ(out, "dev-\xC3\xA9");
}

TEST(RejectUnknownFields, QuotesTheNameSafely) {
  auto e = RejectUnknownFields(json{{std::string(300, 'x') + "\x01", 1}}, {"name"});
  ASSERT_TRUE(e.has_value());
  EXPECT_LT(e->message.size(), 100u);
  EXPECT_EQ(e->message.find('\x01'), std::string::npos);
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

TEST(ParseBoundedInt, TakesDecimalIntegersInItsRangeOnly) {
  EXPECT_EQ(*ParseBoundedInt(std::nullopt, "grid", 1, 64, 24), 24);
  EXPECT_EQ(*ParseBoundedInt(std::string("-5"), "x", -10, 10, 0), -5);
  EXPECT_EQ(*ParseBoundedInt(std::string("64"), "grid", 1, 64, 24), 64);
  for (const char* bad : {"0", "65", "+3", " 3", "3 ", "", "3.0", "0x10", "99999999999999999999"}) {
    auto v = ParseBoundedInt(std::string(bad), "grid", 1, 64, 24, "cells per side");
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(FirstField(v.error()), "grid");
    EXPECT_NE(v.error().message.find("must be an integer from 1 to 64 (cells per side)"),
              std::string::npos)
        << v.error().message;
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

// A member given twice is refused: which of its values counts would depend on the reader.
TEST(JsonBody, AMemberGivenTwiceInOneObjectIsRefused) {
  auto top = ParseJsonObject(R"({"id": "0A36", "name": "s", "id": "0A37"})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().status, 400);
  EXPECT_EQ(top.error().message, "request body: member 'id' given more than once in one object");
  EXPECT_EQ(FirstField(top.error()), "id");
  auto nested = ParseJsonValue(R"([{"a": 1}, {"a": 1, "b": {"c": 1, "c": 2}}])");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message, "request body: member 'c' given more than once in one object");
  // The same name in different objects, or as a value, is fine.
  EXPECT_TRUE(ParseJsonValue(R"({"a": {"x": 1}, "b": {"x": 2}, "x": "x"})").ok());
  EXPECT_TRUE(ParseJsonValue(R"([{"x": 1}, {"x": 2}])").ok());
}

TEST(JsonBody, NumbersNoDoubleHoldsAreA400NotAnException) {
  auto parsed = ParseJsonObject(R"({"lat": 1e400})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().status, 400);
  EXPECT_EQ(parsed.error().message,
            "request body: a number is out of range at line 1, column 9 (byte offset 8)");
  ASSERT_EQ(parsed.error().errors.size(), 1u);
  auto second_line = ParseJsonObject("{\"lat\": 1,\n \"lng\": -2e999}");
  ASSERT_FALSE(second_line.ok());
  EXPECT_EQ(second_line.error().message,
            "request body: a number is out of range at line 2, column 9 (byte offset 19)");
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
