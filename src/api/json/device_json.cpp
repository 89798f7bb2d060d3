#include "api/json/device_json.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "api/json/body.h"
#include "factory/device_series.h"

namespace roost::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxNameLength = 200;

// "productCertificate": "P_0004_D356_03" or {"key": "P_0004_D356_03"} or null.
std::optional<ApiError> ReadCertificate(const json& v, std::string& out,
                                        std::string_view kField = "productCertificate") {
  if (v.is_null()) return std::nullopt;
  if (v.is_object()) {
    if (auto e = RejectUnknownFields(v, {"key"})) {
      return ApiError::BadField(kField, "may only carry \"key\"");
    }
    if (!v.contains("key")) return ApiError::BadField(kField, "must carry \"key\"");
    return ReadString(v["key"], kField, 64, out);
  }
  if (!v.is_string()) return WrongType(kField, "a string or {\"key\": string}", v);
  return ReadString(v, kField, 64, out);
}

std::optional<ApiError> ReadCoordinate(const json& v, std::string_view field,
                                       std::optional<double>& out) {
  if (v.is_null()) {
    out.reset();
    return std::nullopt;
  }
  if (!v.is_number()) return WrongType(field, "a number", v);
  out = v.get<double>();
  return std::nullopt;
}
}  // namespace

Parsed<registry::RegistrationRequest> ParseRegistration(const json& body) {
  if (auto e = RejectUnknownFields(
          body, {"id", "pac", "name", "type", "lat", "lng", "productCertificate"})) {
    return *e;
  }
  registry::RegistrationRequest r;
  for (std::string_view required : {"id", "pac", "name", "type"}) {
    if (!body.contains(required)) return ApiError::BadField(required, "is required");
  }
  if (auto e = ReadString(body["id"], "id", 16, r.id)) return *e;
  if (auto e = ReadString(body["pac"], "pac", 32, r.pac)) return *e;
  if (auto e = ReadString(body["name"], "name", kMaxNameLength, r.name)) return *e;
  if (auto e = ReadString(body["type"], "type", 64, r.type)) return *e;
  if (body.contains("lat")) {
    if (auto e = ReadCoordinate(body["lat"], "lat", r.lat)) return *e;
  }
  if (body.contains("lng")) {
    if (auto e = ReadCoordinate(body["lng"], "lng", r.lng)) return *e;
  }
  if (body.contains("productCertificate")) {
    if (auto e = ReadCertificate(body["productCertificate"], r.product_certificate)) return *e;
  }
  return r;
}

Parsed<registry::BulkCreateRequest> ParseBulkCreate(const json& body, std::string_view type_id) {
  if (auto e = RejectUnknownFields(body, {"prefix", "ids", "productCertificate"})) return *e;
  registry::BulkCreateRequest r;
  r.type = std::string(type_id);
  if (body.contains("prefix") && !body["prefix"].is_null()) {
    if (auto e = ReadString(body["prefix"], "prefix", kMaxNameLength - 8, r.prefix)) return *e;
  }
  if (body.contains("productCertificate")) {
    if (auto e = ReadCertificate(body["productCertificate"], r.product_certificate)) return *e;
  }
  if (!body.contains("ids")) return ApiError::BadField("ids", "is required");
  const json& ids = body["ids"];
  if (!ids.is_array()) return WrongType("ids", "an array", ids);
  r.ids.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const json& item = ids[i];
    std::string where = "ids[" + std::to_string(i) + "]";
    if (!item.is_object()) return WrongType(where, "an object {\"id\", \"pac\"}", item);
    auto id = item.find("id");
    auto pac = item.find("pac");
    if (id == item.end() || !id->is_string()) {
      return ApiError::BadField(where + ".id", "must be a string");
    }
    if (pac == item.end() || !pac->is_string()) {
      return ApiError::BadField(where + ".pac", "must be a string");
    }
    if (item.size() != 2) return ApiError::BadField(where, "may only carry \"id\" and \"pac\"");
    r.ids.emplace_back(id->get<std::string>(), pac->get<std::string>());
  }
  return r;
}

namespace {

// One edit object; `where` prefixes field names in errors ("" or "data[3].").
Parsed<registry::DeviceEdit> ReadDeviceEdit(const json& body, const std::string& where,
                                            bool allow_pac) {
  static const std::vector<std::string_view> kFields = {
      "id", "name", "lat", "lng", "deviceTypeId", "tokenRenewForbidden", "productCertificate",
      "pac"};
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
      return ApiError::BadField(where + key, "unknown field");
    }
    if (key == "pac" && !allow_pac) {
      return ApiError::BadField(where + key,
                                "not accepted in a bulk edit: a transfer to another group is a "
                                "single edit (POST /api/devices/edit)");
    }
  }
  registry::DeviceEdit e;
  if (!body.contains("id")) return ApiError::BadField(where + "id", "is required");
  if (auto err = ReadString(body["id"], where + "id", 32, e.id)) return *err;
  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    const json& v = item.value();
    const std::string field = where + key;
    if (key == "name") {
      if (v.is_null()) return ApiError::BadField(field, "cannot be cleared");
      std::string name;
      if (auto err = ReadString(v, field, kMaxNameLength, name)) return *err;
      e.name = std::move(name);
    } else if (key == "lat" || key == "lng") {
      std::optional<double> coordinate;
      if (auto err = ReadCoordinate(v, field, coordinate)) return *err;
      (key == "lat" ? e.lat : e.lng) = coordinate;
    } else if (key == "deviceTypeId") {
      if (v.is_null()) {
        return ApiError::BadField(field, "cannot be cleared: a device always has a device type");
      }
      std::string type;
      if (auto err = ReadString(v, field, 64, type)) return *err;
      e.type = std::move(type);
    } else if (key == "tokenRenewForbidden") {
      if (v.is_null()) {
        e.token_renew_forbidden = false;
      } else if (!v.is_boolean()) {
        return WrongType(field, "a boolean", v);
      } else {
        e.token_renew_forbidden = v.get<bool>();
      }
    } else if (key == "productCertificate") {
      std::string certificate;
      if (auto err = ReadCertificate(v, certificate, field)) return *err;
      e.product_certificate = std::move(certificate);
    } else if (key == "pac") {
      std::string pac;
      if (auto err = ReadString(v, field, 32, pac)) return *err;
      e.pac = std::move(pac);
    }
  }
  return e;
}

}  // namespace

