#include "pipeline/uplink_decoder.h"

#include "core/hex.h"
#include "pipeline/radio.h"

namespace roost::pipeline {
namespace {

constexpr size_t kMaxCachedFormats = 4096;

// The bytes as a JSON string: printable ASCII kept, every other byte shown as
// U+FFFD, so that what a device sends can never make invalid JSON or text.
void AppendBytesAsText(std::span<const uint8_t> bytes, std::string& out) {
  out += '"';
  for (uint8_t b : bytes) {
    if (b == '"' || b == '\\') {
      out += '\\';
      out += static_cast<char>(b);
    } else if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
    } else {
      out += "\xef\xbf\xbd";
    }
  }
  out += '"';
}

}  // namespace

const codec::PayloadFormat* UplinkDecoder::Format(std::string_view config) {
  auto it = formats_.find(std::string(config));
  if (it != formats_.end()) return it->second.get();
  if (formats_.size() >= kMaxCachedFormats) formats_.clear();
  auto compiled = codec::CompilePayloadFormat(config);
  auto& slot = formats_[std::string(config)];
  if (compiled.ok()) slot = std::make_unique<codec::PayloadFormat>(std::move(*compiled));
  return slot.get();
}

void UplinkDecoder::Complete(Message& message, PayloadType type, std::string_view config) {
  message.link_quality = LinkQualityOf(message.rinfos);
  message.computed_location = LocateByStations(message.rinfos);
  // A merged duplicate has the same bytes: its decoding is already there.
  if (message.rinfos.size() > 1) return;
  Decode(message, type, config);
}

void DecodePayload(std::span<const uint8_t> bytes, PayloadType type,
                   const codec::PayloadFormat* format, std::string& decoded,
                   std::string& undecoded) {
  decoded.clear();
  undecoded.clear();
  switch (type) {
    case PayloadType::kString:
      AppendBytesAsText(bytes, decoded);
      break;
    case PayloadType::kCustom:
      if (format != nullptr && codec::DecodeToJson(*format, bytes, decoded) > 0) {
        codec::AppendUndecodedJson(*format, bytes.size(), undecoded);
      }
      break;
    case PayloadType::kNone:
    case PayloadType::kGeolocation:
      break;
  }
}

void UplinkDecoder::Decode(Message& message, PayloadType type, std::string_view config) {
  message.decoded.clear();
  message.undecoded.clear();
  auto bytes = FromHex(message.data);
  if (!bytes.ok()) return;
  DecodePayload(*bytes, type, type == PayloadType::kCustom ? Format(config) : nullptr,
                message.decoded, message.undecoded);
}

}  // namespace roost::pipeline
