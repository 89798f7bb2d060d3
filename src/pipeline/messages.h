// The pipeline's service for the API: stations, ingest, message lists.
//
// Group isolation is the caller's to decide for what it names (a station's
// group, a device, a device type); this service adds the one rule only it can
// check cheaply on the hot path: a principal reports only through stations of
// its own group subtree (MayReport). A station it may not use is answered
// exactly like one that does not exist.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "model/message.h"
#include "model/time.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "pipeline/delivery_destinations.h"
#include "pipeline/downlinks.h"
#include "pipeline/uplink_writer.h"
#include "storage/store.h"

namespace roost::pipeline {

class MessageService {
 public:
  using Clock = std::function<EpochMillis()>;

  // `store` and `writer` must outlive the service. `metrics` (optional) gets
  // roost_ingest_reports_total{result} and roost_ingest_queue_reports.
  MessageService(storage::Store& store, UplinkWriter& writer, Clock clock,
                 observe::MetricsRegistry* metrics = nullptr);

  // Where ingest holds the answers of reports that ask for a downlink; without
  // one they are answered at once, without a downlink. Must outlive the service.
  void SetDownlinks(DownlinkArbiter* arbiter) { downlinks_ = arbiter; }
  DownlinkArbiter* downlinks() const { return downlinks_; }
  // Where refused reports are logged (optional; must outlive the service): a
  // line per report with its device, station and reason, at most
  // kRefusalLinesPerSecond a second — a station replaying a backlog must not
  // flood the log — and the next line written says how many were left out.
  void SetLogger(observe::Logger* logger) { logger_ = logger; }
  static constexpr int kRefusalLinesPerSecond = 20;

  // Counts and logs a report refused before it reached the writer (a station
  // the caller may not use, answered as unknown_station).
  void NoteRefused(uint32_t device, std::string_view station, IngestResult reason);

  // Checks the id (4 hex digits, stored uppercase), the name (1..100
  // characters) and the position (both or neither, in range), then stores the
  // station with the creation time. InvalidInput naming the field;
  // AlreadyExists.
  Result<Station> CreateStation(Station station);
  Result<std::vector<Station>> ListStations(std::string_view group_subtree);
  // Station `id` (either case) if it is listed in `caller_group`'s subtree;
  // NotFound otherwise, as if it did not exist.
  Result<Station> GetVisibleStation(std::string_view caller_group, std::string_view id);
  // Replaces a station's name and position, checked as CreateStation does
  // (its id, group and creation time stay), while what is stored is still
  // `read` (storage::Store::UpdateStation); nullopt when another edit landed
  // meanwhile. NotFound.
  Result<std::optional<Station>> UpdateStation(Station station, const Station& read);
  // Deletes a station (as GetVisibleStation read it: of its group still):
  // its reports are refused from then on, by every instance (the store checks
  // the station again in each ingest transaction; see
  // UplinkReport::caller_group). NotFound.
  Status DeleteStation(const Station& station);

  // Whether a principal of `caller_group` may report what `station` hears:
  // the station exists and its group is `caller_group` or below it. Groups
  // never move and a station's group changes only by its deletion, so answers
  // are cached (bounded): a "yes" is trusted (the store checks the station
  // again when it takes the report), a "no" is asked of the store again, since
  // the station may have been listed again in another group since.
  Result<bool> MayReport(std::string_view caller_group, std::string_view station);
  // The same from the caches only: nullopt when the store would have to be
  // asked (for a caller that must not block), which includes every "no".
  std::optional<bool> MayReportCached(std::string_view caller_group, std::string_view station);

  // The group whose share of held downlink frames (DownlinkOptions::
  // max_frames_per_client) a principal of `group` takes: its top-level group
  // (the root's child above or at it), or the root group itself. So the API
  // users and subgroups of one customer share one share. Cached (bounded).
  Result<std::string> TenantOf(std::string_view group);
  // The same from the cache only: nullopt when the store would be asked.
  std::optional<std::string> TenantOfCached(std::string_view group);

  // Queues the reports; `done` runs once they are durable (see UplinkWriter),
  // and counts each decision. False when the queue is full: answer 503.
  bool Ingest(std::vector<UplinkReport> reports, UplinkWriter::Done done);

