// …/stats of devices and device types, a device's …/messages/metric and
// …/consumptions/{year}: read from the statistics kept at ingest.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The longest range one request may ask for: a month of hours, a year of days
// (a leap year and a margin). Bounds the rows one request sums.
constexpr int64_t kMaxHourRange = 31 * kMillisPerDay;
constexpr int64_t kMaxDayRange = 400 * kMillisPerDay;

json Average(double sum, int64_t n) {
  return n > 0 ? json(sum / static_cast<double>(n)) : json();
}

json BucketJson(const StatsBucket& b) {
  json frequencies = json::array();
  for (const auto& [khz, n] : b.frequencies) {
    frequencies.push_back(json{{"freq", khz * 1000}, {"receptions", n}});
  }
  return json{{"time", b.start},
              {"messages", b.messages},
              {"bytes", b.bytes},
              {"receptions", b.receptions},
              {"avgSnr", Average(b.snr_sum, b.receptions)},
              {"avgRssi", Average(b.rssi_sum, b.receptions)},
              {"downlinks", b.downlinks},
              {"statusReports", b.status_reports},
              {"temperature", Average(b.temp_sum, b.status_reports)},
              {"vdd", Average(b.batt_sum, b.status_reports)},
              {"frequencies", std::move(frequencies)}};
}

// ?from=&to= (epoch ms; default: the last day of hours, the last 30 days of
// days) &step=hour|day (default hour).
Response Stats(ApiContext& ctx, const Request& req, StatsQuery query) {
  const auto step = req.QueryParam("step").value_or("hour");
  if (step == "day") {
    query.step = StatsStep::kDay;
  } else if (step != "hour") {
    return ApiError::BadField("step", "must be hour or day").ToResponse();
  }
  const bool days = query.step == StatsStep::kDay;
  std::optional<EpochMillis> from, to;
  for (const char* name : {"from", "to"}) {
    auto text = req.QueryParam(name);
    if (!text) continue;
    if (auto e = ParseEpochFilter(name, *text, std::string_view(name) == "to" ? to : from)) {
      return e->ToResponse();
    }
  }
  const bool to_given = to.has_value();
  if (!to) to = ctx.now_ms();
  if (!from) from = *to - (days ? 30 * kMillisPerDay : kMillisPerDay);
  if (*to < *from) {
    // Name what the client sent: a `from` alone in the future is after now.
    return (to_given ? ApiError::BadField("to", "must not be before from")
                     : ApiError::BadField("from", "must not be after now (to, when not given)"))
        .ToResponse();
  }
  if (*to - *from > (days ? kMaxDayRange : kMaxHourRange)) {
    return ApiError::BadField("from", days ? "a range of days spans at most 400 days"
                                           : "a range of hours spans at most 31 days")
        .ToResponse();
  }
  // Echoed as the store reads it: whole buckets, none before the epoch.
  const int64_t unit = days ? kMillisPerDay : kMillisPerHour;
  query.from = std::max<EpochMillis>(0, *from) / unit * unit;
  query.to = *to;
  auto buckets = ctx.messages->GetStats(query);
  if (!buckets.ok()) return FromStatus(buckets.status()).ToResponse();
  json data = json::array();
  for (const StatsBucket& b : *buckets) data.push_back(BucketJson(b));
  return JsonResponse(200, json{{"step", days ? "day" : "hour"},
                                {"from", query.from},
                                {"to", query.to},
                                {"data", std::move(data)}});
}

Response Unavailable() {
  return Response::Error(503, "the message pipeline is not running");
}

}  // namespace

Response GetDeviceStats(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  StatsQuery query;
  query.device = device->id.value;
  return Stats(ctx, req, std::move(query));
}

Response GetDeviceTypeStats(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  StatsQuery query;
  query.type = type->id;
  return Stats(ctx, req, std::move(query));
}

Response GetDeviceMessageMetric(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  auto metric = ctx.messages->GetMessageMetric(device->id.value);
  if (!metric.ok()) return FromStatus(metric.status()).ToResponse();
  return JsonResponse(200, json{{"lastDay", metric->last_day},
                                {"lastWeek", metric->last_week},
                                {"lastMonth", metric->last_month}});
}

Response GetDeviceConsumptions(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  const std::string text(req.Param("year"));
  int year = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), year);
  if (text.size() != 4 || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return ApiError::BadField("year", "must be a year such as 2026").ToResponse();
  }
  auto days = ctx.messages->GetConsumptions(device->id.value, year);
  if (!days.ok()) return FromStatus(days.status()).ToResponse();
  json list = json::array();
  for (const auto& d : *days) {
    list.push_back(json{{"frameCount", d.frames}, {"downlinkFrameCount", d.downlinks}});
  }
  // The Sigfox API v1 shape: one entry per day of the year, January 1st first.
  return JsonResponse(
      200, json{{"consumption", json{{"id", device->id.ToApi()}, {"consumptions", list}}}});
}

}  // namespace roost::api
