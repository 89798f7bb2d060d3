// Retention of messages: monthly partitions on PostgreSQL (dropped whole),
// short row deletes on SQLite; of events and statistics: short row deletes on
// both.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month;
using std::chrono::year_month_day;

constexpr std::string_view kPartitionPrefix = "messages_p";
// Rows deleted per SQLite transaction: ingest waits at most for one of them.
constexpr int64_t kDeleteChunk = 5'000;
// How long dropping or creating a partition waits for its ACCESS EXCLUSIVE
// lock on `messages`: while it waits, every ingest queues behind it, so a busy
// table makes the pass give up (the next pass tries again) rather than stall
// ingest.
constexpr const char* kDropLockTimeout = "SET LOCAL lock_timeout = '2s'";

year_month MonthOf(EpochMillis t) {
  const auto d = std::chrono::floor<days>(sys_days{} + std::chrono::milliseconds(t));
  const year_month_day ymd{d};
  return ymd.year() / ymd.month();
}

EpochMillis StartOf(year_month m) {
  const sys_days d{m / std::chrono::day{1}};
  return std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch()).count();
}

std::string PartitionName(year_month m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%04d%02u", kPartitionPrefix.data(), static_cast<int>(m.year()),
                static_cast<unsigned>(m.month()));
  return buf;
}

// The month of "messages_pYYYYMM"; nullopt for any other name.
std::optional<year_month> MonthOfPartition(std::string_view name) {
  if (!name.starts_with(kPartitionPrefix) || name.size() != kPartitionPrefix.size() + 6) {
    return std::nullopt;
  }
  int y = 0;
  unsigned mo = 0;
  for (char ch : name.substr(kPartitionPrefix.size())) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  std::sscanf(std::string(name.substr(kPartitionPrefix.size())).c_str(), "%4d%2u", &y, &mo);
  year_month m{std::chrono::year{y}, std::chrono::month{mo}};
  if (!m.ok()) return std::nullopt;
  return m;
}

// Drops one partition in a transaction of its own; Unavailable when its lock
// was not granted in time.
Status DropPartition(Connection& c, const std::string& name) {
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("purge messages"));
  ROOST_RETURN_IF_ERROR(c.Exec(kDropLockTimeout, "purge messages"));
  ROOST_RETURN_IF_ERROR(c.Exec("DROP TABLE IF EXISTS " + name, "purge messages"));
  return tx.Commit("purge messages");
}

// Runs `sql` (a DELETE of at most $2 rows older than $1) until it deletes
// fewer: each run is its own short transaction.
Result<int64_t> DeleteInChunks(Connection& c, const std::string& sql, EpochMillis cutoff,
                               std::string_view op) {
  ROOST_SQL_QUERY(q, c, sql, op);
  int64_t total = 0;
  for (;;) {
    ROOST_RETURN_IF_ERROR(q.Bind(1, cutoff).Bind(2, kDeleteChunk).Run());
    const int64_t n = q.Affected();
    q.Reset();
    total += n;
    if (n < kDeleteChunk) return total;
  }
}

// Deletes the rows of `table` older than `cutoff` per device type through its
// (type, time) index, a chunk per statement (each its own short transaction):
// `delete_sql` deletes at most $3 rows of type $1 older than $2. The types are
// found by walking that index (a loose index scan), so messages of deleted
// types go too.
Result<int64_t> DeleteByType(Connection& c, const std::string& table, const std::string& delete_sql,
                             EpochMillis cutoff) {
  std::vector<std::string> types;
  {
    ROOST_SQL_QUERY(q, c,
                    "WITH RECURSIVE t(id) AS (SELECT MIN(type_id) FROM " + table +
                        " UNION ALL SELECT (SELECT MIN(type_id) FROM " + table +
                        " WHERE type_id > t.id) FROM t WHERE t.id IS NOT NULL) SELECT id FROM t "
                        "WHERE id IS NOT NULL",
                    "purge messages");
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      types.push_back(q.Text(0));
    }
  }
  ROOST_SQL_QUERY(q, c, delete_sql, "purge messages");
  int64_t total = 0;
  for (const std::string& type : types) {
    for (;;) {
      ROOST_RETURN_IF_ERROR(q.BindRef(1, type).Bind(2, cutoff).Bind(3, kDeleteChunk).Run());
      const int64_t n = q.Affected();
      q.Reset();
      total += n;
      if (n < kDeleteChunk) break;
    }
  }
  return total;
}

}  // namespace

