// Messages: ingest (de-duplication and the replay check, decided once per frame
// even when several instances share the database) and message lists.
#include <simdjson.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <unordered_set>

#include "core/json_number.h"
#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

// The device's SNR and RSSI averages move by this share of each new message's
// value: an exponential average that weighs roughly the last 25 messages, as
// the Sigfox Back-End's averages do, without keeping them.
constexpr double kAverageWeight = 2.0 / 26.0;

// The most stations a message lists in its rinfos; a later copy of the frame
// from another station is still a duplicate, but joins nothing. A real frame
// is heard by a few stations, a few dozen in a dense city; the bound is for a
// client that posts one frame as from thousands of station ids, each copy of
// which would otherwise rewrite an ever longer row on the one writer.
constexpr size_t kMaxReceptions = 64;

// Station ids are 4 hex digits (checked at ingest and at station creation), so
// nothing in the array needs escaping.
std::string EncodeRinfos(const std::vector<Reception>& rinfos) {
  std::string out = "[";
  for (size_t i = 0; i < rinfos.size(); ++i) {
    const Reception& r = rinfos[i];
    if (i > 0) out += ',';
    out += "{\"station\":\"";
    out += r.station;
    out += "\",\"rssi\":";
    AppendJsonNumber(out, r.rssi);
    out += ",\"snr\":";
    AppendJsonNumber(out, r.snr);
    out += ",\"freq\":";
    out += std::to_string(r.freq);
    out += ",\"lat\":";
    AppendJsonNumber(out, r.lat);
    out += ",\"lng\":";
    AppendJsonNumber(out, r.lng);
    out += ",\"delay\":";
    out += std::to_string(r.delay);
    if (r.public_network) out += ",\"public\":true";
    out += '}';
  }
  out += ']';
  return out;
}

std::optional<double> OptDouble(simdjson::dom::object o, const char* key) {
  double v = 0;
  if (o[key].get(v) != simdjson::SUCCESS) return std::nullopt;  // absent, null or not a number
  return v;
}

// Read back for every message of a page and every de-duplication: simdjson
// with one parser per thread, rather than a JSON tree per row.
std::vector<Reception> DecodeRinfos(const std::string& text) {
  std::vector<Reception> out;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::array rows;
  if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(rows) !=
      simdjson::SUCCESS) {
    return out;
  }
  out.reserve(rows.size());
  for (simdjson::dom::element e : rows) {
    simdjson::dom::object o;
    if (e.get(o) != simdjson::SUCCESS) continue;
    Reception r;
    std::string_view station;
    if (o["station"].get(station) == simdjson::SUCCESS) r.station = station;
    r.rssi = OptDouble(o, "rssi").value_or(0);
    r.snr = OptDouble(o, "snr").value_or(0);
    int64_t n = 0;
    if (o["freq"].get(n) == simdjson::SUCCESS) r.freq = n;
    r.lat = OptDouble(o, "lat");
    r.lng = OptDouble(o, "lng");
    if (o["delay"].get(n) == simdjson::SUCCESS) r.delay = n;
    bool public_network = false;
    if (o["public"].get(public_network) == simdjson::SUCCESS) r.public_network = public_network;
    out.push_back(std::move(r));
  }
  return out;
}

void MoveAverage(std::optional<double>& average, double value) {
  average = average ? *average + (value - *average) * kAverageWeight : value;
}

// What ingest knows of a device for the rest of the batch.
struct DeviceUplink {
  std::string type, group, tree;
  std::optional<int64_t> seq;
  std::optional<EpochMillis> last;   // the time of the frame numbered `seq`
  std::optional<EpochMillis> heard;  // the latest time it was heard (last_time)
  std::optional<double> avg_snr, avg_rssi;
  PayloadType payload_type = PayloadType::kNone;
  std::string payload_config;
  bool disengaged = false;
  bool disengage_used = false;
  bool changed = false;
  Message* last_message = nullptr;  // the frame of `seq`, once looked up or made
  bool last_looked_up = false;
  // The device's messages this transaction read (besides those it made), so
  // that reports of one frame join one Message. Empty but for a replay.
  std::vector<Message*> read;
};

struct StationInfo {
  std::string tree;  // its group's
  std::optional<double> lat, lng;
};

}  // namespace

