// Sets the fields of a message that are derived from its bytes and its
// receptions (IngestPolicy::complete): the device type's decoding, and the
// link quality and location from the stations that heard it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "codec/payload_format.h"
#include "model/device_type.h"
#include "model/message.h"

namespace roost::pipeline {

// What a message of `bytes` decodes to under a device type's decoding, as the
// message API shows it: `decoded` gets the JSON text ("" = nothing decoded:
// None, or Custom without a `format`), `undecoded` the JSON array of the
// custom fields that did not fit ("" when all did). Both are cleared first.
// Pure: the message API's "try it" (POST /api/codec/decode) calls it too.
void DecodePayload(std::span<const uint8_t> bytes, PayloadType type,
                   const codec::PayloadFormat* format, std::string& decoded,
                   std::string& undecoded);

// Not thread-safe: one per writer thread. Custom formats are compiled once per
// distinct format text and kept (a format edited in the registry is new text,
// compiled on its first message); the cache is bounded.
class UplinkDecoder {
 public:
  // For a new message (one reception): decoding, link quality, location. For
  // a message that just gained a station: link quality and location again.
  void Complete(Message& message, PayloadType type, std::string_view config);

 private:
  void Decode(Message& message, PayloadType type, std::string_view config);
  // nullptr: the text does not compile (a format saved before checks existed).
  const codec::PayloadFormat* Format(std::string_view config);

  std::unordered_map<std::string, std::unique_ptr<codec::PayloadFormat>> formats_;
};

}  // namespace roost::pipeline
