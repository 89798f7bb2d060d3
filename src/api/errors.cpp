#include "api/errors.h"

#include <algorithm>
#include <cctype>

namespace roost::api {
namespace {

// A JSON member name of the API ("deviceTypeId") or a header's name
// ("Content-Type"), as opposed to a sentence.
bool IsFieldName(std::string_view s) {
  if (s.empty() || s.size() > 40 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// One part of a member path: a field name with optional indexes ("data[0]",
// "ids[3]") or indexes alone ("[2]").
bool IsFieldPart(std::string_view s) {
  size_t bracket = s.find('[');
  std::string_view name = s.substr(0, bracket);
  if (!name.empty() && !IsFieldName(name)) return false;
  if (bracket == std::string_view::npos) return !name.empty();
  std::string_view rest = s.substr(bracket);
  while (!rest.empty()) {
    size_t close = rest.find(']');
    if (rest[0] != '[' || close == std::string_view::npos || close < 2) return false;
    for (char c : rest.substr(1, close - 1)) {
      if (c < '0' || c > '9') return false;
    }
    rest.remove_prefix(close + 1);
  }
  return true;
}

// One step of a message's "step: step: problem" prefix: a part, or parts
// joined by '.' ("reports[1].seqNumber"), each after the first a name that
// starts with a letter (so that "127.0.0.1: …" names no field).
bool IsFieldStep(std::string_view s) {
  size_t dot = s.find('.');
  if (!IsFieldPart(s.substr(0, dot))) return false;
  while (dot != std::string_view::npos) {
    s.remove_prefix(dot + 1);
    dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    if (part.empty() || !std::isalpha(static_cast<unsigned char>(part.front())) ||
        !IsFieldPart(part)) {
      return false;
    }
  }
  return true;
}

}  // namespace

ApiError ApiError::BadField(std::string_view field, std::string message) {
  ApiError e;
  e.status = 400;
  e.message = std::string(field) + ": " + message;
  e.errors.push_back(http::ErrorDetail::Field(field, std::move(message)));
  return e;
}

http::Response ApiError::ToResponse() const {
  http::Response r = http::Response::Error(status, message, errors);
  // A 503 is a refusal for lack of capacity (Argon2id slots): the same request
  // may succeed in a moment.
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

ApiError FromStatus(const Status& status) {
  ApiError e;
  switch (status.code()) {
    case Status::Code::kNotFound:
      e.status = 404;
      break;
    case Status::Code::kAlreadyExists:
      e.status = 409;
      break;
    case Status::Code::kInvalidInput:
      e.status = 400;
      break;
    case Status::Code::kUnavailable:
      e.status = 503;
      break;
    default:
      return InternalError();
  }
  e.message = status.message();
  // "data[0]: url: position 35: ..." names the member data[0].url: a step
  // that ends with an index ("data[0]") goes on into the next one; any other
  // ends the field ("id: 2C: ..." names id).
  std::string field;
  std::string_view rest = e.message;
  for (size_t colon = rest.find(": "); colon != std::string_view::npos; colon = rest.find(": ")) {
    std::string_view step = rest.substr(0, colon);
    if (!IsFieldStep(step)) break;
    if (!field.empty() && step.front() != '[') field += '.';
    field += step;
    rest.remove_prefix(colon + 2);
    if (step.back() != ']') break;
  }
  if (!field.empty()) e.errors.push_back(http::ErrorDetail::Field(field, std::string(rest)));
  return e;
}

ApiError NotFoundOr(const Status& status, std::string_view what) {
  if (status.code() == Status::Code::kNotFound) {
    return ApiError{404, std::string(what) + " not found", {}};
  }
  return FromStatus(status);
}

ApiError InternalError() {
  return ApiError{500, "internal error", {}};
}

}  // namespace roost::api
