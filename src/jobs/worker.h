// The background thread that runs job chunks for `roost serve`.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "jobs/runner.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace roost::jobs {

struct WorkerOptions {
  std::string name;          // names this instance in leases, e.g. "serve-<pid>"
  int64_t lease_ms = 60000;  // how long a claimed chunk stays ours
  // Optional; when set they must outlive the worker.
  observe::Logger* logger = nullptr;   // "bulk job chunk failed" warnings
  observe::Counter* chunks = nullptr;  // counts every chunk processed
};

// Runs chunks of every instance's jobs until Stop(): one chunk after another
// while there is work, then a look every 100 ms (every second after a store
// error, which is logged). When the queue runs dry, memory freed by the finished
// work is handed back to the system.
class Worker {
 public:
  // Starts the thread. `runner` must outlive the worker.
  Worker(Runner& runner, WorkerOptions options);
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns once the thread has ended; a chunk in progress finishes first (or
  // its lease lets another instance redo it). Later calls return at once.
  void Stop();

 private:
  void Run();

  Runner& runner_;
  WorkerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace roost::jobs
