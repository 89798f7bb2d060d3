// Connects the gateway listener (gateway/listener.h) to the provisioning
// service (provisioning/service.h). The listener hands proprietary uplinks over
// on the event loop, which must never block; the service spends ECDH work and
// may wait for the database. So uplinks are handled on a small pool of threads
// of their own, and the pool's queue is bounded: an uplink past it is not
// answered (the device retries) and is counted as
// roost_provisioning_dropped_total{reason="overloaded"}.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>

#include "gateway/listener.h"
#include "observe/metrics.h"
#include "provisioning/service.h"

namespace roost::server {

class ProvisioningBridge {
 public:
  struct Options {
    unsigned threads = 2;
    size_t max_queued = 256;  // uplinks waiting for or in a pool thread
  };

  // `service` (and `metrics`, if given) must outlive the bridge.
  ProvisioningBridge(provisioning::ProvisioningService& service, Options options,
                     observe::MetricsRegistry* metrics);
  ~ProvisioningBridge();  // Stop()
  ProvisioningBridge(const ProvisioningBridge&) = delete;
  ProvisioningBridge& operator=(const ProvisioningBridge&) = delete;

  // The listener's handler. Valid for the bridge's lifetime; the listener must
  // be stopped before the bridge is.
  gateway::ProprietaryHandler Handler();

  // Waits for the uplinks already queued to be handled (their answers go to a
  // listener that may have stopped: then nothing is sent). Later calls return
  // at once; uplinks handed over after it are not answered.
  void Stop();

  size_t overloaded() const { return overloaded_count_.load(); }

 private:
  void Handle(gateway::ProprietaryUplink uplink, gateway::Answer answer);

  provisioning::ProvisioningService& service_;
  Options options_;
  boost::asio::thread_pool pool_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> overloaded_count_{0};
  observe::Counter* overloaded_ = nullptr;
};

}  // namespace roost::server
