// Callbacks of device types, and the durable queue of their deliveries.
#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sealed_column.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

// A pending delivery of a disabled or dead callback is parked: due at a time
// no clock reaches, so that claims do not meet it again. Claims once skipped
// such rows by joining callbacks in their query; on PostgreSQL that let the
// planner read every pending row of the callback per claim, which slowed the
// drain of a large backlog as it went. Enabling the callback makes its parked
// deliveries due at once.
constexpr EpochMillis kParkedUntil = 253402300799999;  // 9999-12-31T23:59:59.999Z

// Makes the parked deliveries of callback `id` due at once, and starts the
// failure clock of all its waiting deliveries afresh: a callback enabled
// again, or edited (its url fixed, say), has its deliveries' earlier failures
// no longer count toward death, which otherwise took a delivery that had
// failed for a day before at its first new failure, and the callback with it.
//
// Called with the callback's row locked, it skips deliveries another
// transaction holds: the recorder and the claim lock deliveries first and the
// callback after (to mark it dead, to see whether it is parked), so waiting
// for them here made a deadlock. A delivery held by the recorder is being
// sent (its failure clock then runs on); one held by a claim that waits for
// this callback's row sees the callback as this transaction leaves it.
Status UnparkDeliveries(driver::Connection& c, std::string_view id) {
  ROOST_SQL_QUERY(q, c,
                  "UPDATE deliveries SET next_attempt = CASE WHEN next_attempt = $2 THEN 0 ELSE "
                  "next_attempt END, first_failure = 0 WHERE id IN (SELECT id FROM deliveries "
                  "WHERE callback_id = $1 AND state = 0 AND (next_attempt = $2 OR "
                  "first_failure > 0)" +
                      std::string(c.dialect().skip_locked) + ")",
                  "unpark deliveries");
  return q.Bind(1, id).Bind(2, kParkedUntil).Run();
}

// The pending deliveries of callback `id`, deleted: those never attempted go,
// the others stay, dead, their attempts shown on their messages. Those leased
// to a send in flight until `in_flight_until` or later are left to it.
Status ForgetDeletedCallbackDeliveries(driver::Connection& c, std::string_view id,
                                       EpochMillis in_flight_until) {
  const bool postgres = c.dialect().engine == driver::Engine::kPostgres;
  const std::string pending =
      std::string(
          "SELECT id FROM deliveries WHERE callback_id = $1 AND state = 0 AND "
          "lease_until < $2") +
      (postgres ? " FOR UPDATE SKIP LOCKED" : "");
  ROOST_SQL_QUERY(unsent, c,
                  "DELETE FROM deliveries WHERE attempts = 0 AND id IN (" + pending + ")",
                  "forget deleted callback's deliveries");
  ROOST_RETURN_IF_ERROR(unsent.Bind(1, id).Bind(2, in_flight_until).Run());
  ROOST_SQL_QUERY(tried, c, "UPDATE deliveries SET state = 2 WHERE id IN (" + pending + ")",
                  "forget deleted callback's deliveries");
  return tried.Bind(1, id).Bind(2, in_flight_until).Run();
}

// The sealed columns' names, in their values' associated data.
constexpr std::string_view kUrlColumn = "callbacks.url";
constexpr std::string_view kHeadersColumn = "callbacks.headers";

constexpr const char* kDeliveryColumns =
    "id, callback_id, device_id, message_time, seq_number, duplicate, station, state, attempts, "
    "next_attempt, first_failure, last_status, last_info, creation_time, variables, attempt_log";

std::string EncodeHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, value] : headers) out.push_back({name, value});
  return out.dump();
}

std::vector<std::pair<std::string, std::string>> DecodeHeaders(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }
  }
  return out;
}

Delivery DeliveryFromRow(const Query& q) {
  Delivery d;
  d.id = q.Int(0);
  d.callback = q.Text(1);
  d.device = static_cast<uint32_t>(q.Int(2));
  d.message_time = q.Int(3);
  d.seq_number = q.Int(4);
  d.duplicate = q.Int(5) != 0;
  d.station = q.Text(6);
  d.state = static_cast<DeliveryState>(q.Int(7));
  d.attempts = static_cast<int32_t>(q.Int(8));
  d.next_attempt = q.Int(9);
  d.first_failure = q.Int(10);
  d.last_status = static_cast<int32_t>(q.Int(11));
  d.last_info = q.Text(12);
  d.creation_time = q.Int(13);
  d.variables = q.Text(14);
  d.attempt_log = q.Text(15);
  return d;
}

}  // namespace

Callback CallbackFromRow(const Query& q, const crypto::Sealer* sealer) {
  Callback cb;
  cb.id = q.Text(0);
  cb.type = q.Text(1);
  cb.channel = static_cast<CallbackChannel>(q.Int(2));
  cb.callback_type = static_cast<CallbackType>(q.Int(3));
  cb.subtype = static_cast<CallbackSubtype>(q.Int(4));
  cb.url = OpenColumn(sealer, kUrlColumn, cb.id, q.Text(5)).value_or("");
  cb.http_method = q.Text(6);
  if (auto headers = OpenColumn(sealer, kHeadersColumn, cb.id, q.Text(7))) {
    cb.headers = DecodeHeaders(*headers);
  } else {
    cb.url.clear();  // failing beats calling the endpoint without its Authorization
  }
  cb.content_type = q.Text(8);
  cb.body_template = q.Text(9);
  cb.line_pattern = q.Text(10);
  cb.recipient = q.Text(11);
  cb.subject = q.Text(12);
  cb.message = q.Text(13);
  cb.send_duplicate = q.Int(14) != 0;
  cb.payload_config = q.Text(15);
  cb.enabled = q.Int(16) != 0;
  cb.downlink_hook = q.Int(17) != 0;
  cb.dead = q.Int(18) != 0;
  cb.creation_time = q.Int(19);
  return cb;
}

Callback SqlStore::CallbackFromRow(const Query& q) const {
  return sql::CallbackFromRow(q, sealer_);
}

Status SqlStore::SealSecretsWith(const crypto::Sealer* sealer) {
  sealer_ = sealer;
  if (sealer == nullptr) return Status::Ok();
  struct InClear {
    std::string id, url, headers;
  };
  std::vector<InClear> rows;
  ROOST_SQL_LEASE(c);
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT id, url, headers FROM callbacks WHERE url NOT LIKE 'sealed:%' OR "
                    "headers NOT LIKE 'sealed:%' ORDER BY id",
                    "seal callbacks");
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back({q.Text(0), q.Text(1), q.Text(2)});
    }
  }
  if (rows.empty()) return Status::Ok();
  const bool sqlite = c.dialect().engine == driver::Engine::kSqlite;
  // The text in clear is overwritten in the pages it leaves (Debian's SQLite
  // does so anyway); PostgreSQL keeps old row versions until a vacuum.
  if (sqlite) ROOST_RETURN_IF_ERROR(c.Exec("PRAGMA secure_delete = ON", "seal callbacks"));
  // Row by row, each update its own transaction: instances that start
  // together, and dispatchers that lock several callbacks at once, never wait
  // on each other in a cycle. Only if unchanged meanwhile: another instance
  // may seal it, or an edit replace it, first.
  ROOST_SQL_QUERY(q, c,
                  "UPDATE callbacks SET url = $2, headers = $3 WHERE id = $1 AND url = $4 AND "
                  "headers = $5",
                  "seal callbacks");
  for (const InClear& r : rows) {
    const std::string url = IsSealed(r.url) ? r.url : SealColumn(sealer, kUrlColumn, r.id, r.url);
    const std::string headers =
        IsSealed(r.headers) ? r.headers : SealColumn(sealer, kHeadersColumn, r.id, r.headers);
    q.BindRef(1, r.id).BindRef(2, url).BindRef(3, headers).BindRef(4, r.url).BindRef(5, r.headers);
    ROOST_RETURN_IF_ERROR(q.Run());
    q.Reset();
  }
  // Nor left in the write-ahead log (best effort: a reader may hold it).
  if (sqlite) (void)c.Exec("PRAGMA wal_checkpoint(TRUNCATE)", "seal callbacks");
  return Status::Ok();
}

