// Statistics kept at ingest (hourly rows per device and per device type) and
// SERVICE reports, which feed them.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

constexpr int64_t kScopeDevice = 0;
constexpr int64_t kScopeType = 1;

EpochMillis HourOf(EpochMillis t) {
  // Floor, also before 1970: a negative time still lands in the hour that holds it.
  EpochMillis h = t / kMillisPerHour * kMillisPerHour;
  return h > t ? h - kMillisPerHour : h;
}

// Rows of one multi-row upsert: a power of two up to this, so that a batch of
// n rows takes n / 256 statements and one per bit of the remainder, while a
// connection prepares (and caches, by text) at most nine texts per table.
constexpr size_t kMaxRowsPerUpsert = 256;
// The SERVICE reports of a kind kept per device to match copies against
// (IngestService): a late report's copy is found among them.
constexpr int64_t kKeptServiceReports = 8;

// "<head> VALUES ($1, …, $columns), (…), … <tail>" for `rows` rows.
std::string MultiRowUpsert(std::string_view head, size_t rows, int columns, std::string_view tail) {
  std::string sql(head);
  sql += " VALUES ";
  int param = 1;
  for (size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (int col = 0; col < columns; ++col) {
      if (col > 0) sql += ", ";
      sql += "$" + std::to_string(param++);
    }
    sql += ")";
  }
  sql += " ";
  sql += tail;
  return sql;
}

