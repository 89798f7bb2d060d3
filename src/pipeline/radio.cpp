#include "pipeline/radio.h"

#include <algorithm>
#include <cmath>

namespace roost::pipeline {

LinkQuality LinkQualityOf(std::span<const Reception> receptions) {
  int counted = 0;
  double best = kLimitRssi;
  for (const Reception& r : receptions) {
    if (r.rssi > kLimitRssi) {
      ++counted;
      best = std::max(best, r.rssi);
    }
  }
  if (counted == 0) return LinkQuality::kLimit;
  if (best > kGoodRssi) return counted >= 3 ? LinkQuality::kExcellent : LinkQuality::kGood;
  return counted >= 3 ? LinkQuality::kGood : LinkQuality::kAverage;
}

namespace {

bool Placed(const Reception& r) {
  return r.lat && r.lng && std::isfinite(*r.lat) && std::isfinite(*r.lng) && std::isfinite(r.rssi);
}

// `lng` moved by whole turns into (reference - 180, reference + 180].
double Unwrapped(double lng, double reference) {
  double d = std::fmod(lng - reference, 360.0);
  if (d > 180) d -= 360;
  if (d <= -180) d += 360;
  return reference + d;
}

// Back into [-180, 180] when outside it.
double Wrapped(double lng) {
  if (lng >= -180 && lng <= 180) return lng;
  double d = std::fmod(lng + 180.0, 360.0);
  if (d < 0) d += 360;
  return d - 180.0;
}

}  // namespace

std::optional<ComputedLocation> LocateByStations(std::span<const Reception> receptions) {
  const Reception* strongest = nullptr;
  int n = 0;
  for (const Reception& r : receptions) {
    if (!Placed(r)) continue;
    ++n;
    if (strongest == nullptr || r.rssi > strongest->rssi) strongest = &r;
  }
  if (strongest == nullptr) return std::nullopt;
  // Weights relative to the strongest (which weighs 1) cannot underflow to
  // all zeros, whatever the RSSI.
  const double reference_lng = *strongest->lng;
  double total = 0;
  double lat = 0;
  double lng = 0;
  for (const Reception& r : receptions) {
    if (!Placed(r)) continue;
    const double w = std::pow(10.0, (r.rssi - strongest->rssi) / 10.0);
    total += w;
    lat += w * *r.lat;
    lng += w * Unwrapped(*r.lng, reference_lng);
  }
  ComputedLocation location;
  location.lat = lat / total;
  location.lng = Wrapped(lng / total);
  const double base = std::clamp(1000.0 * std::pow(10.0, (-100.0 - strongest->rssi) / 35.0),
                                 kMinLocationRadius, kMaxLocationRadius);
  location.radius = base / std::sqrt(static_cast<double>(n));
  return location;
}

}  // namespace roost::pipeline
