// How the registry API refuses a request: an HTTP status, a message and the
// field, line or id each problem is about, sent as
// {"message": ..., "errors": [{"field": ..., "message": ...}, ...]} (docs/api.md).
// Domain Status values are mapped here, in one place, so that every route
// answers the same status for the same kind of failure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "http/json_text.h"
#include "http/message.h"

namespace roost::api {

// A refused request: status + message + details.
struct ApiError {
  int status = 400;
  std::string message;
  std::vector<http::ErrorDetail> errors;

  // 400 "<field>: <message>" with one errors[] item naming the field.
  static ApiError BadField(std::string_view field, std::string message);
  http::Response ToResponse() const;
};

// A value, or the ApiError that refused it.
template <typename T>
class Parsed {
 public:
  Parsed(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Parsed(ApiError error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  const ApiError& error() const { return *error_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }

 private:
  std::optional<T> value_;
  std::optional<ApiError> error_;
};

// Maps a domain Status to an API error: NotFound 404, AlreadyExists 409,
// InvalidInput 400, Unavailable 503 (the response carries Retry-After: 1), anything else 500 (with
// a generic message: store errors are not shown to clients). A message "field: text" whose prefix
// is a JSON field name gets an errors[] item naming that field.
ApiError FromStatus(const Status& status);

// 404 "<what> not found" for NotFound (whatever the domain's message said),
// FromStatus otherwise.
ApiError NotFoundOr(const Status& status, std::string_view what);

// 500 "internal error": a dependency the route needs is not configured.
ApiError InternalError();

}  // namespace roost::api