Message MessageFromRow(const Query& q) {
  Message m;
  m.device = SigfoxId{static_cast<uint32_t>(q.Int(0))};
  m.time = q.Int(1);
  m.seq_number = q.Int(2);
  m.type = q.Text(3);
  m.group = q.Text(4);
  m.data = q.Text(5);
  m.decoded = q.Text(6);
  m.rinfos = DecodeRinfos(q.Text(7));
  // column 8, nb_frames, is rinfos.size(): kept for queries that count frames.
  m.ack = q.Int(9) != 0;
  auto lat = q.OptDouble(10), lng = q.OptDouble(11), radius = q.OptDouble(12);
  if (lat && lng) m.computed_location = ComputedLocation{*lat, *lng, radius.value_or(0)};
  const int64_t quality = q.Int(13);
  m.link_quality =
      quality >= 0 && quality <= 3 ? static_cast<LinkQuality>(quality) : LinkQuality::kLimit;
  m.undecoded = q.Text(14);
  m.downlink_data = q.Text(15);
  m.downlink_station = q.Text(16);
  if (auto ack = q.OptInt(17)) m.downlink_ack = *ack != 0;
  m.downlink_info = q.Text(18);
  return m;
}

// The message of `device` with sequence number `seq` and a time in
// [from, to]: one this transaction already holds (read, or made: in
// `created`, when given), else one read from the store (then held). nullptr
// when there is none. `created` is scanned whole, so it is given only for a
// report that is not ahead of its device's last one (a replay, rare).
static Result<Message*> FindFrame(driver::Connection& c, DeviceUplink& d,
                                  std::deque<Message>* created, std::deque<Message>& looked_up,
                                  uint32_t device, EpochMillis from, EpochMillis to, int64_t seq) {
  auto is_it = [&](const Message& m) {
    return m.device.value == device && m.seq_number == seq && m.time >= from && m.time <= to;
  };
  for (Message* m : d.read) {
    if (is_it(*m)) return m;
  }
  if (created != nullptr) {
    for (Message& m : *created) {
      if (is_it(m)) return &m;
    }
  }
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kMessageColumns +
                      " FROM messages WHERE device_id = $1 AND time >= $2 AND time <= $3 AND "
                      "seq_number = $4 ORDER BY time LIMIT 1",
                  "ingest uplinks");
  q.Bind(1, int64_t{device}).Bind(2, from).Bind(3, to).Bind(4, seq);
  auto row = q.Next();
  if (!row.ok()) return row.status();
  if (!*row) return static_cast<Message*>(nullptr);
  Message* m = &looked_up.emplace_back(MessageFromRow(q));
  d.read.push_back(m);
  return m;
}

Result<std::vector<IngestDecision>> SqlStore::IngestUplinks(std::span<const UplinkReport> reports,
                                                            const IngestPolicy& policy) {
  if (reports.empty()) return std::vector<IngestDecision>{};
  ROOST_SQL_LEASE(c);
  // Almost always once. Frames found stored when their rows are inserted (see
  // IngestUplinksOn) make another try, which takes the reports of them as
  // copies; that try may meet others (a report behind one frame was ahead of
  // the next), so it goes on while each try finds new ones: at most one try
  // per report.
  FrameKeys stored;
  for (;;) {
    FrameKeys conflicts;
    auto decided = IngestUplinksOn(c, reports, policy, stored, conflicts);
    if (!decided.ok() || conflicts.empty()) return decided;
    const size_t known = stored.size();
    stored.insert(conflicts.begin(), conflicts.end());
    if (stored.size() == known) {
      return Status::Internal("ingest uplinks: a frame found stored was not found again");
    }
  }
}

