#include "http/multipart.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/text.h"

namespace roost::http {
namespace {

bool IsTchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bcharsnospace.
bool IsBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos;
}

// A header value "type *( ; name=value )". Parameter names are lowercased.
struct HeaderValue {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

// An error at character `pos` (0-based) of a header value.
struct ValueError {
  size_t pos;
  std::string what;
};

class ValueParser {
 public:
  explicit ValueParser(std::string_view s) : s_(s) {}

  std::optional<ValueError> Parse(HeaderValue& out) {
    SkipSpace();
    size_t start = i_;
    while (i_ < s_.size() && (IsTchar(s_[i_]) || s_[i_] == '/')) ++i_;
    if (i_ == start) return ValueError{i_, "expected a type"};
    out.type = AsciiLower(s_.substr(start, i_ - start));
    while (true) {
      SkipSpace();
      if (i_ == s_.size()) return std::nullopt;
      if (s_[i_] != ';') return ValueError{i_, "expected ';' before a parameter"};
      ++i_;
      SkipSpace();
      if (i_ == s_.size()) return std::nullopt;  // a trailing ';'
      start = i_;
      while (i_ < s_.size() && IsTchar(s_[i_])) ++i_;
      if (i_ == start) return ValueError{i_, "expected a parameter name"};
      std::string name = AsciiLower(s_.substr(start, i_ - start));
      SkipSpace();
      if (i_ == s_.size() || s_[i_] != '=') {
        return ValueError{i_, "expected '=' after parameter " + name};
      }
      ++i_;
      SkipSpace();
      std::string value;
      if (i_ < s_.size() && s_[i_] == '"') {
        size_t open = i_++;
        bool closed = false;
        while (i_ < s_.size()) {
          char c = s_[i_++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i_ == s_.size()) break;
            c = s_[i_++];
          }
          if (IsControl(c) && c != '\t') {
            return ValueError{i_ - 1, "control character in a quoted string"};
          }
          value.push_back(c);
        }
        if (!closed) return ValueError{open, "unterminated quoted string"};
      } else {
        start = i_;
        while (i_ < s_.size() && IsTchar(s_[i_])) ++i_;
        if (i_ == start) return ValueError{i_, "expected a value for parameter " + name};
        value = std::string(s_.substr(start, i_ - start));
      }
      out.params.emplace_back(std::move(name), std::move(value));
    }
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  std::string_view s_;
  size_t i_ = 0;
};

Status BodyError(size_t offset, const std::string& what) {
  return Status::InvalidInput("offset " + std::to_string(offset) + ": " + what);
}

Result<std::string> BoundaryOf(std::string_view content_type) {
  HeaderValue v;
  if (auto err = ValueParser(content_type).Parse(v)) {
    return Status::InvalidInput("Content-Type: character " + std::to_string(err->pos + 1) + ": " +
                                err->what);
  }
  if (v.type != "multipart/form-data") {
    return Status::InvalidInput("Content-Type: expected multipart/form-data");
  }
  const std::string* boundary = v.Param("boundary");
  if (boundary == nullptr) return Status::InvalidInput("Content-Type: no boundary parameter");
  if (boundary->empty() || boundary->size() > kMaxBoundaryLength) {
    return Status::InvalidInput("Content-Type: the boundary must have 1 to " +
                                std::to_string(kMaxBoundaryLength) + " characters");
  }
  for (size_t i = 0; i < boundary->size(); ++i) {
    char c = (*boundary)[i];
    bool last = i + 1 == boundary->size();
    if (!IsBoundaryChar(c) && !(c == ' ' && !last)) {
      return Status::InvalidInput("Content-Type: the boundary has an invalid character at " +
                                  std::to_string(i + 1));
    }
  }
  return *boundary;
}

// Parses the header section [begin, end) of the body into `part`.
Status ParsePartHeaders(std::string_view body, size_t begin, size_t end, size_t part_number,
                        FormPart& part) {
  bool disposition_seen = false;
  bool type_seen = false;
  size_t pos = begin;
  while (pos < end) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos || eol > end) eol = end;
    std::string_view line = body.substr(pos, eol - pos);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return BodyError(pos, "folded or empty header line");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return BodyError(pos, "header line without ':'");
    std::string_view name = line.substr(0, colon);
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTchar)) {
      return BodyError(pos, "invalid header name");
    }
    const size_t value_offset = pos + colon + 1;
    std::string_view value = line.substr(colon + 1);
    if (EqualsIgnoreCase(name, "Content-Disposition")) {
      if (disposition_seen) return BodyError(pos, "repeated Content-Disposition header");
      disposition_seen = true;
      HeaderValue v;
      if (auto err = ValueParser(value).Parse(v)) {
        return BodyError(value_offset + err->pos, "Content-Disposition: " + err->what);
      }
      if (v.type != "form-data") {
        return BodyError(value_offset, "Content-Disposition: expected form-data");
      }
      const std::string* field = v.Param("name");
      if (field == nullptr || field->empty()) {
        return BodyError(value_offset, "Content-Disposition: no name parameter");
      }
      if (auto fault = FindTextFault(*field)) {
        return BodyError(value_offset, "Content-Disposition: name: " + std::string(fault->problem));
      }
      part.name = *field;
      if (const std::string* filename = v.Param("filename")) {
        if (auto fault = FindTextFault(*filename)) {
          return BodyError(value_offset,
                           "Content-Disposition: filename: " + std::string(fault->problem));
        }
        part.filename = *filename;
        part.has_filename = true;
      }
    } else if (EqualsIgnoreCase(name, "Content-Type")) {
      if (type_seen) return BodyError(pos, "repeated Content-Type header");
      type_seen = true;
      HeaderValue v;
      if (auto err = ValueParser(value).Parse(v)) {
        return BodyError(value_offset + err->pos, "Content-Type: " + err->what);
      }
      if (v.type.find('/') == std::string::npos) {
        return BodyError(value_offset, "Content-Type: expected type/subtype");
      }
      part.content_type = std::string(TrimBlanks(value));
    }
    pos = eol + 2;
  }
  if (!disposition_seen) {
    return BodyError(begin,
                     "part " + std::to_string(part_number) + " has no Content-Disposition header");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type_header,
                                             std::string_view body, const MultipartLimits& limits) {
  auto boundary = BoundaryOf(content_type_header);
  if (!boundary.ok()) return boundary.status();
  const std::string delimiter = "--" + *boundary;
  const std::string inner = "\r\n" + delimiter;

  size_t pos = 0;
  if (body.substr(0, delimiter.size()) != delimiter) {
    size_t first = body.find(inner);  // after a preamble
    if (first == std::string_view::npos) return BodyError(0, "no opening boundary");
    pos = first + 2;
  }
  std::vector<FormPart> parts;
  while (true) {
    pos += delimiter.size();                        // just after a boundary
    if (body.substr(pos, 2) == "--") return parts;  // the closing boundary; the epilogue is ignored
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      return BodyError(pos, pos == body.size() ? "body ends without the closing boundary"
                                               : "expected CRLF after the boundary");
    }
    pos += 2;
    if (parts.size() == limits.max_parts) {
      return BodyError(pos, "more than " + std::to_string(limits.max_parts) + " parts");
    }
    const size_t part_number = parts.size() + 1;
    size_t headers_end;  // the CRLF CRLF (or the lone CRLF when there are no headers)
    size_t data_begin;
    if (body.substr(pos, 2) == "\r\n") {
      headers_end = pos;
      data_begin = pos + 2;
    } else {
      std::string_view window = body.substr(pos, limits.max_header_bytes + 4);
      size_t blank = window.find("\r\n\r\n");
      if (blank == std::string_view::npos) {
        if (window.size() == limits.max_header_bytes + 4) {
          return BodyError(pos, "headers of part " + std::to_string(part_number) + " longer than " +
                                    std::to_string(limits.max_header_bytes) + " bytes");
        }
        return BodyError(pos, "headers of part " + std::to_string(part_number) +
                                  " do not end with an empty line");
      }
      headers_end = pos + blank;
      data_begin = headers_end + 4;
    }
    FormPart part;
    ROOST_RETURN_IF_ERROR(ParsePartHeaders(body, pos, headers_end, part_number, part));
    size_t data_end = body.find(inner, data_begin);
    if (data_end == std::string_view::npos) {
      return BodyError(data_begin,
                       "part " + std::to_string(part_number) + " has no closing boundary");
    }
    part.data = body.substr(data_begin, data_end - data_begin);
    parts.push_back(std::move(part));
    pos = data_end + 2;
  }
}

const FormPart* FindPart(const std::vector<FormPart>& parts, std::string_view name) {
  for (const auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace roost::http