Status SqlStore::PrepareMessagePartitions(EpochMillis now, int months_ahead) {
  ROOST_SQL_LEASE(c);
  if (c.dialect().engine != driver::Engine::kPostgres) return Status::Ok();
  std::string skipped;
  year_month m = MonthOf(now);
  for (int i = 0; i <= months_ahead; ++i, m += std::chrono::months{1}) {
    const std::string name = PartitionName(m);
    {
      // Made already (the usual case): nothing to lock.
      ROOST_SQL_QUERY(q, c, "SELECT to_regclass($1) IS NOT NULL", "prepare message partitions");
      auto row = q.Bind(1, name).Next();
      if (!row.ok()) return row.status();
      if (*row && q.Int(0) != 0) continue;
    }
    // Its lock on `messages` waits for every transaction reading it, and
    // every ingest would queue behind the wait: bounded as a drop's. Months
    // are made ahead, so a busy moment only makes the next pass make it.
    const std::string sql = "CREATE TABLE IF NOT EXISTS " + name +
                            " PARTITION OF messages FOR VALUES FROM (" +
                            std::to_string(StartOf(m)) + ") TO (" +
                            std::to_string(StartOf(m + std::chrono::months{1})) + ")";
    Status made = [&] {
      driver::Transaction tx(c);
      ROOST_RETURN_IF_ERROR(tx.Begin("prepare message partitions"));
      ROOST_RETURN_IF_ERROR(c.Exec(kDropLockTimeout, "prepare message partitions"));
      ROOST_RETURN_IF_ERROR(c.Exec(sql, "prepare message partitions"));
      return tx.Commit("prepare message partitions");
    }();
    if (!made.ok()) {
      // Rows of that month already in the default partition (a store older
      // than its partitions), another instance creating it at this moment, or
      // its lock not granted in time.
      skipped += (skipped.empty() ? "" : ", ") + name + " (" + made.message() + ")";
    }
  }
  if (!skipped.empty()) return Status::InvalidInput("partitions not made: " + skipped);
  return Status::Ok();
}

Result<std::vector<std::string>> SqlStore::ListMessagePartitions() {
  std::vector<std::string> out;
  ROOST_SQL_LEASE(c);
  if (c.dialect().engine != driver::Engine::kPostgres) return out;
  ROOST_SQL_QUERY(q, c,
                  "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = 'messages'::regclass ORDER BY c.relname",
                  "list message partitions");
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(q.Text(0));
  }
  return out;
}

