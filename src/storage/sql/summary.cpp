// The console's home page counts of a group subtree (Store::SummarizeGroup).
#include <string>

#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

// $1 and $2 are the subtree's bounds of the tree column.
constexpr const char* kSubtreeGroups = "(SELECT id FROM groups WHERE tree >= $1 AND tree < $2)";

std::string SubtreeTypes() {
  return std::string("(SELECT id FROM device_types WHERE group_id IN ") + kSubtreeGroups + ")";
}

}  // namespace

Result<GroupSummary> SqlStore::SummarizeGroup(std::string_view group_subtree,
                                              EpochMillis day_start) {
  ROOST_SQL_LEASE(c);
  auto range = SubtreeRange(c, group_subtree);
  if (!range.ok()) return range.status();
  // Each count is one statement over an index: devices_group, devices_comm_lost
  // (partial, so only flagged devices are read), the hourly statistics' key
  // (scope, type, hour) and callbacks_type with deliveries_callback.
  const std::string statements[] = {
      std::string("SELECT COUNT(*) FROM devices WHERE group_id IN ") + kSubtreeGroups,
      "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM hourly_stats WHERE scope = 1 AND "
      "scope_id IN " +
          // Today's hours only: ingest takes frames stamped up to 10 minutes ahead.
          SubtreeTypes() + " AND hour >= $3 AND hour < $3 + 86400000",
      "SELECT COUNT(*) FROM devices WHERE comm_lost = 1 AND type_id IN " + SubtreeTypes() +
          " AND group_id IN " + kSubtreeGroups,
      "SELECT COUNT(*) FROM callbacks cb WHERE cb.type_id IN " + SubtreeTypes() +
          " AND (cb.dead = 1 OR (cb.enabled = 1 AND EXISTS (SELECT 1 FROM deliveries d "
          "WHERE d.callback_id = cb.id AND d.state = 0 AND d.first_failure > 0)))",
  };
  int64_t counts[4] = {};
  for (int i = 0; i < 4; ++i) {
    ROOST_SQL_QUERY(q, c, statements[i], "summarize group");
    q.Bind(1, range->first).Bind(2, range->second);
    if (i == 1) q.Bind(3, day_start);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (*row) counts[i] = q.Int(0);
  }
  return GroupSummary{counts[0], counts[1], counts[2], counts[3]};
}

}  // namespace roost::storage::sql
