// Minimal JSON text writing for the HTTP layer: string escaping and the error
// body every Roost endpoint returns. Handlers with richer bodies use a JSON
// library; this keeps the server core free of one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "observe/json_string.h"

namespace roost::http {

// JSON string literals (observe/json_string.h), under the names the HTTP layer uses.
using observe::AppendJsonString;
using observe::JsonString;

// One item of the "errors" array of an error body: {"<key>": <value>, "message": "..."}
// where key is "field", "line" or "id" (see the spec's conventions).
struct ErrorDetail {
  static ErrorDetail Field(std::string_view field, std::string message);
  static ErrorDetail Line(int64_t line, std::string message);
  static ErrorDetail Id(std::string_view id, std::string message);

  std::string key;         // "field", "line" or "id"
  std::string value_json;  // already JSON-encoded value of that key
  std::string message;
};

// {"message": "<message>", "errors": [ ... ]}
std::string ErrorBody(std::string_view message, const std::vector<ErrorDetail>& errors = {});

}  // namespace roost::http