Result<std::vector<IngestDecision>> SqlStore::IngestUplinksOn(Connection& c,
                                                              std::span<const UplinkReport> reports,
                                                              const IngestPolicy& policy,
                                                              const FrameKeys& stored,
                                                              FrameKeys& conflicts) {
  std::vector<IngestDecision> out(reports.size());
  std::vector<int64_t> device_ids;
  std::map<std::string, std::optional<StationInfo>> stations;
  device_ids.reserve(reports.size());
  for (const UplinkReport& r : reports) {
    device_ids.push_back(int64_t{r.device.value});
    stations.emplace(r.station, std::nullopt);
  }
  std::sort(device_ids.begin(), device_ids.end());
  device_ids.erase(std::unique(device_ids.begin(), device_ids.end()), device_ids.end());

  const bool postgres = c.dialect().engine == driver::Engine::kPostgres;
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("ingest uplinks"));
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT g.tree, s.lat, s.lng FROM stations s "
                    "JOIN groups g ON g.id = s.group_id WHERE s.id = $1",
                    "ingest uplinks");
    for (auto& [id, info] : stations) {
      auto row = q.Bind(1, id).Next();
      if (!row.ok()) return row.status();
      if (*row) info = StationInfo{q.Text(0), q.OptDouble(1), q.OptDouble(2)};
      q.Reset();
    }
  }
  // The subtrees that public network stations' reports count for
  // (UplinkReport::public_network_caller), and those the callers' stations
  // must be listed in (caller_group): the callers' groups'.
  std::map<std::string, std::string> caller_trees;
  for (const UplinkReport& r : reports) {
    if (!r.public_network_caller.empty()) caller_trees.emplace(r.public_network_caller, "");
    if (!r.caller_group.empty()) caller_trees.emplace(r.caller_group, "");
  }
  if (!caller_trees.empty()) {
    ROOST_SQL_QUERY(q, c, "SELECT tree FROM groups WHERE id = $1", "ingest uplinks");
    for (auto& [group, tree] : caller_trees) {
      auto row = q.Bind(1, group).Next();
      if (!row.ok()) return row.status();
      if (*row) tree = q.Text(0);
      q.Reset();
    }
  }
  std::map<uint32_t, DeviceUplink> devices;
  std::unordered_set<int64_t> locked;  // PostgreSQL: the devices this batch locked
  if (postgres) {
    // Locked in id order, so that two instances' batches never wait on each
    // other in a cycle; only the device rows, not their type or group. In a
    // statement of its own: one that also joined the type, group and flag,
    // after waiting for a transaction that moved the device to another type
    // or group (or used its disengage flag), re-read the device's row but not
    // the rows joined to it, and lost the device (refused as unknown). The
    // read below, a statement started once the locks are held, sees all of
    // it as committed. Only the devices locked here are taken: one registered
    // between the two statements is unknown to this batch, as it was before.
    ROOST_SQL_QUERY(q, c,
                    std::string("SELECT id FROM devices WHERE id ") + c.dialect().in_int_list(1) +
                        " ORDER BY id FOR NO KEY UPDATE",
                    "ingest uplinks");
    auto ids = ReadAll<int64_t>(q.BindIntList(1, device_ids),
                                [](driver::Query& row) { return row.Int(0); });
    if (!ids.ok()) return ids.status();
    locked.insert(ids->begin(), ids->end());
  }
  {
    ROOST_SQL_QUERY(
        q, c,
        std::string("SELECT d.id, d.type_id, d.group_id, g.tree, d.sequence_number, "
                    "COALESCE(d.last_frame_time, d.last_time), d.average_snr, d.average_rssi, "
                    "t.payload_type, t.payload_config, "
                    "CASE WHEN x.device_id IS NULL THEN 0 ELSE 1 END, d.last_time "
                    "FROM devices d JOIN groups g ON g.id = d.group_id "
                    "JOIN device_types t ON t.id = d.type_id "
                    "LEFT JOIN sequence_check_disengaged x ON x.device_id = d.id "
                    "WHERE d.id ") +
            c.dialect().in_int_list(1),
        "ingest uplinks");
    q.BindIntList(1, device_ids);
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      DeviceUplink d;
      d.type = q.Text(1);
      d.group = q.Text(2);
      d.tree = q.Text(3);
      d.seq = q.OptInt(4);
      d.last = q.OptInt(5);
      d.avg_snr = q.OptDouble(6);
      d.avg_rssi = q.OptDouble(7);
      d.payload_type = static_cast<PayloadType>(q.Int(8));
      d.payload_config = q.Text(9);
      d.disengaged = q.Int(10) != 0;
      d.heard = q.OptInt(11);
      if (postgres && !locked.contains(q.Int(0))) continue;
      devices.emplace(static_cast<uint32_t>(q.Int(0)), std::move(d));
    }
  }

  std::vector<DeliveryTask> handed;  // IngestPolicy::handoff, once committed
  size_t due_others = 0;             // deliveries due at once and not handed off
  std::deque<Message> created;       // new messages (stable addresses)
  std::deque<Message> looked_up;
  std::unordered_set<const Message*> merged;  // looked-up messages that gained a station
  std::vector<std::pair<const Message*, size_t>> joined;          // (message, its reception) joined
  std::vector<const Message*> frame_of(reports.size(), nullptr);  // the message a copy joined
  auto complete = [&](Message& m, const DeviceUplink& d) {
    if (policy.complete) policy.complete(m, d.payload_type, d.payload_config);
  };
  for (size_t i = 0; i < reports.size(); ++i) {
    const UplinkReport& r = reports[i];
    IngestDecision& decision = out[i];
    auto dev = devices.find(r.device.value);
    if (dev == devices.end()) {
      decision.result = IngestResult::kUnknownDevice;
      continue;
    }
    DeviceUplink& d = dev->second;
    std::optional<StationInfo> station = stations[r.station];
    bool public_network = false;
    if (!r.public_network_caller.empty()) {
      const std::string& tree = caller_trees[r.public_network_caller];
      if (!station || !station->tree.starts_with(tree)) {
        station.reset();
        if (!tree.empty()) station = StationInfo{tree, std::nullopt, std::nullopt};
        public_network = station.has_value();
      }
    } else if (!r.caller_group.empty() && station) {
      const std::string& tree = caller_trees[r.caller_group];
      if (tree.empty() || !station->tree.starts_with(tree)) station.reset();
    }
    if (!station) {
      decision.result = IngestResult::kUnknownStation;
      continue;
    }
    if (!d.tree.starts_with(station->tree)) {
      decision.result = IngestResult::kForeignStation;
      continue;
    }
    Reception reception{r.station,    r.rssi,       r.snr, r.freq,
                        station->lat, station->lng, 0,     public_network};
    decision.public_network = public_network;
    // The frame this report may be another station's copy of: the device's
    // last one, or, when the report is behind it, an earlier frame within the
    // window (reports of two frames can arrive out of order).
    const bool same_as_last = d.seq && *d.seq == r.seq_number && d.last;
    const bool behind = !same_as_last && d.seq && !IsSequenceAhead(*d.seq, r.seq_number);
    Message* frame = nullptr;
    if (same_as_last) {
      if (!d.last_looked_up) {
        d.last_looked_up = true;
        // Nothing of the device was made yet (that would be its last frame).
        auto found = FindFrame(c, d, nullptr, looked_up, r.device.value, *d.last, *d.last, *d.seq);
        if (!found.ok()) return found.status();
        d.last_message = *found;
      }
      frame = d.last_message;
    } else if (behind) {
      auto found =
          FindFrame(c, d, &created, looked_up, r.device.value, r.time - policy.dedup_window_ms,
                    r.time + policy.dedup_window_ms, r.seq_number);
      if (!found.ok()) return found.status();
      frame = *found;
    } else if (stored.contains({r.device.value, r.time, r.seq_number})) {
      // Ahead of the device's number, yet stored: an earlier try found it so.
      auto found =
          FindFrame(c, d, &created, looked_up, r.device.value, r.time, r.time, r.seq_number);
      if (!found.ok()) return found.status();
      frame = *found;
      if (frame != nullptr && (frame->type != d.type || frame->group != d.group)) {
        // Stored before the device moved to its type or group: another
        // owner's message, which no report joins now. Not a new frame either.
        decision.result = IngestResult::kReplay;
        continue;
      }
    }
    if (frame != nullptr && std::llabs(r.time - frame->time) <= policy.dedup_window_ms) {
      Message* m = frame;
      const bool known = std::any_of(m->rinfos.begin(), m->rinfos.end(), [&](const Reception& x) {
        return x.station == r.station && x.public_network == public_network;
      });
      if (!known && m->rinfos.size() < kMaxReceptions) {
        reception.delay = r.time - m->time;
        m->rinfos.push_back(std::move(reception));
        complete(*m, d);
        merged.insert(m);
        joined.emplace_back(m, m->rinfos.size() - 1);
      }
      decision.result = IngestResult::kDuplicate;
      frame_of[i] = m;
      continue;
    }
    // Not a copy: a new frame, unless its number is not ahead of the last
    // one. A disengaged device or type accepts it whatever its number.
    if (!d.disengaged && (same_as_last || behind)) {
      // The last frame again past the window: late (replay when its message
      // is purged). A frame behind the last with no copy within the window:
      // replay.
      decision.result =
          same_as_last && frame != nullptr ? IngestResult::kLate : IngestResult::kReplay;
      continue;
    }
    if (d.disengaged) {
      d.disengaged = false;
      d.disengage_used = true;
    }
    Message& m = created.emplace_back();
    m.device = r.device;
    m.type = d.type;
    m.group = d.group;
    m.time = r.time;
    m.seq_number = r.seq_number;
    m.data = r.data;
    m.ack = r.ack;
    m.rinfos.push_back(std::move(reception));
    complete(m, d);
    d.last_message = &m;
    d.last_looked_up = true;
    d.seq = r.seq_number;
    d.last = r.time;
    d.heard = d.heard ? std::max(*d.heard, r.time) : r.time;
    MoveAverage(d.avg_snr, r.snr);
    MoveAverage(d.avg_rssi, r.rssi);
    d.changed = true;
    decision.result = IngestResult::kAccepted;
    frame_of[i] = &m;  // given below, once later reports of the batch have joined it
  }
  // A message made in this batch and joined by later reports of the batch is
  // stored once, with every station, and each report's decision carries it so
  // (the live feed shows the accepted report's).
  for (size_t i = 0; i < reports.size(); ++i) {
    if (frame_of[i] == nullptr) continue;
    out[i].message = *frame_of[i];
    if (out[i].result == IngestResult::kDuplicate) {
      // The device's latest frame once the whole batch is taken.
      const auto d = devices.find(reports[i].device.value);
      out[i].behind_latest = d == devices.end() || d->second.last_message != frame_of[i];
    }
  }

  if (!created.empty()) {
    static constexpr driver::Column kColumns[] = {
        {"device_id", driver::ColumnType::kInt},
        {"time", driver::ColumnType::kInt},
        {"seq_number", driver::ColumnType::kInt},
        {"type_id", driver::ColumnType::kText},
        {"group_id", driver::ColumnType::kText},
        {"data", driver::ColumnType::kText},
        {"decoded", driver::ColumnType::kText},
        {"rinfos", driver::ColumnType::kText},
        {"nb_frames", driver::ColumnType::kInt},
        {"ack", driver::ColumnType::kInt},
        {"location_lat", driver::ColumnType::kDouble},
        {"location_lng", driver::ColumnType::kDouble},
        {"location_radius", driver::ColumnType::kDouble},
        {"link_quality", driver::ColumnType::kInt},
        {"undecoded", driver::ColumnType::kText},
    };
    std::vector<std::string> rinfos;
    rinfos.reserve(created.size());
    for (const Message& m : created) rinfos.push_back(EncodeRinfos(m.rinfos));
    // The same frame stored again is kept once, and the try ends: a report
    // ahead of its device's number is not looked up as a copy (that would
    // cost a read per message), but after a disengaged device's number went
    // back, a station may send a frame stored earlier once more. Counted,
    // delivered and made the device's last again, it would have had the
    // device's next real frame of that number refused as a replay.
    driver::BulkInsertSpec spec{"messages", kColumns,
                                "ON CONFLICT (device_id, time, seq_number) DO NOTHING", true,
                                "ingest uplinks"};
    spec.key_columns = 3;  // device_id, time, seq_number
    auto inserted = c.BulkInsert(spec, created.size(), [&](size_t i, driver::RowWriter& w) {
      const Message& m = created[i];
      w.Int(int64_t{m.device.value});
      w.Int(m.time);
      w.Int(m.seq_number);
      w.Text(m.type);
      w.Text(m.group);
      w.Text(m.data);
      w.Text(m.decoded);
      w.Text(rinfos[i]);
      w.Int(static_cast<int64_t>(m.rinfos.size()));
      w.Int(int64_t{m.ack ? 1 : 0});
      w.Double(m.computed_location ? std::optional<double>(m.computed_location->lat)
                                   : std::nullopt);
      w.Double(m.computed_location ? std::optional<double>(m.computed_location->lng)
                                   : std::nullopt);
      w.Double(m.computed_location ? std::optional<double>(m.computed_location->radius)
                                   : std::nullopt);
      w.Int(static_cast<int64_t>(m.link_quality));
      w.Text(m.undecoded);
    });
    if (!inserted.ok()) return inserted.status();
    for (size_t i = 0; i < created.size(); ++i) {
      if (!(*inserted)[i])
        conflicts.insert({created[i].device.value, created[i].time, created[i].seq_number});
    }
    if (!conflicts.empty()) return out;  // rolled back; tried again by IngestUplinks
  }
  if (!merged.empty()) {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE messages SET decoded = $4, rinfos = $5, nb_frames = $6, "
                    "location_lat = $7, location_lng = $8, location_radius = $9, "
                    "link_quality = $10, undecoded = $11 WHERE device_id = $1 AND time = $2 AND "
                    "seq_number = $3",
                    "ingest uplinks");
    for (const Message* m : merged) {
      const std::string rinfos = EncodeRinfos(m->rinfos);
      const auto& loc = m->computed_location;
      q.Bind(1, int64_t{m->device.value}).Bind(2, m->time).Bind(3, m->seq_number);
      q.BindRef(4, m->decoded).BindRef(5, rinfos).Bind(6, static_cast<int64_t>(m->rinfos.size()));
      q.Bind(7, loc ? std::optional<double>(loc->lat) : std::nullopt);
      q.Bind(8, loc ? std::optional<double>(loc->lng) : std::nullopt);
      q.Bind(9, loc ? std::optional<double>(loc->radius) : std::nullopt);
      q.Bind(10, static_cast<int64_t>(m->link_quality)).BindRef(11, m->undecoded);
      ROOST_RETURN_IF_ERROR(q.Run());
      q.Reset();
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE devices SET sequence_number = $2, last_frame_time = $3, "
                    "average_snr = $4, average_rssi = $5, last_time = $6 WHERE id = $1",
                    "ingest uplinks");
    for (const auto& [id, d] : devices) {
      if (!d.changed) continue;
      q.Bind(1, int64_t{id}).Bind(2, d.seq).Bind(3, d.last).Bind(4, d.avg_snr).Bind(5, d.avg_rssi);
      q.Bind(6, d.heard);
      ROOST_RETURN_IF_ERROR(q.Run());
      q.Reset();
    }
  }
  {
    ROOST_SQL_QUERY(q, c, "DELETE FROM sequence_check_disengaged WHERE device_id = $1",
                    "ingest uplinks");
    for (const auto& [id, d] : devices) {
      if (!d.disengage_used) continue;
      ROOST_RETURN_IF_ERROR(q.Bind(1, int64_t{id}).Run());
      q.Reset();
    }
  }
  {
    StatsDeltas stats;
    for (const Message& m : created) stats.AddReception(m, m.rinfos.front(), true);
    for (const auto& [m, reception] : joined) stats.AddReception(*m, m->rinfos[reception], false);
    ROOST_RETURN_IF_ERROR(AddStatsOn(c, stats));
  }
  if (!created.empty() || !joined.empty()) {
    // The DATA callbacks that fire, per device type of the batch.
    struct Firing {
      std::string id;
      bool send_duplicate;
      bool downlink_hook;  // the type's downlinkHook, in CALLBACK mode
    };
    std::map<std::string, std::vector<Firing>> firing;
    for (const Message& m : created) firing.emplace(m.type, std::vector<Firing>{});
    for (const auto& [m, reception] : joined) firing.emplace(m->type, std::vector<Firing>{});
    {
      ROOST_SQL_QUERY(q, c,
                      "SELECT c.id, c.send_duplicate, CASE WHEN c.downlink_hook = 1 AND "
                      "t.downlink_mode = 1 THEN 1 ELSE 0 END FROM callbacks c "
                      "JOIN device_types t ON t.id = c.type_id WHERE c.type_id = $1 AND "
                      "c.callback_type = 0 AND c.enabled = 1 AND c.dead = 0 ORDER BY c.id",
                      "ingest uplinks");
      for (auto& [type, callbacks] : firing) {
        q.Bind(1, type);
        for (;;) {
          auto row = q.Next();
          if (!row.ok()) return row.status();
          if (!*row) break;
          callbacks.push_back(Firing{q.Text(0), q.Int(1) != 0, q.Int(2) != 0});
        }
        q.Reset();
      }
    }
    // The hand-off sends whole callbacks: read each firing one once.
    std::map<std::string, Callback> definitions;
    if (policy.handoff != nullptr && policy.handoff->limit > 0) {
      ROOST_SQL_QUERY(q, c, std::string(kCallbackSelect) + " WHERE id = $1", "ingest uplinks");
      for (const auto& [type, callbacks] : firing) {
        for (const Firing& f : callbacks) {
          q.Bind(1, f.id);
          auto row = q.Next();
          if (!row.ok()) return row.status();
          if (*row) definitions.emplace(f.id, CallbackFromRow(q));
          q.Reset();
        }
      }
    }
    std::vector<Delivery> rows;
    std::vector<const Message*> row_messages;  // of rows, in order
    auto queue = [&](const Message& m, const std::string& station, bool duplicate) {
      for (const Firing& f : firing[m.type]) {
        if (duplicate && !f.send_duplicate) continue;
        Delivery d;
        d.callback = f.id;
        d.device = m.device.value;
        d.message_time = m.time;
        d.seq_number = m.seq_number;
        d.duplicate = duplicate;
        d.station = station;
        d.creation_time = policy.now;
        // The downlink arbiter calls the hook itself for a frame that asks for a
        // downlink; the delivery waits for it rather than going out twice.
        if (f.downlink_hook && m.ack && !duplicate) {
          d.next_attempt = policy.now + policy.downlink_hook_delay_ms;
        }
        rows.push_back(std::move(d));
        row_messages.push_back(&m);
      }
    };
    for (const Message& m : created) {
      queue(m, ReceptionKey(m.rinfos.front().station, m.rinfos.front().public_network), false);
    }
    for (const auto& [m, reception] : joined) {
      // A station that joined a message made in this batch is one of its
      // duplicates too: the first report's deliveries went with the message.
      const Reception& joining = m->rinfos[reception];
      queue(*m, ReceptionKey(joining.station, joining.public_network), true);
    }
    // A handed-off delivery's lease is both its due time (a claim finds it
    // when the instance that had it is gone) and its lease_until, which tells
    // it is in flight: deleting its callback leaves it to its send, and the
    // downlink arbiter never claims it should the hook move to its callback.
    std::vector<EpochMillis> leases;
    if (!definitions.empty() && !rows.empty()) {
      leases.assign(rows.size(), 0);
      auto ids = ReserveDeliveryIdsOn(c, rows.size());
      if (!ids.ok()) return ids.status();
      for (size_t i = 0; i < rows.size(); ++i) rows[i].id = (*ids)[i];
      for (size_t i = 0; i < rows.size() && handed.size() < policy.handoff->limit; ++i) {
        if (rows[i].next_attempt != 0) continue;  // waits for the downlink arbiter
        auto def = definitions.find(rows[i].callback);
        if (def == definitions.end() || def->second.channel == CallbackChannel::kBatchUrl) continue;
        rows[i].next_attempt = policy.now + policy.handoff->lease_ms;
        leases[i] = rows[i].next_attempt;
        handed.push_back(DeliveryTask{rows[i], def->second, *row_messages[i], leases[i]});
      }
    }
    for (const Delivery& d : rows) due_others += d.next_attempt == 0 ? 1 : 0;
    ROOST_RETURN_IF_ERROR(QueueDeliveriesOn(c, rows, leases));
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("ingest uplinks"));
  if (policy.handoff != nullptr) {
    policy.handoff->tasks = std::move(handed);
    policy.handoff->others = due_others;
  }
  return out;
}

