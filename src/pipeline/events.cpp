#include "pipeline/events.h"

#include <algorithm>
#include <set>

#include "integration/email.h"
#include "model/object_id.h"
#include "pipeline/delivery_destinations.h"

namespace roost::pipeline {

EventService::EventService(storage::Store& store, Clock clock)
    : store_(store), clock_(std::move(clock)) {}

Result<storage::EventPage> EventService::ListEvents(const storage::EventQuery& query) {
  return store_.ListEvents(query);
}

Result<std::vector<Delivery>> EventService::ListEventDeliveries(const std::vector<Event>& events,
                                                                const ShowDestination& show) {
  // An event's deliveries are keyed like a message's, at the event's time with
  // sequence number -1, which no message has (Store::WatchSilence).
  std::vector<storage::MessageCursor> keys;
  keys.reserve(events.size());
  for (const Event& e : events) keys.push_back({e.time, e.device, -1});
  auto deliveries = store_.ListMessageDeliveries(keys);
  if (!deliveries.ok()) return deliveries;
  ROOST_RETURN_IF_ERROR(FillDestinations(store_, *deliveries, {}, show));
  return deliveries;
}

Result<EventConfig> EventService::CreateEventConfig(EventConfig config) {
  if (config.kinds.empty()) return Status::InvalidInput("kinds: at least one event kind");
  std::set<EventKind> kinds(config.kinds.begin(), config.kinds.end());
  if (kinds.size() != config.kinds.size()) return Status::InvalidInput("kinds: a kind is repeated");
  if (config.emails.empty()) return Status::InvalidInput("emails: at least one address");
  if (config.emails.size() > kMaxEventEmails) {
    return Status::InvalidInput("emails: at most " + std::to_string(kMaxEventEmails) +
                                " addresses");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < config.emails.size(); ++i) {
    const std::string field = "emails[" + std::to_string(i) + "]";
    auto address = integration::ValidateAddress(config.emails[i]);
    if (!address.ok()) return address.status().WithPrefix(field);
    if (address->size() > 254) return Status::InvalidInput(field + ": longer than 254 bytes");
    if (!seen.insert(*address).second) return Status::InvalidInput(field + ": repeated");
    config.emails[i] = *address;
  }
  config.id = NewObjectId();
  config.creation_time = clock_();
  auto created = store_.CreateEventConfig(config, kMaxEventConfigsPerTarget);
  if (!created.ok()) return created.status();
  if (!*created) {
    return Status::AlreadyExists("at most " + std::to_string(kMaxEventConfigsPerTarget) +
                                 " event configurations per device, device type or group; "
                                 "delete one first");
  }
  return config;
}

Result<EventConfig> EventService::GetEventConfig(std::string_view id) {
  return store_.GetEventConfig(id);
}

Result<std::vector<EventConfig>> EventService::ListEventConfigs(EventScope scope,
                                                                std::string_view target) {
  return store_.ListEventConfigs(scope, target);
}

Status EventService::DeleteEventConfig(std::string_view id) {
  return store_.DeleteEventConfig(id);
}

}  // namespace roost::pipeline
