#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/device_type_json.h"
#include "registry/device_state.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

struct DeviceAndType {
  Device device;
  DeviceType type;
};

// The visible device (404 otherwise) and its device type.
Parsed<DeviceAndType> VisibleDeviceAndType(ApiContext& ctx, const Principal& p,
                                           std::string_view id) {
  auto device = VisibleDevice(ctx, p, id);
  if (!device.ok()) return device.error();
  auto type = ctx.devices.GetDeviceType(device->type);
  if (!type.ok()) return FromStatus(type.status());
  return DeviceAndType{*device, *type};
}

std::string_view TokenStateName(registry::TokenCode code) {
  switch (code) {
    case registry::TokenCode::kOk:
      return "OK";
    case registry::TokenCode::kOffContract:
      return "OFF_CONTRACT";
    case registry::TokenCode::kNotActivated:
      break;
  }
  return "NOT_ACTIVATED";
}

}  // namespace

Response GetTokenState(ApiContext& ctx, const Principal& p, const Request& req) {
  auto dt = VisibleDeviceAndType(ctx, p, req.Param("id"));
  if (!dt.ok()) return dt.error().ToResponse();
  const registry::TokenState t = registry::DeriveTokenState(dt->device, dt->type, ctx.now_ms());
  json body{{"code", static_cast<int32_t>(t.code)},
            {"detailMessage", t.detail_message},
            {"state", TokenStateName(t.code)},
            {"automaticRenewal", dt->type.automatic_renewal},
            {"tokenRenewForbidden", dt->device.token_renew_forbidden},
            // Roost has no contracts: the Sigfox fields are present and empty.
            {"tokenType", nullptr},
            {"contractId", nullptr}};
  if (t.start) body["creationTime"] = *t.start;
  if (t.end) body["tokenEnd"] = *t.end;
  return JsonResponse(200, body);
}

Response GetNetworkState(ApiContext& ctx, const Principal& p, const Request& req) {
  auto dt = VisibleDeviceAndType(ctx, p, req.Param("id"));
  if (!dt.ok()) return dt.error().ToResponse();
  const registry::NetworkState n = registry::DeriveNetworkState(dt->device, dt->type, ctx.now_ms());
  json body{{"networkStatus", n.ok ? "OK" : "NOK"},
            {"detailMessage", n.detail_message},
            {"keepAlive", dt->type.keep_alive}};
  if (dt->device.last) body["last"] = *dt->device.last;
  return JsonResponse(200, body);
}

Response DisengageDeviceType(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  auto flagged = ctx.devices.DisengageSequenceCheck(type->id, ctx.now_ms());
  if (!flagged.ok()) return FromStatus(flagged.status()).ToResponse();
  return JsonResponse(200, json{{"disengaged", *flagged}});
}

Response DisengageDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  Status flagged = ctx.devices.DisengageDevice(device->id.value, ctx.now_ms());
  if (!flagged.ok()) return FromStatus(flagged).ToResponse();
  return JsonResponse(200, json{{"disengaged", 1}});
}

}  // namespace roost::api
