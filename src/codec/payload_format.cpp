#include "codec/payload_format.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace roost::codec {
namespace {

constexpr uint32_t kMaxNumber = 65535;  // byte index and char length

// Longest JSON text of one value, for a buffer bound.
size_t ValueBound(const PayloadField& f) {
  switch (f.type) {
    case FieldType::kBool:
      return 5;  // false
    case FieldType::kChar:
      return 2 + 6 * static_cast<size_t>(f.size);  // "\u00XX" per byte at worst
    case FieldType::kUint:
    case FieldType::kInt:
      return 11;  // -2147483648, 4294967295
    case FieldType::kFloat32:
    case FieldType::kFloat64:
      return 32;  // shortest round trip of a double is at most 24 characters
  }
  return 32;
}

bool Fits(const PayloadField& f, size_t size) {
  return static_cast<size_t>(f.offset) + f.size <= size;
}

uint64_t ReadUnsigned(const uint8_t* p, uint32_t size, bool little_endian) {
  uint64_t v = 0;
  if (little_endian) {
    for (uint32_t i = size; i-- > 0;) v = (v << 8) | p[i];
  } else {
    for (uint32_t i = 0; i < size; ++i) v = (v << 8) | p[i];
  }
  return v;
}

char* WriteChars(char* p, const uint8_t* s, uint32_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  const uint8_t* end = s + n;
  while (s < end) {
    const uint8_t c = *s;
    if (c >= 0x20 && c < 0x80) {
      if (c == '"' || c == '\\') *p++ = '\\';
      *p++ = static_cast<char>(c);
      ++s;
      continue;
    }
    if (c < 0x20) {
      *p++ = '\\';
      switch (c) {
        case '\b':
          *p++ = 'b';
          break;
        case '\f':
          *p++ = 'f';
          break;
        case '\n':
          *p++ = 'n';
          break;
        case '\r':
          *p++ = 'r';
          break;
        case '\t':
          *p++ = 't';
          break;
        default:
          *p++ = 'u';
          *p++ = '0';
          *p++ = '0';
          *p++ = kHex[c >> 4];
          *p++ = kHex[c & 0xf];
      }
      ++s;
      continue;
    }
    // A multi-byte UTF-8 sequence: length and the range of its second byte.
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
    }
    bool valid = len != 0 && static_cast<size_t>(end - s) >= len && s[1] >= lo && s[1] <= hi;
    for (size_t i = 2; valid && i < len; ++i) valid = s[i] >= 0x80 && s[i] <= 0xbf;
    if (valid) {
      std::memcpy(p, s, len);
      p += len;
      s += len;
    } else {
      *p++ = static_cast<char>(0xef);  // U+FFFD
      *p++ = static_cast<char>(0xbf);
      *p++ = static_cast<char>(0xbd);
      ++s;
    }
  }
  *p++ = '"';
  return p;
}

template <typename T>
char* WriteFloat(char* p, T v) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  return std::to_chars(p, p + 32, v).ptr;
}

// Writes the JSON value of `f` (which fits in the message starting at `data`)
// and returns the end. At most ValueBound(f) characters.
char* WriteValue(char* p, const PayloadField& f, const uint8_t* data) {
  const uint8_t* b = data + f.offset;
  switch (f.type) {
    case FieldType::kBool:
      if ((*b >> f.bit) & 1) {
        std::memcpy(p, "true", 4);
        return p + 4;
      }
      std::memcpy(p, "false", 5);
      return p + 5;
    case FieldType::kChar:
      return WriteChars(p, b, f.size);
    case FieldType::kUint:
      return std::to_chars(p, p + 11,
                           static_cast<uint32_t>(ReadUnsigned(b, f.size, f.little_endian)))
          .ptr;
    case FieldType::kInt: {
      const uint64_t raw = ReadUnsigned(b, f.size, f.little_endian);
      const unsigned shift = 64 - 8 * f.size;
      // Two's complement sign extension (arithmetic right shift, defined in C++20).
      const auto v = static_cast<int64_t>(raw << shift) >> shift;
      return std::to_chars(p, p + 11, v).ptr;
    }
    case FieldType::kFloat32: {
      const auto raw = static_cast<uint32_t>(ReadUnsigned(b, 4, f.little_endian));
      float v;
      std::memcpy(&v, &raw, sizeof v);
      return WriteFloat(p, v);
    }
    case FieldType::kFloat64: {
      const uint64_t raw = ReadUnsigned(b, 8, f.little_endian);
      double v;
      std::memcpy(&v, &raw, sizeof v);
      return WriteFloat(p, v);
    }
  }
  return p;
}

