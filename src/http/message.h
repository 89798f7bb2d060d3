// The server's view of one HTTP exchange, free of any network library types:
// a handler receives a Request and returns a Response.
#pragma once

#include <any>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text.h"  // QuoteForMessage, for handlers that quote a request's bytes
#include "http/json_text.h"

namespace roost::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as received, case-sensitive token ("GET", "POST", ...)
  std::string target;  // raw request-target, e.g. "/api/devices?limit=10"
  std::string path;    // target up to '?', still percent-encoded
  std::string query;   // target after '?', still percent-encoded ("" when absent)
  HeaderList headers;  // in arrival order; names as received
  // The body of a route with BodyStorage::kMemory (at most its max_body_bytes);
  // empty for BodyStorage::kFile — read body_view() instead.
  std::string body;
  std::string remote;  // peer address "ip:port"
  // Values of the route's {name} segments, percent-decoded, in pattern order.
  std::vector<std::pair<std::string, std::string>> path_params;
  // Whatever the route's Admission left for its handler (e.g. the principal).
  std::any admitted;
  // Set by the server for BodyStorage::kFile: the spooled body, mapped read-only
  // and valid until the handler returns.
  std::optional<std::string_view> spooled_body;

  // The body wherever the server put it.
  std::string_view body_view() const { return spooled_body ? *spooled_body : body; }

  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // Value of the path parameter `name`; "" when the route has no such parameter.
  std::string_view Param(std::string_view name) const;
  // First query parameter `name`, percent-decoded ('+' is a space), or nullopt
  // when absent, not validly encoded, or not text (TargetTextProblem): the
  // router refuses such requests before a handler runs, so a handler never
  // sees invalid UTF-8 or NUL here.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

class PendingResponse;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers; Content-Type/Length and Connection are set by the server
  std::string body;
  // When set, the response is decided later (see PendingResponse) and the
  // fields above are ignored.
  std::shared_ptr<PendingResponse> later;

  // A response that `pending` will receive from another thread.
  static Response Later(std::shared_ptr<PendingResponse> pending);

  static Response Json(int status, std::string json_body);
  static Response Text(int status, std::string text,
                       std::string content_type = "text/plain; charset=utf-8");
  // A JSON error: {"message": ..., "errors": [...]}.
  static Response Error(int status, std::string_view message,
                        const std::vector<ErrorDetail>& errors = {});
};

// A response that is decided after the handler returned — e.g. once a writer
// thread has made the request's data durable — without a thread held while the
// request waits. Whoever took the work must call Complete exactly once, also
// when it fails or shuts down; the connection waits until then.
class PendingResponse {
 public:
  // Thread-safe. Later calls are ignored.
  void Complete(Response response);

  // For the server: runs `wake` (from the completing thread) once the response
  // is there, or returns false without keeping it when it already is.
  bool OnComplete(std::function<void()> wake);
  // For the server, once woken or told it was complete: the response.
  Response Take();
  // Blocks until completed, then Take(): for callers without a connection (tests, tools).
  Response Wait();

 private:
  std::mutex mu_;
  std::condition_variable done_;
  std::optional<Response> response_;
  bool completed_ = false;
  std::function<void()> wake_;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Returns nullopt on
// a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space = false);

// Where a request-target's decoded path segments or query parameters (names and
// values) are not text Roost accepts (core/text.h FindTextFault): the message of
// a 400, e.g. "path segment 2: not valid UTF-8" (segments counted from 1 after
// the leading '/') or "query parameter prefix: contains a NUL byte" (the name
// quoted safely). nullopt when all of it is text. Malformed percent escapes are
// not judged here: the router answers them for the path, and QueryParam treats
// such a parameter as absent.
std::optional<std::string> TargetTextProblem(std::string_view path, std::string_view query);

// Standard reason phrase for a status code ("Not Found"); "" when unknown.
std::string_view ReasonPhrase(int status);

}  // namespace roost::http
