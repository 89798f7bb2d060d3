// LoRaWAN zero-touch provisioning: imported Provision IDs, the key set of each
// accepted exchange, and the devEUI pools' counters (migration 0015).
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include "storage/internal.h"
#include "storage/sql/provisioning_sql.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {
namespace {

// In this order: IdFromRow reads them from column `at`.
constexpr const char* kIdColumns =
    "p.provision_id, p.group_id, p.provision_id_hash, p.model, p.serial_number, p.fixed_dev_eui, "
    "p.dev_eui, p.join_eui, p.state, p.created_at, p.updated_at";
constexpr int kIdColumnCount = 11;
// In this order: ExchangeFromRow reads them from column `at`.
constexpr const char* kExchangeColumns =
    "k.dev_eui, k.join_eui, k.rdev_eui, k.network_flag, k.gateway_eui, k.rssi, k.snr, "
    "k.frequency, k.provisioned_at, k.current";
constexpr int kExchangeColumnCount = 10;
constexpr const char* kKeysJoin =
    " FROM provisioned_keys k JOIN provision_ids p ON p.provision_id = k.provision_id";
// Rows of a subtree: $a and $b are its bounds of the tree column.
std::string InSubtree(int a, int b) {
  return " AND p.group_id IN (SELECT id FROM groups WHERE tree >= $" + std::to_string(a) +
         " AND tree < $" + std::to_string(b) + ")";
}
// Report rows are checked against the stored ones this many at a time: one
// round trip per row made a large import slow on PostgreSQL.
constexpr size_t kImportCheckChunk = 500;

std::string OptText(const Query& q, int col) {
  return q.IsNull(col) ? std::string() : q.Text(col);
}

ProvisionIdRow IdFromRow(const Query& q, int at = 0) {
  ProvisionIdRow r;
  r.provision_id = q.Text(at + 0);
  r.group = q.Text(at + 1);
  r.provision_id_hash = q.Text(at + 2);
  r.model = q.Text(at + 3);
  r.serial_number = q.Text(at + 4);
  r.fixed_dev_eui = OptText(q, at + 5);
  r.dev_eui = OptText(q, at + 6);
  r.join_eui = OptText(q, at + 7);
  r.state = ParseProvisionIdState(q.Text(at + 8)).value_or(ProvisionIdState::kDisabled);
  r.created_at = q.Int(at + 9);
  r.updated_at = q.Int(at + 10);
  return r;
}

ProvisionExchange ExchangeFromRow(const Query& q, int at) {
  ProvisionExchange e;
  e.dev_eui = q.Text(at + 0);
  e.join_eui = q.Text(at + 1);
  e.rdev_eui = q.Text(at + 2);
  e.network_flag = q.OptInt(at + 3);
  e.gateway_eui = q.Text(at + 4);
  e.rssi = q.Int(at + 5);
  e.snr = q.OptDouble(at + 6).value_or(0);
  e.frequency_mhz = q.OptDouble(at + 7).value_or(0);
  e.at = q.Int(at + 8);
  e.current = q.Int(at + 9) != 0;
  return e;
}

ProvisionedDevice DeviceFromRow(const Query& q) {
  return {IdFromRow(q, 0), ExchangeFromRow(q, kIdColumnCount)};
}

std::vector<uint8_t> BlobBytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

ProvisionedKeys KeysFromRow(const Query& q) {
  ProvisionedKeys k;
  k.device = DeviceFromRow(q);
  k.sealed_app_key = BlobBytes(q.Blob(kIdColumnCount + kExchangeColumnCount));
  k.sealed_nwk_key = BlobBytes(q.Blob(kIdColumnCount + kExchangeColumnCount + 1));
  return k;
}

std::string_view BlobView(const std::vector<uint8_t>& v) {
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
}

std::string EuiHex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// "$first, $first+1, ..., $first+n-1"
std::string Placeholders(int first, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += "$" + std::to_string(first + static_cast<int>(i));
  }
  return out;
}

}  // namespace

