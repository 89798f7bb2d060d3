#include "factory/id_pac.h"

#include <gtest/gtest.h>

#include <fstream>

namespace roost::factory {
namespace {

TEST(IdPac, ParsesTheSampleFile) {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/cra-sample/id_pac.txt");
  std::string text{std::istreambuf_iterator<char>(in), {}};
  auto parsed = ParseIdPacFile(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].id.value, 0x0041A2F0u);
  EXPECT_EQ((*parsed)[0].pac, "6FEE95A9E3756E43");
  std::string rendered;
  for (const auto& e : *parsed) rendered += FormatIdPacLine(e);
  EXPECT_EQ(rendered, text);
}

TEST(IdPac, AcceptsEverySeparatorCommentsHeaderAndCrlf) {
  auto parsed = ParseIdPacFile(
      "# exported from the CRA\r\n"
      "ID;PAC\r\n"
      "\r\n"
      "41a2f0;6fee95a9e3756e43\r\n"
      "0x41A2F1,84053899B0FC3EE0\r\n"
      "41A2F2\t77B58678657B761D\n"
      "  41A2F3    DBA97F96BD5CCFC4  \n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].pac, "6FEE95A9E3756E43");
  EXPECT_EQ((*parsed)[1].id.value, 0x41A2F1u);
  EXPECT_EQ((*parsed)[3].pac, "DBA97F96BD5CCFC4");
  EXPECT_EQ(FormatIdPacLine((*parsed)[0]), "0041A2F0;6FEE95A9E3756E43\n");
}

struct BadCase {
  const char* text;
  const char* expect;  // substring of the error
};

class IdPacBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(IdPacBad, NamesTheLine) {
  auto parsed = ParseIdPacFile(GetParam().text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(GetParam().expect), std::string::npos)
      << parsed.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IdPacBad,
    ::testing::Values(BadCase{"41A2F0;6FEE95A9E3756E43\n41A2F1;6FEE95A9E375\n", "line 2: PAC"},
                      BadCase{"41A2F0;6FEE95A9E3756E43\nXYZ;6FEE95A9E3756E43\n",
                              "line 2: device ID"},
                      BadCase{"ID;PAC\n123456789;6FEE95A9E3756E43\n", "line 2: device ID"},
                      BadCase{"41A2F0;6FEE95A9E3756E43\n41A2F1\n", "line 2: expected 'ID;PAC'"},
                      BadCase{"41A2F0;6FEE95A9E3756E43;extra\n", "line 1: expected 'ID;PAC'"},
                      BadCase{"41A2F0;6FEE95A9E3756E43\n0041a2f0;84053899B0FC3EE0\n",
                              "line 2: device ID 0041A2F0 already listed on line 1"},
                      BadCase{"41A2F0;6FEE95A9E3756E4G\n", "line 1: PAC"}));

// A PAC is a secret: an error names the line and the field, never its text.
TEST(IdPac, ErrorsNeverQuoteAPac) {
  for (const char* file :
       {"41A2F1;6FEE95A9E375\n", "41A2F0;6FEE95A9E3756E43;extra\n", "41A2F0;6FEE95A9E3756E4G\n"}) {
    auto parsed = ParseIdPacFile(file);
    ASSERT_FALSE(parsed.ok()) << file;
    EXPECT_EQ(parsed.status().message().find("6FEE"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(IdPac, OnlyOneHeaderLineIsSkipped) {
  auto parsed = ParseIdPacFile("ID;PAC\nDevice;Code\n41A2F0;6FEE95A9E3756E43\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("line 2"), std::string::npos);
}

TEST(IdPac, BytesThatAreNotTextAreRefusedNamingLineAndColumn) {
  using namespace std::string_view_literals;
  auto nul = ParseIdPacFile("ID;PAC\n41A2F0;6FEE95A9E3756E43\n41A2F1;6FEE95A9\0\n"sv);
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.status().message(), "line 3: column pac: contains a NUL byte");
  auto id = ParseIdPacFile("  41A2\xFF;6FEE95A9E3756E43\n");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(), "line 1: column id: not valid UTF-8");
  // A comment is skipped, but never with bytes that are not text in it.
  auto comment = ParseIdPacFile("# batch \xC0\x80\n41A2F0;6FEE95A9E3756E43\n");
  ASSERT_FALSE(comment.ok());
  EXPECT_EQ(comment.status().message(), "line 1: not valid UTF-8");
}

// Named by its line, never quoted (it may hold a PAC), however long.
TEST(IdPac, MalformedLinesAreNamedNotQuoted) {
  auto parsed =
      ParseIdPacFile("41A2F0;6FEE95A9E3756E43\n41A2F1\x01" + std::string(200, 'x') + "\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind("line 2: expected 'ID;PAC'", 0), 0u)
      << parsed.status().message();
  EXPECT_EQ(parsed.status().message().find("xx"), std::string::npos);
  EXPECT_LT(parsed.status().message().size(), 150u);
}

TEST(IdPac, EmptyInputIsAnEmptyList) {
  auto parsed = ParseIdPacFile("\n# nothing\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

// The reader yields what the parser returns, with line numbers, one line at a time.
TEST(IdPacReader, YieldsDeviceLinesWithTheirNumbers) {
  IdPacReader reader("# c\nID;PAC\n\n41A2F0;6FEE95A9E3756E43\r\n41a2f1 84053899b0fc3ee0");
  auto first = reader.Next();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().message();
  EXPECT_EQ((*first)->line, 4u);
  EXPECT_EQ((*first)->entry, (IdPac{SigfoxId{0x41A2F0}, "6FEE95A9E3756E43"}));
  auto second = reader.Next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->line, 5u);
  EXPECT_EQ((*second)->entry.pac, "84053899B0FC3EE0");
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_FALSE(reader.Next()->has_value());
}

// Repeated IDs are the caller's to find; a bad line stops the reader for good.
TEST(IdPacReader, LeavesRepeatsToTheCallerAndStopsAtABadLine) {
  IdPacReader reader("41A2F0;6FEE95A9E3756E43\n41A2F0;6FEE95A9E3756E43\n41A2F1;BAD\n41A2F2;1\n");
  EXPECT_TRUE(reader.Next()->has_value());
  EXPECT_TRUE(reader.Next()->has_value());
  auto bad = reader.Next();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3: PAC"), std::string::npos)
      << bad.status().message();
  auto again = reader.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), bad.status().message());
}

}  // namespace
}  // namespace roost::factory
