// Sends queued callback deliveries (pipeline.md, "Callbacks"): durable,
// at-least-once, and a slow or dead endpoint never delays a healthy one.
//
// One claimer thread leases due deliveries from the store (so a dispatcher that
// dies leaves them to another instance) into a queue per destination host.
// HTTP sends run on the event loop (`loop`, AsyncHttpSender): no thread waits
// on an answer, kept-alive connections are shared, and at most `max_in_flight` sends
// are in flight at once, taken only from hosts with fewer than
// `per_destination` sends in flight. A dead or slow host therefore occupies at
// most `per_destination` of them while the others serve healthy hosts; a
// host's queue is bounded (`per_destination_queue` sends, each a delivery or a
// batch), past it deliveries are put back, due again shortly. EMAIL callbacks
// are sent by `per_destination` threads of their own (SMTP blocks).
//
// A host whose last answer came within `quick_answer_ms` is quick: it may have
// `quick_destination` sends in flight and its queue is bounded only by the
// dispatcher's whole queue, since two connections with one request each
// cannot carry more than a few thousand requests a second even on loopback.
// A host starts slow (nothing is known of it) and is slow again after one slow
// or failed answer, so a dead host still holds only `per_destination` senders.
// A quick host that turns slow keeps only what a slow host may have waiting;
// the rest of its queue is put back. However many hosts are dead: hosts take
// turns for a free sender; hosts that hang (their last send got no answer, or
// took a second or more) together hold at most half of `max_in_flight`, the
// rest being kept for hosts that answer and hosts not tried yet; and the jobs
// waiting for hosts that are not quick fill at most the dispatcher's whole
// queue less one claim (past it their deliveries are put back), so the claimer
// always has room for a healthy host's deliveries.
//
// A send never starts on a lease about to end: a job that waited here until
// less than its timeout (and a second) of its lease was left is dropped
// unsent, due again for a claim when the lease ends. Sent that late, it could
// be claimed and sent again by another instance while in flight.
//
// Sends do not write to the store: what each send met goes to one recorder
// thread, which records everything finished meanwhile in one transaction
// (Store::CompleteDeliveries) — a commit per delivery capped delivery at a few
// hundred a second. A delivery stays leased until its attempt is recorded, so
// a crash between the send and the record sends it again (at-least-once).
//
// Deliveries can also be handed to the dispatcher by ingest, already leased in
// the transaction that stored them (Offer): a fresh message's callbacks then go
// out without a claim, which on PostgreSQL took several round trips and most
// of the time between a report's commit and its callback.
//
// A failed attempt is retried with exponential back-off (first_retry_ms,
// doubling, at most max_retry_ms). A delivery whose attempts have failed for
// `dead_after_ms` since the first failure is given up. Unless its callback
// delivered something since that first failure, the callback is marked dead
// too (skipped until enabled again) and its alert is queued in the store in
// the same transaction (Store::CompleteDelivery). A thread of its own claims
// queued alerts (Store::ClaimDeadAlerts, one instance each) and calls
// `on_dead` (the alert email), so that a slow or unreachable mail server never
// holds up the recording of other deliveries; a failed alert is tried again
// after each of `alert_retry_waits`, then given up (each failure is logged).
// An alert left when an instance stops or crashes is sent by the next
// dispatcher on the store to look, within `alert_poll_ms` (or, had its
// sending begun, once that claim's lease ends).
//
// EMAIL callbacks are sent through `send_email`, all of them counting as one
// destination (kEmailDestination) for the per-destination limit. A sent email is
// recorded with status 250 (SMTP's "completed"); a refused one with 604 and
// the reason.
//
// BATCH_URL deliveries are grouped per callback: the claimer collects them
// until `batch_lines` are waiting or `batch_interval_ms` passed since the
// first, then the batch goes to the callback's host queue as one send (one
// request, its lines joined with "\n"). Every delivery of a batch completes
// with the batch's outcome, so a failed batch is retried as a whole (its
// deliveries come due together again) and the deliveries stay leased, hence
// at-least-once, while they wait to be batched.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/callback_request.h"
#include "integration/http_sender.h"
#include "observe/metrics.h"
#include "storage/store.h"

