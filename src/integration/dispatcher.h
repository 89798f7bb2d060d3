// Sends queued callback deliveries (pipeline.md, "Callbacks"): durable,
// at-least-once, and a slow or dead endpoint never delays a healthy one.
//
// One claimer thread leases due deliveries from the store (so a dispatcher that
// dies leaves them to another instance) into a queue per destination host;
// `threads` sender threads, each with its own keep-alive HTTP connection, take
// work only from hosts with fewer than `per_destination` sends in flight, and
// record every attempt. A dead or slow host therefore occupies at most
// `per_destination` senders while the others serve healthy hosts; a host's
// queue is bounded (`per_destination_queue`), past it deliveries are put back,
// due again shortly.
//
// A failed attempt is retried with exponential back-off (first_retry_ms,
// doubling, at most max_retry_ms). A delivery whose attempts have failed for
// `dead_after_ms` since the first failure is given up: it and its callback are
// marked dead (the callback is skipped until enabled again) and `on_dead` is
// called once for the callback (the alert email).
//
// EMAIL callbacks are sent through `send_email`; BATCH_URL is refused when a
// callback is saved (not supported yet).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/callback_request.h"
#include "observe/metrics.h"
#include "storage/store.h"

namespace roost::integration {

struct DispatcherOptions {
  unsigned threads = 8;
  unsigned per_destination = 2;
  int claim_batch = 64;               // deliveries leased at a time
  size_t per_destination_queue = 64;  // deliveries waiting here per host
  int64_t lease_ms = 120'000;         // longer than a batch of sends can take
  std::chrono::milliseconds timeout{5'000};
  int64_t first_retry_ms = 1'000;
  int64_t max_retry_ms = 10 * 60'000;
  int64_t dead_after_ms = 24 * 3600'000;
  int64_t idle_poll_ms = 200;  // how often an idle thread looks for due deliveries
  bool refuse_private_destinations = false;
  std::function<int64_t()> clock;  // epoch ms; required
  // Optional. Called once when a callback dies, from a dispatcher thread.
  std::function<void(const Callback& callback, const storage::DeliveryOutcome& last)> on_dead;
  // Optional: EMAIL callbacks fail ("no email configured") without it.
  std::function<Status(const std::string& to, const std::string& subject, const std::string& body)>
      send_email;
  // Optional; must outlive the dispatcher: roost_callback_deliveries_total{outcome}.
  observe::MetricsRegistry* metrics = nullptr;
};

class Dispatcher {
 public:
  // Starts the threads. `store` must outlive the dispatcher.
  Dispatcher(storage::Store& store, DispatcherOptions options);
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // New deliveries were queued: idle threads look now rather than at their next poll.
  void Wake();
  // Returns once the threads ended; a send in progress finishes first. Leased
  // deliveries not sent yet stay due for the next dispatcher.
  void Stop();

 private:
  struct Host {
    std::deque<storage::DeliveryTask> waiting;
    unsigned in_flight = 0;
  };
  void Claim();  // the claimer thread
  void Send();   // a sender thread
  // Sends one task; returns the outcome to record.
  storage::DeliveryOutcome Deliver(const storage::DeliveryTask& task, class HttpSender& sender);
  std::shared_ptr<const CompiledCallback> Compiled(const Callback& callback, Status& error);
  // A host with waiting work and room for one more send, or nullptr. mu_ held.
  Host* ReadyHost(std::string& name);

  storage::Store& store_;
  DispatcherOptions options_;
  observe::Counter* delivered_ = nullptr;
  observe::Counter* failed_ = nullptr;
  observe::Counter* dead_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t wakes_ = 0;
  std::condition_variable work_;       // senders: a host became ready, or stop
  std::map<std::string, Host> hosts_;  // guarded by mu_
  size_t queued_ = 0;                  // tasks waiting in hosts_; guarded by mu_
  std::map<std::string, std::shared_ptr<const CompiledCallback>> compiled_;  // guarded by mu_
  std::vector<std::thread> threads_;                                         // senders
  std::thread claimer_;  // last: starts once the members above exist
};

// The host[:port] of an http(s) URL, lowercased: what the per-destination limit counts.
std::string DestinationOf(std::string_view url);

}  // namespace roost::integration