Result<Store::PurgeResult> SqlStore::PurgeMessagesBefore(EpochMillis cutoff) {
  PurgeResult result;
  auto partitions = ListMessagePartitions();
  if (!partitions.ok()) return partitions.status();
  ROOST_SQL_LEASE(c);
  const bool postgres = c.dialect().engine == driver::Engine::kPostgres;
  // Deliveries go with what they are about. On PostgreSQL the month that
  // straddles the cutoff is kept whole, and so are its messages' deliveries,
  // and those of a month whose drop waited too long for its lock.
  EpochMillis deliveries_cutoff = postgres ? std::min(cutoff, StartOf(MonthOf(cutoff))) : cutoff;
  if (postgres) {
    for (const std::string& name : *partitions) {
      auto month = MonthOfPartition(name);
      if (!month || StartOf(*month + std::chrono::months{1}) > cutoff) continue;
      Status dropped = DropPartition(c, name);
      if (dropped.code() == Status::Code::kUnavailable) {
        result.partitions_busy.push_back(name);
        deliveries_cutoff = std::min(deliveries_cutoff, StartOf(*month));
        continue;
      }
      ROOST_RETURN_IF_ERROR(dropped);
      ++result.partitions_dropped;
    }
    // Rows outside every dated partition: late or very old ones (a store from
    // before the partitions may hold millions). The default partition has no
    // index led by time, so they go per device type, as on SQLite.
    auto deleted = DeleteByType(
        c, "messages_default",
        "DELETE FROM messages_default WHERE ctid = ANY(ARRAY(SELECT ctid FROM messages_default "
        "WHERE type_id = $1 AND time < $2 LIMIT $3))",
        cutoff);
    if (!deleted.ok()) return deleted.status();
    result.rows_deleted += *deleted;
  } else {
    auto deleted = DeleteByType(c, "messages",
                                "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages "
                                "WHERE type_id = $1 AND time < $2 LIMIT $3)",
                                cutoff);
    if (!deleted.ok()) return deleted.status();
    result.rows_deleted += *deleted;
  }
  // ORDER BY keeps deliveries_message (message time first) in the plan: a
  // queue table's statistics lag, and PostgreSQL, estimating a third of the
  // rows older than the cutoff, read the whole table for LIMIT rows that were
  // not there (76 ms at 100 000 deliveries, 0.7 ms through the index).
  // The chunk is locked in id order first (on PostgreSQL), as the recorder
  // and the claims lock deliveries: the delete alone locks in the order it
  // meets rows, and a purge and a recorder each held one the other waited for.
  ROOST_SQL_QUERY(q, c,
                  "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE id IN "
                  "(SELECT id FROM deliveries WHERE message_time < $1 ORDER BY message_time "
                  "LIMIT $2) ORDER BY id" +
                      std::string(c.dialect().for_update) + ")",
                  "purge messages");
  for (;;) {
    // In chunks, like messages: a long delete would hold SQLite's writer.
    ROOST_RETURN_IF_ERROR(q.Bind(1, deliveries_cutoff).Bind(2, kDeleteChunk).Run());
    const int64_t n = q.Affected();
    q.Reset();
    if (n < kDeleteChunk) break;
  }
  return result;
}

Result<int64_t> SqlStore::PurgeEventsBefore(EpochMillis cutoff) {
  ROOST_SQL_LEASE(c);
  constexpr std::string_view kOp = "purge events";
  // Sent and given-up emails first: an event goes once no email of it is left,
  // so that a pending email never loses the event it tells about.
  auto emails = DeleteInChunks(c,
                               "DELETE FROM event_emails WHERE id IN (SELECT id FROM event_emails "
                               "WHERE creation_time < $1 AND state <> 0 LIMIT $2)",
                               cutoff, kOp);
  if (!emails.ok()) return emails.status();
  auto events = DeleteInChunks(c,
                               "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE "
                               "e.time < $1 AND NOT EXISTS (SELECT 1 FROM event_emails m WHERE "
                               "m.event_id = e.id) LIMIT $2)",
                               cutoff, kOp);
  if (!events.ok()) return events.status();
  return *emails + *events;
}

Result<int64_t> SqlStore::PurgeStatisticsBefore(EpochMillis cutoff) {
  ROOST_SQL_LEASE(c);
  constexpr std::string_view kOp = "purge statistics";
  // Row values name the rows by their primary keys, the same text on both engines.
  const char* const kDeletes[] = {
      "DELETE FROM hourly_stats WHERE (scope, scope_id, hour) IN (SELECT scope, scope_id, hour "
      "FROM hourly_stats WHERE hour < $1 LIMIT $2)",
      "DELETE FROM hourly_frequencies WHERE (scope, scope_id, hour, freq_khz) IN (SELECT scope, "
      "scope_id, hour, freq_khz FROM hourly_frequencies WHERE hour < $1 LIMIT $2)",
      "DELETE FROM service_reports WHERE (device_id, kind, time, seq_number) IN (SELECT "
      "device_id, kind, time, seq_number FROM service_reports WHERE time < $1 LIMIT $2)",
  };
  int64_t total = 0;
  for (const char* sql : kDeletes) {
    auto n = DeleteInChunks(c, sql, cutoff, kOp);
    if (!n.ok()) return n.status();
    total += *n;
  }
  return total;
}

}  // namespace roost::storage::sql