Status SqlStore::CreateCallbacks(std::span<const Callback> callbacks) {
  if (callbacks.empty()) return Status::Ok();
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("create callbacks"));
  {
    // The type row is locked for update, so that two requests cannot both
    // pass the count below.
    ROOST_SQL_QUERY(count, c, "SELECT COUNT(*) FROM callbacks WHERE type_id = $1",
                    "create callbacks");
    std::map<std::string, size_t> adding;
    for (const Callback& cb : callbacks) ++adding[cb.type];
    for (const auto& [type, n] : adding) {
      auto found = LockRow(c, "device_types", type, RowLock::kUpdate, "create callbacks");
      if (!found.ok()) return found.status();
      if (!*found) return Status::InvalidInput("device type " + type + " not found");
      // Every message queues a delivery per callback of its type, in the
      // ingest transaction every group shares: the number is bounded.
      auto counted = count.Bind(1, type).Next();
      if (!counted.ok()) return counted.status();
      const int64_t existing = *counted ? count.Int(0) : 0;
      count.Reset();
      if (existing + static_cast<int64_t>(n) > static_cast<int64_t>(kMaxCallbacksPerType)) {
        return Status::InvalidInput("data: a device type has at most " +
                                    std::to_string(kMaxCallbacksPerType) + " callbacks (it has " +
                                    std::to_string(existing) + ")");
      }
    }
  }
  ROOST_SQL_QUERY(q, c,
                  "INSERT INTO callbacks (id, type_id, channel, callback_type, subtype, url, "
                  "http_method, headers, content_type, body_template, line_pattern, recipient, "
                  "subject, message, send_duplicate, payload_config, enabled, downlink_hook, dead, "
                  "creation_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                  "$14, $15, $16, $17, $18, $19, $20) ON CONFLICT (id) DO NOTHING",
                  "create callbacks");
  for (const Callback& cb : callbacks) {
    const std::string url = SealColumn(sealer_, kUrlColumn, cb.id, cb.url);
    const std::string headers =
        SealColumn(sealer_, kHeadersColumn, cb.id, EncodeHeaders(cb.headers));
    q.BindRef(1, cb.id).BindRef(2, cb.type).Bind(3, static_cast<int64_t>(cb.channel));
    q.Bind(4, static_cast<int64_t>(cb.callback_type)).Bind(5, static_cast<int64_t>(cb.subtype));
    q.BindRef(6, url).BindRef(7, cb.http_method).BindRef(8, headers);
    q.BindRef(9, cb.content_type).BindRef(10, cb.body_template).BindRef(11, cb.line_pattern);
    q.BindRef(12, cb.recipient).BindRef(13, cb.subject).BindRef(14, cb.message);
    q.Bind(15, int64_t{cb.send_duplicate ? 1 : 0}).BindRef(16, cb.payload_config);
    q.Bind(17, int64_t{cb.enabled ? 1 : 0}).Bind(18, int64_t{cb.downlink_hook ? 1 : 0});
    q.Bind(19, int64_t{cb.dead ? 1 : 0}).Bind(20, cb.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() == 0) return Status::AlreadyExists("callback " + cb.id + " already exists");
    q.Reset();
  }
  return tx.Commit("create callbacks");
}

Result<Callback> SqlStore::GetCallback(std::string_view id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kCallbackSelect) + " WHERE id = $1", "get callback");
  q.Bind(1, id);
  return ReadOne(q, CallbackReader(), "callback " + std::string(id) + " not found");
}

Result<std::vector<Callback>> SqlStore::ListCallbacks(std::string_view type) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kCallbackSelect) + " WHERE type_id = $1 ORDER BY id",
                  "list callbacks");
  q.Bind(1, type);
  return ReadAll<Callback>(q, CallbackReader());
}

Status SqlStore::DeleteCallback(std::string_view id, EpochMillis now) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("delete callback"));
  {
    ROOST_SQL_QUERY(q, c, "DELETE FROM callbacks WHERE id = $1", "delete callback");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Run());
    if (q.Affected() == 0) return Status::NotFound("callback " + std::string(id) + " not found");
  }
  // Not those leased to a send in flight, even on its first attempt: its
  // outcome is recorded on the row, and a claim forgets it afterwards.
  ROOST_RETURN_IF_ERROR(ForgetDeletedCallbackDeliveries(c, id, now + 1));
  return tx.Commit("delete callback");
}

Result<Callback> SqlStore::UpdateCallback(const Callback& cb, bool keep_enabled) {
  ROOST_SQL_LEASE(c);
  // An edit that finds, once it holds the callback's row, that another edit
  // changed the kind since its first read starts again (see below).
  for (int tries = 0;; ++tries) {
    bool stale = false;
    auto edited = UpdateCallbackOnce(c, cb, keep_enabled, stale);
    if (!stale) return edited;
    if (tries == 4) {
      return Status::Unavailable("callback " + cb.id + " is being edited by others; try again");
    }
  }
}

