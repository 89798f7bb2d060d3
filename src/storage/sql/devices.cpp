// Devices: registration (one or in bulk), edits, and the keyset-paged list.
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

using namespace internal;

Status SqlStore::InsertDevice(const Device& d) {
  Status st = Run(std::string("INSERT INTO devices (") + kDeviceColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16, $17, $18, $19, $20, $21)",
                  "insert device", [&](Query& q) { BindDevice(q, d); });
  if (st.code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("device " + d.id.ToApi() + " already registered");
  }
  return st;
}

Result<BatchInsertResult> SqlStore::InsertDevices(std::span<const Device> devices) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("insert devices"));
  auto r = InsertDevicesOn(c, devices);
  if (!r.ok()) return r.status();
  ROOST_RETURN_IF_ERROR(tx.Commit("insert devices"));
  return r;
}

Result<BatchInsertResult> SqlStore::InsertDevicesOn(Connection& c,
                                                    std::span<const Device> devices) {
  BatchInsertResult result;
  const std::vector<bool> repeated = RepeatedIds(devices);
  std::vector<size_t> rows;  // indexes into `devices` of the rows sent
  rows.reserve(devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    if (repeated[i]) {
      result.conflicts.push_back(i);
    } else {
      rows.push_back(i);
    }
  }
  driver::BulkInsertSpec spec;
  spec.table = "devices";
  spec.columns = DeviceInsertColumns();
  spec.on_conflict = "ON CONFLICT (id) DO NOTHING";
  spec.report_inserted = true;
  spec.op = "insert devices";
  auto inserted = c.BulkInsert(spec, rows.size(), [&](size_t row, driver::RowWriter& out) {
    WriteDevice(out, devices[rows[row]]);
  });
  if (!inserted.ok()) return inserted.status();
  for (size_t row = 0; row < rows.size(); ++row) {
    if ((*inserted)[row]) {
      ++result.inserted;
    } else {
      result.conflicts.push_back(rows[row]);
    }
  }
  std::sort(result.conflicts.begin(), result.conflicts.end());
  return result;
}

Result<Device> SqlStore::GetDevice(uint32_t id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = $1",
                  "get device");
  q.Bind(1, int64_t{id});
  return ReadOne(q, DeviceFromRow, "device " + SigfoxId{id}.ToApi() + " not found");
}

Result<std::vector<std::optional<Device>>> SqlStore::GetDevices(std::span<const uint32_t> ids) {
  ROOST_SQL_LEASE(c);
  std::vector<std::optional<Device>> out(ids.size());
  std::unordered_map<uint32_t, std::vector<size_t>> where;
  std::vector<int64_t> list;
  list.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& at = where[ids[i]];
    if (at.empty()) list.push_back(int64_t{ids[i]});
    at.push_back(i);
  }
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id " +
                      c.dialect().in_int_list(1),
                  "get devices");
  q.BindIntList(1, list);
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Device d = DeviceFromRow(q);
    for (size_t at : where[d.id.value]) out[at] = d;
  }
  return out;
}

// SET terms that end a device's communication loss when it moves to another
// type or group (`type` and `group`: the SQL of the new values; an UPDATE's
// expressions read the row as it was). The loss was the old type's and owner's
// to see end: restored under the new type, its owner would get a restoration
// of a loss they never had; under the old one, the old owner would learn when
// a device no longer theirs spoke. The new type watches it from its last
// message, and a silence goes on as a loss of its own.
static std::string LossEndsOnMove(std::string_view type, std::string_view group) {
  const std::string same =
      "type_id = " + std::string(type) + " AND group_id = " + std::string(group);
  return "comm_lost = CASE WHEN " + same + " THEN comm_lost ELSE 0 END, comm_lost_since = CASE " +
         "WHEN " + same + " THEN comm_lost_since ELSE NULL END";
}

