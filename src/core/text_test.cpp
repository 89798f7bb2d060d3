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
  EXPECT_TRUE(ContainsIgnoreCase("Temperature sensor", "SENSOR"));
  EXPECT_TRUE(ContainsIgnoreCase("Temperature sensor", "ure s"));
  EXPECT_TRUE(ContainsIgnoreCase("abc", ""));
  EXPECT_FALSE(ContainsIgnoreCase("abc", "abcd"));
  EXPECT_FALSE(ContainsIgnoreCase("Caf\xC3\xA9", "CAF\xC3\x89"));
}

TEST(Text, Trimming) {
  EXPECT_EQ(TrimBlanks(" \t a b \t"), "a b");
  EXPECT_EQ(TrimBlanks("\r\na\r\n"), "\r\na\r\n");
  EXPECT_EQ(TrimSpace(" \t\r\n\v\fa b\n"), "a b");
  EXPECT_EQ(TrimSpace("   "), "");
  EXPECT_EQ(TrimBlanks(""), "");
}

// Length limits shown as "characters" count code points, not bytes.
TEST(Text, CharactersAreCodePoints) {
  EXPECT_EQ(CountCharacters(""), 0u);
  EXPECT_EQ(CountCharacters("roof"), 4u);
  EXPECT_EQ(CountCharacters("\xC3\xA9t\xC3\xA9"), 3u);              // "été"
  EXPECT_EQ(CountCharacters("\xE2\x82\xAC \xF0\x9F\x93\xA1"), 3u);  // "€ 📡"
  EXPECT_EQ(CountCharacters("\x80\x80"
                            "z"),
            1u);  // stray continuation bytes are not characters
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

using namespace std::string_view_literals;

TEST(Utf8, AcceptsWellFormedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII, long enough for the eight-byte path"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80 \xDF\xBF"));                  // U+0080, U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80 \xEF\xBF\xBF"));          // U+0800, U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF \xEE\x80\x80"));          // around the surrogates
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
  EXPECT_TRUE(IsValidUtf8("a\0b"sv));                             // NUL is UTF-8
}

TEST(Utf8, RefusesOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // NUL in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // U+007F in two bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8, RefusesSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair
}

TEST(Utf8, RefusesCodePointsAboveTheLast) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
}

TEST(Utf8, RefusesTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82 and more"));  // a sequence cut by ASCII
  EXPECT_FALSE(IsValidUtf8("ASCII run of eight+\xF0\x9F"));
}

TEST(Utf8, RefusesStrayContinuationBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("abc\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xC3\xA9\xA9"));  // é then one continuation too many
}

TEST(Utf8, FindTextFaultNamesTheFirstBadByte) {
  EXPECT_FALSE(FindTextFault("caf\xC3\xA9, twelve bytes+").has_value());
  auto nul = FindTextFault("0123456789\0abc"sv);
  ASSERT_TRUE(nul.has_value());
  EXPECT_EQ(nul->offset, 10u);
  EXPECT_EQ(nul->problem, kNulProblem);
  auto bad = FindTextFault("01234567890123\xFF\0"sv);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->offset, 14u);
  EXPECT_EQ(bad->problem, kNotUtf8Problem);
  // A NUL inside an otherwise ASCII eight-byte block is found too.
  auto early = FindTextFault("ab\0cdefghijk"sv);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->offset, 2u);
}

TEST(QuoteForMessage, EscapesWhatIsNotPrintableText) {
  EXPECT_EQ(QuoteForMessage("caf\xC3\xA9 ok"), "caf\xC3\xA9 ok");
  EXPECT_EQ(QuoteForMessage("a\xFF"
                            "b"),
            "a\\xFFb");
  EXPECT_EQ(QuoteForMessage("a\0b\n"sv), "a\\x00b\\x0A");
  EXPECT_EQ(QuoteForMessage("\xED\xA0\x80"), "\\xED\\xA0\\x80");
  EXPECT_EQ(QuoteForMessage("back\\slash"), "back\\\\slash");
  EXPECT_TRUE(IsValidUtf8(QuoteForMessage("\xC3\x28\xF0\x28\x8C\xBC")));
}

TEST(QuoteForMessage, BoundsTheLengthInCharacters) {
  EXPECT_EQ(QuoteForMessage("abcdef", 4), "abcd...");
  EXPECT_EQ(QuoteForMessage("abcd", 4), "abcd");
  // A cut never splits a character.
  EXPECT_EQ(QuoteForMessage("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xC3\xA9...");
  EXPECT_EQ(QuoteForMessage(std::string(10000, '\xFF'), 64).size(), 64u * 4 + 3);
}

TEST(ReplaceInvalidUtf8, KeepsTextAndReplacesEachBadByte) {
  EXPECT_EQ(ReplaceInvalidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(ReplaceInvalidUtf8("a\xFF"
                               "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ReplaceInvalidUtf8("\xC3"), "\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(ReplaceInvalidUtf8("\xED\xA0\x80\xF4\x90\x80\x80")));
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

TEST(DescribePlace, CountsLinesAndColumnsFromOne) {
  EXPECT_EQ(DescribePlace("abc", 0), " at line 1, column 1 (byte offset 0)");
  EXPECT_EQ(DescribePlace("ab\ncd", 4), " at line 2, column 2 (byte offset 4)");
  EXPECT_EQ(DescribePlace("ab\n", 9), " at line 2, column 1 (byte offset 3)");  // past the end
}

}  // namespace
}  // namespace roost
