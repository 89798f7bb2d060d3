#include "core/text.h"

#include <gtest/gtest.h>

namespace roost {
namespace {

TEST(Text, CaseFoldingIsAsciiOnly) {
  EXPECT_EQ(AsciiLower("AbC-09_Z\xC3\x89"), "abc-09_z\xC3\x89");
  EXPECT_EQ(AsciiUpper("aBc-09_z\xC3\xA9"), "ABC-09_Z\xC3\xA9");
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "content-typ"));
  EXPECT_FALSE(EqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));
  EXPECT_TRUE(StartsWithIgnoreCase("Basic abc", "basic "));
  EXPECT_FALSE(StartsWithIgnoreCase("Bas", "basic"));
}

TEST(Text, Trimming) {
  EXPECT_EQ(TrimBlanks(" \t a b \t"), "a b");
  EXPECT_EQ(TrimBlanks("\r\na\r\n"), "\r\na\r\n");
  EXPECT_EQ(TrimSpace(" \t\r\n\v\fa b\n"), "a b");
  EXPECT_EQ(TrimSpace("   "), "");
  EXPECT_EQ(TrimBlanks(""), "");
}

TEST(Text, ControlCharacters) {
  EXPECT_TRUE(IsControl('\0'));
  EXPECT_TRUE(IsControl('\x1f'));
  EXPECT_TRUE(IsControl('\x7f'));
  EXPECT_FALSE(IsControl(' '));
  EXPECT_FALSE(IsControl('\x80'));
  EXPECT_TRUE(HasControl(std::string_view("a\0b", 3)));
  EXPECT_FALSE(HasControl("plain text, é"));
}

TEST(Text, Utf8Validity) {
  for (std::string_view ok :
       {std::string_view(""), std::string_view("plain ascii"), std::string_view("caf\xC3\xA9"),
        std::string_view("\xE2\x82\xAC"), std::string_view("\xF0\x9F\x90\xA6"),
        std::string_view("\xF4\x8F\xBF\xBF"), std::string_view("a\0b", 3)}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (std::string_view bad :
       {"\x80", "\xC3", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\xAF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "ok\xE2\x82", "\xE2\x28\xA1",
        "\xC3\xA9\xA9"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace roost