Status SqlStore::UpdateDevice(const Device& d) {
  return RunOne(
      "UPDATE devices SET " + LossEndsOnMove("$3", "$4") +
          ", name = $2, type_id = $3, group_id = $4, pac = $5, "
          "product_certificate = $6, lat = $7, lng = $8, activation_time = $9, state = $10, "
          "token_renew_forbidden = $11, last_time = $12, average_snr = $13, average_rssi = $14, "
          "sequence_number = $15, dev_eui = $16, join_eui = $17, provision_id = $18, "
          "serial_number = $19, model = $20, last_frame_time = NULL WHERE id = $1",
      "update device", [&](Query& q) { BindDevice(q, d, /*with_creation_time=*/false); },
      "device " + d.id.ToApi() + " not found");
}

Status SqlStore::DeleteDevice(uint32_t id) {
  return RunOne(
      "DELETE FROM devices WHERE id = $1", "delete device",
      [&](Query& q) { q.Bind(1, int64_t{id}); }, "device " + SigfoxId{id}.ToApi() + " not found");
}

Result<std::vector<size_t>> SqlStore::PatchDevices(std::span<const DevicePatch> patches) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("patch devices"));
  auto r = PatchDevicesOn(c, patches);
  if (!r.ok()) return r.status();
  ROOST_RETURN_IF_ERROR(tx.Commit("patch devices"));
  return r;
}

// One statement for every patch: absent fields bind NULL and COALESCE keeps the
// column; lat/lng carry a "set" flag since NULL is also a value for them. The
// casts give PostgreSQL the parameters' types.
Result<std::vector<size_t>> SqlStore::PatchDevicesOn(Connection& c,
                                                     std::span<const DevicePatch> patches) {
  std::vector<size_t> mismatched;
  if (patches.empty()) return mismatched;
  const std::vector<bool> repeated = RepeatedPatchIds(patches);
  ROOST_SQL_QUERY(
      q, c,
      "UPDATE devices SET " +
          LossEndsOnMove("COALESCE(CAST($5 AS TEXT), type_id)",
                         "COALESCE(CAST($6 AS TEXT), group_id)") +
          ", name = COALESCE(CAST($4 AS TEXT), name), "
          "type_id = COALESCE(CAST($5 AS TEXT), type_id), "
          "group_id = COALESCE(CAST($6 AS TEXT), group_id), pac = COALESCE(CAST($7 AS TEXT), pac), "
          "product_certificate = COALESCE(CAST($8 AS TEXT), product_certificate), "
          "lat = CASE WHEN CAST($9 AS INTEGER) = 1 THEN CAST($10 AS DOUBLE PRECISION) ELSE lat "
          "END, "
          "lng = CASE WHEN CAST($11 AS INTEGER) = 1 THEN CAST($12 AS DOUBLE PRECISION) ELSE lng "
          "END, "
          "token_renew_forbidden = COALESCE(CAST($13 AS INTEGER), token_renew_forbidden) "
          "WHERE id = $1 AND group_id = CAST($2 AS TEXT) AND "
          "(CAST($3 AS TEXT) = '' OR pac = CAST($3 AS TEXT))",
      "patch devices");
  // Rows are updated (and locked, on PostgreSQL) in id order, as ingest and the
  // silence watcher lock them: in the caller's order, a bulk edit and an ingest
  // transaction could each hold a row the other waits for (a deadlock, which
  // aborts one of them).
  std::vector<size_t> order(patches.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return patches[a].id < patches[b].id; });
  for (size_t i : order) {
    if (repeated[i]) {
      mismatched.push_back(i);
      continue;
    }
    const DevicePatch& p = patches[i];
    q.Bind(1, int64_t{p.id}).BindRef(2, p.expect_group).BindRef(3, p.expect_pac);
    p.name ? q.BindRef(4, *p.name) : q.BindNull(4);
    p.type ? q.BindRef(5, *p.type) : q.BindNull(5);
    p.group ? q.BindRef(6, *p.group) : q.BindNull(6);
    p.pac ? q.BindRef(7, *p.pac) : q.BindNull(7);
    p.product_certificate ? q.BindRef(8, *p.product_certificate) : q.BindNull(8);
    q.Bind(9, int64_t{p.lat ? 1 : 0}).Bind(10, p.lat ? *p.lat : std::nullopt);
    q.Bind(11, int64_t{p.lng ? 1 : 0}).Bind(12, p.lng ? *p.lng : std::nullopt);
    p.token_renew_forbidden ? q.Bind(13, int64_t{*p.token_renew_forbidden ? 1 : 0})
                            : q.BindNull(13);
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() == 0) mismatched.push_back(i);
    q.Reset();
  }
  std::sort(mismatched.begin(), mismatched.end());
  return mismatched;
}

