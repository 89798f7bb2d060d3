// Small ASCII text helpers every layer needs: case folding, trimming, control
// characters. ASCII only on purpose: identifiers, header names, role names and CSV
// keywords are ASCII, and folding them must never depend on a locale.
#pragma once

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

// Trims spaces and tabs (TrimBlanks) or any ASCII whitespace: space, \t, \r, \n,
// \v, \f (TrimSpace) from both ends.
std::string_view TrimBlanks(std::string_view s);
std::string_view TrimSpace(std::string_view s);

// C0 controls (0x00-0x1F) and DEL (0x7F).
bool IsControl(char c);
bool HasControl(std::string_view s);

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF, no truncated sequence. NUL is valid UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace roost