Result<Callback> SqlStore::UpdateCallbackOnce(driver::Connection& c, const Callback& cb,
                                              bool keep_enabled, bool& stale) {
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("edit callback"));
  const std::string what = "callback " + cb.id + " not found";
  auto changes_kind = [&](int64_t type, int64_t subtype) {
    return type != static_cast<int64_t>(cb.callback_type) ||
           subtype != static_cast<int64_t>(cb.subtype);
  };
  std::optional<std::pair<int64_t, int64_t>> first_read;  // PostgreSQL: the kind read first
  if (!c.dialect().for_update.empty()) {
    // An edit of the kind deletes the pending deliveries in this transaction
    // (below): deleted after the commit, they would include those an ingest
    // queued for the new kind meanwhile, answered 2xx and never sent. On
    // PostgreSQL they are locked first, in id order, before the callback's
    // row: the recorder and the claims lock deliveries, then their callback.
    // (An edit of the kind committed between this read and the row's lock
    // below is not seen here: the row then tells, and this edit starts
    // again rather than lock deliveries while holding the callback.)
    ROOST_SQL_QUERY(q, c, "SELECT callback_type, subtype FROM callbacks WHERE id = $1",
                    "edit callback");
    q.BindRef(1, cb.id);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound(what);
    first_read = std::pair{q.Int(0), q.Int(1)};
    if (changes_kind(q.Int(0), q.Int(1))) {
      ROOST_SQL_QUERY(lock, c,
                      std::string("SELECT id FROM deliveries WHERE callback_id = $1 AND state = 0 "
                                  "ORDER BY id") +
                          std::string(c.dialect().for_update),
                      "edit callback");
      ROOST_RETURN_IF_ERROR(lock.BindRef(1, cb.id).Run());
    }
  }
  Callback before;
  {
    ROOST_SQL_QUERY(
        q, c, std::string(kCallbackSelect) + " WHERE id = $1" + std::string(c.dialect().for_update),
        "edit callback");
    q.BindRef(1, cb.id);
    auto found = ReadOne(q, CallbackReader(), what);
    if (!found.ok()) return found.status();
    before = std::move(*found);
  }
  const bool kind_changed = changes_kind(static_cast<int64_t>(before.callback_type),
                                         static_cast<int64_t>(before.subtype));
  if (first_read && *first_read != std::pair{static_cast<int64_t>(before.callback_type),
                                             static_cast<int64_t>(before.subtype)}) {
    // Another edit changed the kind since the first read: the deliveries
    // locked (or not) were decided on the wrong kind.
    stale = true;
    return Status::Unavailable("callback " + cb.id + " changed meanwhile");
  }
  const bool enabled = keep_enabled ? before.enabled : cb.enabled;
  const bool hook = before.downlink_hook && cb.channel == CallbackChannel::kUrl &&
                    cb.callback_type == CallbackType::kData &&
                    cb.subtype == CallbackSubtype::kBidir;
  {
    const std::string url = SealColumn(sealer_, kUrlColumn, cb.id, cb.url);
    const std::string headers =
        SealColumn(sealer_, kHeadersColumn, cb.id, EncodeHeaders(cb.headers));
    ROOST_SQL_QUERY(q, c,
                    "UPDATE callbacks SET channel = $2, callback_type = $3, subtype = $4, "
                    "url = $5, http_method = $6, headers = $7, content_type = $8, "
                    "body_template = $9, line_pattern = $10, recipient = $11, subject = $12, "
                    "message = $13, send_duplicate = $14, payload_config = $15, enabled = $16, "
                    "downlink_hook = $17 WHERE id = $1",
                    "edit callback");
    q.BindRef(1, cb.id).Bind(2, static_cast<int64_t>(cb.channel));
    q.Bind(3, static_cast<int64_t>(cb.callback_type)).Bind(4, static_cast<int64_t>(cb.subtype));
    q.BindRef(5, url).BindRef(6, cb.http_method).BindRef(7, headers);
    q.BindRef(8, cb.content_type).BindRef(9, cb.body_template).BindRef(10, cb.line_pattern);
    q.BindRef(11, cb.recipient).BindRef(12, cb.subject).BindRef(13, cb.message);
    q.Bind(14, int64_t{cb.send_duplicate ? 1 : 0}).BindRef(15, cb.payload_config);
    q.Bind(16, int64_t{enabled ? 1 : 0}).Bind(17, int64_t{hook ? 1 : 0});
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  if (!kind_changed && enabled && !before.dead) {
    ROOST_RETURN_IF_ERROR(UnparkDeliveries(c, cb.id));
  }
  if (kind_changed) {
    // Its pending deliveries were made for the other kind: they go, all of
    // them, those in flight included. Those queued by an ingest that read the
    // callback before this edit and commits after it stay (on PostgreSQL):
    // sent as the new kind rather than lost. "state = 0" as a literal: it is
    // what lets the planner use the partial deliveries_callback index.
    ROOST_SQL_QUERY(q, c, "DELETE FROM deliveries WHERE callback_id = $1 AND state = 0",
                    "edit callback");
    q.BindRef(1, cb.id);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("edit callback"));
  Callback after = cb;
  after.enabled = enabled;
  after.type = before.type;
  after.creation_time = before.creation_time;
  after.dead = before.dead;
  after.downlink_hook = hook;
  return after;
}

Status SqlStore::SetCallbackEnabled(std::string_view id, bool enabled) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("enable callback"));
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE callbacks SET enabled = $2, dead = CASE WHEN $2 = 1 THEN 0 ELSE dead "
                    "END, alert_due = CASE WHEN $2 = 1 THEN 0 ELSE alert_due END WHERE id = $1",
                    "enable callback");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Bind(2, int64_t{enabled ? 1 : 0}).Run());
    if (q.Affected() == 0) return Status::NotFound("callback " + std::string(id) + " not found");
  }
  if (enabled) ROOST_RETURN_IF_ERROR(UnparkDeliveries(c, id));
  return tx.Commit("enable callback");
}

Status SqlStore::SetDownlinkHook(std::string_view id) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("set downlink callback"));
  std::string type;
  {
    // Every callback of the type is locked first, in id order, as the update
    // below and the recorder's marking of dead callbacks take them: locking
    // only this one first, two calls for two callbacks of one type each held
    // their own and waited for the other's. The kind is judged here, on the
    // locked row, not by the caller: an edit made between a caller's read and
    // this transaction would otherwise leave the mark on a callback that
    // cannot answer downlinks. (A callback never changes type.)
    ROOST_SQL_QUERY(q, c,
                    "SELECT id, channel, callback_type, subtype, type_id FROM callbacks WHERE "
                    "type_id = (SELECT type_id FROM callbacks WHERE id = $1) ORDER BY id" +
                        std::string(c.dialect().for_update),
                    "set downlink callback");
    q.Bind(1, id);
    bool found = false, answers = false;
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (q.Text(0) != id) continue;
      found = true;
      type = q.Text(4);
      answers = q.Int(1) == static_cast<int64_t>(CallbackChannel::kUrl) &&
                q.Int(2) == static_cast<int64_t>(CallbackType::kData) &&
                q.Int(3) == static_cast<int64_t>(CallbackSubtype::kBidir);
    }
    if (!found) return Status::NotFound("callback " + std::string(id) + " not found");
    if (!answers) {
      return Status::InvalidInput("only a URL callback of type DATA BIDIR can answer downlinks");
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE callbacks SET downlink_hook = CASE WHEN id = $2 THEN 1 ELSE 0 END "
                    "WHERE type_id = $1",
                    "set downlink callback");
    ROOST_RETURN_IF_ERROR(q.Bind(1, type).Bind(2, id).Run());
  }
  return tx.Commit("set downlink callback");
}

Result<std::vector<int64_t>> SqlStore::ReserveDeliveryIdsOn(Connection& c, size_t n) {
  std::vector<int64_t> ids;
  if (n == 0) return ids;
  ids.reserve(n);
  if (c.dialect().engine == driver::Engine::kPostgres) {
    ROOST_SQL_QUERY(q, c, "SELECT nextval('deliveries_id_seq') FROM generate_series(1, $1)",
                    "reserve delivery ids");
    q.Bind(1, static_cast<int64_t>(n));
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(q.Int(0));
    }
    if (ids.size() != n) return Status::IoError("reserve delivery ids: the sequence gave too few");
    return ids;
  }
  // SQLite: the write transaction holds the database, so the ids after the
  // largest, present or given before, are free until it ends.
  ROOST_SQL_QUERY(q, c, "SELECT COALESCE(MAX(id), 0) FROM deliveries", "reserve delivery ids");
  auto row = q.Next();
  if (!row.ok()) return row.status();
  const int64_t last = std::max(*row ? q.Int(0) : 0, last_delivery_id_.load());
  for (size_t i = 1; i <= n; ++i) ids.push_back(last + static_cast<int64_t>(i));
  // Given even if the transaction rolls back: an id skipped costs nothing.
  last_delivery_id_.store(ids.back());
  return ids;
}

