// Status and Result: how errors cross module boundaries in Roost.
//
// Library code never throws across its public API. A function that can fail
// returns Status (no value) or Result<T> (a value or a Status). The message of a
// failed Status is written for a person: it says what is wrong and, for parsers
// of outside input, where ("line 3: ...", "offset 0x40: ...").
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace roost {

class Status {
 public:
  // kUnavailable: refused for lack of capacity right now; the same call may
  // succeed later (the API answers 503 with Retry-After).
  enum class Code {
    kOk,
    kInvalidInput,
    kNotFound,
    kAlreadyExists,
    kIoError,
    kInternal,
    kUnavailable
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string msg) { return {Code::kInvalidInput, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<prefix>: <message>", e.g. to add a file name.
  Status WithPrefix(const std::string& prefix) const {
    return ok() ? *this : Status(code_, prefix + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace roost

// Returns early from the enclosing function when `expr` (a Status) failed.
#define ROOST_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::roost::Status roost_status_ = (expr);        \
    if (!roost_status_.ok()) return roost_status_; \
  } while (0)