Result<Message> SqlStore::GetMessage(const MessageCursor& key) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kMessageColumns +
                      " FROM messages WHERE device_id = $1 AND time = $2 AND seq_number = $3",
                  "get message");
  q.Bind(1, int64_t{key.device}).Bind(2, key.time).Bind(3, key.seq_number);
  return ReadOne(q, MessageFromRow, "message not found");
}

Result<std::vector<Message>> SqlStore::GetMessages(std::span<const MessageCursor> keys) {
  ROOST_SQL_LEASE(c);
  return GetMessagesOn(c, keys);
}

Result<std::vector<Message>> SqlStore::GetMessagesOn(Connection& c,
                                                     std::span<const MessageCursor> keys) {
  static const MessageKeysQuery by_keys(std::string("SELECT ") + kMessageColumns + " FROM messages",
                                        "device_id", "time", "seq_number");
  std::vector<Message> out;
  ROOST_RETURN_IF_ERROR(by_keys.ForEach(
      c, "get messages", keys, [&](const driver::Query& q) { out.push_back(MessageFromRow(q)); }));
  return out;
}

Result<Message> SqlStore::SetMessageDownlink(const MessageCursor& key, std::string_view data,
                                             std::string_view station) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("set message downlink"));
  bool recorded = false;
  {
    // The first decision stays: a second instance deciding the same frame
    // reads the first one's downlink instead of sending another.
    ROOST_SQL_QUERY(q, c,
                    "UPDATE messages SET downlink_data = $4, downlink_station = $5 "
                    "WHERE device_id = $1 AND time = $2 AND seq_number = $3 AND "
                    "downlink_station = '' AND downlink_info = ''",
                    "set message downlink");
    q.Bind(1, int64_t{key.device}).Bind(2, key.time).Bind(3, key.seq_number);
    ROOST_RETURN_IF_ERROR(q.Bind(4, data).Bind(5, station).Run());
    recorded = q.Affected() > 0;
  }
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kMessageColumns +
                      " FROM messages WHERE device_id = $1 AND time = $2 AND seq_number = $3",
                  "set message downlink");
  q.Bind(1, int64_t{key.device}).Bind(2, key.time).Bind(3, key.seq_number);
  auto m = ReadOne(q, MessageFromRow, "message not found");
  q.Reset();
  if (!m.ok()) return m.status();
  if (recorded && !m->downlink_data.empty()) {
    StatsDeltas stats;
    stats.AddDownlink(m->device.ToApi(), m->type, m->time);
    ROOST_RETURN_IF_ERROR(AddStatsOn(c, stats));
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("set message downlink"));
  return m;
}

