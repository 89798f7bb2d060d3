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
  // when absent, not validly encoded, or not text (TargetTextRefusal): the
  // router refuses such requests before a handler runs, so a handler never
  // sees invalid UTF-8 or NUL here.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

class PendingResponse;
class ResponseStream;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers; Content-Type/Length and Connection are set by the server
  std::string body;
  // When set, the response is decided later (see PendingResponse) and the
  // fields above are ignored.
  std::shared_ptr<PendingResponse> later;
  // When set, `body` is ignored: after the head the body is written piece by
  // piece from `stream` (see ResponseStream) and the connection then closes.
  std::shared_ptr<ResponseStream> stream;

  // A response that `pending` will receive from another thread.
  static Response Later(std::shared_ptr<PendingResponse> pending);
  // A 200 whose body `stream` produces over time ("text/event-stream" unless
  // changed afterwards).
  static Response Stream(std::shared_ptr<ResponseStream> stream);

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

// A response body written piece by piece after the head, for as long as the
// producer and the client want it: server-sent events. A handler returns
// Response::Stream(stream) and hands `stream` to whoever produces the pieces.
// The server sends the head at once — the response's status, content type and
// headers, plus Cache-Control: no-cache and X-Accel-Buffering: no (so that no
// proxy holds pieces back) unless set, and Transfer-Encoding: chunked (HTTP/1.0:
// no length; the close ends it) — then writes what is queued whenever Write
// queues something. While nothing is queued the connection holds no thread:
// neither an event-loop thread nor a handler thread waits on it.
//
// The stream ends, once, for the first of:
//  - the producer's Close(): what is queued is still written, then the last
//    chunk;
//  - the client going away: it closed the connection or sent anything at all
//    (an event-stream client sends nothing after its request), or one write
//    did not finish within the server's write_timeout (each write has its own);
//  - a slow reader: a Write that would leave more than `max_queued_bytes`
//    queued but not yet written ends the stream instead (the client is
//    dropped, memory does not grow);
//  - the server's Shutdown, which ends every stream at once, so that its drain
//    never waits for one.
// Once ended, Write returns false and queues nothing; the producer should let
// go of the stream (OnEnd tells it when). The connection closes after a stream.
// Thread-safe.
class ResponseStream {
 public:
  enum class End { kOpen, kClosed, kClientGone, kTooSlow, kShutdown };

  explicit ResponseStream(size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}

  // Queues `piece`; false when the stream has ended (now or before).
  bool Write(std::string_view piece);
  // The producer is done: the stream ends after what is queued.
  void Close() { Finish(End::kClosed); }
  // kOpen while the stream runs, else why it ended.
  End end() const;
  // Runs `on_end` once when the stream ends, on the thread that ends it and
  // outside the stream's lock — at once, here, when it has ended already. One
  // callback: a later call replaces one not run yet.
  void OnEnd(std::function<void()> on_end);
  size_t queued_bytes() const;

  // For the server. Ends the stream for `why` (what is queued is dropped,
  // except for kClosed); later calls are ignored.
  void Finish(End why);
  // What is queued (taken), and whether the stream has ended and why.
  struct Taken {
    std::string data;
    End end = End::kOpen;
  };
  Taken Take();
  // Runs `wake` once, from the thread that queues or ends, when there is
  // something to take; returns false without keeping it when there is already.
  bool OnReady(std::function<void()> wake);

 private:
  const size_t max_queued_bytes_;
  mutable std::mutex mu_;
  std::string queued_;  // guarded by mu_
  End end_ = End::kOpen;
  std::function<void()> wake_;
  std::function<void()> on_end_;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Returns nullopt on
// a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space = false);

// The 400 for a request-target whose decoded path segments or query parameters
// (names and values) are not text Roost accepts (core/text.h FindTextFault), or
// that gives a query parameter twice; nullopt when all of it is text. Its
// message says where: "path segment 2: not valid UTF-8" (segments counted from
// 1 after the leading '/'), "query parameter prefix: contains a NUL byte" (the
// name quoted safely), "query parameter limit: given more than once"; an errors
// item names the parameter when the fault is in the value of one whose name is
// text, or the name is repeated; "query parameter prefix: malformed percent
// escape" for a name or value whose escapes do not decode (a client that meant
// something by it must not see it ignored). Malformed escapes in the path are
// not judged here: the router answers them.
std::optional<Response> TargetTextRefusal(std::string_view path, std::string_view query);

// Standard reason phrase for a status code ("Not Found"); "" when unknown.
std::string_view ReasonPhrase(int status);

}  // namespace roost::http
