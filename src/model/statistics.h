// Statistics of devices and device types (pipeline.md, "Statistics and
// location"): counters kept per hour at ingest, read per hour or per day.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "model/time.h"

namespace roost {

enum class StatsStep : int32_t { kHour = 0, kDay = 1 };

inline constexpr int64_t kMillisPerHour = 3'600'000;
inline constexpr int64_t kMillisPerDay = 24 * kMillisPerHour;

// One hour or one day (UTC) of a device or a device type. Sums rather than
// averages, so that buckets add up; the API divides.
struct StatsBucket {
  EpochMillis start = 0;                   // the bucket's first millisecond
  int64_t messages = 0;                    // frames stored
  int64_t bytes = 0;                       // their payload bytes
  int64_t receptions = 0;                  // station reports of them (duplicates included)
  double snr_sum = 0;                      // over receptions
  double rssi_sum = 0;                     // over receptions
  int64_t downlinks = 0;                   // downlinks answered
  int64_t status_reports = 0;              // SERVICE STATUS reports
  double temp_sum = 0;                     // °C, over status reports
  double batt_sum = 0;                     // V (Vdd), over status reports
  std::map<int64_t, int64_t> frequencies;  // kHz -> receptions
  bool operator==(const StatsBucket&) const = default;
};

// Whose statistics: exactly one of `device` and `type`.
struct StatsQuery {
  std::optional<uint32_t> device;
  std::string type;
  EpochMillis from = 0;  // buckets starting at or after `from` (rounded down to the step)
  EpochMillis to = 0;    // and before `to`
  StatsStep step = StatsStep::kHour;
};

}  // namespace roost
