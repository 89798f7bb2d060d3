// Routes requests by method and path pattern to handlers.
//
// A pattern is an absolute path whose segments are literals or parameters:
//   "/healthz", "/api/devicetypes/{id}/devices/bulk/create/async"
// A parameter segment "{name}" matches any one non-empty segment; its
// percent-decoded value is passed to the handler in Request::path_params.
// Literals win over parameters at the same position ("/devices/bulk" is tried
// before "/devices/{id}"). Matching is exact: no trailing-slash or case folding.
//
// Results: kFound (handler to run), kNotFound (no pattern matches the path → 404),
// kMethodNotAllowed (the path matches but not for this method → 405 with `allow`),
// kBadPath (malformed path or percent escape → 400). A HEAD request is served by
// the GET handler when no HEAD handler is registered (the server drops the body),
// unless that GET route was added as Safety::kChangesState: HEAD is then
// kMethodNotAllowed (405, Allow without HEAD), so that a HEAD, which clients and
// proxies send freely, never runs a handler that changes anything.
//
// A fallback (SetFallback) answers the GET and HEAD requests whose path matches
// no route, instead of kNotFound: the web console's files and its deep links
// are served that way, without a route per file. Other methods, kBadPath and
// kMethodNotAllowed are not affected.
//
// Every route answers 400 before its handler runs when the request's decoded path
// segments or query parameters are not UTF-8 text without NUL, naming where
// (TargetTextRefusal in message.h): no handler ever reads such bytes, so none
// can store them, pass them to libpq (which stops at NUL) or fail to write them
// back as JSON.
//
// Add() is not thread-safe; Match() is, once all routes are added.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "http/message.h"

namespace roost::http {

// Handlers may throw: the server answers 500 with a JSON body and keeps running.
using Handler = std::function<Response(const Request&)>;

// Where the server runs a route's handler. kEventLoop: on the connection's
// event-loop thread — only for handlers that never block (health, metrics).
// kWorkers: on the server's handler thread pool — for anything that may block
// (a database call, a password hash), so that slow handlers never stall the
// event loop that reads and writes every other connection.
enum class Runs { kEventLoop, kWorkers };

// Whether a route's handler may change state. Only matters for GET: a GET that
// changes state (kept for compatibility with an existing API) is never run for HEAD.
enum class Safety { kSafe, kChangesState };

// Where the server puts a route's request body. kMemory: in Request::body,
// counted against the server's budget for bodies in flight. kFile: streamed to
// an unnamed temporary file and handed to the handler as a read-only mapping
// (Request::body_view()), so a large upload costs disk and page cache, not heap.
// kSecretFile: the same in an anonymous memory file (memfd) that never reaches a
// disk, for uploads that carry a secret (an encryption key) whose blocks must
// not stay behind on one; it costs memory (not heap) while the request lasts.
enum class BodyStorage { kMemory, kFile, kSecretFile };

// Runs on a request whose head has arrived, before its body is read from the
// connection (and before "100 Continue" is sent). Returns the response to send
// instead of running the handler (a body still to come is then never read,
// and the connection closes), or nullopt to go on; it may leave what
// it learned (the authenticated principal) in Request::admitted for the
// handler. Runs where the route's handler runs. When the whole body came with
// the head (it is in memory already, and no "100 Continue" was asked for), the
// body is taken first and the admission and handler run in one trip to the
// workers; an admission must therefore neither rely on Request::body being
// empty nor on it being there.
using Admission = std::function<std::optional<Response>(Request&)>;

// The whole of a route — admission and handler — for a request it can answer
// at once on the event loop, without blocking: say, an API user whose
// credentials it has checked moments ago. Tried first, on the connection's
// event-loop thread, when the whole body came with the head. It returns the
// response (which may be a Response::Later), or nullopt, having changed
// nothing, when answering would block: the request then goes on as without it
// (admission and handler where the route runs). A thread switch to the workers
// and back costs more than a small request's whole work; this skips it.
using FastPath = std::function<std::optional<Response>(Request&)>;

// Largest body a route accepts when it does not say (a JSON object of a few
// fields; bulk routes and uploads set their own).
inline constexpr size_t kDefaultMaxBodyBytes = 64 * 1024;

struct RouteOptions {
  Runs runs = Runs::kEventLoop;
  // Larger bodies are refused with 413 as soon as the head says so and the
  // admission passed (or, for a chunked body, once it grows past this),
  // without reading the rest. Router::Add makes it 0 for GET and HEAD routes,
  // whose requests carry no body.
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  BodyStorage storage = BodyStorage::kMemory;
  Admission admit;  // optional
  Safety safety = Safety::kSafe;
  // Optional; only for bodies kept in memory, up to kMaxFastPathBody bytes.
  FastPath fast_path;
};

// Largest body for which a route's fast path is tried: its parse runs on the
// event loop, so it must stay short.
inline constexpr size_t kMaxFastPathBody = 16 * 1024;

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadPath };
  Kind kind = Kind::kNotFound;
  const Handler* handler = nullptr;       // set for kFound
  const RouteOptions* options = nullptr;  // set for kFound
  std::string_view pattern;  // the matched route's pattern (for kFound, kMethodNotAllowed)
  std::vector<std::pair<std::string, std::string>> params;  // for kFound
  std::string allow;  // for kMethodNotAllowed: "DELETE, GET, HEAD"
};

// What the server does with a matched route once the body is in `request`,
// without the I/O: the admission, then — unless it refused — the handler; a
// response the handler answers later is waited for (blocking).
// For tests and tools that call routes in-process.
Response RunMatched(const RouteMatch& match, Request& request);

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers `handler` for `method` on `pattern`. Fails (InvalidInput / AlreadyExists)
  // on an invalid method token or pattern, a parameter name that differs from an
  // existing route's at the same position, or a duplicate method + pattern.
  Status Add(std::string_view method, std::string_view pattern, Handler handler,
             RouteOptions options);
  Status Add(std::string_view method, std::string_view pattern, Handler handler,
             Runs runs = Runs::kEventLoop, Safety safety = Safety::kSafe) {
    RouteOptions options;
    options.runs = runs;
    options.safety = safety;
    return Add(method, pattern, std::move(handler), std::move(options));
  }

  // Sets the handler of GET and HEAD requests that match no route (Match then
  // returns kFound with `label` as the pattern, which names it in metrics).
  // The handler answers everything else itself, a 404 included. Fails on an
  // empty handler or label, or when a fallback is set already.
  Status SetFallback(std::string_view label, Handler handler, RouteOptions options = {});

  RouteMatch Match(std::string_view method, std::string_view path) const;

  // Every registered (method, pattern), sorted by pattern then method.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  struct Fallback;
  std::unique_ptr<Fallback> fallback_;
};

}  // namespace roost::http
