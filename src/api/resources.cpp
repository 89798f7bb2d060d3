#include "api/resources.h"

#include <algorithm>
#include <limits>

#include "codec/downlink_template.h"
#include "codec/payload_format.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "factory/device_series.h"

namespace roost::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxDescriptionLength = 2000;
constexpr size_t kMaxEmailLength = 254;
constexpr size_t kMaxFormatLength = 4000;

std::string_view JsonTypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

ApiError WrongType(std::string_view field, std::string_view expected, const json& v) {
  return ApiError::BadField(
      field, "must be " + std::string(expected) + ", not " + std::string(JsonTypeName(v)));
}

// A string member; `max` bounds its length; control characters are refused.
std::optional<ApiError> ReadString(const json& v, std::string_view field, size_t max,
                                   std::string& out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max) {
    return ApiError::BadField(field, "must be at most " + std::to_string(max) + " characters");
  }
  if (HasControl(s)) return ApiError::BadField(field, "must not contain control characters");
  out = s;
  return std::nullopt;
}

}  // namespace

Parsed<json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return ApiError{400, "request body: a JSON object is required", {}};
  auto value = ParseJsonValue(body);
  if (value.ok() && !value->is_object()) {
    return ApiError{
        400, "request body: must be a JSON object, not " + std::string(JsonTypeName(*value)), {}};
  }
  return value;
}

Parsed<json> ParseJsonValue(std::string_view body) {
  if (body.empty()) return ApiError{400, "request body: a JSON value is required", {}};
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing stopped.
    size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, body.size());
    int64_t line = 1;
    int64_t column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (body[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = "malformed JSON at line " + std::to_string(line) + ", column " +
                       std::to_string(column) + " (byte offset " + std::to_string(offset) + ")";
    return ApiError{400, what, {http::ErrorDetail::Line(line, what)}};
  }
}

std::optional<ApiError> RejectUnknownFields(const json& object,
                                            const std::vector<std::string_view>& allowed) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      return ApiError::BadField(item.key(), "unknown field");
    }
  }
  return std::nullopt;
}

// --- device types --------------------------------------------------------

std::string_view PayloadTypeName(PayloadType type) {
  switch (type) {
    case PayloadType::kNone:
      return "None";
    case PayloadType::kString:
      return "String";
    case PayloadType::kCustom:
      return "Custom";
    case PayloadType::kGeolocation:
      return "Geolocation";
  }
  return "None";
}

std::string_view DownlinkModeName(DownlinkMode mode) {
  switch (mode) {
    case DownlinkMode::kDirect:
      return "DIRECT";
    case DownlinkMode::kCallback:
      return "CALLBACK";
    case DownlinkMode::kNone:
      return "NONE";
  }
  return "DIRECT";
}

const std::vector<std::string_view>& DeviceTypeFields() {
  static const std::vector<std::string_view> kFields = {
      "name",        "description",   "group",        "keepAlive",          "alertEmail",
      "payloadType", "payloadConfig", "downlinkMode", "downlinkDataString", "automaticRenewal"};
  return kFields;
}

std::optional<ApiError> ApplyDeviceTypeFields(const json& body, bool for_edit, DeviceType& type) {
  std::vector<std::string_view> allowed = DeviceTypeFields();
  if (for_edit) allowed.push_back("id");
  if (auto e = RejectUnknownFields(body, allowed)) return e;

  for (const auto& item : body.items()) {
    const std::string& key = item.key();
    const json& v = item.value();
    if (key == "id" || key == "group") continue;  // handled by the caller
    if (v.is_null()) {
      DeviceType defaults;
      if (key == "name") return ApiError::BadField(key, "is required and cannot be cleared");
      if (key == "description") type.description.clear();
      if (key == "keepAlive") type.keep_alive = defaults.keep_alive;
      if (key == "alertEmail") type.alert_email.clear();
      if (key == "payloadType") type.payload_type = defaults.payload_type;
      if (key == "payloadConfig") type.payload_config.clear();
      if (key == "downlinkMode") type.downlink_mode = defaults.downlink_mode;
      if (key == "downlinkDataString") type.downlink_data_string.clear();
      if (key == "automaticRenewal") type.automatic_renewal = defaults.automatic_renewal;
      continue;
    }
    if (key == "name") {
      if (auto e = ReadString(v, key, kMaxNameLength, type.name)) return e;
    } else if (key == "description") {
      if (auto e = ReadString(v, key, kMaxDescriptionLength, type.description)) return e;
    } else if (key == "alertEmail") {
      std::string email;
      if (auto e = ReadString(v, key, kMaxEmailLength, email)) return e;
      if (!email.empty() &&
          (email.find('@') == std::string::npos || email.find(' ') != std::string::npos)) {
        return ApiError::BadField(key, "must be an email address");
      }
      type.alert_email = email;
    } else if (key == "keepAlive") {
      if (!v.is_number_integer()) return WrongType(key, "an integer (seconds)", v);
      if (v.is_number_unsigned()) {
        if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
          return ApiError::BadField(key, "must be at most 2147483647 seconds");
        }
      } else if (v.get<int64_t>() < 0) {
        return ApiError::BadField(key, "must not be negative");
      }
      type.keep_alive = v.get<int64_t>();
    } else if (key == "payloadType") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      const auto& s = v.get_ref<const std::string&>();
      if (s == "None") {
        type.payload_type = PayloadType::kNone;
      } else if (s == "String") {
        type.payload_type = PayloadType::kString;
      } else if (s == "Custom") {
        type.payload_type = PayloadType::kCustom;
      } else if (s == "Geolocation") {
        return ApiError::BadField(key, "Geolocation is reserved and not supported yet");
      } else {
        return ApiError::BadField(key, "must be None, String or Custom");
      }
    } else if (key == "payloadConfig") {
      if (auto e = ReadString(v, key, kMaxFormatLength, type.payload_config)) return e;
    } else if (key == "downlinkMode") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      const auto& s = v.get_ref<const std::string&>();
      if (s == "DIRECT") {
        type.downlink_mode = DownlinkMode::kDirect;
      } else if (s == "CALLBACK") {
        type.downlink_mode = DownlinkMode::kCallback;
      } else if (s == "NONE") {
        type.downlink_mode = DownlinkMode::kNone;
      } else {
        return ApiError::BadField(key, "must be DIRECT, CALLBACK or NONE");
      }
    } else if (key == "downlinkDataString") {
      if (auto e = ReadString(v, key, kMaxFormatLength, type.downlink_data_string)) return e;
    } else if (key == "automaticRenewal") {
      if (!v.is_boolean()) return WrongType(key, "a boolean", v);
      type.automatic_renewal = v.get<bool>();
    }
  }
  return std::nullopt;
}

