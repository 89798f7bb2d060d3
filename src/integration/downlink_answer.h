// The HTTP answer of a device type's downlinkHook callback (a DATA BIDIR
// callback, downlinkMode CALLBACK), pipeline.md "Downlinks":
//   {"<deviceId>": {"downlinkData": "<16 hex digits>"}}   the downlink
//   {"<deviceId>": {"noData": true}}                       no downlink
//
// The answer is read strictly, since whatever it says goes over the radio: the
// body is at most kMaxDownlinkAnswerBytes, a JSON object with exactly one
// member, keyed by the device that asked, whose value is an object with
// exactly one member, "downlinkData" (a string of 16 hex digits, either case)
// or "noData" (true). Anything else — several devices, the same key twice,
// another device, other members, deeper nesting — is refused as a whole.
//
// The device key compares by value: hex digits in either case, with or without
// leading zeros, as the API accepts device IDs ("2C", "002c" and "0000002C" all
// name device 2C).
//
// A refusal's reason is recorded on the message and shown to the device
// type's owner; it names what was expected and never quotes the answer's
// bytes (which come from an outside server and could be anything).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/identifiers.h"
#include "core/status.h"

namespace roost::integration {

inline constexpr size_t kMaxDownlinkAnswerBytes = 4096;

struct DownlinkAnswer {
  // The 8 bytes as 16 lowercase hex digits; nullopt for "noData".
  std::optional<std::string> data;
};

// Parses the answer to `device`'s message. Refusals are InvalidInput with the
// reason ("the answer is not valid JSON", "the answer is for another device",
// "\"downlinkData\" has 8 characters, expected 16 hex digits", ...).
Result<DownlinkAnswer> ParseDownlinkAnswer(std::string_view body, SigfoxId device);

}  // namespace roost::integration
