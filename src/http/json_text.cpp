#include "http/json_text.h"

namespace roost::http {

ErrorDetail ErrorDetail::Field(std::string_view field, std::string message) {
  return {"field", JsonString(field), std::move(message)};
}

ErrorDetail ErrorDetail::Line(int64_t line, std::string message) {
  return {"line", std::to_string(line), std::move(message)};
}

ErrorDetail ErrorDetail::Id(std::string_view id, std::string message) {
  return {"id", JsonString(id), std::move(message)};
}

std::string ErrorBody(std::string_view message, const std::vector<ErrorDetail>& errors) {
  std::string out = "{\"message\":";
  AppendJsonString(out, message);
  out += ",\"errors\":[";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('{');
    AppendJsonString(out, errors[i].key);
    out.push_back(':');
    out += errors[i].value_json;
    out += ",\"message\":";
    AppendJsonString(out, errors[i].message);
    out.push_back('}');
  }
  out += "]}";
  return out;
}

}  // namespace roost::http