std::optional<ApiError> ValidateDeviceType(const DeviceType& type) {
  if (type.name.empty()) return ApiError::BadField("name", "is required");
  if (type.payload_type == PayloadType::kCustom) {
    if (type.payload_config.empty()) {
      return ApiError::BadField("payloadConfig", "is required when payloadType is Custom");
    }
    auto format = codec::CompilePayloadFormat(type.payload_config);
    if (!format.ok()) return ApiError::BadField("payloadConfig", format.status().message());
  }
  if (type.downlink_mode == DownlinkMode::kDirect && !type.downlink_data_string.empty()) {
    auto tmpl = codec::CompileDownlinkTemplate(type.downlink_data_string);
    if (!tmpl.ok()) return ApiError::BadField("downlinkDataString", tmpl.status().message());
  }
  return std::nullopt;
}

json DeviceTypeJson(const DeviceType& type) {
  return json{{"id", type.id},
              {"name", type.name},
              {"description", type.description},
              {"group", {{"id", type.group}}},
              {"keepAlive", type.keep_alive},
              {"alertEmail", type.alert_email},
              {"payloadType", PayloadTypeName(type.payload_type)},
              {"payloadConfig", type.payload_config},
              {"downlinkMode", DownlinkModeName(type.downlink_mode)},
              {"downlinkDataString", type.downlink_data_string},
              {"automaticRenewal", type.automatic_renewal},
              {"creationTime", type.creation_time},
              {"lastEditionTime", type.update_time}};
}

// --- devices -------------------------------------------------------------

namespace {

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

json DeviceJson(const Device& d, bool with_pac) {
  json out{{"id", d.id.ToApi()},
           {"name", d.name},
           {"type", {{"id", d.type}}},
           {"group", {{"id", d.group}}},
           {"state", static_cast<int32_t>(d.state)},
           {"tokenRenewForbidden", d.token_renew_forbidden},
           {"creationTime", d.creation_time}};
  if (with_pac) out["pac"] = d.pac;
  if (!d.product_certificate.empty()) out["productCertificate"] = {{"key", d.product_certificate}};
  if (d.lat) out["lat"] = *d.lat;
  if (d.lng) out["lng"] = *d.lng;
  if (d.activation_time) out["activationTime"] = *d.activation_time;
  if (d.last) out["last"] = *d.last;
  if (d.average_snr) out["averageSnr"] = *d.average_snr;
  if (d.average_rssi) out["averageRssi"] = *d.average_rssi;
  if (d.sequence_number) out["sequenceNumber"] = *d.sequence_number;
  if (!d.dev_eui.empty()) out["devEui"] = d.dev_eui;
  if (!d.join_eui.empty()) out["joinEui"] = d.join_eui;
  if (!d.provision_id.empty()) out["provisionId"] = d.provision_id;
  if (!d.serial_number.empty()) out["serialNumber"] = d.serial_number;
  if (!d.model.empty()) out["model"] = d.model;
  return out;
}

json JobStatusJson(const JobStatus& s) {
  json failed = json::array();
  for (const auto& f : s.failed) failed.push_back({{"id", f.id}, {"message", f.message}});
  return json{{"jobDone", s.done},
              {"total", s.total},
              {"status", {{"success", s.success}, {"failed", std::move(failed)}}}};
}

Parsed<int> ParseLimit(const std::optional<std::string>& text) {
  if (!text) return 100;
  const std::string& s = *text;
  if (s.empty() || s.size() > 4 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return ApiError::BadField("limit", "must be an integer between 1 and 1000");
  }
  int n = std::stoi(s);
  if (n < 1 || n > 1000)
    return ApiError::BadField("limit", "must be an integer between 1 and 1000");
  return n;
}

json ImportReportJson(const registry::ImportReport& report) {
  json refused = json::array();
  for (const auto& r : report.refused) {
    refused.push_back({{"id", r.id.ToApi()}, {"message", r.message}});
  }
  return json{{"imported", report.imported},
              {"unchanged", report.unchanged},
              {"skipped", report.skipped},
              {"refused", std::move(refused)}};
}

}  // namespace roost::api
