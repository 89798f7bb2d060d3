// `roost simulate provisioning`: simulated devices (device.h) provisioning
// through simulated gateways (gateway.h) against a real server over UDP.
//
// Every device is heard by every gateway, each with a different SNR (the best
// gateway differs from device to device); the server must answer through the
// best one, in RX1 of that gateway's reception (CheckRx1), which is checked for
// every downlink. A device that gets no answer within `timeout` starts again
// from Hello (a restarted server has lost its session), at most `retries`
// times. Single-threaded: one poll() loop over the gateways' sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "gateway/region.h"
#include "provisioning/keys.h"
#include "simulate/device.h"

namespace roost::simulate {

struct SimulationOptions {
  config::HostPort server;
  std::vector<std::string> provision_ids;  // one device each
  size_t gateways = 1;
  gateway::Region region = gateway::Region::kEU868;
  std::chrono::milliseconds timeout{5000};  // per downlink awaited
  int retries = 2;                          // new Hellos after a timeout
  size_t concurrency = 32;                  // exchanges in flight at once
  std::chrono::milliseconds pull_interval{5000};
  // Every device is an impostor (SimulatedDevice::ProveWith a random Provision
  // ID): for tests that a server rejects a wrong verify code.
  bool impostors = false;
};

enum class DeviceOutcome { kAccepted, kRejected, kTimedOut };
std::string_view DeviceOutcomeName(DeviceOutcome outcome);  // "accepted", "rejected", "timed_out"

struct DeviceResult {
  std::string provision_id;
  provisioning::RDevEui rdev_eui{};
  DeviceOutcome outcome = DeviceOutcome::kTimedOut;
  int attempts = 0;                              // Hellos sent
  std::optional<ProvisionedDevice> provisioned;  // when accepted
  double exchange_ms = 0;                        // last attempt's Hello to its final answer
  int rx1_failures = 0;  // downlinks that failed CheckRx1 or the best gateway
  std::string error;     // the last thing that went wrong, if any
};

struct SimulationReport {
  std::vector<DeviceResult> devices;  // in the order of options.provision_ids
  size_t accepted = 0;
  size_t rejected = 0;
  size_t timed_out = 0;
  size_t rx1_failed = 0;  // devices with at least one RX1 failure
  double p50_ms = 0;      // over finished exchanges (accepted or rejected)
  double p99_ms = 0;
  // True when every device was accepted and every downlink passed its checks.
  bool AllSucceeded() const { return accepted == devices.size() && rx1_failed == 0; }
};

// Runs the simulation to the end. Fails only when the simulation cannot run
// (the server does not resolve, or never answers a gateway's PULL_DATA within
// `timeout`); what happens to each device is in the report.
Result<SimulationReport> RunProvisioningSimulation(const SimulationOptions& options);

}  // namespace roost::simulate
