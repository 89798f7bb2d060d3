#include "api/json/body.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <utility>
#include <vector>

#include "core/hex.h"
#include "core/json_place.h"
#include "core/text.h"
#include "model/time.h"

namespace roost::api {

using nlohmann::json;

namespace {

// A member name that can follow '.' in a JSON path as it is.
bool IsPlainName(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void AppendMember(std::string& path, std::string_view key) {
  if (IsPlainName(key)) {
    path += '.';
    path += key;
  } else {
    path += "[\"" + QuoteForMessage(key) + "\"]";
  }
}

// A path of at most about `max` bytes: its end, which names the value, is kept.
std::string BoundPath(std::string path, size_t max) {
  if (path.size() <= max) return path;
  size_t from = path.size() - max;
  while (from < path.size() && (static_cast<unsigned char>(path[from]) & 0xC0) == 0x80) ++from;
  return "$..." + path.substr(from);
}

// The JSON path ("$.items[2].name") of the first string or member name holding
// NUL, depth first in document order. The parser already refused invalid UTF-8;
// "\u0000" is valid JSON, but NUL cuts text short in libpq and C APIs.
// Iterative: a body may nest as deep as its size allows.
std::optional<std::string> FindNul(const json& root) {
  auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (root.is_string()) {
    if (has_nul(root.get_ref<const std::string&>())) return std::string("$");
    return std::nullopt;
  }
  if (!root.is_structured()) return std::nullopt;
  struct Frame {
    const json* value;
    json::const_iterator it;  // the element being looked at
    size_t index;             // its position, for arrays
  };
  std::vector<Frame> stack{{&root, root.cbegin(), 0}};
  auto path = [&] {
    std::string out = "$";
    for (const Frame& f : stack) {
      if (f.value->is_object()) {
        AppendMember(out, f.it.key());
      } else {
        out += "[" + std::to_string(f.index) + "]";
      }
    }
    return BoundPath(std::move(out), 200);
  };
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.it == top.value->cend()) {
      stack.pop_back();
      if (!stack.empty()) {
        ++stack.back().it;
        ++stack.back().index;
      }
      continue;
    }
    if (top.value->is_object() && has_nul(top.it.key())) return path();
    const json& child = *top.it;
    if (child.is_string() && has_nul(child.get_ref<const std::string&>())) return path();
    if (child.is_structured()) {
      stack.push_back({&child, child.cbegin(), 0});  // `top` is not used after this
      continue;
    }
    ++top.it;
    ++top.index;
  }
  return std::nullopt;
}

}  // namespace

std::string_view JsonTypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

ApiError WrongType(std::string_view field, std::string_view expected, const json& v) {
  return ApiError::BadField(
      field, "must be " + std::string(expected) + ", not " + std::string(JsonTypeName(v)));
}

// `max` bounds the length; control characters are refused, and so is invalid
// UTF-8 (the value may come from a query parameter or a form field, not JSON).
std::optional<ApiError> ReadString(const json& v, std::string_view field, size_t max,
                                   std::string& out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (!IsValidUtf8(s)) return ApiError::BadField(field, std::string(kNotUtf8Problem));
  if (CountCharacters(s) > max) {
    return ApiError::BadField(field, "must be at most " + std::to_string(max) + " characters");
  }
  if (HasControl(s)) return ApiError::BadField(field, "must not contain control characters");
  out = s;
  return std::nullopt;
}

Parsed<std::optional<std::string>> StringField(const json& body, std::string_view field,
                                               bool required, size_t max) {
  auto it = body.find(field);
  if (it == body.end()) {
    if (required) return ApiError::BadField(field, "is required");
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return ApiError::BadField(field, "must be a string, not " + std::string(JsonTypeName(*it)));
  }
  const auto& s = it->get_ref<const std::string&>();
  if (CountCharacters(s) > max) {
    return ApiError::BadField(field, "must be at most " + std::to_string(max) + " characters");
  }
  return std::optional<std::string>(s);
}

Parsed<json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return ApiError{400, "request body: a JSON object is required", {}};
  auto value = ParseJsonValue(body);
  if (value.ok() && !value->is_object()) {
    return ApiError{
        400, "request body: must be a JSON object, not " + std::string(JsonTypeName(*value)), {}};
  }
  return value;
}

std::optional<size_t> FindJsonTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // whatever is escaped cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

// `problem` of `body` at byte `offset`, with its place: the errors item says the line.
static ApiError RefusedAt(std::string_view body, size_t offset, std::string_view problem) {
  const std::string what = std::string(problem) + DescribePlace(body, offset);
  const int64_t line =
      1 + std::count(body.begin(), body.begin() + static_cast<ptrdiff_t>(offset), '\n');
  return ApiError{400, what, {http::ErrorDetail::Line(line, what)}};
}

