#include "model/signal.h"

#include <algorithm>

namespace roost {

double AverageSnr(std::span<const Reception> receptions) {
  if (receptions.empty()) return 0;
  double sum = 0;
  for (const Reception& r : receptions) sum += r.snr;
  return sum / static_cast<double>(receptions.size());
}

double BestRssi(std::span<const Reception> receptions) {
  if (receptions.empty()) return 0;
  double best = receptions.front().rssi;
  for (const Reception& r : receptions) best = std::max(best, r.rssi);
  return best;
}

}  // namespace roost
