// A registered device (Sigfox, or LoRaWAN after provisioning). The PAC is the
// current one; the device KEY is never here (see credential.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/identifiers.h"
#include "model/enum_table.h"
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

inline constexpr EnumTable<DeviceState, 8> kDeviceStates = {{
    {DeviceState::kOk, "OK", 0},
    {DeviceState::kDead, "DEAD", 1},
    {DeviceState::kOffContract, "OFF_CONTRACT", 2},
    {DeviceState::kDisabled, "DISABLED", 3},
    {DeviceState::kWarn, "WARN", 4},
    {DeviceState::kDeleted, "DELETED", 5},
    {DeviceState::kSuspended, "SUSPENDED", 6},
    {DeviceState::kNotActivable, "NOT_ACTIVABLE", 7},
}};

// The Sigfox communication state of a device. Roost does not track it yet (the
// silence watch is per device type, see /networkstate): a device object says
// NOT_SEEN before the first message and NA after.
enum class ComState : int32_t { kNo = 0, kOk = 1, kWarn = 2, kKo = 3, kNa = 5, kNotSeen = 6 };

inline constexpr EnumTable<ComState, 6> kComStates = {{
    {ComState::kNo, "NO", 0},
    {ComState::kOk, "OK", 1},
    {ComState::kWarn, "WARN", 2},
    {ComState::kKo, "KO", 3},
    {ComState::kNa, "NA", 5},
    {ComState::kNotSeen, "NOT_SEEN", 6},
}};

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
  std::optional<EpochMillis> last;  // the latest time heard: a message or a service report
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
