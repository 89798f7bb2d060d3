// A device type: the settings its devices share (payload decoding, downlinks,
// keep-alive watch). Field names follow the API (registry.md).
#pragma once

#include <cstdint>
#include <string>

#include "model/time.h"

namespace roost {

enum class PayloadType : int32_t { kNone = 0, kString = 1, kCustom = 2, kGeolocation = 3 };
enum class DownlinkMode : int32_t { kDirect = 0, kCallback = 1, kNone = 2 };

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
