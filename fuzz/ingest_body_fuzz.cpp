// Fuzzes the ingest body parsers. The whole input is an uplink body and a
// service report body; for a Sigfox DATA or SERVICE callback its first byte
// picks JSON (even) or a form (odd) and the rest is the body. A parsed report must hold only
// what the model documents (data lowercase hex of an even length up to 24
// digits, station 4 uppercase hex digits, every number in its range), a
// refusal must be InvalidInput with a printable message, and parsing the same
// body twice (on the reused per-thread buffers) must give the same answer.
// Parsed uplinks also drive the radio computations, whose location must lie
// among the stations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "pipeline/ingest_body.h"
#include "pipeline/radio.h"

namespace {

using namespace roost;
using namespace roost::pipeline;

void CheckRefusal(const Status& status) {
  if (status.code() != Status::Code::kInvalidInput) __builtin_trap();
  const std::string& m = status.message();
  if (m.empty() || FindTextFault(m) || HasControl(m)) __builtin_trap();
}

bool IsHexOfCase(std::string_view s, bool upper) {
  for (char c : s) {
    const bool digit = c >= '0' && c <= '9';
    const bool letter = upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f');
    if (!digit && !letter) return false;
  }
  return true;
}

void CheckStation(std::string_view station) {
  if (station.size() != 4 || !IsHexOfCase(station, true)) __builtin_trap();
}

void CheckReport(const UplinkReport& r) {
  if (r.data.size() % 2 != 0 || r.data.size() > 24 || !IsHexOfCase(r.data, false)) {
    __builtin_trap();
  }
  CheckStation(r.station);
  if (r.seq_number < 0 || r.seq_number > 4095) __builtin_trap();
  if (r.time < 1 || r.time > kMaxEpochMillis) __builtin_trap();
  if (!(r.rssi >= kMinRssi && r.rssi <= kMaxRssi)) __builtin_trap();
  if (!(r.snr >= kMinSnr && r.snr <= kMaxSnr)) __builtin_trap();
  if (r.freq < 0 || r.freq > kMaxFreq) __builtin_trap();
}

void CheckService(const ServiceReport& r) {
  CheckStation(r.station);
  if (r.time < 1 || r.time > kMaxEpochMillis) __builtin_trap();
  if (r.seq_number && (*r.seq_number < 0 || *r.seq_number > 4095)) __builtin_trap();
  if (!(r.temp >= kMinTemperature && r.temp <= kMaxTemperature)) __builtin_trap();
  if (!(r.batt >= kMinBattery && r.batt <= kMaxBattery)) __builtin_trap();
  // A STATUS report carries no acknowledgement.
  if (r.type == ServiceReportType::kStatus && r.downlink_ack) __builtin_trap();
}

void CheckRadio(const std::vector<UplinkReport>& reports) {
  std::vector<Reception> receptions;
  double min_lat = 90, max_lat = -90;
  for (const UplinkReport& r : reports) {
    Reception rx;
    rx.station = r.station;
    rx.rssi = r.rssi;
    rx.snr = r.snr;
    rx.lat = static_cast<double>(r.seq_number) / 4095.0 * 180.0 - 90.0;
    rx.lng = static_cast<double>(r.time % 360) - 180.0;
    min_lat = std::min(min_lat, *rx.lat);
    max_lat = std::max(max_lat, *rx.lat);
    receptions.push_back(rx);
    if (IsSequenceAhead(r.seq_number, r.seq_number)) __builtin_trap();
    if (IsSequenceAhead(0, r.seq_number) == IsSequenceAhead(r.seq_number, 0) &&
        r.seq_number % 2048 != 0) {
      __builtin_trap();
    }
  }
  const auto location = LocateByStations(receptions);
  if (!location) __builtin_trap();
  // Rounding may put a weighted mean of equal values a hair off them.
  const double slack = 1e-9;
  if (!(location->lat >= min_lat - slack && location->lat <= max_lat + slack)) __builtin_trap();
  if (!(location->lng >= -180 && location->lng <= 180)) __builtin_trap();
  if (!(location->radius > 0 && location->radius <= kMaxLocationRadius)) __builtin_trap();
  const double best = BestRssi(receptions);
  if (!(best >= kMinRssi && best <= kMaxRssi)) __builtin_trap();
  const double snr = AverageSnr(receptions);
  if (!(snr >= kMinSnr - slack && snr <= kMaxSnr + slack)) __builtin_trap();
  const int quality = static_cast<int>(LinkQualityOf(receptions));
  if (quality < 0 || quality > 3) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto uplinks = ParseUplinkReports(text);
  auto again = ParseUplinkReports(text);
  if (uplinks.ok() != again.ok()) __builtin_trap();
  if (uplinks.ok()) {
    if (uplinks->empty() || uplinks->size() > kMaxReportsPerRequest) __builtin_trap();
    if (*uplinks != *again) __builtin_trap();
    for (const UplinkReport& r : *uplinks) CheckReport(r);
    CheckRadio(*uplinks);
  } else {
    CheckRefusal(uplinks.status());
    if (uplinks.status().message() != again.status().message()) __builtin_trap();
  }

  auto service = ParseServiceReport(text);
  if (service.ok()) {
    CheckService(*service);
  } else {
    CheckRefusal(service.status());
  }

  if (size == 0) return 0;
  const std::string_view type =
      data[0] % 2 == 0 ? "application/json" : "application/x-www-form-urlencoded";
  auto callback = ParseSigfoxCallbackBody(text.substr(1), type);
  if (callback.ok()) {
    CheckReport(*callback);
    if (callback->time % 1000 != 0) __builtin_trap();  // seconds, in ms
  } else {
    CheckRefusal(callback.status());
  }
  auto service_callback = ParseSigfoxServiceCallbackBody(text.substr(1), type);
  if (service_callback.ok()) {
    CheckService(*service_callback);
    if (service_callback->time % 1000 != 0) __builtin_trap();  // seconds, in ms
  } else {
    CheckRefusal(service_callback.status());
  }
  return 0;
}
