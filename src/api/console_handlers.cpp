#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/enum_json.h"
#include "codec/downlink_template.h"
#include "codec/payload_format.h"
#include "core/hex.h"
#include "http/ops.h"
#include "model/device_type.h"
#include "pipeline/uplink_decoder.h"

namespace roost::api {
namespace {

using nlohmann::json;

// As long as a device type's payloadConfig and downlinkDataString may be.
constexpr size_t kMaxFormatLength = 4000;
// A Sigfox uplink is at most 12 bytes; LoRaWAN and tests need more room.
constexpr size_t kMaxDataBytes = 64;

// The sample values a DIRECT template is expanded with for its example.
constexpr int64_t kSampleTime = 1440578526;  // 2015-08-26T08:42:06Z
constexpr double kSampleRssi = -93;
constexpr uint16_t kSampleTapId = 0x1234;

}  // namespace

http::Response GetConsoleConfig(ApiContext& ctx, const Principal&, const http::Request&) {
  json body{{"version", std::string(http::BuildVersion())},
            {"tileUrl", nullptr},
            {"provisioning", ctx.console.provisioning}};
  if (!ctx.console.tile_url.empty()) body["tileUrl"] = ctx.console.tile_url;
  return JsonResponse(200, body);
}

http::Response DecodeWithCodec(ApiContext&, const Principal&, const http::Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"payloadType", "payloadConfig", "data"})) {
    return e->ToResponse();
  }
  auto type_value = body->find("payloadType");
  if (type_value == body->end()) {
    return ApiError::BadField("payloadType", "is required (None, String or Custom)").ToResponse();
  }
  auto type = ReadEnum(*type_value, "payloadType", kPayloadTypes);
  if (!type.ok()) return type.error().ToResponse();
  std::string config;
  if (auto c = body->find("payloadConfig"); c != body->end() && !c->is_null()) {
    if (auto e = ReadString(*c, "payloadConfig", kMaxFormatLength, config)) return e->ToResponse();
  }
  auto data = StringField(*body, "data", /*required=*/true, 2 * kMaxDataBytes);
  if (!data.ok()) return data.error().ToResponse();
  auto bytes = FromHex(**data);
  if (!bytes.ok()) return ApiError::BadField("data", bytes.status().message()).ToResponse();

  std::optional<codec::PayloadFormat> format;
  if (*type == PayloadType::kCustom) {
    if (config.empty()) {
      return ApiError::BadField("payloadConfig", "is required when payloadType is Custom")
          .ToResponse();
    }
    auto compiled = codec::CompilePayloadFormat(config);
    if (!compiled.ok()) {
      return ApiError::BadField("payloadConfig", compiled.status().message()).ToResponse();
    }
    format = std::move(compiled).value();
  }
  std::string decoded;
  std::string undecoded;
  pipeline::DecodePayload(*bytes, *type, format ? &*format : nullptr, decoded, undecoded);
  // Parsed back rather than pasted in: what goes out is JSON whatever the codec wrote.
  json out{{"decoded", nullptr}, {"undecoded", json::array()}};
  if (!decoded.empty()) {
    json value = json::parse(decoded, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) out["decoded"] = std::move(value);
  }
  if (!undecoded.empty()) {
    json value = json::parse(undecoded, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) out["undecoded"] = std::move(value);
  }
  return JsonResponse(200, out);
}

http::Response CheckDownlinkTemplate(ApiContext&, const Principal&, const http::Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"downlinkDataString"})) return e->ToResponse();
  auto text_value = body->find("downlinkDataString");
  if (text_value == body->end()) {
    return ApiError::BadField("downlinkDataString", "is required").ToResponse();
  }
  std::string text;
  if (auto e = ReadString(*text_value, "downlinkDataString", kMaxFormatLength, text)) {
    return e->ToResponse();
  }
  auto tmpl = codec::CompileDownlinkTemplate(text);
  if (!tmpl.ok()) {
    return ApiError::BadField("downlinkDataString", tmpl.status().message()).ToResponse();
  }
  codec::DownlinkData example = codec::Expand(*tmpl, kSampleTime, kSampleRssi, kSampleTapId);
  return JsonResponse(
      200,
      json{{"valid", true},
           {"example", ToHex(example)},
           {"sample",
            {{"time", kSampleTime}, {"rssi", static_cast<int>(kSampleRssi)}, {"tapId", "1234"}}}});
}

http::Response GetConsoleSummary(ApiContext& ctx, const Principal& p, const http::Request&) {
  auto summary = ctx.devices.SummarizeGroup(p.group);
  if (!summary.ok()) return FromStatus(summary.status()).ToResponse();
  return JsonResponse(200, json{{"devices", summary->devices},
                                {"messagesToday", summary->messages_today},
                                {"eventsOpen", summary->events_open},
                                {"callbacksFailing", summary->callbacks_failing}});
}

}  // namespace roost::api