Parsed<json> ParseJsonValue(std::string_view body) {
  if (body.empty()) return ApiError{400, "request body: a JSON value is required", {}};
  // Before the parser: it would build every level (≈ 80 bytes each) first.
  if (auto at = FindJsonTooDeep(body, kMaxJsonDepth)) {
    return ApiError{400,
                    "request body: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels (byte offset " + std::to_string(*at) + ")",
                    {}};
  }
  try {
    // A member given twice in one object: nlohmann keeps the last, another
    // reader of the same body (a proxy, a log) may take the first; the
    // ingest routes refuse it, and so does every other.
    std::vector<std::set<std::string, std::less<>>> members;  // of each open object
    std::optional<std::string> repeated;
    bool repeated_at_top = false;
    json value =
        json::parse(body.begin(), body.end(), [&](int, json::parse_event_t event, json& parsed) {
          if (event == json::parse_event_t::object_start) {
            members.emplace_back();
          } else if (event == json::parse_event_t::object_end) {
            members.pop_back();
          } else if (event == json::parse_event_t::key && !repeated && !members.empty() &&
                     !members.back().insert(parsed.get_ref<const std::string&>()).second) {
            repeated = parsed.get<std::string>();
            repeated_at_top = members.size() == 1;
          }
          return true;
        });
    if (repeated) {
      const std::string name = QuoteForMessage(*repeated);
      std::vector<http::ErrorDetail> errors;
      if (repeated_at_top) errors.push_back(http::ErrorDetail::Field(name, "given more than once"));
      return ApiError{400, "request body: member '" + name + "' given more than once in one object",
                      std::move(errors)};
    }
    if (auto path = FindNul(value)) {
      std::string what = *path + ": " + std::string(kNulProblem);
      // errors[].field is the path without "$.", as the members are named elsewhere.
      std::string field =
          path->substr(path->starts_with("$.") && !path->starts_with("$...") ? 2 : 1);
      if (field.empty()) field = "$";
      return ApiError{400,
                      "request body: " + what,
                      {http::ErrorDetail::Field(field, std::string(kNulProblem))}};
    }
    return value;
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing stopped.
    return RefusedAt(body, e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, body.size()),
                     "malformed JSON");
  } catch (const json::out_of_range&) {
    // A number no double holds (1e400): nlohmann refuses it with another
    // exception, which does not say where; its SAX reader stops on the
    // number's last byte, and the place given is its first.
    size_t at = std::min(JsonStopOffset(body).value_or(body.size()), body.size());
    while (at > 0 &&
           std::string_view("0123456789+-.eE").find(body[at - 1]) != std::string_view::npos) {
      --at;
    }
    return RefusedAt(body, at, "request body: a number is out of range");
  }
}

std::optional<ApiError> RejectUnknownFields(const json& object,
                                            const std::vector<std::string_view>& allowed,
                                            std::string_view where) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      const std::string field = QuoteForMessage(item.key());
      return ApiError::BadField(where.empty() ? field : std::string(where) + "." + field,
                                "unknown field");
    }
  }
  return std::nullopt;
}
Parsed<int64_t> ParseBoundedInt(const std::optional<std::string>& text, std::string_view name,
                                int64_t lo, int64_t hi, int64_t fallback, std::string_view hint) {
  if (!text) return fallback;
  int64_t v = 0;
  const char* end = text->data() + text->size();
  auto r = std::from_chars(text->data(), end, v);
  if (text->empty() || r.ec != std::errc() || r.ptr != end || v < lo || v > hi) {
    std::string expected =
        "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!hint.empty()) expected += " (" + std::string(hint) + ")";
    return ApiError::BadField(std::string(name), expected);
  }
  return v;
}

Parsed<int> ParseLimit(const std::optional<std::string>& text) {
  auto n = ParseBoundedInt(text, "limit", 1, 1000, 100);
  if (!n.ok()) return n.error();
  return static_cast<int>(*n);
}

Parsed<std::string> ParsePageCursor(const std::optional<std::string>& text, PageKey kind) {
  if (!text) return std::string();
  const size_t length = kind == PageKey::kStationId ? 4 : kObjectIdLength;
  std::string key = *text;
  if (key.size() != length || !std::all_of(key.begin(), key.end(), IsHexDigit)) {
    return ApiError::BadField("after", kind == PageKey::kStationId
                                           ? "must be a station id (4 hex digits)"
                                           : "must be an id (" + std::to_string(length) +
                                                 " hex digits), as paging.next gives it");
  }
  for (char& c : key) {
    c = static_cast<char>(kind == PageKey::kStationId
                              ? std::toupper(static_cast<unsigned char>(c))
                              : std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}
}  // namespace roost::api
