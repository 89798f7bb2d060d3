// The JSON of the provisioning routes (/api/provisioning/...). No key ever
// appears in them, except in DeviceKeysJson, the answer of the ADMIN-only keys route.
#pragma once

#include <nlohmann/json.hpp>

#include "registry/provisioning.h"
#include "storage/store.h"

namespace roost::api {

// {"provisionId", "groupId", "model", "serialNumber", "fixedDevEUI", "devEUI",
//  "joinEUI", "state", "createdAt", "updatedAt"}; absent EUIs are null.
nlohmann::json ProvisionIdJson(const storage::ProvisionIdRow& row);

// {"devEUI", "joinEUI", "provisionId", "groupId", "model", "serialNumber",
//  "provisionedAt", "gatewayEUI", "rssi", "snr", "frequency", "rDevEUI", "networkFlag"}.
nlohmann::json ProvisionedDeviceJson(const storage::ProvisionedDevice& device);

// {"devEUI", "joinEUI", "appKey", "nwkKey"}, keys as 32 lowercase hex digits.
nlohmann::json DeviceKeysJson(const registry::ProvisionedDeviceKeys& keys);

// {"ids": {"pending", "provisioned", "disabled"},
//  "gateways": [{"gatewayEUI", "lastProvisionedAt", "exchanges"}]}.
nlohmann::json ProvisioningSummaryJson(const storage::ProvisioningSummary& summary);

}  // namespace roost::api
