// Small text helpers every layer needs: case folding, trimming, control
// characters, and the one definition of "text" Roost accepts from outside.
// Folding is ASCII only on purpose: identifiers, header names, role names and
// CSV keywords are ASCII, and folding them must never depend on a locale.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace roost {

// 'A'..'Z' -> 'a'..'z' (and back); every other byte unchanged.
char AsciiLower(char c);
char AsciiUpper(char c);
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);
// Equal when compared with ASCII letters folded.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// `s` starts with `prefix`, ASCII letters folded.
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
// `needle` occurs in `s`, ASCII letters folded (the lists' "name contains"
// filters). An empty needle occurs everywhere.
bool ContainsIgnoreCase(std::string_view s, std::string_view needle);

// Trims spaces and tabs (TrimBlanks) or any ASCII whitespace: space, \t, \r, \n,
// \v, \f (TrimSpace) from both ends.
std::string_view TrimBlanks(std::string_view s);
std::string_view TrimSpace(std::string_view s);

// The characters (Unicode code points) of UTF-8 text: what a length limit shown
// to users as "characters" counts. Of invalid UTF-8 it counts the bytes that
// are not continuation bytes.
size_t CountCharacters(std::string_view utf8);

// C0 controls (0x00-0x1F) and DEL (0x7F).
bool IsControl(char c);
bool HasControl(std::string_view s);

// Well-formed UTF-8 (RFC 3629): shortest forms only, no surrogates (U+D800-DFFF),
// nothing above U+10FFFF, no truncated sequence or stray continuation byte.
bool IsValidUtf8(std::string_view s);

// Text Roost accepts from a client is valid UTF-8 without NUL: NUL cuts strings
// short in libpq and C APIs, and invalid UTF-8 cannot be written back as JSON.
// The first byte where `s` stops being such text, and what is wrong there:
// kNotUtf8Problem or kNulProblem. nullopt when the whole of `s` is text.
inline constexpr std::string_view kNotUtf8Problem = "not valid UTF-8";
inline constexpr std::string_view kNulProblem = "contains a NUL byte";
struct TextFault {
  size_t offset = 0;
  std::string_view problem;
};
std::optional<TextFault> FindTextFault(std::string_view s);

// `s` made safe to quote in a message: valid UTF-8 printed as it is, every other
// byte (invalid UTF-8, C0 controls, DEL) and the backslash escaped as \xHH or
// \\, so the result is printable UTF-8 whatever `s` held. At most `max`
// characters of `s` are kept; "..." marks a cut.
std::string QuoteForMessage(std::string_view s, size_t max = 64);

// `s` with each byte that is not part of a valid UTF-8 sequence replaced by
// U+FFFD, for values that must be shown even when stored before they were checked.
std::string ReplaceInvalidUtf8(std::string_view s);

// " at line L, column C (byte offset O)": where byte `offset` of `text` is, for
// a refusal (lines and columns count from 1; an offset past the end is the end).
std::string DescribePlace(std::string_view text, size_t offset);

}  // namespace roost
