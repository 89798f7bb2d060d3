// The sequence-number check's "disengage" flags: set for every device of a
// type or for one device, cleared (exactly once) by the uplink pipeline.
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

Result<int64_t> SqlStore::DisengageSequenceCheck(std::string_view type, EpochMillis now) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("disengage sequence check"));
  {
    // Lock the type so that its device set is the one seen by DeleteDeviceType too.
    auto found = LockRow(c, "device_types", type, RowLock::kShare, "disengage sequence check");
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("device type " + std::string(type) + " not found");
  }
  int64_t flagged = 0;
  {
    // In id order: ingest takes the flags it uses in id order, and a flag
    // already set is locked by this upsert, so in any other order the two
    // could each hold a flag the other waits for.
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO sequence_check_disengaged (device_id, since) "
                    "SELECT id, $1 FROM devices WHERE type_id = $2 ORDER BY id "
                    "ON CONFLICT (device_id) DO UPDATE SET since = excluded.since",
                    "disengage sequence check");
    ROOST_RETURN_IF_ERROR(q.Bind(1, now).Bind(2, type).Run());
    flagged = q.Affected();
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("disengage sequence check"));
  return flagged;
}

Status SqlStore::DisengageDeviceSequenceCheck(uint32_t device_id, EpochMillis now) {
  ROOST_SQL_LEASE(c);
  // One statement: the device's row is read in it, so a device deleted
  // meanwhile is simply not flagged.
  ROOST_SQL_QUERY(q, c,
                  "INSERT INTO sequence_check_disengaged (device_id, since) "
                  "SELECT id, $1 FROM devices WHERE id = $2 "
                  "ON CONFLICT (device_id) DO UPDATE SET since = excluded.since",
                  "disengage device");
  ROOST_RETURN_IF_ERROR(q.Bind(1, now).Bind(2, int64_t{device_id}).Run());
  if (q.Affected() == 0)
    return Status::NotFound("device " + SigfoxId{device_id}.ToApi() + " not found");
  return Status::Ok();
}

Result<bool> SqlStore::ClearSequenceCheckDisengaged(uint32_t device_id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, "DELETE FROM sequence_check_disengaged WHERE device_id = $1",
                  "clear disengaged flag");
  ROOST_RETURN_IF_ERROR(q.Bind(1, int64_t{device_id}).Run());
  return q.Affected() > 0;
}

}  // namespace roost::storage::sql
