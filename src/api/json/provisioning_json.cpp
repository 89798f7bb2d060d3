#include "api/json/provisioning_json.h"

#include "core/hex.h"

namespace roost::api {

using nlohmann::json;

namespace {

json EuiOrNull(const std::string& eui) {
  return eui.empty() ? json(nullptr) : json(eui);
}

}  // namespace

json ProvisionIdJson(const storage::ProvisionIdRow& row) {
  return json{{"provisionId", row.provision_id},
              {"groupId", row.group},
              {"model", row.model},
              {"serialNumber", row.serial_number},
              {"fixedDevEUI", EuiOrNull(row.fixed_dev_eui)},
              {"devEUI", EuiOrNull(row.dev_eui)},
              {"joinEUI", EuiOrNull(row.join_eui)},
              {"state", std::string(storage::ProvisionIdStateName(row.state))},
              {"createdAt", row.created_at},
              {"updatedAt", row.updated_at}};
}

json ProvisionedDeviceJson(const storage::ProvisionedDevice& device) {
  const storage::ProvisionExchange& e = device.exchange;
  return json{{"devEUI", e.dev_eui},
              {"joinEUI", e.join_eui},
              {"provisionId", device.id.provision_id},
              {"groupId", device.id.group},
              {"model", device.id.model},
              {"serialNumber", device.id.serial_number},
              {"provisionedAt", e.at},
              {"gatewayEUI", e.gateway_eui},
              {"rssi", e.rssi},
              {"snr", e.snr},
              {"frequency", e.frequency_mhz},
              {"rDevEUI", e.rdev_eui},
              {"networkFlag", e.network_flag ? json(*e.network_flag) : json(nullptr)}};
}

json DeviceKeysJson(const registry::ProvisionedDeviceKeys& keys) {
  return json{{"devEUI", keys.dev_eui},
              {"joinEUI", keys.join_eui},
              {"appKey", ToHex(keys.app_key)},
              {"nwkKey", ToHex(keys.nwk_key)}};
}

json ProvisioningSummaryJson(const storage::ProvisioningSummary& summary) {
  json gateways = json::array();
  for (const storage::GatewayProvisioning& g : summary.gateways) {
    gateways.push_back({{"gatewayEUI", g.gateway_eui},
                        {"lastProvisionedAt", g.last_at},
                        {"exchanges", g.exchanges}});
  }
  return json{{"ids",
               {{"pending", summary.pending},
                {"provisioned", summary.provisioned},
                {"disabled", summary.disabled}}},
              {"gateways", std::move(gateways)}};
}

}  // namespace roost::api