Status SqlStore::ImportProvisionIds(std::span<const ProvisionIdRow> rows) {
  if (rows.empty()) return Status::Ok();
  constexpr std::string_view kOp = "import provision ids";
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin(kOp));
  {
    // The owners first, so that a missing group is InvalidInput rather than an
    // engine-specific foreign-key failure.
    std::unordered_set<std::string> groups;
    for (const ProvisionIdRow& r : rows) groups.insert(r.group);
    for (const std::string& g : groups) {
      auto found = LockRow(c, "groups", g, RowLock::kShare, kOp);
      if (!found.ok()) return found.status();
      if (!*found) return Status::InvalidInput("group " + g + " not found");
    }
  }
  std::vector<std::string> taken;  // "line N: ..." per refused row, in row order
  for (size_t start = 0; start < rows.size() && taken.size() < kMaxImportConflictsListed;
       start += kImportCheckChunk) {
    const size_t n = std::min(kImportCheckChunk, rows.size() - start);
    const auto chunk = rows.subspan(start, n);
    std::unordered_set<std::string> taken_ids;
    {
      ROOST_SQL_QUERY(q, c,
                      "SELECT provision_id FROM provision_ids WHERE provision_id IN (" +
                          Placeholders(1, n) + ")",
                      kOp);
      for (size_t i = 0; i < n; ++i) q.BindRef(static_cast<int>(i + 1), chunk[i].provision_id);
      for (;;) {
        auto row = q.Next();
        if (!row.ok()) return row.status();
        if (!*row) break;
        taken_ids.insert(q.Text(0));
      }
    }
    std::vector<const std::string*> fixed;
    for (const ProvisionIdRow& r : chunk) {
      if (!r.fixed_dev_eui.empty()) fixed.push_back(&r.fixed_dev_eui);
    }
    std::unordered_set<std::string> taken_euis;
    if (!fixed.empty()) {
      const std::string list = Placeholders(1, fixed.size());
      ROOST_SQL_QUERY(q, c, FixedDevEuiClashesSql(list), kOp);
      for (size_t i = 0; i < fixed.size(); ++i) q.BindRef(static_cast<int>(i + 1), *fixed[i]);
      for (;;) {
        auto row = q.Next();
        if (!row.ok()) return row.status();
        if (!*row) break;
        taken_euis.insert(OptText(q, 0));
        taken_euis.insert(OptText(q, 1));
      }
    }
    for (const ProvisionIdRow& r : chunk) {
      if (taken.size() == kMaxImportConflictsListed) break;
      const std::string where = "line " + std::to_string(r.line) + ": ";
      if (taken_ids.count(r.provision_id)) {
        taken.push_back(where + "Provision ID " + r.provision_id + " is already imported");
      } else if (!r.fixed_dev_eui.empty() && taken_euis.count(r.fixed_dev_eui)) {
        taken.push_back(where + "devEUI " + r.fixed_dev_eui + " of Provision ID " + r.provision_id +
                        " is already another Provision ID's");
      }
    }
  }
  if (!taken.empty()) {
    std::string message;
    for (const std::string& t : taken) message += (message.empty() ? "" : "\n") + t;
    return Status::AlreadyExists(message);
  }
  using driver::ColumnType;
  static constexpr driver::Column kColumns[] = {{"provision_id", ColumnType::kText},
                                                {"group_id", ColumnType::kText},
                                                {"provision_id_hash", ColumnType::kText},
                                                {"model", ColumnType::kText},
                                                {"serial_number", ColumnType::kText},
                                                {"fixed_dev_eui", ColumnType::kText},
                                                {"dev_eui", ColumnType::kText},
                                                {"join_eui", ColumnType::kText},
                                                {"state", ColumnType::kText},
                                                {"created_at", ColumnType::kInt},
                                                {"updated_at", ColumnType::kInt}};
  driver::BulkInsertSpec spec;
  spec.table = "provision_ids";
  spec.columns = kColumns;
  spec.op = kOp;
  auto inserted = c.BulkInsert(spec, rows.size(), [&](size_t i, driver::RowWriter& out) {
    const ProvisionIdRow& r = rows[i];
    out.Text(r.provision_id);
    out.Text(r.group);
    out.Text(r.provision_id_hash);
    out.Text(r.model);
    out.Text(r.serial_number);
    out.Text(r.fixed_dev_eui);
    out.Text(r.dev_eui);
    out.Text(r.join_eui);
    out.Text(ProvisionIdStateName(r.state));
    out.Int(r.created_at);
    out.Int(r.updated_at);
  });
  if (!inserted.ok()) return inserted.status();
  return tx.Commit(kOp);
}

