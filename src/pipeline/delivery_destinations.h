// Where listed deliveries go, for people reading a message, an event or the
// failed deliveries (pipeline.md, "Messages": each delivery's url/email).
#pragma once
#include <functional>
#include <span>

#include "core/status.h"
#include "model/callback.h"
#include "model/message.h"
#include "storage/store.h"

namespace roost::pipeline {

// Whether the reader of a list may see where a callback sends: whether its
// device type is the reader's to see. A device moved to another group keeps
// its messages, and their deliveries name the callbacks of the type it had;
// the new owner must not learn the old owner's endpoints or recipients.
using ShowDestination = std::function<bool(const Callback&)>;

// Fills Delivery::destination and channel of each of `deliveries` whose callback
// `show` allows (integration::CompiledCallback::Destination); `show` is asked
// once per callback. A DATA delivery's url is expanded with the values of its
// message among `messages`, or without them when it is not there (purged).
// SERVICE and ERROR deliveries carry their own values. A callback deleted
// meanwhile leaves its deliveries' destination empty. A delivery whose callback
// is not shown (or deleted) also loses its attempts' answer texts (last_info and
// each attempt_log line's info), which name the host it reached, and one whose
// callback exists but is not shown loses its callback id.
Status FillDestinations(storage::Store& store, std::span<Delivery> deliveries,
                        std::span<const Message> messages, const ShowDestination& show);

}  // namespace roost::pipeline
