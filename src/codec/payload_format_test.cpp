#include "codec/payload_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/hex.h"

namespace roost::codec {
namespace {

using nlohmann::json;

json LoadVectors() {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/payload-format.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

Bytes Hex(std::string_view text) {
  auto bytes = FromHex(text);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : Bytes{};
}

// Compiles `format` (which must be valid) and decodes `data`.
std::string Decode(std::string_view format, const Bytes& data, size_t* left_out = nullptr) {
  auto compiled = CompilePayloadFormat(format);
  EXPECT_TRUE(compiled.ok()) << format << ": " << compiled.status().message();
  if (!compiled.ok()) return {};
  std::string out;
  const size_t n = DecodeToJson(*compiled, data, out);
  if (left_out != nullptr) *left_out = n;
  return out;
}

std::string ErrorOf(std::string_view format) {
  auto compiled = CompilePayloadFormat(format);
  EXPECT_FALSE(compiled.ok()) << format;
  return compiled.ok() ? std::string() : compiled.status().message();
}

TEST(PayloadFormat, DecodesEveryVectorCase) {
  const json vectors = LoadVectors();
  ASSERT_GE(vectors["cases"].size(), 8u);
  for (const json& c : vectors["cases"]) {
    const std::string format = c["format"];
    size_t left_out = 99;
    const std::string text = Decode(format, Hex(c["data"].get<std::string>()), &left_out);
    const json decoded = json::parse(text);
    EXPECT_EQ(decoded, c["decoded"]) << format << " -> " << text;
    EXPECT_EQ(left_out, 0u) << format;
    // Keys in format order, as the text is meant to be shown.
    std::vector<std::string> keys;
    for (const auto& [k, v] : decoded.items()) keys.push_back(k);
    auto compiled = CompilePayloadFormat(format);
    ASSERT_TRUE(compiled.ok());
    ASSERT_EQ(keys.size(), compiled->fields().size());
    size_t pos = 0;
    for (const PayloadField& f : compiled->fields()) {
      const size_t at = text.find("\"" + f.name + "\":", pos);
      ASSERT_NE(at, std::string::npos) << f.name;
      pos = at;
    }
  }
}

TEST(PayloadFormat, ExactTextOfTheSensorExample) {
  EXPECT_EQ(Decode("Temp::float:32 AccX::uint:16:little-endian AccY::uint:16:little-endian "
                   "AccZ::uint:16:little-endian Battery::uint:8 Digital8::bool:7 Digital7::bool:6 "
                   "Digital6::bool:5 Digital5::bool:4 Digital4::bool:3 Digital3::bool:2 "
                   "Digital2::bool:1 Digital1::bool:0",
                   Hex("41ac000002010403e80357a5")),
            R"({"Temp":21.5,"AccX":258,"AccY":772,"AccZ":1000,"Battery":87,"Digital8":true,)"
            R"("Digital7":false,"Digital6":true,"Digital5":false,"Digital4":false,"Digital3":true,)"
            R"("Digital2":false,"Digital1":true})");
}

TEST(PayloadFormat, ShortMessagesLeaveFieldsOutAndNameThem) {
  const json vectors = LoadVectors();
  ASSERT_FALSE(vectors["short_messages"].empty());
  for (const json& c : vectors["short_messages"]) {
    const std::string format = c["format"];
    const Bytes data = Hex(c["data"].get<std::string>());
    size_t left_out = 0;
    EXPECT_EQ(json::parse(Decode(format, data, &left_out)), c["decoded"]) << format;
    EXPECT_EQ(left_out, c["undecoded"].size());
    auto compiled = CompilePayloadFormat(format);
    ASSERT_TRUE(compiled.ok());
    std::string undecoded;
    AppendUndecodedJson(*compiled, data.size(), undecoded);
    EXPECT_EQ(json::parse(undecoded), c["undecoded"]) << format;
  }
}

TEST(PayloadFormat, RefusesEveryInvalidVectorFormat) {
  const json vectors = LoadVectors();
  ASSERT_FALSE(vectors["invalid_formats"].empty());
  for (const json& f : vectors["invalid_formats"]) {
    const std::string message = ErrorOf(f.get<std::string>());
    EXPECT_EQ(message.rfind("position ", 0), 0u) << f << ": " << message;
    EXPECT_NE(message.find("expected"), std::string::npos) << f << ": " << message;
  }
}

struct BadFormat {
  const char* format;
  const char* error;  // the whole message
};

class PayloadFormatBad : public ::testing::TestWithParam<BadFormat> {};

TEST_P(PayloadFormatBad, NamesThePositionAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf(GetParam().format), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PayloadFormatBad,
    ::testing::Values(
        // The vector file's invalid formats, one kind of error each.
        BadFormat{"a::uint:12", "position 9: expected 8, 16, 24 or 32 after 'uint:', found '1'"},
        BadFormat{"a::bool:8", "position 9: expected a bit number 0-7 after 'bool:', found '8'"},
        BadFormat{"a::float:64x",
                  "position 12: expected ':little-endian', ':big-endian', a space or the end of "
                  "the format after 'float:64', found 'x'"},
        BadFormat{"a b", "position 2: expected ':' after the field name 'a', found a space"},
        BadFormat{"::uint:8",
                  "position 1: expected a field name (letters, digits, '-' or '_'), found ':'"},
        BadFormat{"a::char:",
                  "position 9: expected a length of 1 to 65535 bytes after 'char:', found the end "
                  "of the format"},
        BadFormat{"a::uint:16:middle-endian",
                  "position 12: expected 'little-endian' or 'big-endian', found 'm'"},
        BadFormat{"a:x:uint:8", "position 3: expected a byte index (digits) or ':', found 'x'"},
        // More kinds.
        BadFormat{"",
                  "position 1: expected a field name (letters, digits, '-' or '_'), found the "
                  "end of the format"},
        BadFormat{"   ",
                  "position 4: expected a field name (letters, digits, '-' or '_'), found "
                  "the end of the format"},
        BadFormat{"a::text:4",
                  "position 4: expected a type: bool, char, float, uint or int, found 't'"},
        BadFormat{"a::UINT:8",
                  "position 4: expected a type: bool, char, float, uint or int, found 'U'"},
        BadFormat{"a::uint", "position 8: expected ':' after 'uint', found the end of the format"},
        BadFormat{"a:1x:uint:8", "position 4: expected ':' after the byte index, found 'x'"},
        BadFormat{"a:70000:uint:8",
                  "position 3: expected a byte index of at most 65535, found '7'"},
        BadFormat{"a::char:0",
                  "position 9: expected a length of 1 to 65535 bytes after 'char:', found '0'"},
        BadFormat{"a::char:4:little-endian",
                  "position 10: expected a space or the end of the format after 'char:4', found "
                  "':'"},
        BadFormat{"a::bool:1x",
                  "position 10: expected a space or the end of the format after 'bool:1', found "
                  "'x'"},
        BadFormat{"a::float:16", "position 10: expected 32 or 64 after 'float:', found '1'"},
        BadFormat{"a::int:64", "position 8: expected 8, 16, 24 or 32 after 'int:', found '6'"},
        BadFormat{"a::uint:8:little-endianx",
                  "position 11: expected 'little-endian' or 'big-endian', found 'l'"},
        BadFormat{"a::uint:8:little-endian:",
                  "position 24: expected a space or the end of the format after the endianness, "
                  "found ':'"},
        BadFormat{"a::uint:8\tb::uint:8",
                  "position 10: expected ':little-endian', ':big-endian', a space or the end of "
                  "the format after 'uint:8', found byte 0x09"},
        BadFormat{"t\xc3\xa9::uint:8",
                  "position 2: expected ':' after the field name 't', found byte 0xC3"},
        BadFormat{"a::uint:8 b::uint:8 a::bool:1",
                  "position 21: duplicate field name 'a' (first at position 1)"}));

TEST(PayloadFormat, ComputesBytePositions) {
  auto f = CompilePayloadFormat(
      "b1::bool:7 b2::bool:6 i1::uint:8 s::char:3 b3::bool:0 b4::bool:1 "
      "x:10:uint:16 b5::bool:2 y::float:32");
  ASSERT_TRUE(f.ok()) << f.status().message();
  std::vector<uint32_t> offsets;
  for (const PayloadField& field : f->fields()) offsets.push_back(field.offset);
  // b1 b2 share byte 0; i1 byte 1; s 2-4; b3 b4 byte 5; x 10-11; b5 byte 12; y 13-16.
  EXPECT_EQ(offsets, (std::vector<uint32_t>{0, 0, 1, 2, 5, 5, 10, 12, 13}));
  EXPECT_EQ(f->full_size(), 17u);
}

TEST(PayloadFormat, BoolAfterAnExplicitBoolIndexReadsThatByte) {
  EXPECT_EQ(Decode("a:2:bool:0 b::bool:1 c::uint:8", Hex("000002ff07")),
            R"({"a":false,"b":true,"c":255})");
}

TEST(PayloadFormat, AcceptsSeveralSpacesAndSurroundingSpaces) {
  EXPECT_EQ(Decode("  a::uint:8    b::uint:8  ", Hex("0102")), R"({"a":1,"b":2})");
}

TEST(PayloadFormat, IntegersOfEverySizeAndEndianness) {
  const Bytes data = Hex("fffefdfc");
  EXPECT_EQ(Decode("a::uint:8 b::uint:16 c:0:uint:24 d:0:uint:32", data),
            R"({"a":255,"b":65277,"c":16776957,"d":4294901244})");
  EXPECT_EQ(Decode("a:0:uint:16:little-endian b:0:uint:24:little-endian "
                   "c:0:uint:32:little-endian d:0:uint:32:big-endian",
                   data),
            R"({"a":65279,"b":16645887,"c":4244504319,"d":4294901244})");
  EXPECT_EQ(Decode("a::int:8 b::int:16 c:0:int:24 d:0:int:32 e:0:int:16:little-endian", data),
            R"({"a":-1,"b":-259,"c":-259,"d":-66052,"e":-257})");
  EXPECT_EQ(Decode("a::int:32 b::int:8", Hex("7fffffff80")), R"({"a":2147483647,"b":-128})");
  EXPECT_EQ(Decode("a::int:32", Hex("80000000")), R"({"a":-2147483648})");
}

TEST(PayloadFormat, FloatsAreShortestRoundTripAndNonFiniteIsNull) {
  EXPECT_EQ(Decode("a::float:32", Hex("3dcccccd")), R"({"a":0.1})");
  EXPECT_EQ(Decode("a::float:32:little-endian", Hex("0000c0bf")), R"({"a":-1.5})");
  EXPECT_EQ(Decode("a::float:32", Hex("80000000")), R"({"a":-0})");
  EXPECT_EQ(Decode("a::float:32", Hex("7f7fffff")), R"({"a":3.4028235e+38})");
  EXPECT_EQ(Decode("a::float:32", Hex("00000001")), R"({"a":1e-45})");
  EXPECT_EQ(Decode("a::float:32 b::float:32 c::float:32", Hex("7fc000007f800000ff800000")),
            R"({"a":null,"b":null,"c":null})");
  EXPECT_EQ(Decode("a::float:64", Hex("3fb999999999999a")), R"({"a":0.1})");
  EXPECT_EQ(Decode("a::float:64:little-endian", Hex("9a9999999999b93f")), R"({"a":0.1})");
  EXPECT_EQ(Decode("a::float:64", Hex("7ff8000000000000")), R"({"a":null})");
  // Every output parses as JSON, and to the same float.
  const json parsed = json::parse(Decode("a::float:32", Hex("41ac0001")));
  EXPECT_EQ(static_cast<float>(parsed["a"].get<double>()), 21.500002f);
}

TEST(PayloadFormat, CharFieldsAreValidJsonStrings) {
  EXPECT_EQ(Decode("s::char:4", Hex("41222f5c")), R"({"s":"A\"/\\"})");
  EXPECT_EQ(Decode("s::char:7", Hex("00080c0a0d091f")), R"({"s":"\u0000\b\f\n\r\t\u001f"})");
  EXPECT_EQ(Decode("s::char:1", Hex("7f")), "{\"s\":\"\x7f\"}");
  // Valid UTF-8 is kept: é, €, U+10348.
  EXPECT_EQ(Decode("s::char:9", Hex("c3a9e282acf0908d88")),
            "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88\"}");
  // Each byte that is not part of valid UTF-8 becomes U+FFFD: a lone continuation
  // byte, a truncated sequence, an overlong form, a surrogate, above U+10FFFF, 0xFF.
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(Decode("s::char:1", Hex("80")), "{\"s\":\"" + r + "\"}");
  EXPECT_EQ(Decode("s::char:3", Hex("e28241")), "{\"s\":\"" + r + r + "A\"}");
  EXPECT_EQ(Decode("s::char:2", Hex("c0af")), "{\"s\":\"" + r + r + "\"}");
  EXPECT_EQ(Decode("s::char:3", Hex("eda080")), "{\"s\":\"" + r + r + r + "\"}");
  EXPECT_EQ(Decode("s::char:4", Hex("f4908080")), "{\"s\":\"" + r + r + r + r + "\"}");
  EXPECT_EQ(Decode("s::char:2", Hex("ff41")), "{\"s\":\"" + r + "A\"}");
  // A truncated sequence at the end of the field, with more message bytes after it.
  EXPECT_EQ(Decode("s::char:1 t::char:1", Hex("c3a9")),
            "{\"s\":\"" + r + "\",\"t\":\"" + r + "\"}");
  // Whatever the bytes, nlohmann parses the output (it checks UTF-8 strictly).
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  const std::string text = Decode("s::char:256", all);
  const json parsed = json::parse(text);
  EXPECT_EQ(parsed["s"].get<std::string>().substr(0, 3), std::string("\0\x01\x02", 3));
}

TEST(PayloadFormat, FieldsThatDoNotFitAreLeftOutWhereverTheyAre) {
  auto f = CompilePayloadFormat("a:5:uint:8 b:0:uint:8 c:2:uint:32 d:1:bool:0 e:9:char:2");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->full_size(), 11u);
  const Bytes data = Hex("0102030405");  // 5 bytes: a, c and e do not fit
  std::string out = "prefix:";
  EXPECT_EQ(DecodeToJson(*f, data, out), 3u);
  EXPECT_EQ(out, R"(prefix:{"b":1,"d":false})");
  out.clear();
  AppendUndecodedJson(*f, data.size(), out);
  EXPECT_EQ(out, R"(["a","c","e"])");
  out.clear();
  EXPECT_EQ(DecodeToJson(*f, {}, out), 5u);
  EXPECT_EQ(out, "{}");
  out.clear();
  AppendUndecodedJson(*f, 11, out);
  EXPECT_EQ(out, "[]");
}

TEST(PayloadFormat, LongMessagesAndLargeOffsets) {
  Bytes data(300, 0x41);
  data[299] = 0x07;
  EXPECT_EQ(Decode("x:299:uint:8 s:290:char:3", data), R"({"x":7,"s":"AAA"})");
  // A char field that does not fit does not make the decode slow or large.
  auto f = CompilePayloadFormat("a::uint:8 big::char:65535");
  ASSERT_TRUE(f.ok());
  std::string out;
  EXPECT_EQ(DecodeToJson(*f, Hex("05"), out), 1u);
  EXPECT_EQ(out, R"({"a":5})");
  EXPECT_LT(out.capacity(), 1000u);
}

TEST(PayloadFormat, AppendFieldJsonWritesOneValue) {
  auto f = CompilePayloadFormat("t::float:32 s::char:2 b::bool:0 n::uint:16");
  ASSERT_TRUE(f.ok());
  const Bytes data = Hex("41ac00004142ff");
  std::string out;
  EXPECT_TRUE(AppendFieldJson(*f, 0, data, out));
  EXPECT_EQ(out, "21.5");
  out.clear();
  EXPECT_TRUE(AppendFieldJson(*f, 1, data, out));
  EXPECT_EQ(out, R"("AB")");
  out.clear();
  EXPECT_TRUE(AppendFieldJson(*f, 2, data, out));
  EXPECT_EQ(out, "true");
  out.clear();
  EXPECT_FALSE(AppendFieldJson(*f, 3, data, out));  // needs bytes 7-8
  EXPECT_FALSE(AppendFieldJson(*f, 4, data, out));  // no such field
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace roost::codec
