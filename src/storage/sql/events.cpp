// Device events: the silence watcher's pass, the event lists, event
// configurations and the outbox of event emails.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "model/calendar.h"
#include "storage/internal.h"
#include "storage/sql/events_sql.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

// The most addresses one event is emailed to. A tenant may make configurations
// on its groups, however deep, its types and its devices: without a bound one
// event could have the operator's mail server send thousands of emails.
constexpr size_t kMaxEventRecipients = 100;

constexpr const char* kEventColumns =
    "id, device_id, type_id, group_id, kind, severity, text, time";
constexpr const char* kEventConfigSelect =
    "SELECT id, scope, target, group_id, kinds, emails, creation_time FROM event_configs";
constexpr const char* kEventEmailColumns =
    "id, event_id, recipient, attempts, next_attempt, creation_time";

Event EventFromRow(const Query& q) {
  Event e;
  e.id = q.Int(0);
  e.device = static_cast<uint32_t>(q.Int(1));
  e.type = q.Text(2);
  e.group = q.Text(3);
  e.kind = static_cast<EventKind>(q.Int(4));
  e.severity = static_cast<EventSeverity>(q.Int(5));
  e.text = q.Text(6);
  e.time = q.Int(7);
  return e;
}

EventConfig EventConfigFromRow(const Query& q) {
  EventConfig c;
  c.id = q.Text(0);
  c.scope = static_cast<EventScope>(q.Int(1));
  c.target = q.Text(2);
  c.group = q.Text(3);
  auto kinds = nlohmann::json::parse(q.Text(4), nullptr, /*allow_exceptions=*/false);
  if (kinds.is_array()) {
    for (const auto& k : kinds) {
      if (k.is_number_integer()) c.kinds.push_back(static_cast<EventKind>(k.get<int32_t>()));
    }
  }
  auto emails = nlohmann::json::parse(q.Text(5), nullptr, /*allow_exceptions=*/false);
  if (emails.is_array()) {
    for (const auto& e : emails) {
      if (e.is_string()) c.emails.push_back(e.get<std::string>());
    }
  }
  c.creation_time = q.Int(6);
  return c;
}

EventEmail EventEmailFromRow(const Query& q) {
  EventEmail e;
  e.id = q.Int(0);
  e.event = q.Int(1);
  e.recipient = q.Text(2);
  e.attempts = static_cast<int32_t>(q.Int(3));
  e.next_attempt = q.Int(4);
  e.creation_time = q.Int(5);
  return e;
}

std::string DeviceTarget(uint32_t device) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", device);
  return buf;
}

bool HasKind(const EventConfig& config, EventKind kind) {
  return std::find(config.kinds.begin(), config.kinds.end(), kind) != config.kinds.end();
}

