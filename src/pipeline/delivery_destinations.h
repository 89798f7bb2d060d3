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

// Fills Delivery::destination and channel of each of `deliveries` from its callback
// (integration::CompiledCallback::Destination). `message_of` gives the stored
// message a DATA delivery is about, or nullptr when there is none (purged): the
// url is then expanded without the message's values. SERVICE and ERROR
// deliveries carry their own values. A callback deleted meanwhile leaves its
// deliveries' destination empty.
Status FillDestinations(storage::Store& store, std::span<Delivery> deliveries,
                        const std::function<const Message*(const Delivery&)>& message_of);

}  // namespace roost::pipeline
