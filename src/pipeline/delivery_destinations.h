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
// once per callback. `message_of` gives the stored message a DATA delivery is
// about, or nullptr when there is none (purged): the url is then expanded
// without the message's values. SERVICE and ERROR deliveries carry their own
// values. A callback deleted meanwhile leaves its deliveries' destination empty.
Status FillDestinations(storage::Store& store, std::span<Delivery> deliveries,
                        const std::function<const Message*(const Delivery&)>& message_of,
                        const ShowDestination& show);

}  // namespace roost::pipeline
