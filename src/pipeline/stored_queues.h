// Queue depths of the work that waits in the database rather than in any
// instance's memory (Store::MeasureStoredQueues), as Prometheus gauges:
//   roost_callback_deliveries_stored{state="due"|"leased"|"later"|"parked"}
//   roost_event_emails_stored
//   roost_callback_dead_alerts_stored
// A growing "due" count says the dispatchers do not keep up; "leased" are
// being sent; "later" holds deliveries in back-off (failing endpoints) and
// those handed to a sender at ingest; "parked" those of disabled or dead
// callbacks. A thread of its own measures
// every `period_ms`, so that a scrape never waits on the database and the
// database is asked once per period however often it is scraped. A count
// reads the index entries of its queue up to the cap, and on PostgreSQL the
// table row of each (visibility, the lease): with a backlog of 100 000 it took
// 260 ms of the database's time. So the pause after a measurement is at least
// 49 times what it took (at most 12 periods, so that a measurement slowed by a
// busy moment does not leave the gauges stale for long): an instance's gauges
// take at most 2 % of the time, however deep the queues. With several
// instances on one database each reports the same (shared) depths.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/status.h"
#include "model/time.h"
#include "observe/metrics.h"
#include "storage/store.h"

namespace roost::pipeline {

struct StoredQueueOptions {
  int64_t period_ms = 5'000;
  // Each count stops here: a backlog of millions reads as this.
  int64_t cap = 100'000;
  std::function<EpochMillis()> clock;  // required
};

class StoredQueueGauges {
 public:
  // Registers the gauges with `metrics` and starts the thread (the first
  // measure at once). `store` and `metrics` must outlive the object.
  static Result<std::unique_ptr<StoredQueueGauges>> Start(storage::Store& store,
                                                          observe::MetricsRegistry& metrics,
                                                          StoredQueueOptions options);
  ~StoredQueueGauges();  // Stop()
  StoredQueueGauges(const StoredQueueGauges&) = delete;
  StoredQueueGauges& operator=(const StoredQueueGauges&) = delete;

  // Measures now, on the caller's thread, and sets the gauges; an error leaves
  // them as they were. Public for tests.
  Status MeasureOnce();
  // Returns once the thread ended.
  void Stop();
  // The pause before the next measurement, after one that took `took_ms`:
  // 49 times that, at least one period and at most 12.
  static int64_t PauseAfter(int64_t period_ms, int64_t took_ms);

 private:
  StoredQueueGauges(storage::Store& store, StoredQueueOptions options);
  void Run();

  storage::Store& store_;
  StoredQueueOptions options_;
  observe::Gauge* due_ = nullptr;
  observe::Gauge* leased_ = nullptr;
  observe::Gauge* later_ = nullptr;
  observe::Gauge* parked_ = nullptr;
  observe::Gauge* event_emails_ = nullptr;
  observe::Gauge* dead_alerts_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // started last
};

}  // namespace roost::pipeline
