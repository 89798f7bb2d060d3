// Retention (pipeline.md, "Messages"): a background thread that purges
// messages, their deliveries and device events older than the configured
// number of days, and hourly statistics older than their own (longer) number
// of days; on PostgreSQL it keeps the monthly partitions of the coming months
// ready, so that purging messages is dropping whole partitions
// (Store::PrepareMessagePartitions, Store::PurgeMessagesBefore,
// Store::PurgeEventsBefore, Store::PurgeStatisticsBefore). Several instances
// may run one each: every step is safe to repeat.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "core/status.h"
#include "model/time.h"
#include "storage/store.h"

namespace roost::pipeline {

// What one pass did.
struct RetentionPass {
  Status partitions;                              // PrepareMessagePartitions
  Result<storage::Store::PurgeResult> messages =  // PurgeMessagesBefore
      storage::Store::PurgeResult{};
  Result<int64_t> events = int64_t{0};      // PurgeEventsBefore: rows deleted
  Result<int64_t> statistics = int64_t{0};  // PurgeStatisticsBefore: rows deleted
};

struct RetentionOptions {
  // Messages, their deliveries, and events with their sent or given-up
  // emails; 0: kept forever (partitions are still made).
  int retention_days = 90;
  // Hourly statistics and the last service reports; 0: kept forever.
  int statistics_retention_days = 400;
  int64_t period_ms = 3'600'000;       // between passes; the first runs at start
  int months_ahead = 2;                // PostgreSQL partitions made ahead of time
  std::function<EpochMillis()> clock;  // required
  // Optional: told the outcome of each pass, from the retention thread.
  std::function<void(const RetentionPass& pass)> on_pass;
};

class RetentionTask {
 public:
  // Starts the thread. `store` must outlive the task.
  RetentionTask(storage::Store& store, RetentionOptions options);
  ~RetentionTask();  // Stop()
  RetentionTask(const RetentionTask&) = delete;
  RetentionTask& operator=(const RetentionTask&) = delete;

  // One pass now, on the caller's thread: partitions, then each purge whose
  // retention is set (one failing does not stop the others). Public for tests.
  RetentionPass RunOnce();
  // Returns once the thread ended (a pass in progress finishes first).
  void Stop();

 private:
  void Run();

  storage::Store& store_;
  RetentionOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last
};

}  // namespace roost::pipeline