// Writes `rows` (in their order) with as few multi-row statements as the
// sizes above allow; `bind(q, first, row)` binds one row's `columns` values
// from parameter `first` on.
template <typename Row, typename BindRow>
Status UpsertRows(Connection& c, std::string_view head, int columns, std::string_view tail,
                  const std::vector<Row>& rows, const BindRow& bind) {
  size_t at = 0;
  while (at < rows.size()) {
    size_t n = kMaxRowsPerUpsert;
    while (n > rows.size() - at) n /= 2;
    ROOST_SQL_QUERY(q, c, MultiRowUpsert(head, n, columns, tail), "add statistics");
    for (size_t i = 0; i < n; ++i) bind(q, static_cast<int>(i) * columns + 1, rows[at + i]);
    ROOST_RETURN_IF_ERROR(q.Run());
    at += n;
  }
  return Status::Ok();
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

void StatsDeltas::AddReception(const Message& m, const Reception& r, bool new_message) {
  for (auto& bucket :
       {&Bucket(kScopeDevice, m.device.ToApi(), m.time), &Bucket(kScopeType, m.type, m.time)}) {
    if (new_message) {
      bucket->messages += 1;
      bucket->bytes += static_cast<int64_t>(m.data.size() / 2);
    }
    bucket->receptions += 1;
    bucket->snr_sum += r.snr;
    bucket->rssi_sum += r.rssi;
    if (r.freq > 0) bucket->frequencies[(r.freq + 500) / 1000] += 1;
  }
}

void StatsDeltas::AddStatus(const std::string& device, const std::string& type, EpochMillis time,
                            double temp, double batt) {
  for (auto& bucket : {&Bucket(kScopeDevice, device, time), &Bucket(kScopeType, type, time)}) {
    bucket->status_reports += 1;
    bucket->temp_sum += temp;
    bucket->batt_sum += batt;
  }
}

void StatsDeltas::AddDownlink(const std::string& device, const std::string& type,
                              EpochMillis time) {
  Bucket(kScopeDevice, device, time).downlinks += 1;
  Bucket(kScopeType, type, time).downlinks += 1;
}

StatsBucket& StatsDeltas::Bucket(int64_t scope, const std::string& id, EpochMillis time) {
  StatsBucket& b = buckets_[Key{scope, id, HourOf(time)}];
  b.start = HourOf(time);
  return b;
}

Status SqlStore::AddStatsOn(Connection& c, const StatsDeltas& deltas) {
  if (deltas.buckets_.empty()) return Status::Ok();
  // Rows in one order, (scope, id, hour[, frequency]), in every transaction:
  // two instances adding to one device type's hour never wait on each other in
  // a cycle (PostgreSQL takes a multi-row INSERT's rows in their order).
  using Entry = std::pair<const StatsDeltas::Key, StatsBucket>;
  std::vector<const Entry*> buckets;
  struct FrequencyRow {
    const StatsDeltas::Key* key;
    int64_t khz;
    int64_t receptions;
  };
  std::vector<FrequencyRow> frequencies;
  buckets.reserve(deltas.buckets_.size());
  for (const Entry& e : deltas.buckets_) {
    buckets.push_back(&e);
    for (const auto& [khz, n] : e.second.frequencies) frequencies.push_back({&e.first, khz, n});
  }
  ROOST_RETURN_IF_ERROR(UpsertRows(
      c,
      "INSERT INTO hourly_stats (scope, scope_id, hour, messages, bytes, receptions, snr_sum, "
      "rssi_sum, downlinks, status_reports, temp_sum, batt_sum)",
      12,
      "ON CONFLICT (scope, scope_id, hour) DO UPDATE SET "
      "messages = hourly_stats.messages + excluded.messages, "
      "bytes = hourly_stats.bytes + excluded.bytes, "
      "receptions = hourly_stats.receptions + excluded.receptions, "
      "snr_sum = hourly_stats.snr_sum + excluded.snr_sum, "
      "rssi_sum = hourly_stats.rssi_sum + excluded.rssi_sum, "
      "downlinks = hourly_stats.downlinks + excluded.downlinks, "
      "status_reports = hourly_stats.status_reports + excluded.status_reports, "
      "temp_sum = hourly_stats.temp_sum + excluded.temp_sum, "
      "batt_sum = hourly_stats.batt_sum + excluded.batt_sum",
      buckets, [](Query& q, int p, const Entry* e) {
        const StatsDeltas::Key& key = e->first;
        const StatsBucket& b = e->second;
        q.Bind(p, key.scope).BindRef(p + 1, key.id).Bind(p + 2, key.hour);
        q.Bind(p + 3, b.messages).Bind(p + 4, b.bytes).Bind(p + 5, b.receptions);
        q.Bind(p + 6, std::optional<double>(b.snr_sum));
        q.Bind(p + 7, std::optional<double>(b.rssi_sum));
        q.Bind(p + 8, b.downlinks).Bind(p + 9, b.status_reports);
        q.Bind(p + 10, std::optional<double>(b.temp_sum));
        q.Bind(p + 11, std::optional<double>(b.batt_sum));
      }));
  return UpsertRows(
      c, "INSERT INTO hourly_frequencies (scope, scope_id, hour, freq_khz, receptions)", 5,
      "ON CONFLICT (scope, scope_id, hour, freq_khz) DO UPDATE SET receptions = "
      "hourly_frequencies.receptions + excluded.receptions",
      frequencies, [](Query& q, int p, const FrequencyRow& f) {
        q.Bind(p, f.key->scope).BindRef(p + 1, f.key->id).Bind(p + 2, f.key->hour);
        q.Bind(p + 3, f.khz).Bind(p + 4, f.receptions);
      });
}

Result<std::vector<StatsBucket>> SqlStore::GetStats(const StatsQuery& query) {
  if (query.device.has_value() == !query.type.empty()) {
    return Status::InvalidInput("statistics are of one device or of one device type");
  }
  if (query.to < query.from) return Status::InvalidInput("to must not be before from");
  const int64_t step = query.step == StatsStep::kDay ? kMillisPerDay : kMillisPerHour;
  // Whole buckets: `from` rounded down to its step.
  EpochMillis from = query.from / step * step;
  if (from > query.from) from -= step;
  const int64_t scope = query.device ? kScopeDevice : kScopeType;
  const std::string id = query.device ? SigfoxId{*query.device}.ToApi() : query.type;
  ROOST_SQL_LEASE(c);
  std::vector<StatsBucket> out;
  {
    // Integer division on both engines: a day is the sum of its hours.
    ROOST_SQL_QUERY(q, c,
                    "SELECT (hour / $4) * $4 AS b, SUM(messages), SUM(bytes), SUM(receptions), "
                    "SUM(snr_sum), SUM(rssi_sum), SUM(downlinks), SUM(status_reports), "
                    "SUM(temp_sum), SUM(batt_sum) FROM hourly_stats WHERE scope = $1 AND "
                    "scope_id = $2 AND hour >= $3 AND hour < $5 GROUP BY b ORDER BY b",
                    "get statistics");
    q.Bind(1, scope).BindRef(2, id).Bind(3, from).Bind(4, step).Bind(5, query.to);
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      StatsBucket b;
      b.start = q.Int(0);
      b.messages = q.Int(1);
      b.bytes = q.Int(2);
      b.receptions = q.Int(3);
      b.snr_sum = q.OptDouble(4).value_or(0);
      b.rssi_sum = q.OptDouble(5).value_or(0);
      b.downlinks = q.Int(6);
      b.status_reports = q.Int(7);
      b.temp_sum = q.OptDouble(8).value_or(0);
      b.batt_sum = q.OptDouble(9).value_or(0);
      out.push_back(std::move(b));
    }
  }
  if (out.empty()) return out;
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT (hour / $4) * $4 AS b, freq_khz, SUM(receptions) FROM "
                    "hourly_frequencies WHERE scope = $1 AND scope_id = $2 AND hour >= $3 AND "
                    "hour < $5 GROUP BY b, freq_khz ORDER BY b, freq_khz",
                    "get statistics");
    q.Bind(1, scope).BindRef(2, id).Bind(3, from).Bind(4, step).Bind(5, query.to);
    size_t at = 0;
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const EpochMillis start = q.Int(0);
      while (at < out.size() && out[at].start < start) ++at;
      if (at < out.size() && out[at].start == start) out[at].frequencies[q.Int(1)] = q.Int(2);
    }
  }
  return out;
}