Result<DevicePage> SqlStore::ListDevices(const DeviceQuery& query) {
  ROOST_RETURN_IF_ERROR(ValidateQuery(query));
  ROOST_SQL_LEASE(c);
  // Fixed SQL fragments chosen by which filters are present; every value is a
  // parameter, numbered in the order the fragments add them.
  int n = 0;
  auto next = [&n] { return "$" + std::to_string(++n); };
  // By name with a name prefix (see DeviceQuery::after_name), else by id.
  const bool by_name = !query.name_prefix.empty();
  std::string sql = std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE ";
  if (by_name) {
    const std::string name = next();
    sql += "name >= " + name + " AND (name > " + name + " OR id > " + next() + ")";
  } else {
    sql += "id > " + next();
  }
  std::pair<std::string, std::string> tree;
  if (!query.group_subtree.empty()) {
    auto range = SubtreeRange(c, query.group_subtree);
    if (!range.ok()) return range.status();
    tree = std::move(*range);
    sql += " AND group_id IN (SELECT id FROM groups WHERE tree >= " + next();
    sql += " AND tree < " + next() + ")";
  }
  if (!query.type.empty()) sql += " AND type_id = " + next();
  IdRange ids{0, 0xFFFFFFFFu};
  if (!query.id_prefix.empty()) {
    ids = *IdPrefixRange(query.id_prefix);
    sql += " AND id BETWEEN " + next();
    sql += " AND " + next();
  }
  std::optional<std::string> name_hi;
  if (by_name) {
    sql += " AND name >= " + next();
    name_hi = PrefixUpperBound(query.name_prefix);
    if (name_hi) sql += " AND name < " + next();
  }
  if (query.state) sql += " AND state = " + next();
  if (query.last_since) sql += " AND last_time >= " + next();
  if (query.last_before) sql += " AND last_time < " + next();
  if (query.positioned) sql += " AND lat IS NOT NULL AND lng IS NOT NULL";
  sql += by_name ? " ORDER BY name, id" : " ORDER BY id";
  sql += " LIMIT " + next();
  if (query.offset > 0) sql += " OFFSET " + next();
  ROOST_SQL_QUERY(q, c, sql, "list devices");
  int i = 0;
  if (by_name) q.Bind(++i, query.after_name.value_or(std::string()));
  q.Bind(++i, query.after ? int64_t{*query.after} : int64_t{-1});
  if (!query.group_subtree.empty()) {
    q.Bind(++i, tree.first);
    q.Bind(++i, tree.second);
  }
  if (!query.type.empty()) q.Bind(++i, query.type);
  if (!query.id_prefix.empty()) {
    q.Bind(++i, int64_t{ids.lo});
    q.Bind(++i, int64_t{ids.hi});
  }
  if (by_name) {
    q.Bind(++i, query.name_prefix);
    if (name_hi) q.Bind(++i, *name_hi);
  }
  if (query.state) q.Bind(++i, static_cast<int64_t>(*query.state));
  if (query.last_since) q.Bind(++i, *query.last_since);
  if (query.last_before) q.Bind(++i, *query.last_before);
  q.Bind(++i, int64_t{query.limit} + 1);
  if (query.offset > 0) q.Bind(++i, query.offset);
  DevicePage page;
  page.devices.reserve(static_cast<size_t>(query.limit));
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.devices.size() == static_cast<size_t>(query.limit)) {
      page.next = page.devices.back().id.value;
      if (by_name) page.next_name = page.devices.back().name;
      break;
    }
    page.devices.push_back(DeviceFromRow(q));
  }
  return page;
}

}  // namespace roost::storage::sql

