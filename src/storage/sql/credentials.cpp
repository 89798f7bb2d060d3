// Credentials from the factory import: a sealed key (opaque bytes) and the
// initial PAC per device ID.
#include <unordered_map>
#include <unordered_set>

#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

Status SqlStore::UpsertCredentials(std::span<const Credential> creds) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("store credentials"));
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO credentials (device_id, sealed_key, initial_pac, creation_time) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO UPDATE SET "
                    "sealed_key = excluded.sealed_key, initial_pac = excluded.initial_pac, "
                    "creation_time = excluded.creation_time",
                    "store credentials");
    for (const Credential& cr : creds) {
      q.Bind(1, int64_t{cr.device_id.value});
      q.BindBlob(2, std::string_view(reinterpret_cast<const char*>(cr.sealed_key.data()),
                                     cr.sealed_key.size()));
      q.BindRef(3, cr.initial_pac).Bind(4, cr.creation_time);
      ROOST_RETURN_IF_ERROR(q.Run());
      q.Reset();
    }
  }
  return tx.Commit("store credentials");
}

// One bulk insert: a round trip per credential made a 1 M import take minutes
// on PostgreSQL. A repeated ID after its first occurrence is not sent, so the
// rows are unique keys as BulkInsert's report asks.
Result<std::vector<size_t>> SqlStore::InsertNewCredentials(std::span<const Credential> creds) {
  std::vector<size_t> kept;
  if (creds.empty()) return kept;
  std::vector<size_t> rows;  // indexes into `creds` of the rows sent
  rows.reserve(creds.size());
  std::vector<bool> repeated(creds.size(), false);
  {
    std::unordered_set<uint32_t> seen;
    seen.reserve(creds.size());
    for (size_t i = 0; i < creds.size(); ++i) {
      repeated[i] = !seen.insert(creds[i].device_id.value).second;
      if (!repeated[i]) rows.push_back(i);
    }
  }
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("store credentials"));
  using driver::ColumnType;
  static constexpr driver::Column kColumns[] = {{"device_id", ColumnType::kInt},
                                                {"sealed_key", ColumnType::kBlob},
                                                {"initial_pac", ColumnType::kText},
                                                {"creation_time", ColumnType::kInt}};
  driver::BulkInsertSpec spec;
  spec.table = "credentials";
  spec.columns = kColumns;
  spec.on_conflict = "ON CONFLICT (device_id) DO NOTHING";
  spec.report_inserted = true;
  spec.op = "store credentials";
  auto inserted = c.BulkInsert(spec, rows.size(), [&](size_t row, driver::RowWriter& out) {
    const Credential& cr = creds[rows[row]];
    out.Int(int64_t{cr.device_id.value});
    out.Blob(std::string_view(reinterpret_cast<const char*>(cr.sealed_key.data()),
                              cr.sealed_key.size()));
    out.Text(cr.initial_pac);
    out.Int(cr.creation_time);
  });
  if (!inserted.ok()) return inserted.status();
  ROOST_RETURN_IF_ERROR(tx.Commit("store credentials"));
  size_t row = 0;
  for (size_t i = 0; i < creds.size(); ++i) {
    if (repeated[i]) {
      kept.push_back(i);
    } else if (!(*inserted)[row++]) {
      kept.push_back(i);
    }
  }
  return kept;
}

Result<Credential> SqlStore::GetCredential(uint32_t device_id) {
  auto r = GetCredentials(std::span<const uint32_t>(&device_id, 1));
  if (!r.ok()) return r.status();
  if (!(*r)[0]) {
    return Status::NotFound("no credentials for device " + SigfoxId{device_id}.ToApi());
  }
  return std::move(*(*r)[0]);
}

Result<std::vector<std::optional<Credential>>> SqlStore::GetCredentials(
    std::span<const uint32_t> ids) {
  ROOST_SQL_LEASE(c);
  std::vector<std::optional<Credential>> out(ids.size());
  std::unordered_map<uint32_t, std::vector<size_t>> where;
  std::vector<int64_t> list;
  list.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    where[ids[i]].push_back(i);
    list.push_back(int64_t{ids[i]});
  }
  ROOST_SQL_QUERY(q, c,
                  "SELECT device_id, sealed_key, initial_pac, creation_time FROM credentials "
                  "WHERE device_id " +
                      c.dialect().in_int_list(1),
                  "read credentials");
  q.BindIntList(1, list);
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Credential cr;
    cr.device_id.value = static_cast<uint32_t>(q.Int(0));
    const std::string key = q.Blob(1);
    cr.sealed_key.assign(key.begin(), key.end());
    cr.initial_pac = q.Text(2);
    cr.creation_time = q.Int(3);
    for (size_t at : where[cr.device_id.value]) out[at] = cr;
  }
  return out;
}

}  // namespace roost::storage::sql