Result<Message> SqlStore::SetMessageNoDownlink(const MessageCursor& key, std::string_view reason) {
  ROOST_RETURN_IF_ERROR(SetMessagesNoDownlink(std::span<const MessageCursor>(&key, 1), reason));
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kMessageColumns +
                      " FROM messages WHERE device_id = $1 AND time = $2 AND seq_number = $3",
                  "set message downlink");
  q.Bind(1, int64_t{key.device}).Bind(2, key.time).Bind(3, key.seq_number);
  return ReadOne(q, MessageFromRow, "message not found");
}

Status SqlStore::SetMessagesNoDownlink(std::span<const MessageCursor> keys,
                                       std::string_view reason) {
  if (keys.empty()) return Status::Ok();
  ROOST_SQL_LEASE(c);
  // Nothing needs the rows changed together. SQLite has one writer, and one
  // transaction saves a commit per row; PostgreSQL locks rows, so each row is
  // its own statement's transaction: holding several while ingest updates
  // the same messages in another order could deadlock.
  const bool one_transaction = c.dialect().engine == driver::Engine::kSqlite;
  driver::Transaction tx(c);
  if (one_transaction) ROOST_RETURN_IF_ERROR(tx.Begin("set message downlink"));
  ROOST_SQL_QUERY(q, c,
                  "UPDATE messages SET downlink_info = $4 "
                  "WHERE device_id = $1 AND time = $2 AND seq_number = $3 AND "
                  "downlink_station = '' AND downlink_info = ''",
                  "set message downlink");
  for (const MessageCursor& key : keys) {
    q.Bind(1, int64_t{key.device}).Bind(2, key.time).Bind(3, key.seq_number);
    ROOST_RETURN_IF_ERROR(q.BindRef(4, reason).Run());
  }
  return one_transaction ? tx.Commit("set message downlink") : Status::Ok();
}

