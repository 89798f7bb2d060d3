// Device types: owned by a group; one cannot go while devices use it.
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

Status SqlStore::CreateDeviceType(const DeviceType& t) {
  return Run(
      "INSERT INTO device_types (id, name, description, group_id, keep_alive, alert_email, "
      "payload_type, payload_config, downlink_mode, downlink_data_string, automatic_renewal, "
      "creation_time, update_time) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
      "create device type", [&](Query& q) { BindDeviceType(q, t); });
}

Result<DeviceType> SqlStore::GetDeviceType(std::string_view id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kDeviceTypeSelect) + " WHERE id = $1", "get device type");
  q.Bind(1, id);
  return ReadOne(q, DeviceTypeFromRow, "device type " + std::string(id) + " not found");
}

Result<std::vector<DeviceType>> SqlStore::ListDeviceTypes(std::string_view group_subtree) {
  ROOST_SQL_LEASE(c);
  std::string sql = kDeviceTypeSelect;
  std::pair<std::string, std::string> range;
  if (!group_subtree.empty()) {
    auto r = SubtreeRange(c, group_subtree);
    if (!r.ok()) return r.status();
    range = std::move(*r);
    sql += kInSubtreeGroups;
  }
  ROOST_SQL_QUERY(q, c, sql + " ORDER BY id", "list device types");
  if (!group_subtree.empty()) q.Bind(1, range.first).Bind(2, range.second);
  return ReadAll<DeviceType>(q, DeviceTypeFromRow);
}

Result<bool> SqlStore::UpdateDeviceType(const DeviceType& t, EpochMillis read_update_time) {
  return RunIfUnchanged(
      "UPDATE device_types SET name = $2, description = $3, group_id = $4, keep_alive = $5, "
      "alert_email = $6, payload_type = $7, payload_config = $8, downlink_mode = $9, "
      "downlink_data_string = $10, automatic_renewal = $11, update_time = $12 WHERE id = $1 "
      "AND update_time = $13",
      "update device type",
      [&](Query& q) {
        q.Bind(1, t.id).Bind(2, t.name).Bind(3, t.description).Bind(4, t.group);
        q.Bind(5, t.keep_alive).Bind(6, t.alert_email);
        q.Bind(7, static_cast<int64_t>(t.payload_type)).Bind(8, t.payload_config);
        q.Bind(9, static_cast<int64_t>(t.downlink_mode)).Bind(10, t.downlink_data_string);
        q.Bind(11, int64_t{t.automatic_renewal ? 1 : 0}).Bind(12, t.update_time);
        q.Bind(13, read_update_time);
      },
      "SELECT 1 FROM device_types WHERE id = $1", [&](Query& q) { q.Bind(1, t.id); },
      "device type " + t.id + " not found");
}

Status SqlStore::DeleteDeviceType(std::string_view id) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("delete device type"));
  // Lock the type first so that no device is added to it between the count and the delete.
  {
    auto found = LockRow(c, "device_types", id, RowLock::kUpdate, "delete device type");
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("device type " + std::string(id) + " not found");
  }
  auto count = CountDevicesOn(c, id);
  if (!count.ok()) return count.status();
  if (*count > 0) {
    return Status::InvalidInput("device type " + std::string(id) + " still has " +
                                std::to_string(*count) + " devices");
  }
  {
    ROOST_SQL_QUERY(q, c, "DELETE FROM device_types WHERE id = $1", "delete device type");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Run());
  }
  return tx.Commit("delete device type");
}

Result<int64_t> SqlStore::CountDevices(std::string_view type) {
  ROOST_SQL_LEASE(c);
  return CountDevicesOn(c, type);
}

Result<int64_t> SqlStore::CountDevicesOn(Connection& c, std::string_view type) {
  ROOST_SQL_QUERY(q, c, "SELECT COUNT(*) FROM devices WHERE type_id = $1", "count devices");
  q.Bind(1, type);
  return ReadOne(
      q, [](const Query& r) { return r.Int(0); }, "no count");
}

}  // namespace roost::storage::sql
