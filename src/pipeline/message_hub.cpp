#include "pipeline/message_hub.h"

#include <algorithm>

namespace roost::pipeline {

uint64_t MessageHub::Subscribe(std::optional<uint32_t> device, std::string type,
                               Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  if (device) {
    devices_[*device].push_back(Entry{id, std::move(listener)});
  } else {
    types_[type].push_back(Entry{id, std::move(listener)});
  }
  where_.emplace(id, std::make_pair(device, std::move(type)));
  listeners_.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void MessageHub::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = where_.find(id);
  if (it == where_.end()) return;
  auto drop = [id](auto& map, const auto& key) {
    auto list = map.find(key);
    if (list == map.end()) return;
    std::erase_if(list->second, [id](const Entry& e) { return e.id == id; });
    if (list->second.empty()) map.erase(list);
  };
  if (it->second.first) {
    drop(devices_, *it->second.first);
  } else {
    drop(types_, it->second.second);
  }
  where_.erase(it);
  listeners_.fetch_sub(1, std::memory_order_relaxed);
}

void MessageHub::Publish(std::span<const storage::IngestDecision> decisions) {
  if (listeners_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const storage::IngestDecision& d : decisions) {
    if (d.result != IngestResult::kAccepted || !d.message) continue;
    const Message& m = *d.message;
    if (auto it = devices_.find(m.device.value); it != devices_.end()) {
      for (const Entry& e : it->second) e.listener(m);
    }
    if (auto it = types_.find(m.type); it != types_.end()) {
      for (const Entry& e : it->second) e.listener(m);
    }
  }
}

}  // namespace roost::pipeline