Result<MessagePage> SqlStore::ListMessages(const MessageQuery& query) {
  if (query.device.has_value() == !query.type.empty()) {
    return Status::InvalidInput("a message list is of one device or of one device type");
  }
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(query.limit, query.offset));
  ROOST_SQL_LEASE(c);
  std::string sql = std::string("SELECT ") + kMessageColumns + " FROM messages WHERE ";
  int n = 1;
  sql += query.device ? "device_id = $1" : "type_id = $1";
  if (query.since) sql += " AND time >= $" + std::to_string(++n);
  if (query.before) sql += " AND time < $" + std::to_string(++n);
  if (query.with_location) sql += " AND location_lat IS NOT NULL";
  if (query.after) {
    const std::string t = std::to_string(++n), d = std::to_string(++n), s = std::to_string(++n);
    // "time <= $t" repeats what the OR implies, so that PostgreSQL bounds the
    // index range with it instead of filtering every newer row (deep pages).
    sql += " AND time <= $" + t + " AND (time < $" + t + " OR (time = $" + t +
           " AND (device_id < $" + d + " OR (device_id = $" + d + " AND seq_number < $" + s +
           "))))";
  }
  sql += " ORDER BY time DESC, device_id DESC, seq_number DESC LIMIT $" + std::to_string(++n);
  if (query.offset > 0) sql += " OFFSET $" + std::to_string(++n);
  ROOST_SQL_QUERY(q, c, sql, "list messages");
  int i = 1;
  if (query.device) {
    q.Bind(i++, int64_t{*query.device});
  } else {
    q.BindRef(i++, query.type);
  }
  if (query.since) q.Bind(i++, *query.since);
  if (query.before) q.Bind(i++, *query.before);
  if (query.after) {
    q.Bind(i++, query.after->time);
    q.Bind(i++, int64_t{query.after->device});
    q.Bind(i++, query.after->seq_number);
  }
  q.Bind(i++, int64_t{query.limit} + 1);
  if (query.offset > 0) q.Bind(i, int64_t{query.offset});
  auto rows = ReadAll<Message>(q, MessageFromRow);
  if (!rows.ok()) return rows.status();
  MessagePage page;
  page.messages = std::move(*rows);
  if (page.messages.size() > static_cast<size_t>(query.limit)) {
    page.messages.resize(query.limit);
    const Message& last = page.messages.back();
    page.next = MessageCursor{last.time, last.device.value, last.seq_number};
  }
  return page;
}

}  // namespace roost::storage::sql
