#include "pipeline/stored_queues.h"

#include <algorithm>
#include <chrono>

#include "core/thread_name.h"

namespace roost::pipeline {

Result<std::unique_ptr<StoredQueueGauges>> StoredQueueGauges::Start(
    storage::Store& store, observe::MetricsRegistry& metrics, StoredQueueOptions options) {
  if (!options.clock) return Status::InvalidInput("stored queue gauges need a clock");
  if (options.period_ms < 1 || options.cap < 1) {
    return Status::InvalidInput("stored queue gauges: period and cap must be positive");
  }
  std::unique_ptr<StoredQueueGauges> out(new StoredQueueGauges(store, std::move(options)));
  auto deliveries = metrics.AddGauge(
      "roost_callback_deliveries_stored",
      "Callback deliveries waiting in the database: due now, leased (being sent), due later "
      "(back-off, or handed to a sender at ingest), parked (disabled or dead callbacks)",
      {"state"});
  auto emails =
      metrics.AddGauge("roost_event_emails_stored", "Event emails waiting in the database", {});
  auto alerts = metrics.AddGauge("roost_callback_dead_alerts_stored",
                                 "Dead callbacks' alert emails waiting in the database", {});
  if (!deliveries.ok()) return deliveries.status();
  if (!emails.ok()) return emails.status();
  if (!alerts.ok()) return alerts.status();
  out->due_ = &(*deliveries)->WithLabels({"due"});
  out->leased_ = &(*deliveries)->WithLabels({"leased"});
  out->later_ = &(*deliveries)->WithLabels({"later"});
  out->parked_ = &(*deliveries)->WithLabels({"parked"});
  out->event_emails_ = &(*emails)->Get();
  out->dead_alerts_ = &(*alerts)->Get();
  out->thread_ = std::thread([raw = out.get()] { raw->Run(); });
  return out;
}

StoredQueueGauges::StoredQueueGauges(storage::Store& store, StoredQueueOptions options)
    : store_(store), options_(std::move(options)) {}

StoredQueueGauges::~StoredQueueGauges() {
  Stop();
}

void StoredQueueGauges::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status StoredQueueGauges::MeasureOnce() {
  auto depths = store_.MeasureStoredQueues(options_.clock(), options_.cap);
  if (!depths.ok()) return depths.status();
  due_->Set(static_cast<double>(depths->deliveries_due));
  leased_->Set(static_cast<double>(depths->deliveries_leased));
  later_->Set(static_cast<double>(depths->deliveries_later));
  parked_->Set(static_cast<double>(depths->deliveries_parked));
  event_emails_->Set(static_cast<double>(depths->event_emails));
  dead_alerts_->Set(static_cast<double>(depths->dead_alerts));
  return Status::Ok();
}

int64_t StoredQueueGauges::PauseAfter(int64_t period_ms, int64_t took_ms) {
  constexpr int64_t kIdleToBusy = 49;  // busy at most 1 part in 50
  constexpr int64_t kLongestInPeriods = 12;
  return std::max(period_ms, std::min(took_ms * kIdleToBusy, period_ms * kLongestInPeriods));
}

void StoredQueueGauges::Run() {
  NameThisThread("queue-gauges");
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    // A failed look (the database unreachable a moment) keeps the last values;
    // the next period tries again. Only a measurement that was made stretches
    // the pause: a failed one may have spent its time waiting to connect.
    const bool measured = MeasureOnce().ok();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    const int64_t pause =
        measured ? PauseAfter(options_.period_ms, took.count()) : options_.period_ms;
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(pause), [this] { return stop_; });
  }
}

}  // namespace roost::pipeline