// The ids of a group and its ancestors, from its tree column ("/a/b/c/").
std::vector<std::string> TreeIds(std::string_view tree) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < tree.size()) {
    size_t slash = tree.find('/', start);
    if (slash == std::string_view::npos) slash = tree.size();
    if (slash > start) out.emplace_back(tree.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

Status SqlStore::RecordEventOn(Connection& c, Event& event, EpochMillis now) {
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO events (device_id, type_id, group_id, kind, severity, text, time) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    "record event");
    q.Bind(1, int64_t{event.device}).BindRef(2, event.type).BindRef(3, event.group);
    q.Bind(4, static_cast<int64_t>(event.kind)).Bind(5, static_cast<int64_t>(event.severity));
    q.BindRef(6, event.text).Bind(7, event.time);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) return Status::IoError("record event: no id returned");
    event.id = q.Int(0);
  }
  // ERROR callbacks fire for every event, as the emails do (pipeline.md): a
  // loss, with severity ERROR, and its restoration, WARN, so that what opens
  // an incident from the one can close it from the other. The delivery
  // belongs to no message (sequence number -1); its template values travel
  // with it.
  {
    Delivery prototype;
    prototype.device = event.device;
    prototype.message_time = event.time;
    prototype.seq_number = -1;
    prototype.variables =
        nlohmann::json{
            {"info", event.text},
            {"severity", std::string(EnumByValue(kEventSeverities, event.severity).name)}}
            .dump();
    ROOST_RETURN_IF_ERROR(QueueCallbackDeliveries(c, event.type, CallbackType::kError,
                                                  CallbackSubtype::kNone, prototype, now));
  }
  // Who is told: the configurations of the device's group and every group
  // above it, its type's while the type is still in the group that made them,
  // and the device's while it is still in the group that made them. Taken in
  // that order, the groups' from the root down, up to kMaxEventRecipients
  // addresses: a tenant's own configurations never push out the operator's.
  std::vector<EventConfig> configs;
  std::string tree;
  {
    ROOST_SQL_QUERY(q, c, "SELECT tree FROM groups WHERE id = $1", "record event");
    auto row = q.BindRef(1, event.group).Next();
    if (!row.ok()) return row.status();
    if (*row) tree = q.Text(0);
  }
  {
    ROOST_SQL_QUERY(q, c,
                    std::string(kEventConfigSelect) +
                        " WHERE scope = 2 AND target = $1 AND group_id = $1 ORDER BY id",
                    "record event");
    for (const std::string& group : TreeIds(tree)) {
      q.Bind(1, group);
      auto rows = ReadAll<EventConfig>(q, EventConfigFromRow);
      if (!rows.ok()) return rows.status();
      configs.insert(configs.end(), rows->begin(), rows->end());
      q.Reset();
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    std::string(kEventConfigSelect) +
                        " WHERE scope = 1 AND target = $1 AND group_id = (SELECT group_id FROM "
                        "device_types WHERE id = $1) ORDER BY id",
                    "record event");
    q.BindRef(1, event.type);
    auto rows = ReadAll<EventConfig>(q, EventConfigFromRow);
    if (!rows.ok()) return rows.status();
    configs.insert(configs.end(), rows->begin(), rows->end());
  }
  {
    ROOST_SQL_QUERY(q, c,
                    std::string(kEventConfigSelect) +
                        " WHERE scope = 0 AND target = $1 AND group_id = $2 ORDER BY id",
                    "record event");
    const std::string target = DeviceTarget(event.device);
    q.BindRef(1, target).BindRef(2, event.group);
    auto rows = ReadAll<EventConfig>(q, EventConfigFromRow);
    if (!rows.ok()) return rows.status();
    configs.insert(configs.end(), rows->begin(), rows->end());
  }
  std::set<std::string> recipients;
  for (const EventConfig& config : configs) {
    if (!HasKind(config, event.kind)) continue;
    for (const std::string& to : config.emails) {
      if (recipients.size() >= kMaxEventRecipients) break;
      recipients.insert(to);
    }
  }
  if (recipients.empty()) return Status::Ok();
  ROOST_SQL_QUERY(q, c,
                  "INSERT INTO event_emails (event_id, recipient, state, attempts, next_attempt, "
                  "last_info, creation_time) VALUES ($1, $2, 0, 0, $3, '', $3)",
                  "record event");
  for (const std::string& to : recipients) {
    ROOST_RETURN_IF_ERROR(q.Bind(1, event.id).BindRef(2, to).Bind(3, now).Run());
    q.Reset();
  }
  return Status::Ok();
}

