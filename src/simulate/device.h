// A simulated provisioning device: the device's side of the exchange of
// provisioning.md as a small state machine over PHYPayloads. Pure: no I/O, no
// clock; keys come from the CSPRNG.
//
//   StartHello()            --> Hello (75 bytes, network flag 1), a fresh key pair each time
//   OnDownlink(Hello resp.) --> the Auth to send
//   OnDownlink(Auth acc.)   --> accepted: devEUI, joinEUI, and AppKey/NwkKey derived here
//   OnDownlink(Auth rej.)   --> rejected
//
// Downlinks for another rDevEUI, or of a type the device is not waiting for,
// are ignored (nullopt): on air a device hears its neighbours' downlinks too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/hex.h"
#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/k233.h"
#include "provisioning/frames.h"
#include "provisioning/keys.h"

namespace roost::simulate {

enum class DeviceState {
  kIdle,  // nothing sent yet
  kAwaitingHelloResponse,
  kAwaitingAuthAnswer,
  kAccepted,
  kRejected,
};

// What the device learnt from an accepted exchange. Holds keys.
struct ProvisionedDevice {
  Eui64 dev_eui{};
  Eui64 join_eui{};
  provisioning::SessionKeys keys;  // app_key, nwk_key as the server derived them
};

// What a downlink did to the device.
struct DeviceStep {
  std::optional<Bytes> uplink;  // the next frame to send (the Auth), if any
  bool finished = false;        // accepted or rejected
};

class SimulatedDevice {
 public:
  SimulatedDevice(std::string provision_id, const provisioning::RDevEui& rdev_eui,
                  uint8_t network_flag = 1);

  // (Re)starts the exchange from the beginning: a fresh key pair and device
  // nonce, and the Hello PHYPayload to send. A server that lost its session
  // (restarted) is met with a new Hello.
  Bytes StartHello();

  // A downlink PHYPayload. nullopt: not for this device, or not what it waits
  // for (ignored). An error: a frame for this device that is wrong — a
  // server key not on the curve, or an Auth accepted whose verify code does not
  // prove the server knows the Provision ID (the device then stays where it
  // was, as real firmware does, and times out).
  Result<std::optional<DeviceStep>> OnDownlink(std::span<const uint8_t> phy_payload);

  // Makes the device an impostor for tests of the server's checks: its Auth
  // still names its own Provision ID by the hash, but its verify code is
  // computed from `proof_id` — what a device that read an imported ID's hash
  // but not the ID itself would send. The server must reject it.
  void ProveWith(std::string proof_id) { proof_id_ = std::move(proof_id); }

  DeviceState state() const { return state_; }
  const std::string& provision_id() const { return provision_id_; }
  const provisioning::RDevEui& rdev_eui() const { return rdev_eui_; }
  // Set once state() is kAccepted.
  const std::optional<ProvisionedDevice>& provisioned() const { return provisioned_; }

 private:
  std::string provision_id_;
  std::string proof_id_;  // what the verify code is computed from: provision_id_ unless an impostor
  provisioning::RDevEui rdev_eui_;
  uint8_t network_flag_;
  DeviceState state_ = DeviceState::kIdle;
  crypto::K233KeyPair key_pair_;
  provisioning::Nonce dev_nonce_{};
  provisioning::SessionKeys keys_;
  std::optional<ProvisionedDevice> provisioned_;
};

// A random rDevEUI (the simulator's devices have no factory EUI).
provisioning::RDevEui RandomRDevEui();

}  // namespace roost::simulate
