// Live message streams for the console: GET /api/devices/{id}/messages/live
// and GET /api/devicetypes/{id}/messages/live answer with server-sent events
// (http::ResponseStream), one event per new message:
//   id: <the message's list cursor>\nevent: message\ndata: <entry>\n\n
// where <entry> is the message exactly as GET …/messages lists it, and a
// ": keep-alive" comment after `keepalive_interval` without an event.
//
// Where messages come from:
//  - this process's ingest, through the MessageHub, the moment they are
//    durable;
//  - the store, read every `poll_interval` for messages listed after the
//    stream's cursor (the newest message it sent), so that messages ingested
//    by another instance on the same database arrive too. A stream that
//    resumes (Last-Event-ID) starts with such a read.
// A message is sent once per stream (the hub's and the store's views are
// reconciled by its cursor). The store read sends messages whose time is after
// the cursor's: another instance's message whose station time is older than
// the newest one sent is not sent live (it is in the list).
//
// One thread serves every stream: it renders and queues events, polls and
// sends keep-alives; no HTTP thread waits on a stream. Each store read is
// bounded (at most kMaxCatchUp messages, the newest, per read).
//
// A stream is authorised when it opens, and again every `keepalive_interval`
// and, when its entries show callback credentials (SeesCallbackSecrets), before
// it sends once a second has passed since: once its session has
// ended (logged out, expired), its API user is deleted, its user's roles or
// group changed, or its device or device type is no longer one the reader sees
// (a device transferred to another group), the stream ends (an EventSource
// reconnecting is then refused, or sees what the new rights show: its entries
// were rendered for the old). A message of a group the reader does not see (a
// device that moved goes on sending under its new group) has the device looked
// at before anything is sent: no longer the reader's, the stream ends there.
//
// Bounds: at most `max_streams_per_principal` open streams per API user or
// user (past it 429), `max_streams` in all (past it 503 with Retry-After); what
// is queued for a slow client is bounded by `max_queued_bytes` (the stream is
// then dropped; an EventSource reconnects with Last-Event-ID).
// roost_live_streams_open counts the open streams.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/context.h"
#include "http/message.h"
#include "observe/metrics.h"
#include "pipeline/message_hub.h"
#include "storage/store.h"

namespace roost::api {

struct LiveFeedOptions {
  size_t max_streams_per_principal = 4;
  size_t max_streams = 1000;
  std::chrono::milliseconds poll_interval{5'000};
  std::chrono::milliseconds keepalive_interval{15'000};
  size_t max_queued_bytes = 1024 * 1024;        // per stream
  observe::MetricsRegistry* metrics = nullptr;  // optional; must outlive the feed
};

class LiveFeed {
 public:
  // Messages a store read sends at most (the newest ones).
  static constexpr int kMaxCatchUp = 500;

  // `ctx` (its message service) and `hub` must outlive the feed. Starts its thread.
  LiveFeed(ApiContext& ctx, pipeline::MessageHub& hub, LiveFeedOptions options);
  ~LiveFeed();  // Stop()
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // Fails only when the metric cannot be registered.
  Status Init();

  // Opens a stream of the messages of `device` when set, else of device type
  // `type`, for `principal` (the caller checked that it may see them), after
  // `resume` when set (Last-Event-ID), else after the newest message now.
  // Returns Response::Stream, or 429 / 503 past the bounds.
  http::Response Open(const Principal& principal, std::optional<uint32_t> device, std::string type,
                      std::optional<storage::MessageCursor> resume);

  size_t open_streams() const;

  // Ends every stream and the thread; Open then answers 503.
  void Stop();

 private:
  struct Stream;
  void Run();
  void Serve(Stream& s, std::chrono::steady_clock::time_point now);
  // Sends `messages` not sent yet, oldest first; false when the stream ended.
  bool Send(Stream& s, std::vector<Message> messages);
  // Whether what opened the stream still authenticates — its session is active
  // (not logged out, not expired), or its API user still exists, with the same
  // group and roles — and its device or type is still one the reader sees. A
  // failing store ends nothing.
  bool StillAuthorised(const Stream& s);
  // Whether the stream's device (or type) is in the reader's subtree now;
  // false when it is gone.
  Result<bool> TargetVisible(const Stream& s);

  ApiContext& ctx_;
  pipeline::MessageHub& hub_;
  const LiveFeedOptions options_;
  observe::Gauge* open_gauge_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Stream>> streams_;  // guarded by mu_
  std::map<std::string, size_t> per_principal_;   // guarded by mu_
  bool stop_ = false;                             // guarded by mu_
  bool wake_ = false;                             // guarded by mu_
  std::thread thread_;
};

}  // namespace roost::api
