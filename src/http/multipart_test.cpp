#include "http/multipart.h"

#include <gtest/gtest.h>

namespace roost::http {
namespace {

const char* kType = "multipart/form-data; boundary=XyZ";

std::string Part(std::string_view headers, std::string_view data) {
  return "--XyZ\r\n" + std::string(headers) + "\r\n\r\n" + std::string(data) + "\r\n";
}

void ExpectError(const Result<std::vector<FormPart>>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(Multipart, ParsesFieldsAndFiles) {
  std::string binary("\x00\x01\r\n--Xy\xff", 9);
  std::string body =
      Part("Content-Disposition: form-data; name=\"encryptionKey\"", "00112233") +
      Part(
          "content-disposition: FORM-DATA; name=idKey; filename=\"id key.bin\"\r\n"
          "Content-Type: application/octet-stream",
          binary) +
      Part(
          "Content-Disposition: form-data; name=\"idPac\"; filename=\"a\\\"b.txt\"\r\n"
          "X-Other: ignored",
          "") +
      "--XyZ--\r\nepilogue";
  auto r = ParseMultipart(kType, body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  const auto& p = *r;
  EXPECT_EQ(p[0].name, "encryptionKey");
  EXPECT_FALSE(p[0].has_filename);
  EXPECT_EQ(p[0].content_type, "text/plain");
  EXPECT_EQ(p[0].data, "00112233");
  EXPECT_EQ(p[1].name, "idKey");
  EXPECT_TRUE(p[1].has_filename);
  EXPECT_EQ(p[1].filename, "id key.bin");
  EXPECT_EQ(p[1].content_type, "application/octet-stream");
  EXPECT_EQ(p[1].data, binary);
  EXPECT_EQ(p[2].filename, "a\"b.txt");
  EXPECT_TRUE(p[2].data.empty());
  // Views into the body.
  EXPECT_GE(p[1].data.data(), body.data());
  EXPECT_LE(p[1].data.data() + p[1].data.size(), body.data() + body.size());
  EXPECT_EQ(FindPart(p, "idPac"), &p[2]);
  EXPECT_EQ(FindPart(p, "nope"), nullptr);
}

TEST(Multipart, BoundaryQuotedWithPreambleAndPadding) {
  std::string body =
      "preamble\r\n--a b:c  \r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b:c--";
  auto r = ParseMultipart("Multipart/Form-Data ; charset=utf-8; BOUNDARY=\"a b:c\"", body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].data, "1");
}

TEST(Multipart, NoPartsIsEmpty) {
  auto r = ParseMultipart(kType, "--XyZ--\r\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
}

TEST(Multipart, BadContentType) {
  ExpectError(ParseMultipart("application/json", "--XyZ--"), "expected multipart/form-data");
  ExpectError(ParseMultipart("multipart/form-data", "--XyZ--"), "no boundary parameter");
  ExpectError(ParseMultipart("multipart/form-data; boundary=\"\"", "--"), "1 to 70");
  ExpectError(ParseMultipart("multipart/form-data; boundary=" + std::string(71, 'a'), ""),
              "1 to 70");
  ExpectError(ParseMultipart("multipart/form-data; boundary=\"a b \"", ""),
              "invalid character at 4");
  ExpectError(ParseMultipart("multipart/form-data; boundary=\"ab", ""),
              "Content-Type: character 31: unterminated quoted string");
  ExpectError(ParseMultipart("multipart/form-data boundary=x", ""), "expected ';'");
  ExpectError(ParseMultipart("multipart/form-data; boundary", ""), "expected '='");
  ExpectError(ParseMultipart("multipart/form-data; boundary=", ""), "expected a value");
  ExpectError(ParseMultipart("", ""), "expected a type");
}

TEST(Multipart, MissingBoundaries) {
  ExpectError(ParseMultipart(kType, "no boundary here"), "offset 0: no opening boundary");
  ExpectError(ParseMultipart(kType, Part("Content-Disposition: form-data; name=a", "x") + "--XyZ"),
              "offset 57: body ends without the closing boundary");
  ExpectError(ParseMultipart(kType, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx"),
              "offset 49: part 1 has no closing boundary");
  ExpectError(ParseMultipart(kType, "--XyZjunk\r\n"), "offset 5: expected CRLF after the boundary");
  // A line break must be CRLF.
  ExpectError(ParseMultipart(kType, "--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--"),
              "offset 5: expected CRLF");
}

TEST(Multipart, BadPartHeaders) {
  auto parse = [](std::string_view headers) {
    return ParseMultipart(kType, Part(headers, "x") + "--XyZ--");
  };
  ExpectError(parse("X-Other: 1"), "offset 7: part 1 has no Content-Disposition header");
  ExpectError(parse("Content-Disposition form-data"), "offset 7: header line without ':'");
  ExpectError(parse("Content-Disposition: form-data; name=a\r\n folded"), "folded");
  ExpectError(parse("Bad Name: 1\r\nContent-Disposition: form-data; name=a"),
              "offset 7: invalid header name");
  ExpectError(parse("Content-Disposition: attachment; name=a"), "expected form-data");
  ExpectError(parse("Content-Disposition: form-data; filename=a"), "no name parameter");
  ExpectError(parse("Content-Disposition: form-data; name=\"\""), "no name parameter");
  ExpectError(parse("Content-Disposition: form-data; name=\"a"),
              "offset 44: Content-Disposition: unterminated quoted string");
  ExpectError(parse("Content-Disposition: form-data; name=\"a\x01\""), "control character");
  ExpectError(parse("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
                    "name=b"),
              "repeated Content-Disposition");
  ExpectError(parse("Content-Disposition: form-data; name=a\r\nContent-Type: text"),
              "expected type/subtype");
  ExpectError(parse("Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\n"
                    "Content-Type: a/b"),
              "repeated Content-Type");
}

TEST(Multipart, NamesAndFilenamesMustBeText) {
  auto parse = [](std::string_view headers) {
    return ParseMultipart(kType, Part(headers, "x") + "--XyZ--");
  };
  ExpectError(parse("Content-Disposition: form-data; name=\"pre\xFF\""),
              "offset 27: Content-Disposition: name: not valid UTF-8");
  ExpectError(parse("Content-Disposition: form-data; name=file; filename=\"\xC0\xAF.csv\""),
              "Content-Disposition: filename: not valid UTF-8");
  auto ok = parse("Content-Disposition: form-data; name=file; filename=\"caf\xC3\xA9.csv\"");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)[0].filename, "caf\xC3\xA9.csv");
}

TEST(Multipart, Limits) {
  std::string body;
  for (int i = 0; i < 3; ++i) body += Part("Content-Disposition: form-data; name=a", "x");
  body += "--XyZ--";
  MultipartLimits limits;
  limits.max_parts = 3;
  EXPECT_TRUE(ParseMultipart(kType, body, limits).ok());
  limits.max_parts = 2;
  ExpectError(ParseMultipart(kType, body, limits), "more than 2 parts");

  limits = {};
  limits.max_header_bytes = 40;
  std::string big =
      Part("Content-Disposition: form-data; name=a\r\nX-Pad: " + std::string(40, 'p'), "x") +
      "--XyZ--";
  ExpectError(ParseMultipart(kType, big, limits), "offset 7: headers of part 1 longer than 40");
  ExpectError(ParseMultipart(kType, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"),
              "do not end with an empty line");
}

}  // namespace
}  // namespace roost::http