namespace roost::storage::sql {

namespace {

Status ValidatePositionQuery(const DevicePositionQuery& query) {
  if (query.type.empty())
    return Status::InvalidInput("device positions: a device type is required");
  if (query.max_listed < 1 || query.max_listed > kMaxPositionsListed) {
    return Status::InvalidInput("device positions: max_listed must be 1.." +
                                std::to_string(kMaxPositionsListed));
  }
  if (query.grid < 1 || query.grid > kMaxPositionGrid) {
    return Status::InvalidInput("device positions: grid must be 1.." +
                                std::to_string(kMaxPositionGrid));
  }
  if (const auto& a = query.area) {
    auto in = [](double v, double limit) { return std::isfinite(v) && v >= -limit && v <= limit; };
    if (!in(a->south, 90) || !in(a->north, 90) || !in(a->west, 180) || !in(a->east, 180) ||
        a->south > a->north || a->west > a->east) {
      return Status::InvalidInput(
          "device positions: the area must have -90 <= south <= north <= 90 and -180 <= west <= "
          "east <= 180");
    }
  }
  return Status::Ok();
}

// Degrees to whole millionths: the grid is laid in integers, so that a cell's
// index is an integer division both engines compute alike.
constexpr double kMicro = 1e6;

}  // namespace

Result<DevicePositions> SqlStore::ListDevicePositions(const DevicePositionQuery& query) {
  ROOST_RETURN_IF_ERROR(ValidatePositionQuery(query));
  ROOST_SQL_LEASE(c);
  // One snapshot for the count, the list or the cells: they agree.
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("list device positions", /*write=*/false));
  std::pair<std::string, std::string> tree;
  if (!query.group_subtree.empty()) {
    auto range = SubtreeRange(c, query.group_subtree);
    if (!range.ok()) return range.status();
    tree = std::move(*range);
  }
  // The filter every query below shares, its parameters numbered from `first`
  // in the order Bind gives them; with `area`, only the devices inside it.
  auto filter = [&](int first, bool area) {
    int n = first - 1;
    auto next = [&n] { return "$" + std::to_string(++n); };
    std::string sql =
        " FROM devices WHERE type_id = " + next() + " AND lat IS NOT NULL AND lng IS NOT NULL";
    if (!query.group_subtree.empty()) {
      sql += " AND group_id IN (SELECT id FROM groups WHERE tree >= " + next();
      sql += " AND tree < " + next() + ")";
    }
    if (area) {
      sql += " AND lat >= " + next();
      sql += " AND lat <= " + next();
      sql += " AND lng >= " + next();
      sql += " AND lng <= " + next();
    }
    return sql;
  };
  // Binds the filter's parameters from `first`; returns the next free number.
  auto bind = [&](Query& q, int first, const std::optional<PositionArea>& area) {
    int i = first - 1;
    q.Bind(++i, query.type);
    if (!query.group_subtree.empty()) {
      q.Bind(++i, tree.first);
      q.Bind(++i, tree.second);
    }
    if (area) {
      q.Bind(++i, std::optional<double>(area->south));
      q.Bind(++i, std::optional<double>(area->north));
      q.Bind(++i, std::optional<double>(area->west));
      q.Bind(++i, std::optional<double>(area->east));
    }
    return i + 1;
  };
  const int filter_params = 1 + (query.group_subtree.empty() ? 0 : 2) + (query.area ? 4 : 0);

