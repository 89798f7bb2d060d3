#include "pipeline/messages.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "core/hex.h"
#include "core/text.h"
#include "integration/callback_request.h"
#include "model/calendar.h"
#include "model/object_id.h"
#include "pipeline/delivery_destinations.h"

namespace roost::pipeline {
namespace {

constexpr size_t kMaxCached = 100'000;
constexpr size_t kMaxStationName = 100;

}  // namespace

MessageService::MessageService(storage::Store& store, UplinkWriter& writer, Clock clock,
                               observe::MetricsRegistry* metrics)
    : store_(store), writer_(writer), clock_(std::move(clock)) {
  if (metrics == nullptr) return;
  auto reports = metrics->AddCounter("roost_ingest_reports_total",
                                     "Station reports decided by ingest, by result", {"result"});
  if (reports.ok()) {
    for (const auto& e : kIngestResults) results_.push_back(&(*reports)->WithLabels({e.name}));
  }
  auto busy = metrics->AddCounter(
      "roost_ingest_busy_total",
      "Ingest requests answered 503: the reports waiting for the writer were at their limit", {});
  if (busy.ok()) busy_ = &(*busy)->Get();
  UplinkWriter* w = &writer_;
  (void)metrics->AddGaugeCallback("roost_ingest_queue_reports",
                                  "Station reports waiting for the ingest writer",
                                  [w] { return static_cast<double>(w->queued()); });
  (void)metrics->AddGaugeCallback(
      "roost_ingest_writing_reports",
      "Station reports in the ingest writer's transaction under way (0 between transactions)",
      [w] { return static_cast<double>(w->writing()); });
}

namespace {

Status NormalizeStationId(std::string& id) {
  if (id.size() != 4 || !std::all_of(id.begin(), id.end(), IsHexDigit)) {
    return Status::InvalidInput("id: must be 4 hex digits");
  }
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return Status::Ok();
}

Status CheckStation(Station& s) {
  ROOST_RETURN_IF_ERROR(NormalizeStationId(s.id));
  if (s.name.empty() || CountCharacters(s.name) > kMaxStationName) {
    return Status::InvalidInput("name: must be 1.." + std::to_string(kMaxStationName) +
                                " characters");
  }
  if (s.lat.has_value() != s.lng.has_value()) {
    return Status::InvalidInput(s.lat ? "lng: required with lat (give both or neither)"
                                      : "lat: required with lng (give both or neither)");
  }
  if (s.lat && (!std::isfinite(*s.lat) || *s.lat < -90 || *s.lat > 90)) {
    return Status::InvalidInput("lat: must be -90..90");
  }
  if (s.lng && (!std::isfinite(*s.lng) || *s.lng < -180 || *s.lng > 180)) {
    return Status::InvalidInput("lng: must be -180..180");
  }
  return Status::Ok();
}

}  // namespace

Result<Station> MessageService::CreateStation(Station s) {
  ROOST_RETURN_IF_ERROR(CheckStation(s));
  s.creation_time = clock_();
  ROOST_RETURN_IF_ERROR(store_.CreateStation(s));
  return s;
}

Result<Station> MessageService::GetVisibleStation(std::string_view caller_group,
                                                  std::string_view id) {
  std::string key(id);
  ROOST_RETURN_IF_ERROR(NormalizeStationId(key));
  auto station = store_.GetStation(key);
  if (!station.ok()) return station.status();
  auto visible = store_.IsInSubtree(station->group, caller_group);
  if (!visible.ok()) return visible.status();
  if (!*visible) return Status::NotFound("station " + key + " not found");
  return station;
}

Result<std::optional<Station>> MessageService::UpdateStation(Station s, const Station& read) {
  ROOST_RETURN_IF_ERROR(CheckStation(s));
  auto updated = store_.UpdateStation(s, read);
  if (!updated.ok()) return updated.status();
  if (!*updated) return std::optional<Station>();
  return std::optional<Station>(
      std::move(s));  // as stored: the store changes only what the edit gives
}

Status MessageService::DeleteStation(const Station& station) {
  ROOST_RETURN_IF_ERROR(store_.DeleteStation(station.id, station.group));
  std::lock_guard<std::mutex> lock(mu_);
  station_groups_.erase(station.id);
  return Status::Ok();
}

Result<std::vector<Station>> MessageService::ListStations(std::string_view group_subtree) {
  return store_.ListStations(group_subtree);
}

Result<bool> MessageService::Covers(std::string_view caller_group, const std::string& group) {
  const std::string key = std::string(caller_group) + '/' + group;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = covers_.find(key);
    if (it != covers_.end()) return it->second;
  }
  auto covered = store_.IsInSubtree(group, caller_group);
  if (!covered.ok()) return covered.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (covers_.size() >= kMaxCached) covers_.clear();
  covers_.emplace(key, *covered);
  return *covered;
}

