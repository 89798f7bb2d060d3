// AsyncHttpSender's transfers to http:// URLs: HTTP/1.1 over plain TCP on the
// event loop, with Beast's parser. A send on a kept-alive connection is one
// send and one receive; libcurl also polls each connection twice per transfer
// (its liveness check before reuse, and a look after sending), and its own
// work was a sixth of a delivery's CPU (docs/benchmarks.md). https:// and every
// URL this client does not take (ParsePlainHttpUrl) stay with libcurl.
//
// The contract is AsyncHttpSender's (http_sender.h): outcomes as HttpSender
// documents them (HTTP status or a 6xx failure; `info` never quotes the
// request; the answer cut at max_answer_bytes), the destination check on every
// address connected to, redirects not followed, no proxy, `done` called once
// on a loop thread and never from inside Send, nothing called after Close.
//
// Decisions:
// - A kept-alive connection is not checked before reuse. If the server closed
//   it meanwhile, the send fails before any byte of an answer, and the request
//   is sent once more on a new connection (within the same deadline). The
//   server may so receive a request twice; deliveries are at least once anyway.
//   Not after an interim answer (1xx): the server had the request.
// - Each connection's read buffer is bounded (32 KiB): Beast bounds an answer's
//   header, but not a chunk line's extensions nor the trailer.
// - As with libcurl, the callback's own User-Agent or Accept replaces Roost's.
// - Host names are resolved on threads of the client's own (at most
//   64 at once), as libcurl's threaded resolver does, so a slow name server
//   holds up only the sends to its names; answers are kept 60 s, for up to
//   4 096 names (resolved_names.h: when full, the oldest answer makes room). A
//   lookup that ends after Close(), or after its transfers ended, delivers
//   nothing.
// - A name's addresses are tried in turn, each within what is left of the
//   transfer's deadline (no happy eyeballs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "integration/callback_request.h"
#include "integration/http_sender.h"

namespace boost::asio {
class io_context;
}

namespace roost::integration {

// An http:// URL as the client sends to it.
struct PlainHttpTarget {
  std::string host;  // a DNS name or an IP address (an IPv6 one without brackets)
  uint16_t port = 80;
  std::string host_header;  // as the URL writes the host; ":port" unless 80
  std::string target;       // path and query ("/" when the URL has neither); no fragment
};

// The URL's parts, or nullopt for a URL the client leaves to libcurl: one not
// starting with "http://", with user information, with a host of other
// characters than letters, digits, '.' and '-' (or an IPv6 address in
// brackets, without a zone), or a path with characters other than printable
// ASCII. libcurl's own rules then apply to it, as before this client existed.
std::optional<PlainHttpTarget> ParsePlainHttpUrl(std::string_view url);

class PlainHttpClient {
 public:
  using Done = std::function<void(HttpOutcome)>;
  PlainHttpClient(boost::asio::io_context& loop, HttpSenderOptions options);
  ~PlainHttpClient();  // Close()
  PlainHttpClient(const PlainHttpClient&) = delete;
  PlainHttpClient& operator=(const PlainHttpClient&) = delete;

  // Thread-safe. Sends `request` to `target` (parsed from request.url),
  // answered within `timeout` (at least 1 ms) or failed with kStatusTimeout.
  void Send(PlainHttpTarget target, HttpRequest request, std::chrono::milliseconds timeout,
            Done done);
  // As AsyncHttpSender::Close.
  void Close();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roost::integration