Status SqlStore::QueueDeliveriesOn(Connection& c, std::span<const Delivery> rows,
                                   std::span<const EpochMillis> leases) {
  if (rows.empty()) return Status::Ok();
  if (!leases.empty() && leases.size() != rows.size()) {
    return Status::Internal("queue deliveries: one lease per row");
  }
  std::vector<Delivery> numbered;
  if (rows.front().id == 0 && c.dialect().engine != driver::Engine::kPostgres) {
    // SQLite's own rowid could be one a deleted delivery had.
    auto ids = ReserveDeliveryIdsOn(c, rows.size());
    if (!ids.ok()) return ids.status();
    numbered.assign(rows.begin(), rows.end());
    for (size_t i = 0; i < numbered.size(); ++i) numbered[i].id = (*ids)[i];
    rows = numbered;
  }
  // With ids (reserved by ReserveDeliveryIdsOn): every row has one.
  const bool with_ids = rows.front().id != 0;
  static constexpr driver::Column kColumnsWithId[] = {
      {"id", driver::ColumnType::kInt},
      {"callback_id", driver::ColumnType::kText},
      {"device_id", driver::ColumnType::kInt},
      {"message_time", driver::ColumnType::kInt},
      {"seq_number", driver::ColumnType::kInt},
      {"duplicate", driver::ColumnType::kInt},
      {"station", driver::ColumnType::kText},
      {"state", driver::ColumnType::kInt},
      {"attempts", driver::ColumnType::kInt},
      {"next_attempt", driver::ColumnType::kInt},
      {"first_failure", driver::ColumnType::kInt},
      {"last_status", driver::ColumnType::kInt},
      {"last_info", driver::ColumnType::kText},
      {"creation_time", driver::ColumnType::kInt},
      {"variables", driver::ColumnType::kText},
      {"lease_until", driver::ColumnType::kInt},
  };
  static constexpr driver::Column kColumns[] = {
      {"callback_id", driver::ColumnType::kText},  {"device_id", driver::ColumnType::kInt},
      {"message_time", driver::ColumnType::kInt},  {"seq_number", driver::ColumnType::kInt},
      {"duplicate", driver::ColumnType::kInt},     {"station", driver::ColumnType::kText},
      {"state", driver::ColumnType::kInt},         {"attempts", driver::ColumnType::kInt},
      {"next_attempt", driver::ColumnType::kInt},  {"first_failure", driver::ColumnType::kInt},
      {"last_status", driver::ColumnType::kInt},   {"last_info", driver::ColumnType::kText},
      {"creation_time", driver::ColumnType::kInt}, {"variables", driver::ColumnType::kText},
      {"lease_until", driver::ColumnType::kInt},
  };
  driver::BulkInsertSpec spec{"deliveries",
                              with_ids ? std::span<const driver::Column>(kColumnsWithId)
                                       : std::span<const driver::Column>(kColumns),
                              "", false, "queue deliveries"};
  auto inserted = c.BulkInsert(spec, rows.size(), [&](size_t i, driver::RowWriter& w) {
    const Delivery& d = rows[i];
    if (with_ids) w.Int(d.id);
    w.Text(d.callback);
    w.Int(int64_t{d.device});
    w.Int(d.message_time);
    w.Int(d.seq_number);
    w.Int(int64_t{d.duplicate ? 1 : 0});
    w.Text(d.station);
    w.Int(static_cast<int64_t>(DeliveryState::kPending));
    w.Int(int64_t{0});
    w.Int(d.next_attempt);
    w.Int(int64_t{0});
    w.Int(int64_t{0});
    w.Text("");
    w.Int(d.creation_time);
    w.Text(d.variables);
    w.Int(leases.empty() ? 0 : leases[i]);
  });
  return inserted.ok() ? Status::Ok() : inserted.status();
}

Status SqlStore::QueueCallbackDeliveries(Connection& c, std::string_view type,
                                         CallbackType callback_type, CallbackSubtype subtype,
                                         const Delivery& prototype, EpochMillis now) {
  std::vector<Delivery> rows;
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT id FROM callbacks WHERE type_id = $1 AND callback_type = $2 AND "
                    "subtype = $3 AND enabled = 1 AND dead = 0 ORDER BY id",
                    "queue callback deliveries");
    q.Bind(1, type)
        .Bind(2, static_cast<int64_t>(callback_type))
        .Bind(3, static_cast<int64_t>(subtype));
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      Delivery d = prototype;
      d.callback = q.Text(0);
      d.next_attempt = now;
      d.creation_time = now;
      rows.push_back(std::move(d));
    }
  }
  return QueueDeliveriesOn(c, rows);
}

