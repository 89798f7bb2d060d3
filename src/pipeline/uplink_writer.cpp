#include "pipeline/uplink_writer.h"

#include <algorithm>
#include <chrono>

#include "core/thread_name.h"

namespace roost::pipeline {

UplinkWriter::UplinkWriter(storage::Store& store, UplinkWriterOptions options)
    : store_(store), options_(options), thread_([this] { Run(); }) {}

UplinkWriter::~UplinkWriter() {
  Stop();
}

bool UplinkWriter::Submit(std::vector<UplinkReport> reports, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return false;
    // One request larger than the whole queue still goes in when the queue is
    // empty: the route's body limit bounds it.
    if (queued_reports_ > 0 && queued_reports_ + reports.size() > options_.max_queued_reports) {
      return false;
    }
    queued_reports_ += reports.size();
    queue_.push_back(Submission{std::move(reports), std::move(done)});
    // While the writer gathers, a wake-up per request would cost a thread
    // switch each; it is woken once enough are in (or its delay ends).
    if (queued_reports_ < wake_at_reports_) return true;
  }
  cv_.notify_one();
  return true;
}

size_t UplinkWriter::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_reports_;
}

size_t UplinkWriter::writing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writing_reports_;
}

void UplinkWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void UplinkWriter::Run() {
  NameThisThread("ingest-writer");
  storage::IngestPolicy policy;
  policy.dedup_window_ms = options_.dedup_window_ms;
  policy.downlink_hook_delay_ms = options_.downlink_hook_delay_ms;
  policy.complete = [this](Message& m, PayloadType type, std::string_view config) {
    decoder_.Complete(m, type, config);
  };
  std::vector<Submission> group;
  std::vector<UplinkReport> reports;
  size_t last_reports = 0;  // of the last transaction, when it served several submissions
  for (;;) {
    group.clear();
    reports.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopped and drained
      if (last_reports > queued_reports_ && options_.gather_delay.count() > 0) {
        wake_at_reports_ = std::min(last_reports, options_.max_batch);
        cv_.wait_for(lock, options_.gather_delay,
                     [&] { return stop_ || queued_reports_ >= wake_at_reports_; });
        wake_at_reports_ = 1;
      }
      // Whole submissions only, so that each is decided in one transaction.
      while (!queue_.empty() && (group.empty() || reports.size() + queue_.front().reports.size() <=
                                                      options_.max_batch)) {
        Submission& s = queue_.front();
        queued_reports_ -= s.reports.size();
        reports.insert(reports.end(), std::make_move_iterator(s.reports.begin()),
                       std::make_move_iterator(s.reports.end()));
        group.push_back(std::move(s));
        queue_.pop_front();
      }
      writing_reports_ = reports.size();
    }
    last_reports = group.size() > 1 ? reports.size() : 0;
    if (options_.before_commit) options_.before_commit();
    policy.now = options_.clock();
    storage::IngestHandoff handoff;
    const bool handing = options_.handoff && options_.handoff_room;
    if (handing) {
      handoff.limit = options_.handoff_room();
      handoff.lease_ms = options_.handoff_lease_ms;
      policy.handoff = &handoff;
    }
    auto decided = store_.IngestUplinks(reports, policy);
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_reports_ = 0;
    }
    if (decided.ok() && options_.batches) options_.batches->Inc();
    bool claimable = !handing || handoff.others > 0;
    if (decided.ok() && handing && !handoff.tasks.empty()) {
      std::vector<int64_t> refused = options_.handoff(std::move(handoff.tasks));
      // Refused ones are due at once for the claimer; should that fail they
      // still come due when their lease ends.
      if (!refused.empty() && store_.DeferDeliveries(refused, policy.now).ok()) claimable = true;
    }
    if (decided.ok() && claimable && options_.after_commit) options_.after_commit();
    if (decided.ok() && options_.on_durable) options_.on_durable(*decided);
    if (decided.ok()) {
      for (size_t i = 0; i < decided->size() && i < reports.size(); ++i) {
        storage::IngestDecision& d = (*decided)[i];
        if (d.result == IngestResult::kAccepted || d.result == IngestResult::kDuplicate) {
          continue;
        }
        d.refused_device = reports[i].device.value;
        d.refused_station = std::move(reports[i].station);
      }
    }
    size_t at = 0;
    for (Submission& s : group) {
      const size_t n = s.reports.size();
      if (!decided.ok()) {
        s.done(decided.status());
        continue;
      }
      std::vector<storage::IngestDecision> mine(std::make_move_iterator(decided->begin() + at),
                                                std::make_move_iterator(decided->begin() + at + n));
      at += n;
      s.done(std::move(mine));
    }
  }
}

}  // namespace roost::pipeline
