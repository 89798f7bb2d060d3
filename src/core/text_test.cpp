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

}  // namespace
}  // namespace roost
