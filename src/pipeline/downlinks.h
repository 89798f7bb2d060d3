// Downlinks (pipeline.md, "Downlinks"): a device that asks for one (`ack` on
// its uplink) gets it through one station, the one that heard it best.
//
// The ingest answer of every report with `ack` is held here for `hold_ms`
// after this instance first saw the frame, so that the other stations' reports
// join the message first. Then the frame is decided from the message as
// stored (every station's report, whichever instance took it): the best RSSI
// wins; for a device type in DIRECT mode the downlink is its
// downlinkDataString expanded with the message's time, that RSSI and that
// station's id. The decision is recorded on the message (the first one stays,
// also across instances) and each held report is answered: with the downlink
// for the chosen station's report, without one for the others.
// Device types in other modes get no downlink (CALLBACK is not answered yet).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codec/downlink_template.h"
#include "model/time.h"
#include "storage/store.h"

namespace roost::pipeline {

struct DownlinkOptions {
  int64_t hold_ms = 1'000;
  std::function<EpochMillis()> clock;  // required
};

class DownlinkArbiter {
 public:
  // Runs once, on the arbiter's thread: with the downlink's 16 hex digits when
  // this report's station sends it, nullopt otherwise.
  using Answer = std::function<void(std::optional<std::string> downlink)>;

  // Starts the thread. `store` must outlive the arbiter.
  DownlinkArbiter(storage::Store& store, DownlinkOptions options);
  ~DownlinkArbiter();  // Stop()
  DownlinkArbiter(const DownlinkArbiter&) = delete;
  DownlinkArbiter& operator=(const DownlinkArbiter&) = delete;

  // Holds the answer to `station`'s report of the frame `key` until it is decided.
  void Hold(const storage::MessageCursor& key, std::string station, Answer answer);

  // Answers everything still held without a downlink, then ends the thread.
  void Stop();

  // The decision for a stored frame: (downlink hex, station) or nullopt. Public
  // for tests.
  Result<std::optional<std::pair<std::string, std::string>>> Decide(
      const storage::MessageCursor& key);

 private:
  struct Key {
    uint32_t device;
    EpochMillis time;
    int64_t seq;
    auto operator<=>(const Key&) const = default;
  };
  struct Frame {
    EpochMillis deadline = 0;
    std::vector<std::pair<std::string, Answer>> held;  // (station, answer)
  };
  void Run();

  storage::Store& store_;
  DownlinkOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<Key, Frame> frames_;                                              // guarded by mu_
  std::map<std::string, std::optional<codec::DownlinkTemplate>> templates_;  // thread only
  std::thread thread_;                                                       // last
};

}  // namespace roost::pipeline