Result<SilenceOutcome> SqlStore::WatchSilence(const SilenceWatch& w) {
  if (w.keep_alive_ms < 0) return Status::InvalidInput("keepAlive must not be negative");
  if (w.limit < 1) return Status::InvalidInput("limit must be positive");
  const EpochMillis cutoff = w.now - w.keep_alive_ms;
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("watch silence"));
  struct Candidate {
    int64_t id = 0;
    std::string group;
    EpochMillis since = 0;  // last message, or registration
    bool heard = false;     // has a last message
    bool lost = false;      // true: the device fell silent; false: it spoke again
  };
  std::vector<Candidate> candidates;
  SilenceOutcome out;
  if (w.keep_alive_ms > 0) {
    ROOST_SQL_QUERY(q, c, kSilentDevicesSql, "watch silence");
    q.BindRef(1, w.type).Bind(2, cutoff).Bind(3, int64_t{w.limit});
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      candidates.push_back({q.Int(0), q.Text(1), q.Int(2), !q.IsNull(3), true});
    }
    out.more = candidates.size() == static_cast<size_t>(w.limit);
  }
  {
    ROOST_SQL_QUERY(q, c, kSpokenAgainSql, "watch silence");
    q.BindRef(1, w.type).Bind(2, int64_t{w.limit});
    size_t found = 0;
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      candidates.push_back({q.Int(0), q.Text(1), q.Int(2), true, false});
      ++found;
    }
    out.more = out.more || found == static_cast<size_t>(w.limit);
  }
  // Rows are locked in id order, as ingest locks them, so that two instances
  // (or a watcher and an ingest batch) never wait on each other in a cycle.
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  // Each flip checks the condition again: on PostgreSQL an update that waited
  // for another transaction's lock re-reads the row, so a device that spoke
  // (ingest) or was flipped (another instance) meanwhile is left alone.
  ROOST_SQL_QUERY(lose, c,
                  // Since the time the loss is recorded: a frame a station
                  // reports late, sent before then, does not restore it
                  // (nor is it a restoration followed by a second loss).
                  "UPDATE devices SET comm_lost = 1, comm_lost_since = $4 WHERE id = $1 AND "
                  "comm_lost = 0 AND type_id = $2 AND COALESCE(last_time, creation_time) < $3",
                  "watch silence");
  ROOST_SQL_QUERY(restore, c,
                  "UPDATE devices SET comm_lost = 0, comm_lost_since = NULL WHERE id = $1 AND "
                  "comm_lost = 1 AND type_id = $2 AND last_time > comm_lost_since",
                  "watch silence");
  for (const Candidate& d : candidates) {
    Query& flip = d.lost ? lose : restore;
    flip.Bind(1, d.id).BindRef(2, w.type);
    if (d.lost) flip.Bind(3, cutoff).Bind(4, w.now);
    ROOST_RETURN_IF_ERROR(flip.Run());
    // Zero rows: another instance recorded this change first, or the device
    // changed meanwhile; it is not ours to record.
    const bool flipped = flip.Affected() > 0;
    flip.Reset();
    if (!flipped) continue;
    Event event;
    event.device = static_cast<uint32_t>(d.id);
    event.type = w.type;
    event.group = d.group;
    event.time = w.now;
    if (d.lost) {
      event.kind = EventKind::kCommunicationLoss;
      event.severity = EventSeverity::kError;
      event.text = d.heard ? "No message received since " + UtcText(d.since)
                           : "No message received since its registration at " + UtcText(d.since);
      ++out.lost;
    } else {
      event.kind = EventKind::kCommunicationRestored;
      event.severity = EventSeverity::kWarn;
      event.text = "Communication restored: message received at " + UtcText(d.since);
      ++out.restored;
    }
    ROOST_RETURN_IF_ERROR(RecordEventOn(c, event, w.now));
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("watch silence"));
  return out;
}

Result<std::vector<std::string>> SqlStore::ListTypesToRestore() {
  ROOST_SQL_LEASE(c);
  // Only devices that spoke since their loss are read (devices_spoken_again
  // holds them alone).
  ROOST_SQL_QUERY(q, c,
                  "SELECT DISTINCT type_id FROM devices WHERE comm_lost = 1 AND "
                  "last_time > comm_lost_since ORDER BY type_id",
                  "list device types to restore");
  return ReadAll<std::string>(q, [](const Query& r) { return r.Text(0); });
}

