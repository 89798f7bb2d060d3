// Sends callback requests over HTTP(S) (pipeline.md, "Callbacks":
// keep-alive connections, timeouts, each attempt's result recorded).
//
// One HttpSender owns one libcurl easy handle and its connection cache, so
// consecutive sends to the same host reuse a kept-alive connection. It is not
// thread-safe: each dispatcher thread has its own. Send blocks; call it from a
// worker, never from the event loop.
//
// Decisions:
// - Redirects are not followed: a 3xx is the callback's answer, recorded like
//   any other status. Following one would send the message to a destination
//   the device type's owner did not configure.
// - Only http and https; proxies from the environment are not used (the
//   destination check below must see the address actually connected to).
// - The answer's body is kept up to max_answer_bytes; a longer answer is cut
//   there, the transfer abandoned (and its connection closed), and the status
//   still the one the server sent. Nobody needs more than a downlink answer
//   (4 KiB) or an error text from a callback's answer.
// - TLS certificates are verified against the system's CA store.
//
// Status of an attempt: the HTTP status when the server answered, else one of
// the 6xx codes below. `info` is a short text for the device type's owner: it
// never contains the request body or header values (they may carry secrets).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "integration/callback_request.h"

struct sockaddr;

namespace boost::asio {
class io_context;
}

namespace roost::integration {

// Failures without an HTTP answer.
inline constexpr int kStatusCannotResolve = 600;  // the host name did not resolve
inline constexpr int kStatusCannotConnect = 601;  // no connection (refused, unreachable)
inline constexpr int kStatusTimeout = 602;        // no complete answer within the timeout
inline constexpr int kStatusTls = 603;            // TLS handshake or certificate refused
inline constexpr int kStatusOther = 604;          // anything else: broken answer, reset, bad url
inline constexpr int kStatusDestinationNotAllowed = 605;  // see refuse_private_destinations

struct HttpOutcome {
  int status = 0;
  std::string info;    // "" for an HTTP answer that was read whole
  std::string body;    // the answer's body, at most max_answer_bytes
  double seconds = 0;  // wall-clock time of the attempt
};

struct HttpSenderOptions {
  // Refuses destinations whose address is not public (IsPublicAddress), with
  // kStatusDestinationNotAllowed and info "destination address not allowed".
  // The check is made on every address about to be connected to, after
  // DNS resolution, so a name that resolves (or later re-resolves) to an
  // internal address is refused too. On in this struct, so that a sender made
  // without thought is the safe one; `roost serve` sets it from
  // pipeline.callback_refuse_private, off by default there because a single
  // owner's callbacks usually go to its own network, and on for an operator
  // who hosts several customers.
  bool refuse_private_destinations = true;
  size_t max_answer_bytes = 64 * 1024;
  std::string user_agent = "Roost";
  // AsyncHttpSender only: send http:// URLs through libcurl too, rather than
  // through Roost's own client on the loop (plain_http_client.h). For the
  // tests of libcurl's part, which https:// URLs always take.
  bool libcurl_for_plain_http = false;
};

class HttpSender {
 public:
  explicit HttpSender(HttpSenderOptions options = {});
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // Sends `request` and waits at most `timeout` (at least 1 ms) for the whole
  // answer, connecting included. Never throws; every failure is an outcome.
  HttpOutcome Send(const HttpRequest& request, std::chrono::milliseconds timeout);

 private:
  void* curl_;  // CURL*, kept out of this header
  HttpSenderOptions options_;
};

// Sends callback requests like HttpSender, but without blocking: every
// transfer runs on `loop` (http:// ones on Roost's own HTTP/1.1 client,
// plain_http_client.h; the others on libcurl's multi interface, its sockets
// and timer waited on by the loop), so a few hundred sends in flight cost no
// thread each,
// and an answer is read by the same threads that serve Roost's own HTTP. The
// kept-alive connections are shared by all transfers.
//
// Thread-safe: Send may be called from any thread. Each transfer's `done` is
// called once, on a thread running `loop` and never from inside Send, unless
// Close() came first. The loop must outlive the sender's last transfer, and
// keep running while transfers are in flight.
class AsyncHttpSender {
 public:
  using Done = std::function<void(HttpOutcome)>;
  explicit AsyncHttpSender(boost::asio::io_context& loop, HttpSenderOptions options = {});
  ~AsyncHttpSender();  // Close()
  AsyncHttpSender(const AsyncHttpSender&) = delete;
  AsyncHttpSender& operator=(const AsyncHttpSender&) = delete;

  // Starts sending `request`, answered within `timeout` (at least 1 ms) or
  // failed with kStatusTimeout.
  void Send(HttpRequest request, std::chrono::milliseconds timeout, Done done);
  // Abandons the transfers in flight, closes the kept-alive connections; later
  // Sends do nothing. No `done` starts after Close returned, but one that had
  // started may still be running on a loop thread (the caller's own state must
  // say when its callbacks are to do nothing, as the dispatcher's does).
  void Close();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// True when `name` is an HTTP token (RFC 9110) and `value` has no CR, LF or
// NUL: a header that could split the request is never sent, whatever the
// caller (the request builder already guarantees both).
bool HeaderCanBeSent(std::string_view name, std::string_view value);

// True unless `address` (AF_INET or AF_INET6) is: unspecified (0.0.0.0/8, ::),
// loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7),
// shared (100.64/10), link-local (169.254/16, fe80::/10), multicast or
// reserved (224/3, ff00::/8), or an IPv4-mapped (::ffff:0:0/96) or NAT64
// (64:ff9b::/96) IPv6 address of one of those. Other families are not public.
bool IsPublicAddress(const sockaddr* address);

}  // namespace roost::integration