Result<ProvisionIdRow> SqlStore::FindProvisionIdByHash(std::string_view hash) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(
      q, c,
      std::string("SELECT ") + kIdColumns + " FROM provision_ids p WHERE p.provision_id_hash = $1",
      "find provision id");
  q.Bind(1, hash);
  return ReadOne(
      q, [](const Query& r) { return IdFromRow(r); }, "no Provision ID has this hash");
}

Result<ProvisionIdRow> SqlStore::GetProvisionId(std::string_view provision_id) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(
      q, c, std::string("SELECT ") + kIdColumns + " FROM provision_ids p WHERE p.provision_id = $1",
      "get provision id");
  q.Bind(1, provision_id);
  return ReadOne(
      q, [](const Query& r) { return IdFromRow(r); },
      "Provision ID " + std::string(provision_id) + " not found");
}

Result<ProvisionIdPage> SqlStore::ListProvisionIds(const ProvisionIdQuery& query) {
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(query.limit, query.offset));
  ROOST_SQL_LEASE(c);
  int n = 1;
  std::string sql =
      std::string("SELECT ") + kIdColumns + " FROM provision_ids p WHERE " + "p.provision_id > $1";
  std::pair<std::string, std::string> tree;
  if (!query.group_subtree.empty()) {
    auto range = SubtreeRange(c, query.group_subtree);
    if (!range.ok()) return range.status();
    tree = std::move(*range);
    sql += InSubtree(n + 1, n + 2);
    n += 2;
  }
  if (query.state) sql += " AND p.state = $" + std::to_string(++n);
  sql += " ORDER BY p.provision_id LIMIT $" + std::to_string(++n);
  if (query.offset > 0) sql += " OFFSET $" + std::to_string(++n);
  ROOST_SQL_QUERY(q, c, sql, "list provision ids");
  int i = 0;
  q.Bind(++i, query.after);
  if (!query.group_subtree.empty()) {
    q.Bind(++i, tree.first);
    q.Bind(++i, tree.second);
  }
  if (query.state) q.Bind(++i, ProvisionIdStateName(*query.state));
  q.Bind(++i, int64_t{query.limit} + 1);
  if (query.offset > 0) q.Bind(++i, int64_t{query.offset});
  ProvisionIdPage page;
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.ids.size() == static_cast<size_t>(query.limit)) {
      page.next = page.ids.back().provision_id;
      break;
    }
    page.ids.push_back(IdFromRow(q));
  }
  return page;
}

Status SqlStore::DisableProvisionId(std::string_view provision_id, EpochMillis now) {
  return RunOne(
      "UPDATE provision_ids SET state = 'disabled', updated_at = $2 WHERE provision_id = $1",
      "disable provision id", [&](Query& q) { q.Bind(1, provision_id).Bind(2, now); },
      "Provision ID " + std::string(provision_id) + " not found");
}