Result<bool> MessageService::MayReport(std::string_view caller_group, std::string_view station) {
  std::string cached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = station_groups_.find(std::string(station));
    if (it != station_groups_.end()) cached = it->second;
  }
  if (!cached.empty()) {
    // A "yes" is checked again by the store; a "no" may be a station deleted
    // and listed again elsewhere since it was cached: asked again below.
    auto covered = Covers(caller_group, cached);
    if (!covered.ok() || *covered) return covered;
  }
  auto s = store_.GetStation(station);
  if (!s.ok()) {
    if (s.status().code() != Status::Code::kNotFound) return s.status();
    std::lock_guard<std::mutex> lock(mu_);
    station_groups_.erase(std::string(station));
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (station_groups_.size() >= kMaxCached) station_groups_.clear();
    station_groups_.insert_or_assign(std::string(station), s->group);
  }
  return Covers(caller_group, s->group);
}

std::optional<bool> MessageService::MayReportCached(std::string_view caller_group,
                                                    std::string_view station) {
  std::lock_guard<std::mutex> lock(mu_);
  auto at = station_groups_.find(std::string(station));
  if (at == station_groups_.end()) return std::nullopt;
  auto covered = covers_.find(std::string(caller_group) + '/' + at->second);
  // Only a "yes" is answered from memory (see MayReport).
  if (covered == covers_.end() || !covered->second) return std::nullopt;
  return true;
}

Result<std::string> MessageService::TenantOf(std::string_view group) {
  if (auto cached = TenantOfCached(group)) return *cached;
  auto g = store_.GetGroup(group);
  if (!g.ok()) return g.status();
  // path: the ancestors, root first.
  std::string tenant = g->path.size() >= 2 ? g->path[1] : g->id;
  std::lock_guard<std::mutex> lock(mu_);
  if (tenants_.size() >= kMaxCached) tenants_.clear();
  tenants_.emplace(std::string(group), tenant);
  return tenant;
}

std::optional<std::string> MessageService::TenantOfCached(std::string_view group) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(std::string(group));
  if (it == tenants_.end()) return std::nullopt;
  return it->second;
}

void MessageService::Count(IngestResult result) {
  const auto code = static_cast<size_t>(result);
  if (code < results_.size()) results_[code]->Inc();
}

void MessageService::LogRefused(uint32_t device, std::string_view station, IngestResult reason) {
  if (logger_ == nullptr) return;
  int64_t suppressed = 0;
  if (!refusal_lines_.Take(&suppressed)) return;
  const std::string id = SigfoxId{device}.ToApi();
  logger_->Info("ingest report refused", {{"device", id},
                                          {"station", station},
                                          {"reason", EnumByValue(kIngestResults, reason).name},
                                          {"earlier_refusals_not_logged", suppressed}});
}

void MessageService::NoteRefused(uint32_t device, std::string_view station, IngestResult reason) {
  Count(reason);
  LogRefused(device, station, reason);
}

