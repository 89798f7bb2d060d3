#include "pipeline/retention.h"

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

Result<storage::Store::PurgeResult> RetentionTask::RunOnce() {
  const EpochMillis now = options_.clock();
  Status partitions = store_.PrepareMessagePartitions(now, options_.months_ahead);
  Result<storage::Store::PurgeResult> purged = storage::Store::PurgeResult{};
  if (options_.retention_days > 0) {
    purged = store_.PurgeMessagesBefore(now - int64_t{options_.retention_days} * kMillisPerDay);
  }
  if (options_.on_pass) options_.on_pass(partitions, purged);
  return purged;
}

void RetentionTask::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    (void)RunOnce();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.period_ms), [this] { return stop_; });
  }
}

}  // namespace roost::pipeline