Result<ProvisionExchange> SqlStore::RecordProvisioning(const ProvisioningWrite& w) {
  constexpr std::string_view kOp = "record provisioning";
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin(kOp));
  ProvisionIdRow id;
  {
    // The row lock makes a concurrent disable or exchange of this ID wait.
    ROOST_SQL_QUERY(q, c,
                    std::string("SELECT ") + kIdColumns +
                        " FROM provision_ids p WHERE p.provision_id = $1" +
                        std::string(c.dialect().for_update),
                    kOp);
    q.Bind(1, w.provision_id);
    auto found = ReadOne(
        q, [](const Query& r) { return IdFromRow(r); },
        "Provision ID " + w.provision_id + " not found");
    if (!found.ok()) return found.status();
    id = std::move(*found);
  }
  if (id.state == ProvisionIdState::kDisabled) {
    return Status::NotFound("Provision ID " + w.provision_id + " is disabled");
  }
  std::string dev_eui = !id.fixed_dev_eui.empty() ? id.fixed_dev_eui : id.dev_eui;
  if (dev_eui.empty()) {
    if (!w.pool) return Status::Unavailable("no devEUI pool is configured");
    const DevEuiRange& pool = *w.pool;
    {
      ROOST_SQL_QUERY(q, c,
                      "INSERT INTO dev_eui_pools (pool, last_offset) VALUES ($1, 0) "
                      "ON CONFLICT (pool) DO NOTHING",
                      kOp);
      q.BindRef(1, pool.name);
      ROOST_RETURN_IF_ERROR(q.Run());
    }
    const int64_t size = pool.size > uint64_t{std::numeric_limits<int64_t>::max()}
                             ? std::numeric_limits<int64_t>::max()
                             : static_cast<int64_t>(pool.size);
    ROOST_SQL_QUERY(next, c,
                    "UPDATE dev_eui_pools SET last_offset = last_offset + 1 "
                    "WHERE pool = $1 AND last_offset < $2 RETURNING last_offset",
                    kOp);
    ROOST_SQL_QUERY(taken, c, kDevEuiTakenSql, kOp);
    while (dev_eui.empty()) {
      next.BindRef(1, pool.name).Bind(2, size);
      auto row = next.Next();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Unavailable("devEUI pool " + pool.name + " is used up");
      const uint64_t offset = static_cast<uint64_t>(next.Int(0));
      next.Reset();
      std::string candidate = EuiHex(pool.base + offset);
      taken.Bind(1, candidate);
      auto used = taken.Next();
      if (!used.ok()) return used.status();
      taken.Reset();
      if (!*used) dev_eui = std::move(candidate);
    }
  }
  ProvisionExchange e = w.exchange;
  e.dev_eui = dev_eui;
  e.current = true;
  {
    ROOST_SQL_QUERY(
        q, c, "UPDATE provisioned_keys SET current = 0 WHERE provision_id = $1 AND current = 1",
        kOp);
    q.BindRef(1, w.provision_id);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  {
    ROOST_SQL_QUERY(
        q, c,
        "INSERT INTO provisioned_keys (provision_id, dev_eui, join_eui, sealed_app_key, "
        "sealed_nwk_key, rdev_eui, network_flag, gateway_eui, rssi, snr, frequency, "
        "provisioned_at, current) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
        kOp);
    q.BindRef(1, w.provision_id).BindRef(2, e.dev_eui).BindRef(3, e.join_eui);
    q.BindBlob(4, BlobView(w.sealed_app_key)).BindBlob(5, BlobView(w.sealed_nwk_key));
    q.BindRef(6, e.rdev_eui).Bind(7, e.network_flag).BindRef(8, e.gateway_eui);
    q.Bind(9, e.rssi).Bind(10, std::optional<double>(e.snr));
    q.Bind(11, std::optional<double>(e.frequency_mhz)).Bind(12, e.at);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE provision_ids SET dev_eui = $2, state = 'provisioned', updated_at = $3 "
                    "WHERE provision_id = $1",
                    kOp);
    q.BindRef(1, w.provision_id).BindRef(2, e.dev_eui).Bind(3, w.now);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  ROOST_RETURN_IF_ERROR(tx.Commit(kOp));
  return e;
}

// One page of current key sets in devEUI order, within the query's subtree:
// the provisioned-device list and the key export read the same rows, the
// export with the sealed keys (`extra_columns`).
template <typename Row, typename FromRow>
Result<std::vector<Row>> SqlStore::ReadProvisionedPage(const ProvisionedQuery& query,
                                                       const char* extra_columns, const char* op,
                                                       FromRow from_row) {
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(query.limit, query.offset));
  ROOST_SQL_LEASE(c);
  std::string sql = std::string("SELECT ") + kIdColumns + ", " + kExchangeColumns + extra_columns +
                    kKeysJoin + " WHERE k.current = 1 AND k.dev_eui > $1";
  std::pair<std::string, std::string> tree;
  if (!query.group_subtree.empty()) {
    auto range = SubtreeRange(c, query.group_subtree);
    if (!range.ok()) return range.status();
    tree = std::move(*range);
    sql += InSubtree(2, 3);
  }
  const int n = query.group_subtree.empty() ? 2 : 4;
  sql += " ORDER BY k.dev_eui LIMIT $" + std::to_string(n);
  if (query.offset > 0) sql += " OFFSET $" + std::to_string(n + 1);
  ROOST_SQL_QUERY(q, c, sql, op);
  int i = 0;
  q.Bind(++i, query.after);
  if (!query.group_subtree.empty()) {
    q.Bind(++i, tree.first);
    q.Bind(++i, tree.second);
  }
  q.Bind(++i, int64_t{query.limit});
  if (query.offset > 0) q.Bind(++i, int64_t{query.offset});
  return ReadAll<Row>(q, from_row);
}