  // Applies a device's SERVICE report (Store::IngestService, with the
  // writer's de-duplication window) now, on the caller's thread: service
  // reports are rare next to uplinks. Counts the decision like an uplink's and
  // runs the writer's after_commit (the dispatcher's wake-up) when accepted.
  Result<storage::IngestDecision> IngestService(const ServiceReport& report);

  // Statistics of a device or a device type (Store::GetStats).
  Result<std::vector<StatsBucket>> GetStats(const StatsQuery& query);
  // Messages of a device in the last 24 hours, 7 days and 30 days, counted
  // from its hourly statistics (whole hours: the current one included).
  struct MessageMetric {
    int64_t last_day = 0, last_week = 0, last_month = 0;
  };
  Result<MessageMetric> GetMessageMetric(uint32_t device);
  // Frames and downlinks of a device per day of `year` (UTC): 365 or 366
  // entries, January 1st first. InvalidInput: a year outside 1970..9999.
  struct DayCount {
    int64_t frames = 0, downlinks = 0;
  };
  Result<std::vector<DayCount>> GetConsumptions(uint32_t device, int year);

  Result<storage::MessagePage> ListMessages(const storage::MessageQuery& query);
  // The deliveries of the page's messages (their "callbacks"), with the
  // destinations `show` allows (FillDestinations).
  Result<std::vector<Delivery>> ListMessageDeliveries(const std::vector<Message>& messages,
                                                      const ShowDestination& show);

  // Checks every callback (integration::ValidateCallback: patterns, variables,
  // method, URL, what its channel needs), then stores them all for device type
  // `type` with new ids, or none. InvalidInput naming the item and field.
  Result<std::vector<Callback>> CreateCallbacks(std::string_view type,
                                                std::vector<Callback> callbacks);
  // Checks `callback` as CreateCallbacks does (errors name the field without an
  // item: "url: ..."), then replaces the definition of callback `callback.id`
  // (storage::Store::UpdateCallback says what is kept; `keep_enabled`: the
  // edit did not name `enabled`). NotFound.
  Result<Callback> EditCallback(Callback callback, bool keep_enabled);
  Result<Callback> GetCallback(std::string_view id);
  Result<std::vector<Callback>> ListCallbacks(std::string_view type);
  Status DeleteCallback(std::string_view id);
  Status SetCallbackEnabled(std::string_view id, bool enabled);
  Status SetDownlinkHook(std::string_view id);
  // Failed and dead deliveries of `group_subtree` (storage::Store::
  // ListFailedDeliveries), with the destinations `show` allows. `more`: a
  // delivery follows the page's last (looked up only for a full page).
  struct FailedDeliveryPage {
    std::vector<Delivery> deliveries;
    bool more = false;
  };
  Result<FailedDeliveryPage> ListFailedDeliveries(
      std::string_view group_subtree, int limit, int offset,
      std::optional<storage::FailedDeliveryCursor> after,
      const storage::FailedDeliveryFilter& filter, const ShowDestination& show);

 private:
  storage::Store& store_;
  UplinkWriter& writer_;
  Clock clock_;
  void Count(IngestResult result);
  void LogRefused(uint32_t device, std::string_view station, IngestResult reason);
  // Whether `group` is `caller_group` or below it (cached: groups never move).
  Result<bool> Covers(std::string_view caller_group, const std::string& group);

  DownlinkArbiter* downlinks_ = nullptr;
  observe::Logger* logger_ = nullptr;
  std::vector<observe::Counter*> results_;  // by IngestResult code; empty without metrics
  observe::Counter* busy_ = nullptr;        // requests refused: the writer's queue was full
  std::mutex mu_;
  observe::LineBudget refusal_lines_{kRefusalLinesPerSecond};
  std::unordered_map<std::string, std::string> station_groups_;  // id -> group
  std::unordered_map<std::string, bool> covers_;          // caller group + '/' + station group
  std::unordered_map<std::string, std::string> tenants_;  // group -> TenantOf
};

}  // namespace roost::pipeline