  DevicePositions out;
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT count(*), min(lat), max(lat), min(lng), max(lng)" +
                        filter(1, query.area.has_value()),
                    "count device positions");
    bind(q, 1, query.area);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    out.total = q.Int(0);
    if (out.total > 0) {
      out.bounds = PositionArea{q.OptDouble(1).value_or(0), q.OptDouble(3).value_or(0),
                                q.OptDouble(2).value_or(0), q.OptDouble(4).value_or(0)};
    }
  }
  if (out.total == 0) return out;

  if (out.total <= query.max_listed) {
    ROOST_SQL_QUERY(q, c,
                    "SELECT id, name, lat, lng" + filter(1, query.area.has_value()) +
                        " ORDER BY id LIMIT $" + std::to_string(filter_params + 1),
                    "list device positions");
    q.Bind(bind(q, 1, query.area), int64_t{query.max_listed});
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.devices.push_back(PositionedDevice{static_cast<uint32_t>(q.Int(0)), q.Text(1),
                                             q.OptDouble(2).value_or(0),
                                             q.OptDouble(3).value_or(0)});
    }
    return out;
  }

  // The grid covers the asked area, else the devices' bounds.
  const PositionArea area = query.area ? *query.area : *out.bounds;
  const int64_t south = static_cast<int64_t>(std::floor(area.south * kMicro));
  const int64_t west = static_cast<int64_t>(std::floor(area.west * kMicro));
  const int64_t north = static_cast<int64_t>(std::ceil(area.north * kMicro));
  const int64_t east = static_cast<int64_t>(std::ceil(area.east * kMicro));
  const int64_t grid = query.grid;
  const int64_t cell_lat = std::max<int64_t>(1, (north - south + grid - 1) / grid);
  const int64_t cell_lng = std::max<int64_t>(1, (east - west + grid - 1) / grid);
  // A point's millionths are rounded (PostgreSQL) or truncated (SQLite) from a
  // value at or above the area's floor, so both give an index >= 0 that the
  // integer division floors; the north and east edges may give `grid`, clamped.
  // (So a device within a millionth of a degree of a grid line may fall on
  // either side of it depending on the engine; each cell reports the bounds
  // of its own devices, which hold it either way.)
  const int first = 5;
  ROOST_SQL_QUERY(q, c,
                  "SELECT (CAST(lat * 1000000 AS BIGINT) - $1) / $2, "
                  "(CAST(lng * 1000000 AS BIGINT) - $3) / $4, count(*), sum(lat), sum(lng), "
                  "min(lat), max(lat), min(lng), max(lng)" +
                      filter(first, true) + " GROUP BY 1, 2",
                  "count device positions per cell");
  q.Bind(1, south).Bind(2, cell_lat).Bind(3, west).Bind(4, cell_lng);
  bind(q, first, area);
  struct Sum {
    int64_t count = 0;
    double lat = 0, lng = 0;
    PositionArea bounds{90, 180, -90, -180};  // empty: any device widens it
  };
  std::map<std::pair<int64_t, int64_t>, Sum> sums;
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t y = std::clamp<int64_t>(q.Int(0), 0, grid - 1);
    const int64_t x = std::clamp<int64_t>(q.Int(1), 0, grid - 1);
    Sum& s = sums[{y, x}];
    s.count += q.Int(2);
    s.lat += q.OptDouble(3).value_or(0);
    s.lng += q.OptDouble(4).value_or(0);
    s.bounds.south = std::min(s.bounds.south, q.OptDouble(5).value_or(0));
    s.bounds.north = std::max(s.bounds.north, q.OptDouble(6).value_or(0));
    s.bounds.west = std::min(s.bounds.west, q.OptDouble(7).value_or(0));
    s.bounds.east = std::max(s.bounds.east, q.OptDouble(8).value_or(0));
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("list device positions"));
  out.total = 0;
  for (const auto& [yx, s] : sums) {
    PositionCell cell;
    cell.bounds = s.bounds;
    cell.count = s.count;
    // The mean, kept within the bounds against the sum's rounding.
    cell.lat = std::clamp(s.lat / static_cast<double>(s.count), s.bounds.south, s.bounds.north);
    cell.lng = std::clamp(s.lng / static_cast<double>(s.count), s.bounds.west, s.bounds.east);
    out.total += s.count;
    out.cells.push_back(cell);
  }
  return out;
}

}  // namespace roost::storage::sql