namespace {

bool IsRefusal(IngestResult r) {
  return r != IngestResult::kAccepted && r != IngestResult::kDuplicate;
}

}  // namespace

bool MessageService::Ingest(std::vector<UplinkReport> reports, UplinkWriter::Done done) {
  bool queued;
  if (results_.empty() && logger_ == nullptr) {
    queued = writer_.Submit(std::move(reports), std::move(done));
  } else {
    queued = writer_.Submit(std::move(reports), [this, done = std::move(done)](auto decided) {
      if (decided.ok()) {
        for (size_t i = 0; i < decided->size(); ++i) {
          const storage::IngestDecision& d = (*decided)[i];
          Count(d.result);
          if (IsRefusal(d.result)) {
            LogRefused(d.refused_device, d.refused_station, d.result);
          }
        }
      }
      done(std::move(decided));
    });
  }
  if (!queued && busy_ != nullptr) busy_->Inc();
  return queued;
}

Result<storage::IngestDecision> MessageService::IngestService(const ServiceReport& report) {
  storage::IngestPolicy policy;
  policy.dedup_window_ms = writer_.options().dedup_window_ms;
  policy.now = clock_();
  auto decided = store_.IngestService(report, policy);
  if (!decided.ok()) return decided.status();
  Count(decided->result);
  if (IsRefusal(decided->result)) LogRefused(report.device.value, report.station, decided->result);
  if (decided->result == IngestResult::kAccepted && writer_.options().after_commit) {
    writer_.options().after_commit();
  }
  return decided;
}

Result<std::vector<StatsBucket>> MessageService::GetStats(const StatsQuery& query) {
  return store_.GetStats(query);
}

Result<MessageService::MessageMetric> MessageService::GetMessageMetric(uint32_t device) {
  const EpochMillis now = clock_();
  StatsQuery q;
  q.device = device;
  q.from = now - 30 * kMillisPerDay;
  q.to = now + 1;
  auto buckets = store_.GetStats(q);
  if (!buckets.ok()) return buckets.status();
  MessageMetric m;
  for (const StatsBucket& b : *buckets) {
    // A bucket counts when any of its hour lies in the period.
    const EpochMillis end = b.start + kMillisPerHour;
    m.last_month += b.messages;
    if (end > now - 7 * kMillisPerDay) m.last_week += b.messages;
    if (end > now - kMillisPerDay) m.last_day += b.messages;
  }
  return m;
}

Result<std::vector<MessageService::DayCount>> MessageService::GetConsumptions(uint32_t device,
                                                                              int year) {
  if (year < 1970 || year > 9999) return Status::InvalidInput("year: must be 1970..9999");
  const UtcYear span = UtcYearOf(year);
  const int days = span.days;
  StatsQuery q;
  q.device = device;
  q.step = StatsStep::kDay;
  q.from = span.start;
  q.to = q.from + days * kMillisPerDay;
  auto buckets = store_.GetStats(q);
  if (!buckets.ok()) return buckets.status();
  std::vector<DayCount> out(days);
  for (const StatsBucket& b : *buckets) {
    const int64_t day = (b.start - q.from) / kMillisPerDay;
    if (day < 0 || day >= days) continue;
    out[day].frames = b.messages;
    out[day].downlinks = b.downlinks;
  }
  return out;
}

Result<storage::MessagePage> MessageService::ListMessages(const storage::MessageQuery& query) {
  return store_.ListMessages(query);
}

Result<std::vector<Delivery>> MessageService::ListMessageDeliveries(
    const std::vector<Message>& messages, const ShowDestination& show) {
  std::vector<storage::MessageCursor> keys;
  keys.reserve(messages.size());
  for (const Message& m : messages) keys.push_back({m.time, m.device.value, m.seq_number});
  auto deliveries = store_.ListMessageDeliveries(keys);
  if (!deliveries.ok()) return deliveries;
  ROOST_RETURN_IF_ERROR(FillDestinations(store_, *deliveries, messages, show));
  return deliveries;
}