Result<std::vector<DeliveryTask>> SqlStore::ClaimDeliveries(EpochMillis now, int limit,
                                                            int64_t lease_ms) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("claim deliveries"));
  std::vector<Delivery> claimed;
  std::map<std::string, std::optional<Callback>> callbacks;  // nullopt: deleted
  const bool postgres = c.dialect().engine == driver::Engine::kPostgres;
  // Another instance's claims are skipped, not waited for.
  const std::string skip_locked = postgres ? " FOR UPDATE SKIP LOCKED" : "";
  constexpr const char* kDueRows =
      "SELECT id, callback_id, next_attempt FROM deliveries WHERE state = 0 AND "
      "next_attempt <= $1 AND lease_until <= $1 ";
  ROOST_SQL_QUERY(due, c,
                  std::string(kDueRows) + "ORDER BY next_attempt, id LIMIT $2" + skip_locked,
                  "claim deliveries");
  // From the last claim's place: on PostgreSQL one range of the index from
  // that (due time, id); on SQLite, which does not seek on a comparison of
  // pairs, the rest of that due time and then the later ones. (An equality on
  // the due time alone lets PostgreSQL's planner walk the primary key from the
  // id instead, through every row of other due times.)
  if (postgres) {
    // A queue table's statistics are always behind: estimating a handful of
    // due rows, the planner would read every due row of the range by bitmap
    // and sort them to keep 128 (a drain of 100 000 fell to 3 000/s). The
    // index's own order is the plan that stops at the limit.
    ROOST_RETURN_IF_ERROR(c.Exec("SET LOCAL enable_bitmapscan = off", "claim deliveries"));
  }
  ROOST_SQL_QUERY(due_from, c,
                  std::string(kDueRows) +
                      (postgres ? "AND (next_attempt, id) > ($3, $4) ORDER BY next_attempt, id "
                                : "AND next_attempt = $3 AND id > $4 ORDER BY id ") +
                      "LIMIT $2" + skip_locked,
                  "claim deliveries");
  ROOST_SQL_QUERY(due_after, c,
                  std::string(kDueRows) +
                      "AND next_attempt > $3 ORDER BY next_attempt, id LIMIT $2" + skip_locked,
                  "claim deliveries");
  struct DueRow {
    int64_t id;
    std::string callback;
    EpochMillis next_attempt;
  };
  auto read_due = [](driver::Query& q, std::vector<DueRow>& rows) -> Status {
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back(DueRow{q.Int(0), q.Text(1), q.Int(2)});
    }
    q.Reset();
    return Status::Ok();
  };
  // The rows of a claim stay at the head of deliveries_due, leased, until
  // their attempts are recorded: a claim that looked from the head would step
  // over every one in flight (on PostgreSQL a heap visit each). It looks from
  // where the last one stopped while that finds enough; rows that came due
  // behind that place (a lease that ran out, deliveries made due again) are
  // found by the next look from the head, at most a second later.
  constexpr EpochMillis kFullLookEveryMs = 1'000;
  std::optional<ClaimPlace> place;
  {
    std::lock_guard<std::mutex> lock(claim_mu_);
    if (now >= last_full_claim_ && now - last_full_claim_ < kFullLookEveryMs) {
      place = claim_place_;
    }
  }
  auto due_rows = [&](int64_t want, std::vector<DueRow>& rows) -> Status {
    rows.clear();
    if (place) {
      due_from.Bind(1, now).Bind(2, want).Bind(3, place->next_attempt).Bind(4, place->id);
      ROOST_RETURN_IF_ERROR(read_due(due_from, rows));
      if (!postgres && static_cast<int64_t>(rows.size()) < want) {
        due_after.Bind(1, now).Bind(2, want - static_cast<int64_t>(rows.size()));
        due_after.Bind(3, place->next_attempt);
        ROOST_RETURN_IF_ERROR(read_due(due_after, rows));
      }
      if (static_cast<int64_t>(rows.size()) == want) return Status::Ok();
      // Too few beyond the place: look from the head (it finds these too).
      rows.clear();
      place.reset();
    }
    due.Bind(1, now).Bind(2, want);
    ROOST_RETURN_IF_ERROR(read_due(due, rows));
    std::lock_guard<std::mutex> lock(claim_mu_);
    last_full_claim_ = now;
    return Status::Ok();
  };
  ROOST_SQL_QUERY(read_callback, c, std::string(kCallbackSelect) + " WHERE id = $1",
                  "claim deliveries");
  // Holds off enabling it until this claim is committed, so that parking
  // never follows the enabling's unparking.
  ROOST_SQL_QUERY(
      lock_callback, c,
      std::string(kCallbackSelect) + " WHERE id = $1" + std::string(c.dialect().for_share),
      "claim deliveries");
  auto load_callback = [&](driver::Query& q, const std::string& id) -> Status {
    q.Bind(1, id);
    auto found = ReadOne(q, CallbackReader(), "gone");
    q.Reset();
    if (found.ok()) {
      callbacks[id] = std::move(*found);
    } else if (found.status().code() == Status::Code::kNotFound) {
      callbacks[id] = std::nullopt;
    } else {
      return found.status();
    }
    return Status::Ok();
  };
  auto living = [&](const std::string& id) {
    const auto& cb = callbacks[id];
    return cb && cb->enabled && !cb->dead;
  };
  // Parks every due delivery of a callback that is not living at once (those
  // another instance holds are its own to park), so that no later round or
  // claim meets it again: a disabled callback's backlog costs one statement,
  // not a round per `limit` of it.
  ROOST_SQL_QUERY(
      park, c,
      std::string("UPDATE deliveries SET next_attempt = $1 WHERE id IN (SELECT id FROM "
                  "deliveries WHERE callback_id = $2 AND state = 0 AND next_attempt <= $3 AND "
                  "lease_until <= $3") +
          skip_locked + ")",
      "claim deliveries");
  // Rounds: when one met deliveries of callbacks that are not living, those
  // are parked and the claim looks again for as many living ones. Each such
  // round parks a callback for good, so the rounds end.
  std::set<std::string> locked;  // callbacks locked by earlier rounds
  for (int round = 0; round < 64 && static_cast<int>(claimed.size()) < limit; ++round) {
    const int64_t want = limit - static_cast<int64_t>(claimed.size());
    std::vector<DueRow> rows;
    ROOST_RETURN_IF_ERROR(due_rows(want, rows));
    // The next round, and the next claim, go on from the last row read.
    if (static_cast<int64_t>(rows.size()) == want) {
      place = ClaimPlace{rows.back().next_attempt, rows.back().id};
    } else {
      place.reset();
    }
    {
      std::lock_guard<std::mutex> lock(claim_mu_);
      claim_place_ = place;
    }
    std::vector<int64_t> lease;
    std::set<std::string> parked;  // not living, read again under a lock
    for (const DueRow& r : rows) {
      if (!callbacks.count(r.callback)) {
        ROOST_RETURN_IF_ERROR(load_callback(read_callback, r.callback));
      }
      if (!living(r.callback)) parked.insert(r.callback);
    }
    // Locked in id order, as every transaction that locks several callbacks
    // does (taken in the order of their deliveries, a claim and an operator's
    // move of the downlink hook each waited for the other); across rounds
    // too: a callback that sorts before one an earlier round locked is left
    // to the next claim, a transaction of its own, and the rounds end.
    bool out_of_order = false;
    for (auto it = parked.begin(); it != parked.end();) {
      if (!locked.empty() && *it < *locked.rbegin() && !locked.contains(*it)) {
        out_of_order = true;  // not living as last read: its rows are not leased
        it = parked.erase(it);
        continue;
      }
      ROOST_RETURN_IF_ERROR(load_callback(lock_callback, *it));
      locked.insert(*it);
      it = living(*it) ? parked.erase(it) : std::next(it);
    }
    for (const DueRow& r : rows) {
      if (living(r.callback)) lease.push_back(r.id);
    }
    for (const std::string& callback : parked) {
      if (!callbacks[callback]) {
        // Deleted (after a send in flight or an ingest that had read it):
        // nothing will send these.
        ROOST_RETURN_IF_ERROR(ForgetDeletedCallbackDeliveries(c, callback, now + 1));
        continue;
      }
      ROOST_RETURN_IF_ERROR(park.Bind(1, kParkedUntil).Bind(2, callback).Bind(3, now).Run());
    }
    if (!lease.empty()) {
      ROOST_SQL_QUERY(u, c,
                      std::string("UPDATE deliveries SET lease_until = $1 WHERE id ") +
                          c.dialect().in_int_list(2) + " RETURNING " + kDeliveryColumns,
                      "claim deliveries");
      u.Bind(1, now + lease_ms).BindIntList(2, lease);
      auto leased = ReadAll<Delivery>(u, DeliveryFromRow);
      if (!leased.ok()) return leased.status();
      for (Delivery& d : *leased) claimed.push_back(std::move(d));
    }
    if (out_of_order) {
      // The next claim starts from the head, where those rows are.
      std::lock_guard<std::mutex> lock(claim_mu_);
      claim_place_.reset();
      break;
    }
    // Fewer than asked: nothing else is due. None parked: all were leased.
    if (static_cast<int64_t>(rows.size()) < want || parked.empty()) break;
  }
  if (claimed.empty()) {
    ROOST_RETURN_IF_ERROR(tx.Commit("claim deliveries"));
    return std::vector<DeliveryTask>{};
  }
  std::vector<DeliveryTask> out;
  out.reserve(claimed.size());
  // The messages of the DATA deliveries. A claim is mostly of fresh messages
  // close in time: then one query reads them all (their devices over their
  // time span, through the (device, time) key; a round trip per delivery was
  // most of a claim's cost on PostgreSQL); a wide span is read by keys
  // (GetMessagesOn), many per statement.
  using MessageKey = std::tuple<int64_t, EpochMillis, int64_t>;
  std::map<MessageKey, Message> messages;
  {
    std::vector<int64_t> devices;
    EpochMillis lo = 0, hi = 0;
    for (const Delivery& d : claimed) {
      const auto& cb = callbacks[d.callback];
      if (!cb || cb->callback_type != CallbackType::kData) continue;
      lo = devices.empty() ? d.message_time : std::min(lo, d.message_time);
      hi = devices.empty() ? d.message_time : std::max(hi, d.message_time);
      devices.push_back(int64_t{d.device});
    }
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    constexpr EpochMillis kOneQuerySpanMs = 10 * 60'000;
    if (!devices.empty() && hi - lo <= kOneQuerySpanMs) {
      ROOST_SQL_QUERY(q, c,
                      std::string("SELECT ") + kMessageColumns + " FROM messages WHERE device_id " +
                          c.dialect().in_int_list(1) + " AND time >= $2 AND time <= $3",
                      "claim deliveries");
      q.BindIntList(1, devices).Bind(2, lo).Bind(3, hi);
      for (;;) {
        auto row = q.Next();
        if (!row.ok()) return row.status();
        if (!*row) break;
        Message m = MessageFromRow(q);
        MessageKey key{int64_t{m.device.value}, m.time, m.seq_number};
        messages.emplace(key, std::move(m));
      }
    } else if (!devices.empty()) {
      std::vector<MessageCursor> keys;
      for (const Delivery& d : claimed) {
        const auto& cb = callbacks[d.callback];
        if (!cb || cb->callback_type != CallbackType::kData) continue;
        keys.push_back({d.message_time, d.device, d.seq_number});
      }
      auto read = GetMessagesOn(c, keys);
      if (!read.ok()) return read.status();
      for (Message& m : *read) {
        MessageKey key{int64_t{m.device.value}, m.time, m.seq_number};
        messages.emplace(key, std::move(m));
      }
    }
  }
  std::vector<int64_t> purged;  // DATA deliveries whose message is gone
  for (Delivery& d : claimed) {
    const auto& cb = callbacks[d.callback];
    if (!cb) continue;
    if (cb->callback_type != CallbackType::kData) {
      // A service report or an event: its values came with the delivery.
      Message about;
      about.device = SigfoxId{d.device};
      about.type = cb->type;
      about.time = d.message_time;
      about.seq_number = d.seq_number;
      out.push_back(DeliveryTask{std::move(d), *cb, std::move(about), now + lease_ms});
      continue;
    }
    auto m = messages.find(MessageKey{int64_t{d.device}, d.message_time, d.seq_number});
    if (m == messages.end()) {
      purged.push_back(d.id);
      continue;
    }
    // Several deliveries (callbacks) of one message each get a copy.
    out.push_back(DeliveryTask{std::move(d), *cb, m->second, now + lease_ms});
  }
  if (!purged.empty()) {
    // Its message was deleted (retention, or its device) before it was sent:
    // there is nothing to send, ever. Left pending, it was claimed again at
    // each lease's end, for good (a parked delivery of a callback disabled for
    // longer than the retention, say). It is given up, saying why.
    ROOST_SQL_QUERY(q, c,
                    std::string("UPDATE deliveries SET state = $1, lease_until = 0, last_info = "
                                "$2 WHERE state = 0 AND id ") +
                        c.dialect().in_int_list(3),
                    "claim deliveries");
    q.Bind(1, static_cast<int64_t>(DeliveryState::kDead))
        .Bind(2, std::string("its message was deleted before it could be sent"))
        .BindIntList(3, purged);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("claim deliveries"));
  return out;
}