// --- Parsing -----------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  size_t pos() const { return pos_; }
  void Advance() { ++pos_; }
  void SkipSpaces() {
    while (!AtEnd() && text_[pos_] == ' ') ++pos_;
  }

  // "position N: expected <what>, found <the character at pos>"
  Status Error(std::string_view what) const { return ErrorAt(pos_, what); }
  Status ErrorAt(size_t at, std::string_view what) const {
    std::string msg = "position " + std::to_string(at + 1) + ": expected ";
    msg += what;
    msg += ", found ";
    if (at >= text_.size()) {
      msg += "the end of the format";
    } else {
      const auto c = static_cast<unsigned char>(text_[at]);
      if (c == ' ') {
        msg += "a space";
      } else if (c > 0x20 && c < 0x7f) {
        msg += '\'';
        msg += static_cast<char>(c);
        msg += '\'';
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        msg += "byte 0x";
        msg += kHex[c >> 4];
        msg += kHex[c & 0xf];
      }
    }
    return Status::InvalidInput(std::move(msg));
  }

  bool Consume(char c) {
    if (Peek() != c || AtEnd()) return false;
    ++pos_;
    return true;
  }

  std::string_view Take(bool (*pred)(char)) {
    const size_t start = pos_;
    while (!AtEnd() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // Digits as a number; nullopt when there are none or the value is above kMaxNumber
  // (then `too_large` is set).
  std::optional<uint32_t> Number(bool& too_large) {
    too_large = false;
    uint32_t v = 0;
    const size_t start = pos_;
    while (!AtEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (v <= kMaxNumber) v = v * 10 + static_cast<uint32_t>(text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    if (v > kMaxNumber) {
      too_large = true;
      return std::nullopt;
    }
    return v;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// After a field: a space or the end of the format.
bool AtFieldEnd(const Parser& p) {
  return p.AtEnd() || p.Peek() == ' ';
}

// Optional ":little-endian" / ":big-endian" after a number type.
Status ParseEndianness(Parser& p, PayloadField& f, std::string_view type_text) {
  if (AtFieldEnd(p)) return Status::Ok();
  if (!p.Consume(':')) {
    return p.Error("':little-endian', ':big-endian', a space or the end of the format after '" +
                   std::string(type_text) + "'");
  }
  const size_t start = p.pos();
  const std::string_view word = p.Take(IsWordChar);
  if (word == "little-endian") {
    f.little_endian = true;
  } else if (word == "big-endian") {
    f.little_endian = false;
  } else {
    return p.ErrorAt(start, "'little-endian' or 'big-endian'");
  }
  if (!AtFieldEnd(p)) return p.Error("a space or the end of the format after the endianness");
  return Status::Ok();
}

}  // namespace

Result<PayloadFormat> CompilePayloadFormat(std::string_view text) {
  PayloadFormat format;
  Parser p(text);
  std::vector<size_t> name_pos;
  size_t next = 0;  // byte right after the previous field
  bool previous_bool = false;
  uint32_t previous_bool_byte = 0;
  p.SkipSpaces();
  do {
    PayloadField f;
    const size_t name_start = p.pos();
    const std::string_view name = p.Take(IsNameChar);
    if (name.empty()) return p.Error("a field name (letters, digits, '-' or '_')");
    for (size_t i = 0; i < format.fields_.size(); ++i) {
      if (format.fields_[i].name == name) {
        return Status::InvalidInput(
            "position " + std::to_string(name_start + 1) + ": duplicate field name '" +
            std::string(name) + "' (first at position " + std::to_string(name_pos[i] + 1) + ")");
      }
    }
    f.name = name;
    if (!p.Consume(':')) return p.Error("':' after the field name '" + f.name + "'");

    bool too_large = false;
    const size_t index_start = p.pos();
    const std::optional<uint32_t> index = p.Number(too_large);
    if (too_large) return p.ErrorAt(index_start, "a byte index of at most 65535");
    if (!p.Consume(':')) {
      return p.Error(index ? "':' after the byte index" : "a byte index (digits) or ':'");
    }

    const size_t type_start = p.pos();
    const std::string_view type = p.Take(IsWordChar);
    if (type != "bool" && type != "char" && type != "float" && type != "uint" && type != "int") {
      return p.ErrorAt(type_start, "a type: bool, char, float, uint or int");
    }
    if (!p.Consume(':')) return p.Error("':' after '" + std::string(type) + "'");
    const size_t param_start = p.pos();
    const std::optional<uint32_t> param = p.Number(too_large);
    const std::string type_text = std::string(type) + ":" + (param ? std::to_string(*param) : "");

    if (type == "bool") {
      if (!param || *param > 7) return p.ErrorAt(param_start, "a bit number 0-7 after 'bool:'");
      f.type = FieldType::kBool;
      f.size = 1;
      f.bit = static_cast<uint8_t>(*param);
      if (!AtFieldEnd(p))
        return p.Error("a space or the end of the format after '" + type_text + "'");
    } else if (type == "char") {
      if (!param || *param == 0) {
        return p.ErrorAt(param_start, "a length of 1 to 65535 bytes after 'char:'");
      }
      f.type = FieldType::kChar;
      f.size = *param;
      if (!AtFieldEnd(p))
        return p.Error("a space or the end of the format after '" + type_text + "'");
    } else if (type == "float") {
      if (!param || (*param != 32 && *param != 64)) {
        return p.ErrorAt(param_start, "32 or 64 after 'float:'");
      }
      f.type = *param == 32 ? FieldType::kFloat32 : FieldType::kFloat64;
      f.size = *param / 8;
      ROOST_RETURN_IF_ERROR(ParseEndianness(p, f, type_text));
    } else {
      if (!param || (*param != 8 && *param != 16 && *param != 24 && *param != 32)) {
        return p.ErrorAt(param_start, "8, 16, 24 or 32 after '" + std::string(type) + ":'");
      }
      f.type = type == "uint" ? FieldType::kUint : FieldType::kInt;
      f.size = *param / 8;
      ROOST_RETURN_IF_ERROR(ParseEndianness(p, f, type_text));
    }

    if (index) {
      f.offset = *index;
    } else if (f.type == FieldType::kBool && previous_bool) {
      f.offset = previous_bool_byte;
    } else {
      f.offset = static_cast<uint32_t>(next);  // at most 65535 + 65535
    }
    next = static_cast<size_t>(f.offset) + f.size;
    previous_bool = f.type == FieldType::kBool;
    previous_bool_byte = f.offset;

    format.full_size_ = std::max(format.full_size_, next);
    name_pos.push_back(name_start);
    format.fields_.push_back(std::move(f));
    p.SkipSpaces();
  } while (!p.AtEnd());

  size_t bound = 2;  // {}
  for (const PayloadField& f : format.fields_) {
    format.key_begin_.push_back(static_cast<uint32_t>(format.keys_.size()));
    format.keys_ += ",\"";
    format.keys_ += f.name;
    format.keys_ += "\":";
    bound += f.name.size() + 4 + ValueBound(f);
  }
  format.key_begin_.push_back(static_cast<uint32_t>(format.keys_.size()));
  format.full_json_bound_ = bound;
  return format;
}

size_t DecodeToJson(const PayloadFormat& format, std::span<const uint8_t> message,
                    std::string& out) {
  const size_t size = message.size();
  const std::vector<PayloadField>& fields = format.fields_;
  size_t bound = format.full_json_bound_;
  if (size < format.full_size_) {
    // Some fields are left out: bound the text by the ones that fit only (a
    // long char field that does not fit costs nothing).
    bound = 2;
    for (const PayloadField& f : fields) {
      if (Fits(f, size)) bound += f.name.size() + 4 + ValueBound(f);
    }
  }
  const size_t start = out.size();
  out.resize(start + bound);
  char* const begin = out.data() + start;
  char* p = begin;
  *p++ = '{';
  const char* keys = format.keys_.data();
  const uint32_t* key_begin = format.key_begin_.data();
  size_t left_out = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const PayloadField& f = fields[i];
    if (!Fits(f, size)) {
      ++left_out;
      continue;
    }
    // The key text starts with a comma, skipped for the first value.
    const uint32_t k = key_begin[i] + (p == begin + 1 ? 1 : 0);
    const uint32_t n = key_begin[i + 1] - k;
    std::memcpy(p, keys + k, n);
    p += n;
    p = WriteValue(p, f, message.data());
  }
  *p++ = '}';
  out.resize(static_cast<size_t>(p - out.data()));
  return left_out;
}

void AppendUndecodedJson(const PayloadFormat& format, size_t message_size, std::string& out) {
  out += '[';
  bool first = true;
  for (const PayloadField& f : format.fields()) {
    if (Fits(f, message_size)) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += f.name;  // names are letters, digits, '-' and '_': nothing to escape
    out += '"';
  }
  out += ']';
}

bool AppendFieldJson(const PayloadFormat& format, size_t index, std::span<const uint8_t> message,
                     std::string& out) {
  if (index >= format.fields().size()) return false;
  const PayloadField& f = format.fields()[index];
  if (!Fits(f, message.size())) return false;
  const size_t start = out.size();
  out.resize(start + ValueBound(f));
  char* end = WriteValue(out.data() + start, f, message.data());
  out.resize(static_cast<size_t>(end - out.data()));
  return true;
}

}  // namespace roost::codec
