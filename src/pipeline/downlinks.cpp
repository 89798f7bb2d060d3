#include "pipeline/downlinks.h"

#include <algorithm>

#include "core/hex.h"

namespace roost::pipeline {

DownlinkArbiter::DownlinkArbiter(storage::Store& store, DownlinkOptions options)
    : store_(store), options_(std::move(options)), thread_([this] { Run(); }) {}

DownlinkArbiter::~DownlinkArbiter() {
  Stop();
}

void DownlinkArbiter::Hold(const storage::MessageCursor& key, std::string station, Answer answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) {
      Frame& f = frames_[Key{key.device, key.time, key.seq_number}];
      if (f.held.empty()) f.deadline = options_.clock() + options_.hold_ms;
      f.held.emplace_back(std::move(station), std::move(answer));
      cv_.notify_all();
      return;
    }
  }
  answer(std::nullopt);
}

void DownlinkArbiter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::optional<std::pair<std::string, std::string>>> DownlinkArbiter::Decide(
    const storage::MessageCursor& key) {
  using Decision = std::optional<std::pair<std::string, std::string>>;
  auto m = store_.GetMessage(key);
  if (!m.ok()) return m.status();
  if (!m->downlink_station.empty()) {
    return Decision(std::make_pair(m->downlink_data, m->downlink_station));
  }
  if (m->rinfos.empty()) return Decision();
  auto type = store_.GetDeviceType(m->type);
  if (!type.ok()) return type.status();
  if (type->downlink_mode != DownlinkMode::kDirect) return Decision();
  auto cached = templates_.find(type->downlink_data_string);
  if (cached == templates_.end()) {
    if (templates_.size() > 1000) templates_.clear();
    auto compiled = codec::CompileDownlinkTemplate(type->downlink_data_string);
    cached = templates_
                 .emplace(type->downlink_data_string,
                          compiled.ok() ? std::optional(*compiled) : std::nullopt)
                 .first;
  }
  if (!cached->second) return Decision();  // a template saved before checks existed
  const Reception& best =
      *std::max_element(m->rinfos.begin(), m->rinfos.end(),
                        [](const Reception& a, const Reception& b) { return a.rssi < b.rssi; });
  uint16_t tap = 0;
  for (char c : best.station) tap = static_cast<uint16_t>(tap * 16 + HexValue(c));
  const codec::DownlinkData data = codec::Expand(*cached->second, m->time / 1000, best.rssi, tap);
  auto stored = store_.SetMessageDownlink(key, ToHex(data), best.station);
  if (!stored.ok()) return stored.status();
  return Decision(std::make_pair(stored->downlink_data, stored->downlink_station));
}

void DownlinkArbiter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stop_) break;
    const EpochMillis now = options_.clock();
    auto due = std::find_if(frames_.begin(), frames_.end(),
                            [&](const auto& f) { return f.second.deadline <= now; });
    if (due == frames_.end()) {
      EpochMillis next = now + 1000;
      for (const auto& [k, f] : frames_) next = std::min(next, f.deadline);
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<EpochMillis>(1, next - now)));
      continue;
    }
    const Key key = due->first;
    Frame frame = std::move(due->second);
    frames_.erase(due);
    lock.unlock();
    auto decided = Decide(storage::MessageCursor{key.time, key.device, key.seq});
    for (auto& [station, answer] : frame.held) {
      const bool mine = decided.ok() && *decided && (*decided)->second == station;
      answer(mine ? std::optional<std::string>((*decided)->first) : std::nullopt);
    }
    lock.lock();
  }
  std::map<Key, Frame> left = std::move(frames_);
  frames_.clear();
  lock.unlock();
  for (auto& [key, frame] : left) {
    for (auto& [station, answer] : frame.held) answer(std::nullopt);
  }
}

}  // namespace roost::pipeline
