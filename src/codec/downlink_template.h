// Downlink data: the DIRECT template of a device type (`downlinkDataString`)
// and the answer of a BIDIR callback (downlinkMode CALLBACK).
//
// DIRECT template: hex digits (either case) and the variables
//   {time}   8 hex digits: epoch seconds, big-endian (the low 32 bits)
//   {rssi}   4 hex digits: the best report's RSSI in dBm, signed two's complement
//   {tapId}  4 hex digits: the id of the station that sends the downlink
// whose expansion is exactly 16 hex digits (8 bytes). A variable may start at
// any hex digit, not only at a byte boundary. Nothing else is accepted (no
// spaces, no other variables); variable names are case-sensitive, as Sigfox's.
// Example: "{time}0000{rssi}" at 1440578526 with -93 dBm -> 55dd7bde0000ffa3.
//
// BIDIR callback answer (HTTP response body), pipeline.md:
//   {"<deviceId>": {"downlinkData": "<16 hex digits>"}}   the downlink
//   {"<deviceId>": {"noData": true}}                       no downlink
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "core/status.h"

namespace roost::codec {

using DownlinkData = std::array<uint8_t, 8>;

class DownlinkTemplate {
 public:
  enum class Variable : uint8_t { kTime, kRssi, kTapId };
  struct Slot {
    Variable variable;
    uint8_t nibble;  // first hex digit it fills, 0-15
  };

  const std::array<uint8_t, 16>& constant_nibbles() const { return nibbles_; }
  const std::vector<Slot>& slots() const { return slots_; }

 private:
  friend Result<DownlinkTemplate> CompileDownlinkTemplate(std::string_view text);
  std::array<uint8_t, 16> nibbles_{};  // the template's own hex digits (0 under a variable)
  std::vector<Slot> slots_;
};

// Checks and compiles a template. Errors name the 1-based character position
// ("position 1: unknown variable '{temp}' ...") or the expansion length
// ("expands to 12 hex digits, expected 16").
Result<DownlinkTemplate> CompileDownlinkTemplate(std::string_view text);

// The 8 bytes of the downlink. `epoch_seconds` is truncated to its low 32 bits;
// `rssi_dbm` is rounded to the nearest integer (halves away from zero) and
// clamped to -32768..32767.
DownlinkData Expand(const DownlinkTemplate& tmpl, int64_t epoch_seconds, double rssi_dbm,
                    uint16_t tap_id);

// One device's entry of a callback answer: the data, or nullopt for noData.
struct CallbackAnswerEntry {
  SigfoxId device;
  std::optional<DownlinkData> downlink;
};

// Parses a BIDIR callback answer. Refused (the whole answer, with the reason):
// not a JSON object; a key that is not a device ID; the same device twice; an
// entry that is not an object with exactly one of "downlinkData" (16 hex
// digits) or "noData": true. Other keys inside an entry are ignored.
Result<std::vector<CallbackAnswerEntry>> ParseCallbackAnswer(std::string_view body);

// The entry for `device`, or nullptr.
const CallbackAnswerEntry* FindCallbackAnswer(const std::vector<CallbackAnswerEntry>& entries,
                                              SigfoxId device);

}  // namespace roost::codec
