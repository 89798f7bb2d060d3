// multipart/form-data request bodies (RFC 7578 on RFC 2046 section 5.1): a pure
// parser, no I/O.
//
// Input: the request's Content-Type header value, e.g.
//   multipart/form-data; boundary="----x42"
// (media type and parameter names case-insensitive; the boundary 1-70
// characters, given as a token or a quoted-string), and the whole body:
//   [preamble CRLF] --boundary [padding] CRLF
//   headers CRLF CRLF data CRLF --boundary [padding] CRLF ... CRLF --boundary-- [epilogue]
// Line breaks are CRLF only. Each part needs a header
//   Content-Disposition: form-data; name="field"[; filename="file.bin"]
// and may have Content-Type (default "text/plain"); other headers are ignored.
// Names and filenames are quoted-strings (backslash escapes the next character)
// or tokens, and must be UTF-8 without NUL (core/text.h). Duplicate names are
// kept in order; the caller decides. Part data is not checked: a part may be a
// binary file, so text fields are the caller's to check.
//
// Errors say what is wrong and where: "Content-Type: ..." for the header,
// "offset N: ..." (byte offset in the body) for the body. Limits: at most
// `max_parts` parts and `max_header_bytes` of headers per part.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost::http {

struct FormPart {
  std::string name;
  std::string filename;  // "" when the part has no filename parameter
  bool has_filename = false;
  std::string content_type = "text/plain";  // as given, parameters included
  std::string_view data;                    // points into the parsed body
};

struct MultipartLimits {
  size_t max_parts = 32;
  size_t max_header_bytes = 8 * 1024;
};

inline constexpr size_t kMaxBoundaryLength = 70;

// Parses a multipart/form-data body. The parts' `data` views point into `body`:
// keep it alive while using them.
Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type_header,
                                             std::string_view body,
                                             const MultipartLimits& limits = {});

// The first part named `name`, or nullptr.
const FormPart* FindPart(const std::vector<FormPart>& parts, std::string_view name);

}  // namespace roost::http
