// The pipeline's service for device events (pipeline.md, "Events and alerts"):
// event lists and event configurations, for the API.
//
// Group isolation is the caller's: it decides which device, device type or
// group the principal may name before calling. Event configurations are
// validated here, once, whoever calls.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/event.h"
#include "model/time.h"
#include "pipeline/delivery_destinations.h"
#include "storage/store.h"

namespace roost::pipeline {

// At most this many addresses per configuration.
inline constexpr size_t kMaxEventEmails = 20;
// At most this many configurations per device, device type or group (made by
// its group): with kMaxEventEmails, what one target adds to an event's emails
// is bounded (the store bounds an event's recipients as a whole too).
inline constexpr size_t kMaxEventConfigsPerTarget = 10;

class EventService {
 public:
  using Clock = std::function<EpochMillis()>;

  // `store` must outlive the service.
  EventService(storage::Store& store, Clock clock);

  Result<storage::EventPage> ListEvents(const storage::EventQuery& query);
  // The ERROR callback deliveries the events queued (a loss's "callbacks"),
  // with the destinations `show` allows (FillDestinations).
  Result<std::vector<Delivery>> ListEventDeliveries(const std::vector<Event>& events,
                                                    const ShowDestination& show);

  // Checks the kinds (at least one, no repeats) and the addresses (1 to
  // kMaxEventEmails, each integration::ValidateAddress, no repeats), then
  // stores the configuration with a new id and the creation time.
  // InvalidInput naming the field ("kinds", "emails[2]"); AlreadyExists when
  // the target has kMaxEventConfigsPerTarget configurations of its group.
  Result<EventConfig> CreateEventConfig(EventConfig config);
  Result<EventConfig> GetEventConfig(std::string_view id);  // NotFound
  Result<std::vector<EventConfig>> ListEventConfigs(EventScope scope, std::string_view target);
  Status DeleteEventConfig(std::string_view id);  // NotFound

 private:
  storage::Store& store_;
  Clock clock_;
};

}  // namespace roost::pipeline
