// Tells listeners in this process about new messages the moment they are
// durable: the uplink writer publishes each committed group of decisions, and
// the console's live message streams (api/live_feed.h) listen by device or by
// device type.
//
// Only this process's messages pass here; messages ingested by another
// instance on the same database are found by reading the store, so a listener
// must not rely on the hub alone. Only new messages (IngestResult::kAccepted)
// are published: a duplicate report merges into a message already published.
//
// Ingest is the hot path: with nobody listening, Publish costs one atomic load
// per committed group; with listeners, one map lookup per message under the
// hub's lock. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/message.h"
#include "storage/store.h"

namespace roost::pipeline {

class MessageHub {
 public:
  // Runs on the publishing thread (the uplink writer's), under the hub's lock:
  // it must be quick, must not block, and must not call the hub.
  using Listener = std::function<void(const Message&)>;

  // Listens to the new messages of device `device` when set, else of the
  // devices of device type `type`. Returns the id to Unsubscribe with.
  uint64_t Subscribe(std::optional<uint32_t> device, std::string type, Listener listener);
  // Once it returns, the listener is not running and never runs again.
  void Unsubscribe(uint64_t id);

  // The writer's decisions after their transaction committed.
  void Publish(std::span<const storage::IngestDecision> decisions);

  size_t listeners() const { return listeners_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t id;
    Listener listener;
  };
  std::atomic<size_t> listeners_{0};
  std::mutex mu_;
  uint64_t next_id_ = 1;                                       // guarded by mu_
  std::unordered_map<uint32_t, std::vector<Entry>> devices_;   // guarded by mu_
  std::unordered_map<std::string, std::vector<Entry>> types_;  // guarded by mu_
  // id -> (device, type) it listens to, for Unsubscribe. Guarded by mu_.
  std::unordered_map<uint64_t, std::pair<std::optional<uint32_t>, std::string>> where_;
};

}  // namespace roost::pipeline
