#include "api/errors.h"

#include <algorithm>

namespace roost::api {
namespace {

// A JSON member name of the API ("deviceTypeId"), as opposed to a sentence.
bool IsFieldName(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
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
  size_t colon = e.message.find(": ");
  if (colon != std::string::npos && IsFieldName(std::string_view(e.message).substr(0, colon))) {
    e.errors.push_back(
        http::ErrorDetail::Field(e.message.substr(0, colon), e.message.substr(colon + 2)));
  }
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
