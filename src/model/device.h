// A registered device (Sigfox, or LoRaWAN after provisioning). The PAC is the
// current one; the device KEY is never here (see credential.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/identifiers.h"
#include "model/time.h"

namespace roost {

// Sigfox device states (the Back-End API's numbering).
enum class DeviceState : int32_t {
  kOk = 0,
  kDead = 1,
  kOffContract = 2,
  kDisabled = 3,
  kWarn = 4,
  kDeleted = 5,
  kSuspended = 6,
  kNotActivable = 7,
};

struct Device {
  SigfoxId id;
  std::string name;
  std::string type;                 // device type id
  std::string group;                // group id
  std::string pac;                  // the current PAC, 16 uppercase hex
  std::string product_certificate;  // canonical "P_0004_D356_03" or empty
  std::optional<double> lat;
  std::optional<double> lng;
  std::optional<EpochMillis> activation_time;
  DeviceState state = DeviceState::kOk;
  bool token_renew_forbidden = false;
  std::optional<EpochMillis> last;  // time of the last message
  std::optional<double> average_snr;
  std::optional<double> average_rssi;
  std::optional<int64_t> sequence_number;
  EpochMillis creation_time = 0;
  // LoRaWAN devices (provisioning.md); empty for Sigfox devices.
  std::string dev_eui;
  std::string join_eui;
  std::string provision_id;
  std::string serial_number;
  std::string model;
  bool operator==(const Device&) const = default;
};

}  // namespace roost
