// Commits ingest reports in groups: the hot path of POST /api/ingest/uplink.
//
// Handlers Submit the reports of a request with a completion and return at
// once; one writer thread takes everything queued (up to `max_batch` reports),
// decides and stores it with one Store::IngestUplinks call — one transaction,
// one fsync, for many requests — and then completes every submission of the
// group with its decisions. A completion with decisions therefore means the
// reports are durable; with an error, none of the group was stored.
//
// Memory is bounded: past `max_queued_reports` waiting, Submit refuses (the
// caller answers 503 with Retry-After) instead of queueing more.
//
// Under concurrent load the writer gathers: when its last transaction served
// several submissions, it waits up to `gather_delay` for as many reports as
// that transaction had before it starts the next. Each transaction costs its
// WAL writes whatever its size, and on a busy core the requests that would
// fill it are still being read; a lone client (one submission per
// transaction) is never delayed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/status.h"
#include "model/message.h"
#include "observe/metrics.h"
#include "pipeline/uplink_decoder.h"
#include "storage/store.h"

namespace roost::pipeline {

struct UplinkWriterOptions {
  size_t max_queued_reports = 50'000;
  size_t max_batch = 2'000;                       // reports per transaction
  int64_t dedup_window_ms = 3'000;                // IngestPolicy::dedup_window_ms
  int64_t downlink_hook_delay_ms = 0;             // IngestPolicy::downlink_hook_delay_ms
  std::chrono::microseconds gather_delay{1'000};  // 0 = never wait for more
  // Required: the wall clock of each transaction (IngestPolicy::now), the
  // runtime's clock so that tests can drive time.
  std::function<EpochMillis()> clock;
  // Optional; when set they must outlive the writer.
  observe::Counter* batches = nullptr;  // transactions committed
  // Runs on the writer thread after each committed transaction (wakes the
  // callback dispatcher: deliveries were queued).
  std::function<void()> after_commit;
  // Runs on the writer thread after each committed transaction, with its
  // decisions, before the submissions are completed: the reports are durable
  // (MessageHub::Publish). Must be quick.
  std::function<void(std::span<const storage::IngestDecision>)> on_durable;
  // Runs on the writer thread before each transaction (tests hold the writer
  // here to fill its queue).
  std::function<void()> before_commit;
  // Hand-off (storage::IngestHandoff), optional: before each transaction
  // `handoff_room` says how many fresh deliveries the dispatcher can queue now;
  // that many are stored leased for `handoff_lease_ms` and, once committed,
  // given to `handoff`, which returns the ids of those it could not take: the
  // writer makes them due again at once. `after_commit` then runs only when
  // the transaction queued deliveries left for the dispatcher to claim.
  std::function<size_t()> handoff_room;
  std::function<std::vector<int64_t>(std::vector<storage::DeliveryTask>)> handoff;
  int64_t handoff_lease_ms = 0;
};

class UplinkWriter {
 public:
  using Done = std::function<void(Result<std::vector<storage::IngestDecision>>)>;

  // Starts the writer thread. `store` must outlive the writer.
  UplinkWriter(storage::Store& store, UplinkWriterOptions options);
  ~UplinkWriter();  // Stop()
  UplinkWriter(const UplinkWriter&) = delete;
  UplinkWriter& operator=(const UplinkWriter&) = delete;

  const UplinkWriterOptions& options() const { return options_; }

  // Queues `reports` (one request's); `done` runs on the writer thread once they
  // are decided and durable, or failed. Returns false, without queueing or
  // calling `done`, when the queue is full or the writer stopped.
  bool Submit(std::vector<UplinkReport> reports, Done done);

  // Reports waiting (for /metrics and tests).
  size_t queued() const;
  // Reports in the transaction under way, 0 between transactions (for
  // /metrics: a writer stuck behind a lock shows here, and tests wait on it).
  size_t writing() const;

  // Commits what is queued, then ends the thread; later Submits are refused.
  void Stop();

 private:
  struct Submission {
    std::vector<UplinkReport> reports;
    Done done;
  };
  void Run();

  storage::Store& store_;
  UplinkWriterOptions options_;
  UplinkDecoder decoder_;  // used by the writer thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Submission> queue_;  // guarded by mu_
  size_t queued_reports_ = 0;     // guarded by mu_
  size_t writing_reports_ = 0;    // guarded by mu_
  // Submit wakes the writer once this many reports wait. Guarded by mu_.
  size_t wake_at_reports_ = 1;
  bool stop_ = false;   // guarded by mu_
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace roost::pipeline