namespace roost::integration {

struct DispatcherOptions {
  // The event loop HTTP sends run on; it must keep running until Stop()
  // returned. Without one the dispatcher runs its own, on one thread.
  boost::asio::io_context* loop = nullptr;
  unsigned max_in_flight = 8;  // HTTP sends at once (pipeline.callback_concurrency)
  unsigned per_destination = 2;
  unsigned quick_destination = 16;    // sends at once to a quick host (at least per_destination)
  int64_t quick_answer_ms = 50;       // an answer within this makes its host quick
  int claim_batch = 128;              // deliveries leased at a time
  size_t per_destination_queue = 64;  // sends (deliveries or batches) waiting here per host
  int64_t lease_ms = 120'000;         // longer than a batch of sends can take
  std::chrono::milliseconds timeout{5'000};
  // How long an email's send may take at most (SmtpSettings::timeout_ms):
  // with `timeout`, it bounds how many sends wait here for a host not known
  // to be quick, so that none waits out its lease (and is sent twice).
  std::chrono::milliseconds email_timeout{10'000};
  int64_t first_retry_ms = 1'000;
  int64_t max_retry_ms = 10 * 60'000;
  int64_t dead_after_ms = 24 * 3600'000;
  int64_t idle_poll_ms = 200;  // how often an idle thread looks for due deliveries
  size_t batch_lines = 100;    // BATCH_URL: a batch is sent once it has this many lines
  // ... or this long after its first line arrived; well under lease_ms, since
  // the batch's deliveries wait on their lease.
  int64_t batch_interval_ms = 1'000;
  bool refuse_private_destinations = false;
  std::function<int64_t()> clock;  // epoch ms; required
  // Optional: each callback that died here, with the attempt that killed it,
  // from the recorder (for a log line; it must not block).
  std::function<void(const Callback& callback, const storage::DeliveryOutcome& last)> on_died;
  // Optional: sends the alert of a callback that died (on any instance), from
  // the dispatcher's alert thread, with the attempt that killed it (status and
  // info); an error makes it be called again after the next of
  // alert_retry_waits. Without it this dispatcher claims no alerts: they wait
  // in the store for a dispatcher that sends them.
  std::function<Status(const Callback& callback, const storage::DeliveryOutcome& last)> on_dead;
  // Optional: a store error met by the alert thread, at most one a minute.
  std::function<void(const Status& error)> on_alert_error;
  std::vector<std::chrono::milliseconds> alert_retry_waits{std::chrono::seconds(10),
                                                           std::chrono::seconds(60)};
  // How often the store is looked at for alerts queued elsewhere (another
  // instance, or before a restart); a callback dying here is seen at once.
  int64_t alert_poll_ms = 5'000;
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
  // Hand-off (storage::IngestPolicy::handoff): deliveries already leased to this
  // dispatcher, with their callbacks and messages, go straight to their hosts'
  // queues instead of being claimed back from the store. HandoffRoom() is how
  // many the queues can take now; Offer() takes `tasks` and returns the ids of
  // those it could not queue (a full host queue, a BATCH_URL callback, or
  // stopped), which the caller must make due again (Store::DeferDeliveries)
  // or they wait for their lease to end. Each task's delivery.next_attempt is
  // the end of its lease, as ingest stores it.
  size_t HandoffRoom();
  std::vector<int64_t> Offer(std::vector<storage::DeliveryTask> tasks);
  // Returns once the threads ended; a send in progress finishes first (or is
  // abandoned, its deliveries left leased, past `timeout` and a few seconds).
  // Nothing of the dispatcher is left on the loop it was given after Stop, so
  // that loop may then be destroyed first. Leased
  // deliveries not sent yet are made due at once for the next dispatcher (or,
  // should the store refuse, come due when their lease ends).
  void Stop();

 private:
  // What one send carries: one delivery, or a BATCH_URL batch of them (same callback).
  using Job = std::vector<storage::DeliveryTask>;
  // A job waiting for its host, with the end of its deliveries' lease (epoch
  // ms; the earliest, for a batch).
  struct Queued {
    Job job;
    int64_t lease_end = 0;
  };
  struct Host {
    std::deque<Queued> waiting;
    unsigned in_flight = 0;
    // Of `waiting`, the jobs counted in slow_queued_ (queued while the host
    // was not quick); of `in_flight`, the sends counted in slow_sending_.
    size_t waiting_slow = 0;
    unsigned in_flight_slow = 0;
  };
  struct Batch {
    Job tasks;
    int64_t due = 0;        // epoch ms when it goes even if not full
    int64_t lease_end = 0;  // epoch ms: the earliest of its deliveries' leases
  };
  // What one send met, before each delivery's back-off is applied.
  struct Attempt {
    bool delivered = false;
    int32_t status = 0;
    std::string info;
  };
  // One finished send, waiting for the recorder.
  struct Finished {
    Job job;
    Attempt attempt;
    int64_t now = 0;
    int64_t lease_end = 0;  // of the job's deliveries: recording after it is no use
  };
  struct OwnLoop;     // the loop of a dispatcher given none
  struct Gate;        // closed by Stop: loop handlers do nothing after it
  void Claim();       // the claimer thread
  void SendEmails();  // an email thread
  void Record();      // the recorder thread
  void SendAlerts();  // the alert thread: on_dead for each queued alert
  // On the loop: starts HTTP sends while there is room; then returns.
  void Pump();
  // From anywhere: a Pump will run on the loop soon (one, however many asked).
  void SchedulePump();
  // The request of a URL or BATCH_URL job; nullopt, with `failed` set, when
  // it cannot be made.
  std::optional<HttpRequest> RequestFor(const Job& job, Attempt& failed);
  Attempt DeliverEmail(const Job& job);
  // A send of `job` to `host` ended with `attempt` after `took_ms`: queued for
  // the recorder, the host's counts updated.
  // `counted_hanging`: the send was counted in slow_sending_ when it started.
  // `took_ms` < 0: nothing was sent (the request could not be made), which
  // says nothing of the host's speed.
  void Finish(Queued job, const std::string& host, Attempt attempt, int64_t took_ms, bool http,
              bool counted_hanging);
  // The outcome to record for `delivery` after `attempt` at `now`.
  storage::DeliveryOutcome OutcomeFor(const Delivery& delivery, const Attempt& attempt,
                                      int64_t now) const;
  // Deliveries whose host is busy here, by how long (ms) to defer them.
  using Busy = std::map<int64_t, std::vector<int64_t>>;
  // Puts a job, leased until `lease_end`, in its host's queue or, when that queue is full, adds its
  // deliveries' ids to `busy`, which the caller defers without mu_: for 200
  // ms, or for a host that hangs for about as long as its queue takes to
  // drain, so that its backlog is not claimed and put back every moment.
  // True when it queued an EMAIL job (the email threads are then to be
  // woken). mu_ held.
  bool Enqueue(Job job, int64_t lease_end, Busy& busy);
  // How many sends may wait here for host `name` while it is not known to be
  // quick: as many as its senders get through within half a lease, each
  // taking as long as its last send (its timeout for a host not met yet). A
  // send that waited longer could outlive its lease, be claimed again and be
  // sent twice.
  size_t SlowQueueLimit(const std::string& name) const;
  // A host with waiting work and room for one more send, or nullptr: the
  // email destination only, or every other. Hosts take turns (the search
  // starts after the host served last), and one that hangs (IsHanging) only
  // while such hosts together have fewer than `slow_sends_` in flight. mu_ held.
  Host* ReadyHost(std::string& name, bool email);
  // Takes the next job of `h` (named `name`) for a send; `hanging` tells
  // whether it counts in slow_sending_ (its host hangs). mu_ held.
  Queued StartSend(Host& h, const std::string& name, bool& hanging);
  // How much of its lease a job must have left when its send starts: its
  // timeout and a second for the record, but at most half a lease (with a
  // lease shorter than the timeout, a setting, jobs still go).
  int64_t LeaseNeededMs(std::chrono::milliseconds timeout) const;
  // Drops the jobs at the front of `h` (named `name`) whose lease ends too
  // soon for a send of `timeout` to end within it: their deliveries come due
  // for a claim when it ends. False when `h` was left empty and, with nothing
  // in flight, erased. mu_ held.
  bool DropExpiring(Host& h, const std::string& name, std::chrono::milliseconds timeout,
                    int64_t now);
  // Host `name` turned from quick to slow: what it has waiting past what a
  // slow host may have goes to put_back_, the rest counts as slow. mu_ held.
  void TrimTurnedSlow(const std::string& name);
  bool IsQuick(const std::string& host) const;    // mu_ held
  bool IsHanging(const std::string& host) const;  // mu_ held: its last send had no answer, or
                                                  // took kHangingSendMs or more
  void PublishDepths();                           // mu_ held: queued_ and sending_ to their gauges

  storage::Store& store_;
  DispatcherOptions options_;
  observe::Counter* delivered_ = nullptr;
  observe::Counter* failed_ = nullptr;
  observe::Counter* dead_ = nullptr;
  observe::Counter* expired_ = nullptr;  // roost_callback_leases_expired_total
  // roost_callback_queue_sends and roost_callback_sends_in_flight; owned by the
  // registry (so a render after the dispatcher is gone reads no freed memory).
  observe::Gauge* waiting_gauge_ = nullptr;
  observe::Gauge* in_flight_gauge_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t wakes_ = 0;
  std::condition_variable work_;       // email threads: a host became ready, or stop
  std::condition_variable idle_;       // Stop: an HTTP send ended
  unsigned sending_ = 0;               // HTTP sends in flight; guarded by mu_
  std::map<std::string, Host> hosts_;  // guarded by mu_
  size_t queued_ = 0;                  // jobs waiting in hosts_; guarded by mu_
  size_t high_water_ = 0;              // most jobs waiting in all hosts_ together
  // Jobs waiting for hosts that are not quick, at most slow_high_water_, so that
  // however many hosts are dead a claim always has room for a healthy host's
  // deliveries; guarded by mu_.
  size_t slow_queued_ = 0;
  size_t slow_high_water_ = 0;
  // Sends in flight to hosts that hang (IsHanging), at most slow_sends_: the
  // other senders are kept for hosts that answer and hosts not tried yet.
  // Guarded by mu_.
  unsigned slow_sending_ = 0;
  unsigned slow_sends_ = 1;
  std::string last_served_;  // ReadyHost's turn; guarded by mu_
  // Hosts met lately: whether each is quick, and how long its last send took
  // (ms). Guarded by mu_.
  struct HostSpeed {
    bool quick = false;
    bool hanging = false;  // no answer, or one that took kHangingSendMs or more
    int64_t took_ms = 0;
  };
  std::map<std::string, HostSpeed> speed_;
  std::map<std::string, Batch> batches_;  // by callback id; claimer thread only
  // Deliveries of jobs taken off a queue (TrimTurnedSlow), which the claimer
  // makes due again soon; guarded by mu_.
  std::vector<int64_t> put_back_;
  CompiledCallbacks compiled_;
  std::mutex record_mu_;
  std::condition_variable record_cv_;  // recorder: sends finished, or stop; senders: room
  std::vector<Finished> finished_;     // guarded by record_mu_
  size_t finished_deliveries_ = 0;     // deliveries in finished_; guarded by record_mu_
  bool record_stop_ = false;           // guarded by record_mu_
  std::mutex alert_mu_;
  std::condition_variable alert_cv_;  // alert thread: a callback died here, or stop
  bool alert_wake_ = false;           // guarded by alert_mu_
  bool alert_stop_ = false;           // guarded by alert_mu_
  std::unique_ptr<OwnLoop> own_loop_;
  boost::asio::io_context* loop_ = nullptr;
  std::shared_ptr<Gate> gate_;
  std::unique_ptr<AsyncHttpSender> sender_;
  std::atomic<bool> pump_posted_{false};
  std::vector<std::thread> threads_;  // email senders
  std::thread recorder_;
  std::thread alerter_;
  std::thread claimer_;  // last: starts once the members above exist
};

// The host[:port] of an http(s) URL, lowercased: what the per-destination limit counts.
std::string DestinationOf(std::string_view url);

// Where EMAIL callbacks' deliveries go, for the per-destination limit. In
// capitals: a URL's destination is lowercased, so no URL host is mistaken for it.
inline constexpr std::string_view kEmailDestination = "SMTP";

// Where a callback's deliveries go, for the per-destination limit: the host of
// its url, or kEmailDestination for every EMAIL callback.
std::string DestinationOf(const Callback& callback);

}  // namespace roost::integration