Result<std::vector<ProvisionedDevice>> SqlStore::ListProvisionedDevices(
    const ProvisionedQuery& query) {
  return ReadProvisionedPage<ProvisionedDevice>(query, "", "list provisioned devices",
                                                DeviceFromRow);
}

Result<ProvisionedDevice> SqlStore::GetProvisionedDevice(std::string_view dev_eui) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kIdColumns + ", " + kExchangeColumns + kKeysJoin +
                      " WHERE k.current = 1 AND k.dev_eui = $1",
                  "get provisioned device");
  q.Bind(1, dev_eui);
  return ReadOne(q, DeviceFromRow, "provisioned device " + std::string(dev_eui) + " not found");
}

Result<ProvisionedKeys> SqlStore::GetProvisionedKeys(std::string_view dev_eui) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kIdColumns + ", " + kExchangeColumns +
                      ", k.sealed_app_key, k.sealed_nwk_key" + kKeysJoin +
                      " WHERE k.current = 1 AND k.dev_eui = $1",
                  "get provisioned keys");
  q.Bind(1, dev_eui);
  return ReadOne(q, KeysFromRow, "provisioned device " + std::string(dev_eui) + " not found");
}

Result<std::vector<ProvisionedKeys>> SqlStore::ExportProvisionedKeys(
    const ProvisionedQuery& query) {
  return ReadProvisionedPage<ProvisionedKeys>(query, ", k.sealed_app_key, k.sealed_nwk_key",
                                              "export provisioned keys", KeysFromRow);
}

Result<std::vector<ProvisionedKeys>> SqlStore::ListProvisionHistory(std::string_view provision_id) {
  auto id = GetProvisionId(provision_id);
  if (!id.ok()) return id.status();
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c,
                  std::string("SELECT ") + kIdColumns + ", " + kExchangeColumns +
                      ", k.sealed_app_key, k.sealed_nwk_key" + kKeysJoin +
                      " WHERE k.provision_id = $1 ORDER BY k.id",
                  "list provisioning history");
  q.Bind(1, provision_id);
  return ReadAll<ProvisionedKeys>(q, KeysFromRow);
}

Result<ProvisioningSummary> SqlStore::SummarizeProvisioning(std::string_view group_subtree,
                                                            int gateways) {
  ROOST_RETURN_IF_ERROR(internal::ValidatePageWindow(gateways, 0));
  ROOST_SQL_LEASE(c);
  std::pair<std::string, std::string> tree;
  const bool scoped = !group_subtree.empty();
  if (scoped) {
    auto range = SubtreeRange(c, group_subtree);
    if (!range.ok()) return range.status();
    tree = std::move(*range);
  }
  ProvisioningSummary s;
  {
    ROOST_SQL_QUERY(q, c,
                    std::string("SELECT p.state, COUNT(*) FROM provision_ids p WHERE 1 = 1") +
                        (scoped ? InSubtree(1, 2) : "") + " GROUP BY p.state",
                    "summarize provisioning");
    if (scoped) q.Bind(1, tree.first).Bind(2, tree.second);
    for (;;) {
      auto row = q.Next();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const auto state = ParseProvisionIdState(q.Text(0));
      const int64_t n = q.Int(1);
      if (state == ProvisionIdState::kPending) s.pending = n;
      if (state == ProvisionIdState::kProvisioned) s.provisioned = n;
      if (state == ProvisionIdState::kDisabled) s.disabled = n;
    }
  }
  {
    ROOST_SQL_QUERY(q, c,
                    std::string("SELECT k.gateway_eui, MAX(k.provisioned_at), COUNT(*)") +
                        kKeysJoin + " WHERE 1 = 1" + (scoped ? InSubtree(1, 2) : "") +
                        " GROUP BY k.gateway_eui ORDER BY 2 DESC, 1 LIMIT $" + (scoped ? "3" : "1"),
                    "summarize provisioning");
    int i = 0;
    if (scoped) {
      q.Bind(1, tree.first).Bind(2, tree.second);
      i = 2;
    }
    q.Bind(++i, int64_t{gateways});
    auto rows = ReadAll<GatewayProvisioning>(q, [](const Query& r) {
      return GatewayProvisioning{r.Text(0), r.Int(1), r.Int(2)};
    });
    if (!rows.ok()) return rows.status();
    s.gateways = std::move(*rows);
  }
  return s;
}

}  // namespace roost::storage::sql
