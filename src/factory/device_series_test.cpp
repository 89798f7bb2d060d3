#include "factory/device_series.h"

#include <gtest/gtest.h>

namespace roost::factory {
namespace {

constexpr const char* kPac1 = "712DF9A8B59CC7EB";
constexpr const char* kPac2 = "A2B87DD0953F71EF";

std::vector<std::pair<std::string, std::string>> Pairs(const DeviceSeries& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : s.entries) out.emplace_back(e.id, e.pac);
  return out;
}

TEST(DeviceSeries, SemicolonAndCommaWithoutHeader) {
  auto a = ParseDeviceSeries("0041A2F0;712DF9A8B59CC7EB\n41a2f1;a2b87dd0953f71ef\n");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->separator, ';');
  EXPECT_FALSE(a->has_header);
  EXPECT_EQ(Pairs(*a), (std::vector<std::pair<std::string, std::string>>{{"0041A2F0", kPac1},
                                                                         {"41a2f1", kPac2}}));
  EXPECT_EQ(a->entries[1].line, 2u);
  auto b = ParseDeviceSeries("0041A2F0,712DF9A8B59CC7EB\n41a2f1,a2b87dd0953f71ef");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->separator, ',');
  EXPECT_EQ(Pairs(*b), Pairs(*a));
}

TEST(DeviceSeries, HeaderCrlfBlankLinesBomQuotesAndSpaces) {
  auto s = ParseDeviceSeries(
      "\xEF\xBB\xBFid;pac\r\n\r\n  0x41A2F0 ; \"712DF9A8B59CC7EB\"\r\n \t \r\n\"C031\";" +
      std::string(kPac2) + "\r\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->has_header);
  EXPECT_EQ(Pairs(*s), (std::vector<std::pair<std::string, std::string>>{{"0x41A2F0", kPac1},
                                                                         {"C031", kPac2}}));
  EXPECT_EQ(s->entries[0].line, 3u);
  EXPECT_EQ(s->entries[1].line, 5u);
}

TEST(DeviceSeries, HeaderNamesTheColumnOrderAndTheSeparator) {
  auto s = ParseDeviceSeries("PAC,Device ID\n712DF9A8B59CC7EB,41A2F0\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->separator, ',');
  EXPECT_EQ(Pairs(*s), (std::vector<std::pair<std::string, std::string>>{{"41A2F0", kPac1}}));
  for (const char* header : {"ID;PAC", "device_id;pac", "deviceId;Pac", " id ; pac "}) {
    auto h = ParseDeviceSeries(std::string(header) + "\n41A2F0;712DF9A8B59CC7EB\n");
    ASSERT_TRUE(h.ok()) << header << ": " << h.status().message();
    EXPECT_TRUE(h->has_header) << header;
  }
}

TEST(DeviceSeries, DuplicatesAreLeftToTheJob) {
  auto s = ParseDeviceSeries("41A2F0;712DF9A8B59CC7EB\n41a2f0;712DF9A8B59CC7EB\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->entries.size(), 2u);
}

TEST(DeviceSeries, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    size_t line;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"", 0, "no device"},
      {"\r\n \n", 2, "no device"},
      {"id;pac\n", 1, "no device"},
      {"41A2F0 712DF9A8B59CC7EB\n", 1, "expected 'ID;PAC' or 'ID,PAC'"},
      {"41A2F0;712DF9A8B59CC7EB\n41A2F1,712DF9A8B59CC7EB\n", 2, "separates fields with ';'"},
      {"id,pac\n41A2F1;712DF9A8B59CC7EB\n", 2, "separates fields with ','"},
      {"41A2F0;712DF9A8B59CC7EB;x\n", 1, "expected 2 fields"},
      {"41A2F0;712DF9A8B59CC7EB\n\n\nXYZ;712DF9A8B59CC7EB\n", 4, "device ID"},
      {"41A2F0;712DF9A8B59CC7E\n", 1, "expected 16 hex digits"},
      {"41A2F0;\n", 1, "PAC is empty"},
      {";712DF9A8B59CC7EB\n", 1, "device ID is empty"},
      {"id;name\n41A2F0;712DF9A8B59CC7EB\n", 1, "device ID"},  // not a header we know
      {"123456789;712DF9A8B59CC7EB\n", 1, "device ID"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    size_t line = 999;
    auto s = ParseDeviceSeries(c.text, &line);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidInput);
    EXPECT_EQ(line, c.line);
    const std::string& msg = s.status().message();
    EXPECT_EQ(msg.rfind("line " + std::to_string(c.line) + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
  }
}

TEST(DeviceSeries, BytesThatAreNotTextAreRefusedNamingLineAndColumn) {
  using namespace std::string_view_literals;
  struct Case {
    std::string text;
    size_t line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"41A2F0;712DF9A8B59CC7EB\n41A2F1;712DF9A8B59C\xFF\n", 2,
       "line 2: column pac: not valid UTF-8"},
      {std::string("41A2F0;712DF9A8B59CC7EB\n\n41A2F\0;712DF9A8B59CC7EB\n"sv), 3,
       "line 3: column id: contains a NUL byte"},
      {"pac,id\n712DF9A8B59CC7EB,41A2\xC0\xB0\n", 2, "line 2: column id: not valid UTF-8"},
      {"41A2F0;712DF9A8B59CC7EB;\xED\xA0\x80\n", 1, "line 1: column 3: not valid UTF-8"},
  };
  for (const Case& c : cases) {
    size_t line = 0;
    auto s = ParseDeviceSeries(c.text, &line);
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_EQ(s.status().message(), c.message);
    EXPECT_EQ(line, c.line);
  }
}

}  // namespace
}  // namespace roost::factory