Result<std::vector<Callback>> MessageService::CreateCallbacks(std::string_view type,
                                                              std::vector<Callback> callbacks) {
  const EpochMillis now = clock_();
  for (size_t i = 0; i < callbacks.size(); ++i) {
    Callback& cb = callbacks[i];
    cb.id = NewObjectId();
    cb.type = std::string(type);
    cb.creation_time = now;
    cb.dead = false;
    cb.downlink_hook = false;
    // A URL callback that sends a body but says neither what nor of which type
    // would send every message as an empty body: it gets JSON and its default
    // body (docs/api.md, "Callbacks"). Saved so, it is shown so.
    if (cb.channel == CallbackChannel::kUrl && cb.http_method != "GET" && cb.content_type.empty() &&
        cb.body_template.empty()) {
      cb.content_type = "application/json";
    }
    Status valid = integration::ValidateCallback(cb);
    if (!valid.ok()) return valid.WithPrefix("data[" + std::to_string(i) + "]");
  }
  ROOST_RETURN_IF_ERROR(store_.CreateCallbacks(callbacks));
  return callbacks;
}

Result<Callback> MessageService::EditCallback(Callback callback, bool keep_enabled) {
  // The store keeps the hook mark only where it still applies, so the check
  // is of the definition alone.
  callback.downlink_hook = false;
  callback.dead = false;
  ROOST_RETURN_IF_ERROR(integration::ValidateCallback(callback));
  return store_.UpdateCallback(callback, keep_enabled);
}

Result<Callback> MessageService::GetCallback(std::string_view id) {
  return store_.GetCallback(id);
}

Result<std::vector<Callback>> MessageService::ListCallbacks(std::string_view type) {
  return store_.ListCallbacks(type);
}

Status MessageService::DeleteCallback(std::string_view id) {
  return store_.DeleteCallback(id, clock_());
}

Status MessageService::SetCallbackEnabled(std::string_view id, bool enabled) {
  return store_.SetCallbackEnabled(id, enabled);
}

Status MessageService::SetDownlinkHook(std::string_view id) {
  return store_.SetDownlinkHook(id);
}

Result<MessageService::FailedDeliveryPage> MessageService::ListFailedDeliveries(
    std::string_view group_subtree, int limit, int offset,
    std::optional<storage::FailedDeliveryCursor> after, const storage::FailedDeliveryFilter& filter,
    const ShowDestination& show) {
  auto failed = store_.ListFailedDeliveries(group_subtree, limit, offset, after, filter);
  if (!failed.ok()) return failed.status();
  FailedDeliveryPage page;
  // A full page has a next one only if a delivery follows its last: without
  // this look, a full last page gave a `next` that led to an empty one.
  if (static_cast<int>(failed->size()) == limit && !failed->empty()) {
    const Delivery& last = failed->back();
    auto following = store_.ListFailedDeliveries(
        group_subtree, 1, 0, storage::FailedDeliveryCursor{last.first_failure, last.id}, filter);
    if (!following.ok()) return following.status();
    page.more = !following->empty();
  }
  // Each delivery's message, for the values of its url, read together (a page
  // holds at most kMaxPageSize deliveries). An event's ERROR deliveries are
  // keyed with sequence number -1, which no message has: not looked for. A
  // SERVICE delivery's key may find a message, which FillDestinations does not
  // use for it (it renders such a delivery from its own values).
  std::vector<storage::MessageCursor> keys;
  keys.reserve(failed->size());
  for (const Delivery& d : *failed) {
    if (d.seq_number >= 0) keys.push_back({d.message_time, d.device, d.seq_number});
  }
  auto messages = store_.GetMessages(keys);
  if (!messages.ok()) return messages.status();
  ROOST_RETURN_IF_ERROR(FillDestinations(store_, *failed, *messages, show));
  page.deliveries = std::move(*failed);
  return page;
}

}  // namespace roost::pipeline
