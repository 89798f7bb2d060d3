// A device type: the settings its devices share (payload decoding, downlinks,
// keep-alive watch). Field names follow the API (registry.md).
#pragma once

#include <cstdint>
#include <string>

#include "model/enum_table.h"
#include "model/time.h"

namespace roost {

// The enumerators' values are what the store keeps; the API's names and the
// Sigfox codes are in the tables below.
enum class PayloadType : int32_t { kNone = 0, kString = 1, kCustom = 2, kGeolocation = 3 };
enum class DownlinkMode : int32_t { kDirect = 0, kCallback = 1, kNone = 2, kManaged = 3 };

// Sigfox's payload type codes: 2 "Regular (raw payload)", 3 "Custom grammar",
// 4 "Geolocation", 5 "Display in ASCII" — the codes of its other types (radio
// planning, Sens'it) are not accepted.
inline constexpr EnumTable<PayloadType, 4> kPayloadTypes = {{
    {PayloadType::kNone, "None", 2},
    {PayloadType::kString, "String", 5},
    {PayloadType::kCustom, "Custom", 3},
    {PayloadType::kGeolocation, "Geolocation", 4, /*supported=*/false},
}};

// MANAGED (Sigfox-managed downlinks) has no meaning on Roost's own network.
inline constexpr EnumTable<DownlinkMode, 4> kDownlinkModes = {{
    {DownlinkMode::kDirect, "DIRECT", 0},
    {DownlinkMode::kCallback, "CALLBACK", 1},
    {DownlinkMode::kNone, "NONE", 2},
    {DownlinkMode::kManaged, "MANAGED", 3, /*supported=*/false},
}};

struct DeviceType {
  std::string id;
  std::string name;
  std::string description;
  std::string group;
  int64_t keep_alive = 0;  // seconds; 0 = no watch
  std::string alert_email;
  PayloadType payload_type = PayloadType::kNone;
  std::string payload_config;  // the custom format text (pipeline.md)
  DownlinkMode downlink_mode = DownlinkMode::kDirect;
  std::string downlink_data_string;
  bool automatic_renewal = false;
  EpochMillis creation_time = 0;
  EpochMillis update_time = 0;
  bool operator==(const DeviceType&) const = default;
};

}  // namespace roost
