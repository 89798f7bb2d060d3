#include "pipeline/retention.h"

#include "core/thread_name.h"
#include "model/statistics.h"

namespace roost::pipeline {

RetentionTask::RetentionTask(storage::Store& store, RetentionOptions options)
    : store_(store), options_(std::move(options)), thread_([this] { Run(); }) {}

RetentionTask::~RetentionTask() {
  Stop();
}

void RetentionTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RetentionPass RetentionTask::RunOnce() {
  const EpochMillis now = options_.clock();
  RetentionPass pass;
  pass.partitions = store_.PrepareMessagePartitions(now, options_.months_ahead);
  if (options_.retention_days > 0) {
    const EpochMillis cutoff = now - int64_t{options_.retention_days} * kMillisPerDay;
    pass.messages = store_.PurgeMessagesBefore(cutoff);
    pass.events = store_.PurgeEventsBefore(cutoff);
  }
  if (options_.statistics_retention_days > 0) {
    pass.statistics = store_.PurgeStatisticsBefore(
        now - int64_t{options_.statistics_retention_days} * kMillisPerDay);
  }
  if (options_.on_pass) options_.on_pass(pass);
  return pass;
}

void RetentionTask::Run() {
  NameThisThread("retention");
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    (void)RunOnce();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.period_ms), [this] { return stop_; });
  }
}

}  // namespace roost::pipeline