Result<IngestDecision> SqlStore::IngestService(const ServiceReport& r, const IngestPolicy& policy) {
  IngestDecision decision;
  ROOST_SQL_LEASE(c);
  const bool postgres = c.dialect().engine == driver::Engine::kPostgres;
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("ingest service report"));
  std::string type, device_tree;
  if (postgres) {
    // The device is locked by a statement of its own, as in IngestUplinks:
    // joined to its group, one that waited for a transfer to another group
    // re-read the device but not the group, and lost it (unknown device).
    ROOST_SQL_QUERY(q, c, "SELECT id FROM devices WHERE id = $1 FOR NO KEY UPDATE",
                    "ingest service report");
    auto row = q.Bind(1, int64_t{r.device.value}).Next();
    if (!row.ok()) return row.status();
    if (!*row) {  // registered since, if at all: unknown to this report
      decision.result = IngestResult::kUnknownDevice;
      return decision;
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT d.type_id, g.tree FROM devices d JOIN groups g ON g.id = d.group_id "
                    "WHERE d.id = $1",
                    "ingest service report");
    auto row = q.Bind(1, int64_t{r.device.value}).Next();
    if (!row.ok()) return row.status();
    if (!*row) {
      decision.result = IngestResult::kUnknownDevice;
      return decision;
    }
    type = q.Text(0);
    device_tree = q.Text(1);
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT g.tree FROM stations s JOIN groups g ON g.id = s.group_id WHERE "
                    "s.id = $1",
                    "ingest service report");
    auto row = q.Bind(1, r.station).Next();
    if (!row.ok()) return row.status();
    std::optional<std::string> listed;  // the tree of the group listing the station
    if (*row) listed = q.Text(0);
    q.Reset();
    if (!r.public_network_caller.empty()) {
      // As an uplink of a public network (IngestUplinks): a station the
      // caller does not list is the network's, heard for the caller's subtree.
      ROOST_SQL_QUERY(g, c, "SELECT tree FROM groups WHERE id = $1", "ingest service report");
      auto caller = g.Bind(1, r.public_network_caller).Next();
      if (!caller.ok()) return caller.status();
      if (!*caller) {
        decision.result = IngestResult::kUnknownStation;
        return decision;
      }
      const std::string caller_tree = g.Text(0);
      if (!listed || !listed->starts_with(caller_tree)) listed = caller_tree;
    }
    if (!listed) {
      decision.result = IngestResult::kUnknownStation;
      return decision;
    }
    const std::string station_tree = *listed;
    if (!r.caller_group.empty()) {
      // As if it did not exist: listed outside the caller's subtree.
      ROOST_SQL_QUERY(g, c, "SELECT tree FROM groups WHERE id = $1", "ingest service report");
      auto caller = g.Bind(1, r.caller_group).Next();
      if (!caller.ok()) return caller.status();
      if (!*caller || !station_tree.starts_with(g.Text(0))) {
        decision.result = IngestResult::kUnknownStation;
        return decision;
      }
    }
    if (!device_tree.starts_with(station_tree)) {
      decision.result = IngestResult::kForeignStation;
      return decision;
    }
  }
  const int64_t kind = static_cast<int64_t>(r.type);
  const int64_t seq = r.seq_number.value_or(-1);
  {
    // The same report from another station: same sequence number within the
    // window; when either has none, any report of the kind within the window
    // (the stations' clocks differ, and a device sends a kind of service
    // report far less often than that). Matched against the device's last
    // kKeptServiceReports of the kind, so that a late report's copy (a
    // station's backlog) is found too, not only the latest's.
    ROOST_SQL_QUERY(q, c,
                    "SELECT 1 FROM service_reports WHERE device_id = $1 AND kind = $2 AND "
                    "time >= $3 AND time <= $4 AND ($5 < 0 OR seq_number < 0 OR "
                    "seq_number = $5) LIMIT 1",
                    "ingest service report");
    q.Bind(1, int64_t{r.device.value}).Bind(2, kind);
    q.Bind(3, r.time - policy.dedup_window_ms).Bind(4, r.time + policy.dedup_window_ms);
    auto row = q.Bind(5, seq).Next();
    if (!row.ok()) return row.status();
    if (*row) {
      decision.result = IngestResult::kDuplicate;
      return decision;
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO service_reports (device_id, kind, time, seq_number) VALUES ($1, "
                    "$2, $3, $4) ON CONFLICT (device_id, kind, time, seq_number) DO NOTHING",
                    "ingest service report");
    q.Bind(1, int64_t{r.device.value}).Bind(2, kind).Bind(3, r.time).Bind(4, seq);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  {
    // Only the last kKeptServiceReports of the kind stay: the table holds a
    // few rows per device, however long it has sent.
    ROOST_SQL_QUERY(q, c,
                    "DELETE FROM service_reports WHERE device_id = $1 AND kind = $2 AND time < "
                    "(SELECT time FROM service_reports WHERE device_id = $1 AND kind = $2 "
                    "ORDER BY time DESC LIMIT 1 OFFSET $3)",
                    "ingest service report");
    q.Bind(1, int64_t{r.device.value}).Bind(2, kind).Bind(3, kKeptServiceReports - 1);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  {
    // The device spoke: a device that sends only service frames (keep-alive
    // STATUS reports) is not silent (keepAlive, lastCom). Its last frame's
    // time, which the replay check reads from last_time when it is not kept
    // apart, is kept apart first.
    ROOST_SQL_QUERY(q, c,
                    "UPDATE devices SET last_frame_time = COALESCE(last_frame_time, last_time), "
                    "last_time = $2 WHERE id = $1 AND (last_time IS NULL OR last_time < $2)",
                    "ingest service report");
    ROOST_RETURN_IF_ERROR(q.Bind(1, int64_t{r.device.value}).Bind(2, r.time).Run());
  }
  Delivery prototype;
  prototype.device = r.device.value;
  prototype.message_time = r.time;
  // A report without a number is keyed with -2, not -1: an event's
  // deliveries are keyed (device, event time, -1) (WatchSilence), and a
  // report at the same millisecond would be listed as that event's.
  prototype.seq_number = seq >= 0 ? seq : -2;
  prototype.station = r.station;
  nlohmann::json values = nlohmann::json::object();
  CallbackSubtype subtype = CallbackSubtype::kStatus;
  if (r.type == ServiceReportType::kStatus) {
    StatsDeltas deltas;
    deltas.AddStatus(r.device.ToApi(), type, r.time, r.temp, r.batt);
    ROOST_RETURN_IF_ERROR(AddStatsOn(c, deltas));
    values["temp"] = FormatValue(r.temp);
    values["batt"] = FormatValue(r.batt);
  } else {
    subtype = CallbackSubtype::kAcknowledge;
    values["downlinkAck"] = r.downlink_ack ? "true" : "false";
    // The downlink being confirmed: the device's latest one not confirmed yet.
    ROOST_SQL_QUERY(q, c,
                    std::string("SELECT ") + kMessageColumns +
                        " FROM messages WHERE device_id = $1 AND time <= $2 AND "
                        "downlink_station <> '' AND downlink_data <> '' AND downlink_ack IS NULL "
                        "ORDER BY time DESC LIMIT 1",
                    "ingest service report");
    q.Bind(1, int64_t{r.device.value}).Bind(2, r.time);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (*row) {
      Message m = MessageFromRow(q);
      q.Reset();
      ROOST_SQL_QUERY(u, c,
                      "UPDATE messages SET downlink_ack = $4 WHERE device_id = $1 AND time = $2 "
                      "AND seq_number = $3",
                      "ingest service report");
      u.Bind(1, int64_t{m.device.value}).Bind(2, m.time).Bind(3, m.seq_number);
      ROOST_RETURN_IF_ERROR(u.Bind(4, int64_t{r.downlink_ack ? 1 : 0}).Run());
      m.downlink_ack = r.downlink_ack;
      decision.message = std::move(m);
    }
  }
  prototype.variables = values.dump();
  ROOST_RETURN_IF_ERROR(
      QueueCallbackDeliveries(c, type, CallbackType::kService, subtype, prototype, policy.now));
  ROOST_RETURN_IF_ERROR(tx.Commit("ingest service report"));
  decision.result = IngestResult::kAccepted;
  return decision;
}

}  // namespace roost::storage::sql
