// Custom payload formats (a device type's "display type" `payloadConfig`, and a
// callback's own `payloadConfig`): compiled once from their text, then used to
// decode every message of the device type straight to JSON text.
//
// Grammar (pipeline.md; the Sigfox Back-End's custom format):
//   format    = field_def { " " field_def }
//   field_def = field_name ":" [ byte_index ] ":" type_def
//   field_name= 1*( ALPHA / DIGIT / "-" / "_" )
//   type_def  = "bool:" bit(0-7)
//             | "char:" length
//             | "float:32" [ ":little-endian" | ":big-endian" ]
//             | "uint:" ("8"|"16"|"24"|"32") [ ":little-endian" | ":big-endian" ]
// Extensions (not in the Sigfox grammar): "int:" ("8"|"16"|"24"|"32") [endianness]
// (two's complement, signed) and "float:64" [endianness].
//
// Decisions where the grammar is silent:
// - Fields are separated by one or more spaces; spaces before the first and
//   after the last field are ignored. No other whitespace is accepted.
// - byte_index and char length are decimal, at most 65535; a char length is at
//   least 1. Type and endianness words are lowercase, as in the grammar.
// - Two fields with the same name are refused (the JSON object would be
//   ambiguous). At least one field is required.
// - Errors read "position N: expected ..., found ..." with N the 1-based
//   character position in the format text.
//
// Byte positions: a field with a byte index reads there (0-based). Without one,
// the first field reads at byte 0; a bool reads the same byte as the previous
// field when that was a bool, otherwise the byte right after the previous
// field; every other type reads at the byte right after the previous field.
// Bit 7 of a bool is the most significant bit of its byte. Multi-byte numbers
// are big-endian unless ":little-endian".
//
// Decoding never fails: a field that does not fit in the message (its last byte
// is past the end) is left out of the object and named in `undecoded`. Whether
// a field fits depends only on the message length.
//
// Values in the JSON text:
// - uint/int: JSON integers; bool: true/false.
// - float: the shortest decimal that reads back as the same float (32-bit
//   fields are formatted as float, not widened to double: 0x3dcccccd -> 0.1).
//   NaN and the infinities have no JSON number: they are written as null.
// - char: a JSON string. Valid UTF-8 sequences are kept; every byte that is not
//   part of a valid UTF-8 sequence becomes U+FFFD; '"', '\' and the control
//   characters U+0000-U+001F are escaped (\" \\ \b \f \n \r \t, else \u00XX).
//   The output is always valid JSON in valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost::codec {

enum class FieldType : uint8_t { kBool, kChar, kUint, kInt, kFloat32, kFloat64 };

struct PayloadField {
  std::string name;
  FieldType type = FieldType::kUint;
  uint32_t offset = 0;  // first byte read
  uint32_t size = 1;    // bytes read (1 for bool)
  uint8_t bit = 0;      // bool: bit number, 7 = most significant
  bool little_endian = false;
};

// A compiled format. Cheap to share between threads (decoding only reads it).
class PayloadFormat {
 public:
  const std::vector<PayloadField>& fields() const { return fields_; }
  // Message length in bytes at which every field fits.
  size_t full_size() const { return full_size_; }

 private:
  friend Result<PayloadFormat> CompilePayloadFormat(std::string_view text);
  friend size_t DecodeToJson(const PayloadFormat&, std::span<const uint8_t>, std::string&);

  std::vector<PayloadField> fields_;
  // keys_[key_begin_[i] .. key_begin_[i+1]) is ,"<name>": for field i.
  std::string keys_;
  std::vector<uint32_t> key_begin_;
  size_t full_size_ = 0;
  size_t full_json_bound_ = 0;  // longest JSON text when every field fits
};

// Parses and checks `text`; the error names the 1-based character position and
// what was expected there.
Result<PayloadFormat> CompilePayloadFormat(std::string_view text);

// Appends the decoded object to `out`, e.g. {"a":18,"b":true,"s":"AB"}, without
// the fields that do not fit ("{}" when none fits). Returns the number of fields
// left out. Allocates only when `out` has to grow.
size_t DecodeToJson(const PayloadFormat& format, std::span<const uint8_t> message,
                    std::string& out);

// Appends the JSON array of the names of the fields that do not fit in a
// message of `message_size` bytes, in format order, e.g. ["b"]; [] when all fit.
void AppendUndecodedJson(const PayloadFormat& format, size_t message_size, std::string& out);

// Appends the JSON value of field `index` (a number, true/false, null or a
// string, as in DecodeToJson). Returns false, appending nothing, when the field
// does not fit in `message`. For callback {customData#name} variables.
bool AppendFieldJson(const PayloadFormat& format, size_t index, std::span<const uint8_t> message,
                     std::string& out);

}  // namespace roost::codec
