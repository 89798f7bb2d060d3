#include "api/json/device_type_json.h"

#include <cstdint>
#include <limits>
#include <string>

#include "api/json/body.h"
#include "api/json/enum_json.h"
#include "codec/downlink_template.h"
#include "codec/payload_format.h"
#include "integration/email.h"

namespace roost::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxDescriptionLength = 2000;
constexpr size_t kMaxEmailLength = 254;
constexpr size_t kMaxFormatLength = 4000;

}  // namespace

std::string_view PayloadTypeName(PayloadType type) {
  return EnumByValue(kPayloadTypes, type).name;
}

std::string_view DownlinkModeName(DownlinkMode mode) {
  return EnumByValue(kDownlinkModes, mode).name;
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
      // Checked as the mailer checks it, so that a dead callback's alert
      // cannot be refused only when it is sent.
      if (!email.empty()) {
        auto address = integration::ValidateAddress(email);
        if (!address.ok()) return ApiError::BadField(key, address.status().message());
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
      auto parsed = ReadEnum(v, key, kPayloadTypes);
      if (!parsed.ok()) return parsed.error();
      type.payload_type = *parsed;
    } else if (key == "payloadConfig") {
      if (auto e = ReadString(v, key, kMaxFormatLength, type.payload_config)) return e;
    } else if (key == "downlinkMode") {
      auto parsed = ReadEnum(v, key, kDownlinkModes);
      if (!parsed.ok()) return parsed.error();
      type.downlink_mode = *parsed;
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
              {"lastEditionTime", type.update_time},
              // Sigfox fields Roost does not track: contracts and who edited.
              {"contract", nullptr},
              {"createdBy", nullptr},
              {"lastEditedBy", nullptr}};
}
}  // namespace roost::api