Parsed<registry::DeviceEdit> ParseDeviceEdit(const json& body) {
  return ReadDeviceEdit(body, "", /*allow_pac=*/true);
}

Parsed<std::vector<registry::DeviceEdit>> ParseBulkEdit(const json& body) {
  const json* items = &body;
  if (body.is_object()) {
    if (auto e = RejectUnknownFields(body, {"data"})) return *e;
    if (!body.contains("data")) return ApiError::BadField("data", "is required");
    items = &body["data"];
  }
  if (!items->is_array()) return WrongType("data", "an array of device edits", *items);
  if (items->empty()) return ApiError::BadField("data", "must list at least one device");
  std::vector<registry::DeviceEdit> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    const std::string where = "data[" + std::to_string(i) + "]";
    if (!item.is_object()) return WrongType(where, "an object {\"id\", ...}", item);
    auto edit = ReadDeviceEdit(item, where + ".", /*allow_pac=*/false);
    if (!edit.ok()) return edit.error();
    out.push_back(std::move(*edit));
  }
  return out;
}

Parsed<registry::BulkCreateRequest> ParseSeriesUpload(
    std::string_view type_id, std::string_view file, const std::optional<std::string>& prefix,
    const std::optional<std::string>& certificate) {
  registry::BulkCreateRequest r;
  r.type = std::string(type_id);
  if (prefix) {
    if (auto e = ReadString(json(*prefix), "prefix", kMaxNameLength - 8, r.prefix)) return *e;
  }
  if (certificate) {
    if (auto e = ReadString(json(*certificate), "productCertificate", 64, r.product_certificate)) {
      return *e;
    }
  }
  size_t line = 0;
  auto series = factory::ParseDeviceSeries(file, &line);
  if (!series.ok()) {
    std::string what = series.status().message();
    return ApiError{
        400, "file: " + what, {http::ErrorDetail::Line(static_cast<int64_t>(line), what)}};
  }
  r.ids.reserve(series->entries.size());
  r.lines.reserve(series->entries.size());
  for (auto& entry : series->entries) {
    r.ids.emplace_back(std::move(entry.id), std::move(entry.pac));
    r.lines.push_back(entry.line);
  }
  return r;
}
namespace {

// A value Roost may not know yet is present as null (the v1 empty value), so a
// Sigfox API client finds every field it reads.
template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

json DeviceJson(const Device& d, bool with_pac) {
  json out{{"id", d.id.ToApi()},
           {"name", d.name},
           {"type", {{"id", d.type}}},
           {"deviceType", {{"id", d.type}}},
           {"group", {{"id", d.group}}},
           {"state", EnumByValue(kDeviceStates, d.state).code},
           {"comState", EnumByValue(kComStates, d.last ? ComState::kNa : ComState::kNotSeen).code},
           {"activable", d.state != DeviceState::kNotActivable},
           {"tokenRenewForbidden", d.token_renew_forbidden},
           {"preventRenewal", d.token_renew_forbidden},
           {"creationTime", d.creation_time},
           {"productCertificate",
            d.product_certificate.empty() ? json(nullptr) : json{{"key", d.product_certificate}}},
           {"lat", OrNull(d.lat)},
           {"lng", OrNull(d.lng)},
           {"location", d.lat && d.lng ? json{{"lat", *d.lat}, {"lng", *d.lng}} : json(nullptr)},
           {"activationTime", OrNull(d.activation_time)},
           {"last", OrNull(d.last)},
           {"lastCom", OrNull(d.last)},
           {"averageSnr", OrNull(d.average_snr)},
           {"averageRssi", OrNull(d.average_rssi)},
           {"sequenceNumber", OrNull(d.sequence_number)},
           // Sigfox fields Roost does not track yet: geolocation, link quality,
           // contracts and tokens (the token is derived by /token-state, which needs
           // the device type), modem certificates, edit history.
           {"averageSignal", nullptr},
           {"computedLocation", nullptr},
           {"lastComputedLocation", nullptr},
           {"lqi", nullptr},
           {"trashSequenceNumber", nullptr},
           {"tokenType", nullptr},
           {"tokenEnd", nullptr},
           {"contractId", nullptr},
           {"contract", nullptr},
           {"modemCertificate", nullptr},
           {"prototype", false},
           {"satelliteCapable", false},
           {"repeater", false},
           {"unsubscriptionTime", nullptr},
           {"createdBy", nullptr},
           {"lastEditionTime", nullptr},
           {"lastEditedBy", nullptr}};
  // Withheld rather than empty: READER and FACTORY may not see the current PAC.
  if (with_pac) out["pac"] = d.pac;
  if (!d.dev_eui.empty()) out["devEui"] = d.dev_eui;
  if (!d.join_eui.empty()) out["joinEui"] = d.join_eui;
  if (!d.provision_id.empty()) out["provisionId"] = d.provision_id;
  if (!d.serial_number.empty()) out["serialNumber"] = d.serial_number;
  if (!d.model.empty()) out["model"] = d.model;
  return out;
}
}  // namespace roost::api
