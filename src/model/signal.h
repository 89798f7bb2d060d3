// Signal summaries of a message's receptions, shown by the message API and by
// callback requests. Here rather than in pipeline/radio.h because callbacks
// (integration/) need them too, and the pipeline library depends on
// integration, not the other way round.
#pragma once

#include <span>

#include "model/message.h"

namespace roost {

// The mean SNR (dB) and the best RSSI (dBm) of the receptions; 0 for none (a
// message always has at least one).
double AverageSnr(std::span<const Reception> receptions);
double BestRssi(std::span<const Reception> receptions);

}  // namespace roost
