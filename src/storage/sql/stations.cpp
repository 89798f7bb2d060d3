// Radio base stations: owned by a group, heard devices of its subtree.
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

constexpr const char* kStationSelect =
    "SELECT id, name, group_id, lat, lng, creation_time FROM stations";

Station StationFromRow(const Query& q) {
  Station s;
  s.id = q.Text(0);
  s.name = q.Text(1);
  s.group = q.Text(2);
  s.lat = q.OptDouble(3);
  s.lng = q.OptDouble(4);
  s.creation_time = q.Int(5);
  return s;
}

}  // namespace

Status SqlStore::CreateStation(const Station& s) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("create station"));
  {
    // The owner first, so that a missing group is InvalidInput rather than an
    // engine-specific foreign-key failure.
    auto found = LockRow(c, "groups", s.group, RowLock::kShare, "create station");
    if (!found.ok()) return found.status();
    if (!*found) return Status::InvalidInput("group " + s.group + " not found");
  }
  {
    ROOST_SQL_QUERY(q, c, "SELECT id FROM stations WHERE id = $1", "create station");
    auto found = q.Bind(1, s.id).Next();
    if (!found.ok()) return found.status();
    if (*found) return Status::AlreadyExists("station " + s.id + " already exists");
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO stations (id, name, group_id, lat, lng, creation_time) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    "create station");
    q.BindRef(1, s.id).BindRef(2, s.name).BindRef(3, s.group).Bind(4, s.lat).Bind(5, s.lng);
    q.Bind(6, s.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  return tx.Commit("create station");
}

Result<Station> SqlStore::GetStation(std::string_view id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kStationSelect) + " WHERE id = $1", "get station");
  q.Bind(1, id);
  return ReadOne(q, StationFromRow, "station " + std::string(id) + " not found");
}

Result<std::vector<Station>> SqlStore::ListStations(std::string_view group_subtree) {
  if (group_subtree.empty()) {
    ROOST_SQL_LEASE(c);
    ROOST_SQL_QUERY(q, c, std::string(kStationSelect) + " ORDER BY id", "list stations");
    return ReadAll<Station>(q, StationFromRow);
  }
  return SelectInSubtree<Station>(group_subtree, std::string(kStationSelect) + kInSubtreeGroups,
                                  "id", "list stations", StationFromRow);
}

Result<bool> SqlStore::UpdateStation(const Station& s, const Station& read) {
  return RunIfUnchanged(
      "UPDATE stations SET name = $2, lat = $3, lng = $4 WHERE id = $1 AND group_id = $5 AND "
      "name = $6 AND lat IS NOT DISTINCT FROM CAST($7 AS DOUBLE PRECISION) AND "
      "lng IS NOT DISTINCT FROM CAST($8 AS DOUBLE PRECISION)",
      "edit station",
      [&](Query& q) {
        q.BindRef(1, s.id).BindRef(2, s.name).Bind(3, s.lat).Bind(4, s.lng).BindRef(5, s.group);
        q.BindRef(6, read.name).Bind(7, read.lat).Bind(8, read.lng);
      },
      "SELECT 1 FROM stations WHERE id = $1 AND group_id = $2",
      [&](Query& q) { q.BindRef(1, s.id).BindRef(2, s.group); }, "station " + s.id + " not found");
}

Status SqlStore::DeleteStation(std::string_view id, std::string_view group) {
  return RunOne(
      "DELETE FROM stations WHERE id = $1 AND group_id = $2", "delete station",
      [&](Query& q) { q.Bind(1, id).Bind(2, group); }, "station " + std::string(id) + " not found");
}

}  // namespace roost::storage::sql
