// Opening a store: the pool of the engine's driver, then the migrations.
#include "storage/sql/sql_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "storage/migrations.h"
#include "storage/sql/rows.h"

namespace roost::storage {
namespace sql {

Status SqlStore::Init() {
  ROOST_SQL_LEASE(c);
  engine_ = c.dialect().name;
  const bool sqlite = c.dialect().engine == driver::Engine::kSqlite;
  // WAL is a property of the file; set once here.
  if (sqlite) ROOST_RETURN_IF_ERROR(c.Exec("PRAGMA journal_mode=WAL", "enable WAL"));
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("migrate schema"));
  // Instances starting together migrate one after the other.
  ROOST_RETURN_IF_ERROR(c.LockMigrations());
  ROOST_RETURN_IF_ERROR(
      c.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
             "PRIMARY KEY, name TEXT NOT NULL)",
             "migrate schema"));
  int current = 0;
  {
    ROOST_SQL_QUERY(q, c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    "migrate schema");
    auto v = ReadOne(
        q, [](const Query& r) { return r.Int(0); }, "no schema version");
    if (!v.ok()) return v.status();
    current = static_cast<int>(*v);
  }
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    const std::string op =
        "migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")";
    ROOST_RETURN_IF_ERROR(
        c.Exec(ForDialect(m.sql, sqlite ? Dialect::kSqlite : Dialect::kPostgres), op));
    ROOST_SQL_QUERY(q, c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", op);
    ROOST_RETURN_IF_ERROR(q.Bind(1, int64_t{m.version}).Bind(2, m.name).Run());
  }
  return tx.Commit("migrate schema");
}

Result<int> SqlStore::SchemaVersion() {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                  "read schema version");
  auto v = ReadOne(
      q, [](const Query& r) { return r.Int(0); }, "no schema version");
  if (!v.ok()) return v.status();
  return static_cast<int>(*v);
}

Status SqlStore::Run(const std::string& sql, std::string_view op, const Binder& bind) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, sql, op);
  bind(q);
  return q.Run();
}

Status SqlStore::RunOne(const std::string& sql, std::string_view op, const Binder& bind,
                        std::string not_found) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, sql, op);
  bind(q);
  ROOST_RETURN_IF_ERROR(q.Run());
  if (q.Affected() == 0) return Status::NotFound(std::move(not_found));
  return Status::Ok();
}

Result<bool> SqlStore::LockRow(Connection& c, std::string_view table, std::string_view id,
                               RowLock lock, std::string_view op) {
  ROOST_SQL_QUERY(
      q, c,
      "SELECT id FROM " + std::string(table) + " WHERE id = $1" +
          std::string(lock == RowLock::kUpdate ? c.dialect().for_update : c.dialect().for_share),
      op);
  return q.Bind(1, id).Next();
}

Result<bool> SqlStore::RunIfUnchanged(const std::string& sql, std::string_view op,
                                      const Binder& bind, const std::string& exists_sql,
                                      const Binder& bind_exists, std::string not_found) {
  ROOST_SQL_LEASE(c);
  {
    ROOST_SQL_QUERY(q, c, sql, op);
    bind(q);
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() > 0) return true;
  }
  ROOST_SQL_QUERY(q, c, exists_sql, op);
  bind_exists(q);
  auto row = q.Next();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(std::move(not_found));
  return false;
}

}  // namespace sql

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = path;
  if (!path.ends_with(".db")) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return Status::IoError("sqlite: create data directory " + path + ": " + ec.message());
    file = (fs::path(path) / "roost.db").string();
  }
  // SQLite would create the file 0644 (less the umask), and its -wal and -shm
  // files copy the database file's mode: create it 0600 first so that none of
  // them, which hold PACs and password hashes, is readable by other users.
  const int fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("sqlite: open " + file + ": " + std::strerror(errno));
  ::close(fd);
  auto store = std::make_unique<sql::SqlStore>(driver::kSqlitePoolSize, driver::SqliteOpener(file));
  ROOST_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, int pool_size) {
  auto store = std::make_unique<sql::SqlStore>(pool_size, driver::PostgresOpener(conninfo));
  ROOST_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace roost::storage
