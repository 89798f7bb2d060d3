// Device events (pipeline.md, "Events and alerts"): what the silence watcher
// records when a device stops or resumes talking, who is told by email, and the
// durable outbox of those emails.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/enum_table.h"
#include "model/time.h"

namespace roost {

enum class EventKind : int32_t { kCommunicationLoss = 0, kCommunicationRestored = 1 };

inline constexpr EnumTable<EventKind, 2> kEventKinds = {{
    {EventKind::kCommunicationLoss, "COMMUNICATION_LOSS", 0},
    {EventKind::kCommunicationRestored, "COMMUNICATION_RESTORED", 1},
}};

// The Sigfox API's severities: an ERROR is listed under …/status/error, a WARN
// under …/status/warn.
enum class EventSeverity : int32_t { kWarn = 1, kError = 2 };

inline constexpr EnumTable<EventSeverity, 2> kEventSeverities = {{
    {EventSeverity::kWarn, "WARN", 1},
    {EventSeverity::kError, "ERROR", 2},
}};

struct Event {
  int64_t id = 0;  // set by the store, increasing
  uint32_t device = 0;
  std::string type;   // the device's type then
  std::string group;  // the device's group then
  EventKind kind = EventKind::kCommunicationLoss;
  EventSeverity severity = EventSeverity::kError;
  std::string text;  // "No message received since 2026-12-02T10:38:00Z"
  EpochMillis time = 0;
  bool operator==(const Event&) const = default;
};

// Where an event configuration applies: the events of one device, of every
// device of a device type, or of every device of a group and the groups below it.
enum class EventScope : int32_t { kDevice = 0, kDeviceType = 1, kGroup = 2 };

// Who is mailed for which kinds of events. `group` is the group that owned the
// target when the configuration was made; a device or device type
// configuration applies only while its target is still in that group, so a
// device transferred (or deleted and registered again) elsewhere never mails
// its old owner.
struct EventConfig {
  std::string id;
  EventScope scope = EventScope::kDevice;
  std::string target;  // device: 8 uppercase hex digits; device type or group: its id
  std::string group;
  std::vector<EventKind> kinds;     // at least one, no repeats
  std::vector<std::string> emails;  // bare addresses, at least one
  EpochMillis creation_time = 0;
  bool operator==(const EventConfig&) const = default;
};

// One email of the outbox: one event to one recipient.
struct EventEmail {
  int64_t id = 0;
  int64_t event = 0;
  std::string recipient;
  int32_t attempts = 0;
  EpochMillis next_attempt = 0;
  EpochMillis creation_time = 0;
};

}  // namespace roost
