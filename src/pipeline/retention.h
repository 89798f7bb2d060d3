// Retention of messages (pipeline.md, "Messages"): a background thread that
// purges messages older than the configured number of days, and on PostgreSQL
// keeps the monthly partitions of the coming months ready, so that purging is
// dropping whole partitions (Store::PrepareMessagePartitions,
// Store::PurgeMessagesBefore). Several instances may run one each: every step
// is safe to repeat.
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

struct RetentionOptions {
  int retention_days = 90;             // 0: keep messages forever (partitions are still made)
  int64_t period_ms = 3'600'000;       // between passes; the first runs at start
  int months_ahead = 2;                // PostgreSQL partitions made ahead of time
  std::function<EpochMillis()> clock;  // required
  // Optional: told the outcome of each pass, from the retention thread.
  std::function<void(const Status& partitions, const Result<storage::Store::PurgeResult>& purge)>
      on_pass;
};

class RetentionTask {
 public:
  // Starts the thread. `store` must outlive the task.
  RetentionTask(storage::Store& store, RetentionOptions options);
  ~RetentionTask();  // Stop()
  RetentionTask(const RetentionTask&) = delete;
  RetentionTask& operator=(const RetentionTask&) = delete;

  // One pass now, on the caller's thread: partitions, then the purge (when a
  // retention is set). Public for tests.
  Result<storage::Store::PurgeResult> RunOnce();
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
