#include "pipeline/uplink_decoder.h"

#include "core/hex.h"
#include "core/text.h"
#include "pipeline/radio.h"

namespace roost::pipeline {
namespace {

constexpr size_t kMaxCachedFormats = 4096;

// The bytes as a JSON string: text as the device sent it (UTF-8, of which
// ASCII is a part), each byte that is not part of valid UTF-8 and each control
// character shown as U+FFFD, so that what a device sends can never make
// invalid JSON or text, or a NUL.
void AppendBytesAsText(std::span<const uint8_t> bytes, std::string& out) {
  const std::string text = ReplaceInvalidUtf8(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  out += '"';
  for (char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (IsControl(ch)) {
      out += "\xef\xbf\xbd";
    } else {
      out += ch;
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
