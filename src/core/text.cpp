#include "core/text.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace roost {

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

char AsciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool ContainsIgnoreCase(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (EqualsIgnoreCase(s.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view TrimBlanks(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

size_t CountCharacters(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsControl(c); });
}

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool InRange(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when none
// starts there. The second byte's range rules out overlong forms (E0, F0),
// surrogates (ED) and code points above U+10FFFF (F4); C0, C1 and F5..FF never
// start a sequence.
size_t SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const size_t left = s.size() - i;
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (c < 0xC2) return 0;
  if (c < 0xE0) return left >= 2 && InRange(at(1), 0x80, 0xBF) ? 2 : 0;
  if (c < 0xF0) {
    if (left < 3) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return InRange(at(1), lo, hi) && InRange(at(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (c < 0xF5) {
    if (left < 4) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return InRange(at(1), lo, hi) && InRange(at(2), 0x80, 0xBF) && InRange(at(3), 0x80, 0xBF) ? 4
                                                                                              : 0;
  }
  return 0;
}

// Scans `s` from the start; stops at the first invalid sequence, or at the first
// NUL when `stop_at_nul`. Returns that offset, or s.size().
size_t ScanText(std::string_view s, bool stop_at_nul) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time: the common case for identifiers and CSV.
    if (i + 8 <= n) {
      const uint64_t v = Load8(s.data() + i);
      const bool ascii = (v & kHighBits) == 0;
      const bool has_zero = ((v - kOnes) & ~v & kHighBits) != 0;
      if (ascii && !(stop_at_nul && has_zero)) {
        i += 8;
        continue;
      }
    }
    if (s[i] == '\0') {
      if (stop_at_nul) return i;
      ++i;
      continue;
    }
    const size_t len = SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  return ScanText(s, false) == s.size();
}

std::optional<TextFault> FindTextFault(std::string_view s) {
  const size_t at = ScanText(s, true);
  if (at == s.size()) return std::nullopt;
  return TextFault{at, s[at] == '\0' ? kNulProblem : kNotUtf8Problem};
}

std::string QuoteForMessage(std::string_view s, size_t max) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t kept = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (kept == max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = SequenceLength(s, i);
    if (c == '\\') {
      out += "\\\\";
    } else if (len == 0 || IsControl(s[i])) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out.append(s.substr(i, len));
      i += len;
      ++kept;
      continue;
    }
    ++i;
    ++kept;
  }
  return out;
}

std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t len = SequenceLength(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string DescribePlace(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  int64_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return " at line " + std::to_string(line) + ", column " + std::to_string(column) +
         " (byte offset " + std::to_string(offset) + ")";
}

}  // namespace roost
