// Callbacks (pipeline.md, "Callbacks"): what a device type's messages are sent
// to, and the durable deliveries that send them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/enum_table.h"
#include "model/time.h"

namespace roost {

enum class CallbackChannel : int32_t { kUrl = 0, kBatchUrl = 1, kEmail = 2 };

inline constexpr EnumTable<CallbackChannel, 3> kCallbackChannels = {{
    {CallbackChannel::kUrl, "URL", 0},
    {CallbackChannel::kBatchUrl, "BATCH_URL", 1},
    {CallbackChannel::kEmail, "EMAIL", 2},
}};

// The Sigfox API's callbackType codes.
enum class CallbackType : int32_t { kData = 0, kService = 1, kError = 2 };

inline constexpr EnumTable<CallbackType, 3> kCallbackTypes = {{
    {CallbackType::kData, "DATA", 0},
    {CallbackType::kService, "SERVICE", 1},
    {CallbackType::kError, "ERROR", 2},
}};

// The Sigfox API's callbackSubtype codes: DATA 2 UPLINK, 3 BIDIR; SERVICE 0
// STATUS, 4 ACKNOWLEDGE; ERROR callbacks have none (kNone).
enum class CallbackSubtype : int32_t {
  kStatus = 0,
  kUplink = 2,
  kBidir = 3,
  kAcknowledge = 4,
  kNone = -1,
};

inline constexpr EnumTable<CallbackSubtype, 5> kCallbackSubtypes = {{
    {CallbackSubtype::kStatus, "STATUS", 0},
    {CallbackSubtype::kUplink, "UPLINK", 2},
    {CallbackSubtype::kBidir, "BIDIR", 3},
    {CallbackSubtype::kAcknowledge, "ACKNOWLEDGE", 4},
    {CallbackSubtype::kNone, "NONE", -1},
}};

// A device type's callbacks, at most: each of its messages queues a delivery
// per callback, inside the ingest transaction that every group shares.
inline constexpr size_t kMaxCallbacksPerType = 100;

struct Callback {
  std::string id;
  std::string type;  // device type id
  CallbackChannel channel = CallbackChannel::kUrl;
  CallbackType callback_type = CallbackType::kData;
  CallbackSubtype subtype = CallbackSubtype::kUplink;
  std::string url;                                           // URL, BATCH_URL: a pattern
  std::string http_method = "POST";                          // GET, POST, PUT
  std::vector<std::pair<std::string, std::string>> headers;  // values are patterns
  std::string content_type;                                  // of the body; "" = none (GET)
  std::string body_template;  // "" = the default for the content type
  std::string line_pattern;   // BATCH_URL: one line per message
  std::string recipient;      // EMAIL
  std::string subject;        // EMAIL: a pattern
  std::string message;        // EMAIL: a pattern
  bool send_duplicate = false;
  std::string payload_config;  // the callback's own custom format ({customData#name}); "" = none
  bool enabled = true;
  bool downlink_hook = false;  // the BIDIR callback whose answer is the downlink
  bool dead = false;  // failed continuously (Store::CompleteDelivery); skipped until enabled again
  EpochMillis creation_time = 0;
  bool operator==(const Callback&) const = default;
};

// The most a delivery's attempt log (Delivery::attempt_log) holds, in
// characters (as SQL's LENGTH counts them: up to four bytes each). About 20
// attempts, which the back-off spreads over some 1.5 hours; a list page shows
// every delivery's log, so this bounds what a page of failing deliveries costs.
inline constexpr size_t kMaxAttemptLog = 1000;

enum class DeliveryState : int32_t { kPending = 0, kDone = 1, kDead = 2 };

// One callback's delivery of one message (or one duplicate report of it).
struct Delivery {
  int64_t id = 0;
  std::string callback;  // callback id
  uint32_t device = 0;
  EpochMillis message_time = 0;
  int64_t seq_number = 0;
  bool duplicate = false;  // sent for a later station's report (sendDuplicate)
  std::string station;     // the report's station, a ReceptionKey (the first one for the
                           // message itself)
  DeliveryState state = DeliveryState::kPending;
  int32_t attempts = 0;
  EpochMillis next_attempt = 0;
  EpochMillis first_failure = 0;  // 0 while no attempt failed
  int32_t last_status = 0;        // HTTP status of the last attempt; 6xx: no HTTP answer (see info)
  std::string last_info;          // what the last attempt met, for people
  EpochMillis creation_time = 0;
  // SERVICE and ERROR deliveries: a JSON object of the values their patterns
  // add ({"temp": "21.50", "batt": "3.10"}, {"downlinkAck": "true"},
  // {"info": "...", "severity": "ERROR"}); "" for DATA deliveries.
  std::string variables;
  // Every attempt, oldest first, one line "<epoch ms> <status> <info>\n"
  // each; "" while there was none and when the first attempt delivered (then
  // last_status and last_info tell it, and next_attempt is its time). Storage
  // stops appending before it passes kMaxAttemptLog characters; `attempts` counts all.
  std::string attempt_log;
  // Where it goes, for people (a URL callback's expanded url, a BATCH_URL's
  // url, an EMAIL's recipient): filled by the services that list deliveries,
  // not stored.
  std::string destination;
  CallbackChannel channel = CallbackChannel::kUrl;  // of the callback, with destination
  bool operator==(const Delivery&) const = default;
};

}  // namespace roost
