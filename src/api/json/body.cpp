#include "api/json/body.h"

#include <algorithm>

#include "core/text.h"

namespace roost::api {

using nlohmann::json;

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

// `max` bounds the length; control characters are refused.
std::optional<ApiError> ReadString(const json& v, std::string_view field, size_t max,
                                   std::string& out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max) {
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
  if (s.size() > max) {
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
    return json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing stopped.
    size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, body.size());
    int64_t line = 1;
    int64_t column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (body[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = "malformed JSON at line " + std::to_string(line) + ", column " +
                       std::to_string(column) + " (byte offset " + std::to_string(offset) + ")";
    return ApiError{400, what, {http::ErrorDetail::Line(line, what)}};
  }
}

std::optional<ApiError> RejectUnknownFields(const json& object,
                                            const std::vector<std::string_view>& allowed) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      return ApiError::BadField(item.key(), "unknown field");
    }
  }
  return std::nullopt;
}
Parsed<int> ParseLimit(const std::optional<std::string>& text) {
  if (!text) return 100;
  const std::string& s = *text;
  if (s.empty() || s.size() > 4 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return ApiError::BadField("limit", "must be an integer between 1 and 1000");
  }
  int n = std::stoi(s);
  if (n < 1 || n > 1000)
    return ApiError::BadField("limit", "must be an integer between 1 and 1000");
  return n;
}
}  // namespace roost::api