Result<EventPage> SqlStore::ListEvents(const EventQuery& query) {
  if (query.device.has_value() == !query.type.empty()) {
    return Status::InvalidInput("an event list is of one device or of one device type");
  }
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(query.limit, query.offset));
  ROOST_SQL_LEASE(c);
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE ";
  int n = 2;
  sql += query.device ? "device_id = $1" : "type_id = $1";
  sql += " AND severity = $2";
  if (query.since) sql += " AND time >= $" + std::to_string(++n);
  if (query.before) sql += " AND time < $" + std::to_string(++n);
  if (query.after) {
    const std::string t = std::to_string(++n), i = std::to_string(++n);
    sql += " AND (time < $" + t + " OR (time = $" + t + " AND id < $" + i + "))";
  }
  sql += " ORDER BY time DESC, id DESC LIMIT $" + std::to_string(++n);
  if (query.offset > 0) sql += " OFFSET $" + std::to_string(++n);
  ROOST_SQL_QUERY(q, c, sql, "list events");
  int i = 1;
  if (query.device) {
    q.Bind(i++, int64_t{*query.device});
  } else {
    q.BindRef(i++, query.type);
  }
  q.Bind(i++, static_cast<int64_t>(query.severity));
  if (query.since) q.Bind(i++, *query.since);
  if (query.before) q.Bind(i++, *query.before);
  if (query.after) {
    q.Bind(i++, query.after->time);
    q.Bind(i++, query.after->id);
  }
  q.Bind(i++, int64_t{query.limit} + 1);
  if (query.offset > 0) q.Bind(i, int64_t{query.offset});
  auto rows = ReadAll<Event>(q, EventFromRow);
  if (!rows.ok()) return rows.status();
  EventPage page;
  page.events = std::move(*rows);
  if (page.events.size() > static_cast<size_t>(query.limit)) {
    page.events.resize(query.limit);
    page.next = EventCursor{page.events.back().time, page.events.back().id};
  }
  return page;
}

Result<bool> SqlStore::CreateEventConfig(const EventConfig& config, size_t max_of_its_group) {
  nlohmann::json kinds = nlohmann::json::array();
  for (EventKind k : config.kinds) kinds.push_back(static_cast<int32_t>(k));
  const std::string kinds_text = kinds.dump();
  const std::string emails_text = nlohmann::json(config.emails).dump();
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("create event configuration"));
  if (c.dialect().engine == driver::Engine::kPostgres) {
    // Two creations by one group wait for each other here, so the second
    // counts the first (SQLite's write transaction already serialises them).
    // NO KEY: rows that only refer to the group (devices, messages) go on.
    ROOST_SQL_QUERY(q, c, "SELECT id FROM groups WHERE id = $1 FOR NO KEY UPDATE",
                    "create event configuration");
    auto row = q.BindRef(1, config.group).Next();
    if (!row.ok()) return row.status();
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT COUNT(*) FROM event_configs WHERE scope = $1 AND target = $2 AND "
                    "group_id = $3",
                    "create event configuration");
    q.Bind(1, static_cast<int64_t>(config.scope)).BindRef(2, config.target);
    auto row = q.BindRef(3, config.group).Next();
    if (!row.ok()) return row.status();
    if (*row && q.Int(0) >= static_cast<int64_t>(max_of_its_group)) return false;
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO event_configs (id, scope, target, group_id, kinds, emails, "
                    "creation_time) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO "
                    "NOTHING",
                    "create event configuration");
    q.BindRef(1, config.id).Bind(2, static_cast<int64_t>(config.scope)).BindRef(3, config.target);
    q.BindRef(4, config.group).BindRef(5, kinds_text).BindRef(6, emails_text);
    q.Bind(7, config.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() == 0) {
      return Status::AlreadyExists("event configuration " + config.id + " already exists");
    }
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("create event configuration"));
  return true;
}

Result<EventConfig> SqlStore::GetEventConfig(std::string_view id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kEventConfigSelect) + " WHERE id = $1",
                  "get event configuration");
  q.Bind(1, id);
  return ReadOne(q, EventConfigFromRow, "event configuration " + std::string(id) + " not found");
}

