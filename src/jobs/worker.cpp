#include "jobs/worker.h"

#include <malloc.h>

#include <chrono>
#include <utility>

#include "core/thread_name.h"

namespace roost::jobs {

Worker::Worker(Runner& runner, WorkerOptions options)
    : runner_(runner), options_(std::move(options)) {
  const unsigned n = options_.threads == 0 ? 1 : options_.threads;
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([this, lease_name = options_.name + "/" + std::to_string(i)] {
      NameThisThread("job-worker");
      Run(lease_name);
    });
  }
}

Worker::~Worker() {
  Stop();
}

void Worker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Worker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void Worker::Run(const std::string& lease_name) {
  std::unique_lock<std::mutex> lock(mu_);
  bool busy = false;
  while (!stop_) {
    lock.unlock();
    auto worked = runner_.RunOneChunk(lease_name, options_.lease_ms);
    lock.lock();
    if (worked.ok() && *worked) {
      if (options_.chunks) options_.chunks->Inc();
      busy = true;
      continue;
    }
    if (busy) {
      // The queue just ran dry: hand the memory of the finished work (a 10 MB
      // bulk body parsed by a handler thread, the chunks' rows) back to the
      // system instead of keeping it in malloc's arenas for the next burst.
      busy = false;
      malloc_trim(0);
    }
    if (!worked.ok() && options_.logger) {
      options_.logger->Warn("bulk job chunk failed", {{"error", worked.status().message()}});
    }
    const uint64_t wakes = wakes_;
    cv_.wait_for(lock, worked.ok() ? std::chrono::milliseconds(100) : std::chrono::seconds(1),
                 [&] { return stop_ || wakes_ != wakes; });
  }
}

}  // namespace roost::jobs
