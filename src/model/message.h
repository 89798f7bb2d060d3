// The uplink pipeline's plain types (pipeline.md): radio base stations, the
// reports they send of each frame they hear, and the message one frame becomes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "model/enum_table.h"
#include "model/time.h"

namespace roost {

// A radio base station. Its reports count only for devices of its group's
// subtree (the operator's stations, in the root group, hear every device).
struct Station {
  std::string id;  // 4 uppercase hex digits, e.g. "0A1B"
  std::string name;
  std::string group;  // group id
  std::optional<double> lat;
  std::optional<double> lng;
  EpochMillis creation_time = 0;
  bool operator==(const Station&) const = default;
};

// One station's report of one frame (POST /api/ingest/uplink, or a Sigfox Cloud
// DATA callback body).
struct UplinkReport {
  SigfoxId device;
  int64_t seq_number = 0;  // 0..4095 (12 bits, wraps)
  std::string data;        // 0..12 bytes as lowercase hex
  EpochMillis time = 0;    // when the station heard the frame
  std::string station;     // 4 uppercase hex digits
  double rssi = 0;         // dBm
  double snr = 0;          // dB
  int64_t freq = 0;        // Hz; 0 when the report does not say
  bool ack = false;        // the device asks for a downlink
  // Set only by the Sigfox-callback route, which takes reports from a public
  // Sigfox network on behalf of its caller: the id of the caller's group. A
  // station listed in that group's subtree follows its own rule; any other
  // station (unlisted, or listed in another group) is taken as the public
  // network's: the report counts for devices of the caller's subtree, as a
  // station of that group without a position would. Decided by the store, in
  // the ingest transaction, so that a station created meanwhile cannot change
  // the answer and no answer tells whether another group lists a station.
  std::string public_network_caller;
  // The group of the principal that sent it (not set with
  // public_network_caller): its station must be listed in that group's subtree,
  // else the report is refused as kUnknownStation. The API checks this first,
  // from a cache; the store checks it again in the ingest transaction, so that
  // a station deleted and listed again in another group since the cache
  // learned it is not reported through by its former owner. "" = not checked.
  std::string caller_group;
  bool operator==(const UplinkReport&) const = default;
};

// One station that heard a message's frame ("rinfos" in the Sigfox API v1).
struct Reception {
  std::string station;
  double rssi = 0;
  double snr = 0;
  int64_t freq = 0;
  std::optional<double> lat;  // the station's position when it reported
  std::optional<double> lng;
  int64_t delay = 0;  // ms after the first report of the frame
  // Heard by a public Sigfox network's base station (a Sigfox Cloud callback
  // from one the caller does not list), whose id may also be a listed
  // station's: two receptions are the same station when both agree.
  bool public_network = false;
  bool operator==(const Reception&) const = default;
};

// A reception's station where a message names it alone (the station given
// the downlink; a report held for one): a public network's base station as
// "public:<id>", so that it is never taken for a listed station of that id.
inline std::string ReceptionKey(std::string_view station, bool public_network) {
  return public_network ? "public:" + std::string(station) : std::string(station);
}
// The station id of a ReceptionKey.
inline std::string_view StationOfKey(std::string_view key) {
  return key.starts_with("public:") ? key.substr(7) : key;
}

// Link quality of a message from the number of stations and the best signal.
enum class LinkQuality : int32_t { kLimit = 0, kAverage = 1, kGood = 2, kExcellent = 3 };

inline constexpr EnumTable<LinkQuality, 4> kLinkQualities = {{
    {LinkQuality::kLimit, "LIMIT", 0},
    {LinkQuality::kAverage, "AVERAGE", 1},
    {LinkQuality::kGood, "GOOD", 2},
    {LinkQuality::kExcellent, "EXCELLENT", 3},
}};

// Where the receiving stations place a device: an RSSI-weighted centre and the
// radius (m) within which the device probably is.
struct ComputedLocation {
  double lat = 0;
  double lng = 0;
  double radius = 0;
  bool operator==(const ComputedLocation&) const = default;
};

// One frame of one device, however many stations heard it.
struct Message {
  SigfoxId device;
  std::string type;   // device type id when the message was received
  std::string group;  // the device's group then
  EpochMillis time = 0;
  int64_t seq_number = 0;
  std::string data;       // lowercase hex
  std::string decoded;    // JSON text of the device type's decoding, "" when none
  std::string undecoded;  // JSON array of the format's fields that did not fit, "" when none
  std::vector<Reception> rinfos;  // every station that heard it, the first one first
  bool ack = false;
  std::optional<ComputedLocation> computed_location;
  LinkQuality link_quality = LinkQuality::kLimit;
  // The downlink sent to the device (downlinkAnswerStatus): 16 hex digits and
  // the station that sent it (a ReceptionKey); "" while none. `downlink_ack` is the device's
  // ACKNOWLEDGE, unknown until it reports.
  std::string downlink_data;
  std::string downlink_station;
  std::optional<bool> downlink_ack;
  // Why the frame got no downlink although it asked for one (a CALLBACK-mode
  // hook that failed, answered late, malformed or noData); "" otherwise.
  std::string downlink_info;
  bool operator==(const Message&) const = default;
};

// Sequence numbers are 12 bits and wrap.
inline constexpr int64_t kSequenceModulus = 4096;

// True when `seq` follows `last` within half the sequence space:
// (seq - last) mod 4096 in 1..2047. Equal is not ahead (a replay); so is
// anything 2048 or more ahead, which is taken as behind. Only the low 12 bits
// of each argument count.
constexpr bool IsSequenceAhead(int64_t last, int64_t seq) {
  // Unsigned arithmetic wraps instead of overflowing, and 4096 divides 2^64,
  // so the low 12 bits are (seq - last) mod 4096 for any arguments.
  const uint64_t ahead = (static_cast<uint64_t>(seq) - static_cast<uint64_t>(last)) &
                         static_cast<uint64_t>(kSequenceModulus - 1);
  return ahead >= 1 && ahead < static_cast<uint64_t>(kSequenceModulus / 2);
}

// What ingest did with one report.
enum class IngestResult : int32_t {
  kAccepted = 0,        // a new message
  kDuplicate = 1,       // another station's report of a message already stored
  kReplay = 2,          // sequence number not ahead of the device's last one
  kUnknownDevice = 3,   // no such device registered
  kUnknownStation = 4,  // no such station
  kForeignStation = 5,  // the station's group does not cover the device's group
  kLate = 6,            // the same frame again, but after the de-duplication window
};

inline constexpr EnumTable<IngestResult, 7> kIngestResults = {{
    {IngestResult::kAccepted, "accepted", 0},
    {IngestResult::kDuplicate, "duplicate", 1},
    {IngestResult::kReplay, "replay", 2},
    {IngestResult::kUnknownDevice, "unknown_device", 3},
    {IngestResult::kUnknownStation, "unknown_station", 4},
    {IngestResult::kForeignStation, "foreign_station", 5},
    {IngestResult::kLate, "late_duplicate", 6},
}};

// A device's SERVICE report. Codes are Sigfox's SERVICE callback subtypes.
enum class ServiceReportType : int32_t { kStatus = 0, kAcknowledge = 4 };
inline constexpr EnumTable<ServiceReportType, 2> kServiceReportTypes = {{
    {ServiceReportType::kStatus, "STATUS", 0},
    {ServiceReportType::kAcknowledge, "ACKNOWLEDGE", 4},
}};

inline constexpr double kMinTemperature = -100;  // °C
inline constexpr double kMaxTemperature = 200;
inline constexpr double kMinBattery = 0;  // V
inline constexpr double kMaxBattery = 100;

struct ServiceReport {
  SigfoxId device;
  ServiceReportType type = ServiceReportType::kStatus;
  EpochMillis time = 0;
  std::string station;                // 4 uppercase hex digits
  std::optional<int64_t> seq_number;  // 0..4095 when given
  double temp = 0;                    // °C, STATUS only
  double batt = 0;                    // V, STATUS only
  bool downlink_ack = false;          // ACKNOWLEDGE only
  std::string caller_group;           // as UplinkReport::caller_group
  std::string public_network_caller;  // as UplinkReport::public_network_caller
  bool operator==(const ServiceReport&) const = default;
};

}  // namespace roost