Result<bool> SqlStore::CompleteDelivery(int64_t delivery_id, const DeliveryOutcome& o) {
  const DeliveryCompletion one{delivery_id, o, ""};
  ROOST_SQL_LEASE(c);
  auto died = CompleteDeliveriesOn(c, std::span(&one, 1), /*all_found=*/true);
  if (!died.ok()) return died.status();
  return static_cast<bool>(died->front());
}

Result<std::vector<bool>> SqlStore::CompleteDeliveries(
    std::span<const DeliveryCompletion> completions) {
  if (completions.empty()) return std::vector<bool>{};
  ROOST_SQL_LEASE(c);
  return CompleteDeliveriesOn(c, completions, /*all_found=*/false);
}

// An attempt changes the state only of a pending delivery: a done or dead one
// stays so (its attempt is still logged), also when a late answer comes back
// from a send that outlived its lease or whose callback was deleted meanwhile.
// "... FROM (VALUES (CAST($1 AS BIGINT), …), …) AS v ...": `rows` rows of the
// nine values of one attempt (the casts tell PostgreSQL their types, which a
// bare parameter in VALUES does not have; SQLite names VALUES columns
// column1… as PostgreSQL does). The attempt's line joins the attempt log
// unless it is a first attempt that delivered (Delivery::attempt_log).
constexpr int kCompletionValues = 10;
// A give-up (state 2) does not land on a delivery tried before whose failure
// clock an edit or enable started afresh meanwhile (attempts > 0,
// first_failure 0): the sender judged it on the clock it read before, and
// would give it up, and kill its callback, right after the callback was
// fixed. It stays pending, due at once, its clock starting with this attempt.
static std::string CompleteDeliveriesSql(size_t rows) {
  std::string sql =
      "UPDATE deliveries SET attempts = deliveries.attempts + 1, last_status = v.column2, "
      "last_info = v.column3, "
      "state = CASE WHEN deliveries.state <> 0 THEN deliveries.state "
      "WHEN v.column4 = 2 AND deliveries.first_failure = 0 AND deliveries.attempts > 0 "
      "THEN 0 ELSE v.column4 END, "
      "next_attempt = CASE WHEN deliveries.state = 0 THEN v.column5 ELSE "
      "deliveries.next_attempt END, lease_until = 0, "
      "first_failure = CASE WHEN deliveries.state <> 0 THEN deliveries.first_failure "
      "WHEN v.column6 = 1 THEN 0 WHEN deliveries.first_failure = 0 "
      "THEN v.column7 ELSE deliveries.first_failure END, "
      "attempt_log = CASE WHEN v.column6 = 1 AND deliveries.attempts = 0 THEN '' "
      "WHEN LENGTH(deliveries.attempt_log) + LENGTH(v.column9) > " +
      std::to_string(kMaxAttemptLog) +
      " THEN deliveries.attempt_log ELSE deliveries.attempt_log || v.column9 END FROM (VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    sql += "(";
    for (int col = 0; col < kCompletionValues; ++col) {
      if (col > 0) sql += ", ";
      sql += "CAST($" + std::to_string(r * kCompletionValues + static_cast<size_t>(col) + 1) +
             (col == 2 || col == 7 || col == 8 ? " AS TEXT)" : " AS BIGINT)");
    }
    sql += ")";
  }
  sql +=
      ") AS v WHERE deliveries.id = v.column1 AND (v.column8 = '' OR "
      "deliveries.callback_id = v.column8) AND (v.column10 = 0 OR deliveries.lease_until = "
      "v.column10) RETURNING deliveries.id, deliveries.callback_id, "
      "deliveries.first_failure, deliveries.state";
  return sql;
}

// One line of a delivery's attempt log: "<epoch ms> <status> <info>\n", the
// info on one line.
static std::string AttemptLine(const DeliveryOutcome& o) {
  std::string line = std::to_string(o.now) + ' ' + std::to_string(o.status) + ' ';
  for (char ch : o.info) line += (ch == '\n' || ch == '\r') ? ' ' : ch;
  line += '\n';
  return line;
}

