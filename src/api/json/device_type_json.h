// Device types as the registry API reads and writes them (docs/api.md,
// /api/devicetypes…).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/device_type.h"

namespace roost::api {

std::string_view PayloadTypeName(PayloadType type);
std::string_view DownlinkModeName(DownlinkMode mode);

// Fields a device type create/edit body may carry (besides "id" for edit).
const std::vector<std::string_view>& DeviceTypeFields();

// Applies the members of `body` to `type`: absent members leave the field as
// it is, an explicit null resets it to its default ("name" cannot be null),
// a wrongly typed or out-of-range value is 400 naming the field. `for_edit`
// additionally allows (and ignores) "id". "group" is read by the caller.
std::optional<ApiError> ApplyDeviceTypeFields(const nlohmann::json& body, bool for_edit,
                                              DeviceType& type);

// Checks a whole device type: a non-empty name, a payloadConfig that compiles
// when payloadType is Custom, a downlinkDataString that compiles when
// downlinkMode is DIRECT and the string is not empty. Errors name the field and
// the position in its text.
std::optional<ApiError> ValidateDeviceType(const DeviceType& type);

nlohmann::json DeviceTypeJson(const DeviceType& type);

}  // namespace roost::api
