// Pure computations on the radio side of a message: sequence numbers, link
// quality, the location the receiving stations give, signal summaries.
// docs/architecture.md ("Link quality and location") explains the choices.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "model/message.h"
#include "model/signal.h"

namespace roost::pipeline {

// IsSequenceAhead (12-bit sequence numbers) is in model/message.h: the store
// applies it when it decides a report.

// Sigfox's link quality table (RC1, RC3, RC5-7): a reception counts when its
// RSSI is above kLimitRssi; with none, LIMIT. Otherwise, by the best RSSI and
// the number n of receptions that count:
//   best > kGoodRssi:  n >= 3 EXCELLENT, else GOOD
//   best <= kGoodRssi: n >= 3 GOOD,      else AVERAGE
inline constexpr double kLimitRssi = -135;  // dBm
inline constexpr double kGoodRssi = -122;   // dBm
LinkQuality LinkQualityOf(std::span<const Reception> receptions);

// Bounds of the radius (m) LocateByStations gives for one station.
inline constexpr double kMinLocationRadius = 100;
inline constexpr double kMaxLocationRadius = 50'000;

// Where the receptions that carry a station position (finite lat and lng, and
// a finite RSSI) place the device; nullopt when none does. The centre is the
// mean of their positions weighted by received power in mW, 10^(rssi/10), so
// a station 10 dB stronger weighs ten times more (longitudes are averaged
// across the antimeridian correctly). The radius is a log-distance path loss
// estimate from the best RSSI among them, 1 km at -100 dBm growing tenfold
// every 35 dB (exponent 3.5), clamped to [kMinLocationRadius,
// kMaxLocationRadius], divided by sqrt(n) for n such receptions.
std::optional<ComputedLocation> LocateByStations(std::span<const Reception> receptions);

// AverageSnr and BestRssi of receptions are in model/signal.h: callback
// requests (integration/) show them too.

}  // namespace roost::pipeline