Result<std::vector<bool>> SqlStore::CompleteDeliveriesOn(
    Connection& c, std::span<const DeliveryCompletion> completions, bool all_found) {
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("complete delivery"));
  // One statement per up to 128 attempts (a power of two, so that a
  // connection caches few texts): a round trip per attempt was most of the
  // cost of recording a group on PostgreSQL.
  constexpr size_t kMaxRows = 128;
  struct Recorded {
    std::string callback;
    EpochMillis first_failure = 0;  // after this attempt
    bool dead = false;              // after this attempt
  };
  std::map<int64_t, Recorded> recorded;  // by delivery id
  // Rows are written in id order, as every transaction that locks several
  // deliveries does, so that two never wait for each other.
  std::vector<size_t> by_id(completions.size());
  std::iota(by_id.begin(), by_id.end(), size_t{0});
  std::sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) {
    return completions[a].delivery_id < completions[b].delivery_id;
  });
  for (size_t at = 0; at < completions.size();) {
    size_t n = kMaxRows;
    while (n > completions.size() - at) n /= 2;
    ROOST_SQL_QUERY(q, c, CompleteDeliveriesSql(n), "complete delivery");
    for (size_t i = 0; i < n; ++i) {
      const DeliveryCompletion& d = completions[by_id[at + i]];
      const DeliveryOutcome& o = d.outcome;
      const DeliveryState state = o.delivered ? DeliveryState::kDone
                                  : o.give_up ? DeliveryState::kDead
                                              : DeliveryState::kPending;
      const int p = static_cast<int>(i) * kCompletionValues;
      q.Bind(p + 1, d.delivery_id).Bind(p + 2, int64_t{o.status}).BindRef(p + 3, o.info);
      q.Bind(p + 4, static_cast<int64_t>(state)).Bind(p + 5, o.delivered ? o.now : o.retry_at);
      q.Bind(p + 6, int64_t{o.delivered ? 1 : 0}).Bind(p + 7, o.now).BindRef(p + 8, d.callback);
      q.Bind(p + 9, AttemptLine(o)).Bind(p + 10, d.lease_until);
    }
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      recorded[q.Int(0)] =
          Recorded{q.Text(1), q.Int(2), q.Int(3) == static_cast<int64_t>(DeliveryState::kDead)};
    }
    at += n;
  }
  // Per callback: its latest delivery here, and of its deliveries given up
  // here the one that first failed last (if the callback delivered nothing
  // since, it has failed all along since then).
  struct PerCallback {
    EpochMillis delivered = 0;
    std::optional<size_t> given_up;  // index into completions
  };
  std::map<std::string, PerCallback> callbacks;  // in id order: rows locked in one order
  for (size_t i = 0; i < completions.size(); ++i) {
    auto r = recorded.find(completions[i].delivery_id);
    if (r == recorded.end()) {
      if (all_found) {
        return Status::NotFound("delivery " + std::to_string(completions[i].delivery_id) +
                                " not found");
      }
      continue;  // gone: its callback was deleted
    }
    const DeliveryOutcome& o = completions[i].outcome;
    PerCallback& cb = callbacks[r->second.callback];
    if (o.delivered) {
      cb.delivered = std::max(cb.delivered, o.now);
    } else if (o.give_up && r->second.dead &&
               (!cb.given_up ||
                r->second.first_failure >
                    recorded[completions[*cb.given_up].delivery_id].first_failure)) {
      cb.given_up = i;
    }
  }
  std::vector<bool> died(completions.size(), false);
  // A delivery given up kills its callback only when the callback has
  // delivered nothing since that delivery first failed: one message an
  // endpoint keeps refusing must not stop the others it takes. Its alert is
  // queued with it: sent after a crash too, by one instance.
  ROOST_SQL_QUERY(kill, c,
                  "UPDATE callbacks SET dead = 1, alert_due = $2, alert_tries = 0, "
                  "dead_status = $3, dead_info = $4 WHERE id = $1 AND dead = 0 AND "
                  "last_delivered < $5",
                  "complete delivery");
  for (const auto& [callback, cb] : callbacks) {
    if (!cb.given_up) continue;
    const EpochMillis first_failure = recorded[completions[*cb.given_up].delivery_id].first_failure;
    if (cb.delivered >= first_failure) continue;  // delivered in this group, since
    const DeliveryOutcome& o = completions[*cb.given_up].outcome;
    kill.Bind(1, callback).Bind(2, std::max<EpochMillis>(o.now, 1));
    kill.Bind(3, int64_t{o.status}).BindRef(4, o.info).Bind(5, first_failure);
    ROOST_RETURN_IF_ERROR(kill.Run());
    died[*cb.given_up] = kill.Affected() > 0;
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("complete delivery"));
  // When each callback last delivered, for the test above. Outside the
  // transaction, so that the callback's row is locked for a statement's time:
  // held to the commit, it would make the recordings of every instance sending
  // for the callback wait for one another. A crash or an error before it
  // leaves an older time, which errs towards the callback being found dead;
  // it is not an error of the recording, which is committed (a caller that
  // tried again would record the attempts twice).
  auto alive =
      c.Prepare("UPDATE callbacks SET last_delivered = $2 WHERE id = $1 AND last_delivered < $2",
                "record a callback's last delivery");
  for (const auto& [callback, cb] : callbacks) {
    if (!alive.ok()) break;
    if (cb.delivered > 0 && !alive->Bind(1, callback).Bind(2, cb.delivered).Run().ok()) break;
  }
  return died;
}

Status SqlStore::DeferDeliveries(std::span<const int64_t> delivery_ids, EpochMillis until) {
  if (delivery_ids.empty()) return Status::Ok();
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(
      q, c,
      std::string("UPDATE deliveries SET next_attempt = $1, lease_until = 0 WHERE state = 0 "
                  "AND id ") +
          c.dialect().in_int_list(2),
      "defer deliveries");
  return q.Bind(1, until).BindIntList(2, delivery_ids).Run();
}

Result<StoredQueueDepths> SqlStore::MeasureStoredQueues(EpochMillis now, int64_t cap) {
  if (cap < 1) return Status::InvalidInput("cap must be positive");
  ROOST_SQL_LEASE(c);
  // One snapshot for all the counts: a delivery whose attempt is recorded
  // between two of them (due, then later) would otherwise be counted in neither.
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("measure stored queues", /*write=*/false));
  StoredQueueDepths out;
  // Each count walks its queue's partial index (deliveries_due, event_emails_due,
  // callbacks_alert_due) in the index's order, and stops at the cap. Due and
  // leased deliveries share one window of the due index: a lease is a column
  // the index does not hold (migration 0019), so a count of leased rows alone
  // would read every due row to find the few that are leased.
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN lease_until > $1 THEN 1 ELSE 0 END), "
                    "0) FROM (SELECT lease_until FROM deliveries WHERE state = 0 AND next_attempt "
                    "<= $1 ORDER BY next_attempt LIMIT $2) d",
                    "measure stored queues");
    auto row = q.Bind(1, now).Bind(2, cap).Next();
    if (!row.ok()) return row.status();
    if (*row) {
      out.deliveries_leased = q.Int(1);
      out.deliveries_due = q.Int(0) - out.deliveries_leased;
    }
  }
  struct Count {
    const char* sql;
    int64_t* into;
    std::vector<int64_t> values;  // $1, $2, ...
  };
  const Count counts[] = {
      {"SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE state = 0 AND next_attempt > $1 "
       "AND next_attempt < $2 ORDER BY next_attempt LIMIT $3) d",
       &out.deliveries_later,
       {now, kParkedUntil, cap}},
      {"SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE state = 0 AND next_attempt >= $1 "
       "ORDER BY next_attempt LIMIT $2) d",
       &out.deliveries_parked,
       {kParkedUntil, cap}},
      {"SELECT COUNT(*) FROM (SELECT 1 FROM event_emails WHERE state = 0 ORDER BY next_attempt "
       "LIMIT $1) e",
       &out.event_emails,
       {cap}},
      {"SELECT COUNT(*) FROM (SELECT 1 FROM callbacks WHERE alert_due > 0 ORDER BY alert_due "
       "LIMIT $1) a",
       &out.dead_alerts,
       {cap}},
  };
  for (const Count& count : counts) {
    ROOST_SQL_QUERY(q, c, count.sql, "measure stored queues");
    for (size_t i = 0; i < count.values.size(); ++i) {
      q.Bind(static_cast<int>(i + 1), count.values[i]);
    }
    auto row = q.Next();
    if (!row.ok()) return row.status();
    *count.into = *row ? q.Int(0) : 0;
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("measure stored queues"));
  return out;
}