Result<std::vector<EventConfig>> SqlStore::ListEventConfigs(EventScope scope,
                                                            std::string_view target) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string(kEventConfigSelect) + " WHERE scope = $1 AND target = $2 ORDER BY id",
                  "list event configurations");
  q.Bind(1, static_cast<int64_t>(scope)).Bind(2, target);
  return ReadAll<EventConfig>(q, EventConfigFromRow);
}

Status SqlStore::DeleteEventConfig(std::string_view id) {
  return RunOne(
      "DELETE FROM event_configs WHERE id = $1", "delete event configuration",
      [&](Query& q) { q.Bind(1, id); }, "event configuration " + std::string(id) + " not found");
}

Result<std::vector<EventEmailTask>> SqlStore::ClaimEventEmails(EpochMillis now, int limit,
                                                               int64_t lease_ms) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("claim event emails"));
  std::vector<EventEmail> claimed;
  {
    ROOST_SQL_QUERY(
        q, c,
        std::string("SELECT id FROM event_emails WHERE state = 0 AND next_attempt <= "
                    "$1 ORDER BY next_attempt LIMIT $2") +
            // Another instance's claims are skipped, not waited for.
            (c.dialect().engine == driver::Engine::kPostgres ? " FOR UPDATE SKIP LOCKED" : ""),
        "claim event emails");
    q.Bind(1, now).Bind(2, int64_t{limit});
    std::vector<int64_t> ids;
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(q.Int(0));
    }
    if (ids.empty()) return std::vector<EventEmailTask>{};
    // The new lease end is the claim's token (CompleteEventEmail): strictly
    // later than the row's last one, so no two claims of an email share it.
    ROOST_SQL_QUERY(u, c,
                    std::string("UPDATE event_emails SET next_attempt = CASE WHEN next_attempt "
                                ">= $1 THEN next_attempt + 1 ELSE $1 END WHERE id ") +
                        c.dialect().in_int_list(2) + " RETURNING " + kEventEmailColumns,
                    "claim event emails");
    u.Bind(1, now + lease_ms).BindIntList(2, ids);
    auto rows = ReadAll<EventEmail>(u, EventEmailFromRow);
    if (!rows.ok()) return rows.status();
    claimed = std::move(*rows);
  }
  std::sort(claimed.begin(), claimed.end(),
            [](const EventEmail& a, const EventEmail& b) { return a.id < b.id; });
  std::vector<EventEmailTask> out;
  {
    ROOST_SQL_QUERY(q, c, std::string("SELECT ") + kEventColumns + " FROM events WHERE id = $1",
                    "claim event emails");
    for (EventEmail& e : claimed) {
      q.Bind(1, e.event);
      auto event = ReadOne(q, EventFromRow, "gone");
      q.Reset();
      if (!event.ok()) {
        if (event.status().code() != Status::Code::kNotFound) return event.status();
        continue;
      }
      out.push_back(EventEmailTask{std::move(e), std::move(*event)});
    }
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("claim event emails"));
  return out;
}

Result<bool> SqlStore::CompleteEventEmail(const EventEmail& claimed, bool sent,
                                          std::string_view info, EpochMillis retry_at,
                                          bool give_up) {
  const int64_t state = sent ? 1 : give_up ? 2 : 0;
  ROOST_SQL_LEASE(c);
  {
    // Only the latest claim may record: after a lease ran out and another
    // sender claimed the email, the first sender's late answer changes nothing.
    ROOST_SQL_QUERY(q, c,
                    "UPDATE event_emails SET attempts = attempts + 1, last_info = $2, state = $3, "
                    "next_attempt = $4 WHERE id = $1 AND state = 0 AND next_attempt = $5",
                    "complete event email");
    q.Bind(1, claimed.id).Bind(2, info).Bind(3, state).Bind(4, retry_at);
    q.Bind(5, claimed.next_attempt);
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() > 0) return true;
  }
  ROOST_SQL_QUERY(q, c, "SELECT id FROM event_emails WHERE id = $1", "complete event email");
  q.Bind(1, claimed.id);
  auto row = q.Next();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("event email " + std::to_string(claimed.id) + " not found");
  return false;
}

}  // namespace roost::storage::sql
