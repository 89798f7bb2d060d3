// The background thread that runs job chunks for `roost serve`.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/runner.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace roost::jobs {

struct WorkerOptions {
  std::string name;          // names this instance in leases, e.g. "serve-<pid>"
  int64_t lease_ms = 60000;  // how long a claimed chunk stays ours
  // Threads claiming chunks at once. Two let one thread prepare a chunk (read
  // its credentials, build its rows) while the other's transaction is written.
  unsigned threads = 1;
  // Optional; when set they must outlive the worker.
  observe::Logger* logger = nullptr;   // "bulk job chunk failed" warnings
  observe::Counter* chunks = nullptr;  // counts every chunk processed
};

// Runs chunks of every instance's jobs until Stop(), on `threads` threads: each
// claims one chunk after another while there is work, then looks again every
// 100 ms (every second after a store error, which is logged). Leases are named
// "<name>/<thread>". When the queue runs dry, memory freed by the finished work
// is handed back to the system.
class Worker {
 public:
  // Starts the thread. `runner` must outlive the worker.
  Worker(Runner& runner, WorkerOptions options);
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns once the threads have ended; a chunk in progress finishes first (or
  // its lease lets another instance redo it). Later calls return at once.
  void Stop();

  // A job was just stored: idle threads look for work now rather than at their
  // next look. Thread-safe; harmless when every thread is busy.
  void Wake();

 private:
  void Run(const std::string& lease_name);

  Runner& runner_;
  WorkerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t wakes_ = 0;                // guarded by mu_; bumped by Wake()
  std::vector<std::thread> threads_;  // last: start once the members above exist
};

}  // namespace roost::jobs