Result<std::vector<DeadAlertTask>> SqlStore::ClaimDeadAlerts(EpochMillis now, int limit,
                                                             int64_t lease_ms) {
  ROOST_SQL_LEASE(c);
  {
    // Almost always none: looked at first without a write transaction, which
    // on SQLite takes the database's write lock.
    ROOST_SQL_QUERY(q, c,
                    "SELECT id FROM callbacks WHERE alert_due > 0 AND alert_due <= $1 LIMIT 1",
                    "claim dead callback alerts");
    auto row = q.Bind(1, now).Next();
    if (!row.ok()) return row.status();
    if (!*row) return std::vector<DeadAlertTask>{};
  }
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("claim dead callback alerts"));
  std::vector<DeadAlertTask> out;
  {
    ROOST_SQL_QUERY(
        q, c,
        std::string("SELECT id FROM callbacks WHERE alert_due > 0 AND alert_due <= $1 ORDER BY "
                    "alert_due LIMIT $2") +
            // Another instance's claims are skipped, not waited for.
            (c.dialect().engine == driver::Engine::kPostgres ? " FOR UPDATE SKIP LOCKED" : ""),
        "claim dead callback alerts");
    q.Bind(1, now).Bind(2, int64_t{limit});
    std::vector<std::string> ids;
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(q.Text(0));
    }
    // The new lease end is the claim's token: strictly later than the
    // alert's last one, so no two claims share it.
    ROOST_SQL_QUERY(u, c,
                    "UPDATE callbacks SET alert_due = CASE WHEN alert_due >= $2 THEN alert_due + 1 "
                    "ELSE $2 END WHERE id = $1 AND alert_due > 0 RETURNING alert_due, "
                    "alert_tries, dead_status, dead_info",
                    "claim dead callback alerts");
    ROOST_SQL_QUERY(get, c, std::string(kCallbackSelect) + " WHERE id = $1",
                    "claim dead callback alerts");
    for (const std::string& id : ids) {
      u.Bind(1, id).Bind(2, now + lease_ms);
      auto row = u.Next();
      if (!row.ok()) return row.status();
      if (!*row) {
        u.Reset();
        continue;
      }
      DeadAlertTask task;
      task.lease_until = u.Int(0);
      task.tries = static_cast<int32_t>(u.Int(1));
      task.status = static_cast<int32_t>(u.Int(2));
      task.info = u.Text(3);
      u.Reset();
      get.Bind(1, id);
      auto cb = ReadOne(get, CallbackReader(), "gone");
      get.Reset();
      if (!cb.ok()) return cb.status();
      task.callback = std::move(*cb);
      out.push_back(std::move(task));
    }
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("claim dead callback alerts"));
  return out;
}

Result<bool> SqlStore::CompleteDeadAlert(const DeadAlertTask& claimed,
                                         std::optional<EpochMillis> retry_at) {
  ROOST_SQL_LEASE(c);
  // Only the latest claim may record, and only while the alert waits.
  ROOST_SQL_QUERY(q, c,
                  "UPDATE callbacks SET alert_due = $2, alert_tries = alert_tries + $3 WHERE id = "
                  "$1 AND alert_due = $4",
                  "complete dead callback alert");
  q.BindRef(1, claimed.callback.id).Bind(2, retry_at ? std::max<EpochMillis>(*retry_at, 1) : 0);
  q.Bind(3, int64_t{retry_at ? 1 : 0}).Bind(4, claimed.lease_until);
  ROOST_RETURN_IF_ERROR(q.Run());
  return q.Affected() > 0;
}

Result<Store::HookClaim> SqlStore::ClaimHookDelivery(int64_t delivery_id, EpochMillis now,
                                                     EpochMillis lease_until) {
  ROOST_SQL_LEASE(c);
  // Of several instances the first update wins; the others' find hook_claimed
  // set (PostgreSQL re-reads the row after waiting for the winner's lock).
  // Not yet due: a due delivery is the dispatcher's (and so is one a claim
  // leased, should the clocks of two instances disagree, or one handed to a
  // sender at ingest). Leased through both columns, as a hand-off is: not due
  // before the call's lease ends, and in flight meanwhile (deleting the
  // callback leaves it to the call).
  ROOST_SQL_QUERY(q, c,
                  "UPDATE deliveries SET hook_claimed = 1, next_attempt = $2, lease_until = $2 "
                  "WHERE id = $1 AND "
                  "state = 0 AND attempts = 0 AND hook_claimed = 0 AND next_attempt > $3 AND "
                  "lease_until <= $3",
                  "claim downlink hook delivery");
  q.Bind(1, delivery_id).Bind(2, lease_until).Bind(3, now);
  ROOST_RETURN_IF_ERROR(q.Run());
  if (q.Affected() > 0) return HookClaim::kClaimed;
  // Whose it is: only an arbiter sets hook_claimed (before its call, which it
  // records as the first attempt).
  ROOST_SQL_QUERY(whose, c, "SELECT hook_claimed FROM deliveries WHERE id = $1",
                  "claim downlink hook delivery");
  auto row = whose.Bind(1, delivery_id).Next();
  if (!row.ok()) return row.status();
  return *row && whose.Int(0) != 0 ? HookClaim::kClaimedElsewhere : HookClaim::kDispatchers;
}

Result<std::vector<Delivery>> SqlStore::ListMessageDeliveries(
    std::span<const MessageCursor> messages) {
  // By the page's keys (a round trip per message made a page of 100 cost 100
  // round trips on PostgreSQL), each looked up in deliveries_message.
  static const MessageKeysQuery by_keys(
      std::string("SELECT ") + kDeliveryColumns + " FROM deliveries", "device_id", "message_time",
      "seq_number");
  std::vector<Delivery> out;
  if (messages.empty()) return out;
  ROOST_SQL_LEASE(c);
  ROOST_RETURN_IF_ERROR(
      by_keys.ForEach(c, "list message deliveries", messages,
                      [&](const driver::Query& q) { out.push_back(DeliveryFromRow(q)); }));
  // In the order they were queued: a message's deliveries in its callbacks'
  // order, across statements.
  std::sort(out.begin(), out.end(),
            [](const Delivery& a, const Delivery& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<Delivery>> SqlStore::ListFailedDeliveries(
    std::string_view group_subtree, int limit, int offset,
    std::optional<FailedDeliveryCursor> after, const FailedDeliveryFilter& filter) {
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(limit, offset));
  ROOST_SQL_LEASE(c);
  auto range = SubtreeRange(c, group_subtree);
  if (!range.ok()) return range.status();
  std::string columns;
  for (std::string_view rest = kDeliveryColumns; !rest.empty();) {
    const size_t comma = rest.find(", ");
    columns += (columns.empty() ? "d." : ", d.") + std::string(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  ROOST_SQL_QUERY(q, c,
                  "SELECT " + columns +
                      " FROM deliveries d JOIN callbacks cb ON cb.id = d.callback_id "
                      "JOIN device_types t ON t.id = cb.type_id "
                      "WHERE (d.state = 2 OR (d.state = 0 AND d.first_failure > 0)) AND "
                      "t.group_id IN (SELECT id FROM groups WHERE tree >= $1 AND tree < $2) "
                      "AND (d.first_failure < $4 OR (d.first_failure = $4 AND d.id < $5)) "
                      "AND d.first_failure >= $7 AND (CAST($8 AS BIGINT) < 0 OR d.device_id = $8) "
                      "AND ($9 = '' OR cb.type_id = $9) "
                      "ORDER BY d.first_failure DESC, d.id DESC LIMIT $3 OFFSET $6",
                  "list failed deliveries");
  q.Bind(1, range->first).Bind(2, range->second).Bind(3, int64_t{limit});
  q.Bind(4, after ? after->first_failure : std::numeric_limits<int64_t>::max());
  q.Bind(5, after ? after->id : std::numeric_limits<int64_t>::max());
  q.Bind(6, int64_t{offset});
  q.Bind(7, filter.since.value_or(std::numeric_limits<int64_t>::min()));
  q.Bind(8, filter.device ? int64_t{*filter.device} : int64_t{-1});
  q.BindRef(9, filter.type);
  return ReadAll<Delivery>(q, DeliveryFromRow);
}

}  // namespace roost::storage::sql
