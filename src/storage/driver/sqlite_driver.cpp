// SQLite driver. Connections run with foreign keys on and a busy timeout, so a
// second writer (thread or process) waits instead of failing; write
// transactions are BEGIN IMMEDIATE (the write lock first: no upgrade deadlock).
//
// The connections of one opener (one database file of this process) also take
// a mutex of their own around each write transaction. SQLite's busy handler
// waits by sleeping (1, 2, 5, 10 ms, ...): ingest's writer and the callback
// recorder, each finding the other's transaction, slept more than they worked.
// A mutex wakes the next writer as soon as the lock is free; the busy timeout
// still serves against other processes. It is a FIFO mutex, handed to the
// longest waiter: with a plain one, ingest's writer committing back to back
// took it back before a woken console edit ran, over a thousand times in a row.
//
// The WAL is checkpointed by a thread of the opener's own (Checkpointer), not
// by the connection whose commit passed SQLite's threshold: that checkpoint
// waits on fsync with the write mutex held, and on a loaded core left it idle
// for a tenth of the time while every writer queued behind it.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/fifo_mutex.h"
#include "core/thread_name.h"
#include "storage/driver/driver.h"
#include "storage/driver/sqlite_wal_buffer.h"

namespace roost::storage::driver {
namespace {

std::string JsonIntList(int n) {
  return "IN (SELECT value FROM json_each($" + std::to_string(n) + "))";
}

constexpr Dialect kSqliteDialect{
    Engine::kSqlite, "sqlite", "", "", "", "instr", &JsonIntList,
};

Status ErrorFrom(sqlite3* db, int rc, std::string_view op) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = "sqlite: " + std::string(op) + ": " +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return Status::AlreadyExists(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_CHECK:
      return Status::InvalidInput(msg);
    default:
      // Another writer held the database past the busy timeout: the same
      // request may well succeed in a moment (503, not 500). (SQLITE_LOCKED,
      // a conflict within one connection, would not: it stays an error.)
      if ((ext & 0xff) == SQLITE_BUSY) return Status::Unavailable(msg);
      return Status::IoError(msg);
  }
}

// "$N" parameters become "?N" (numbered, reusable) outside quoted text.
std::string NumberedParameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out += '?';
      continue;
    }
    out += c;
  }
  return out;
}

// The process's writers take turns on a mutex (SqliteConnection::Begin), which
// hands the database from one to the next at once. A statement that writes
// outside a transaction takes its turn there too: SQLite's own busy handler
// sleeps and retries, and between writers that hand the lock straight on it
// could wait out its whole timeout and fail.
struct WriteTurn {
  FifoMutex* writers = nullptr;
  int timeout_ms = 0;
};

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* s, WriteTurn turn)
      : db_(db), s_(s), turn_(turn), writes_(sqlite3_stmt_readonly(s) == 0) {}
  ~SqliteStatement() override {
    sqlite3_finalize(s_);  // ends a write still running, before its turn is given up
    EndTurn();
  }

  void BindText(int i, std::string_view v, bool copy) override {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                      copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
  }
  void BindInt(int i, int64_t v) override { sqlite3_bind_int64(s_, i, v); }
  void BindDouble(int i, double v) override { sqlite3_bind_double(s_, i, v); }
  void BindBlob(int i, std::string_view v) override {
    // A null pointer would bind NULL: an empty blob needs a valid one.
    static const char kEmpty = 0;
    sqlite3_bind_blob(s_, i, v.empty() ? &kEmpty : v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  void BindNull(int i) override { sqlite3_bind_null(s_, i); }
  void BindIntList(int i, std::span<const int64_t> values) override {
    std::string json = "[";
    for (int64_t v : values) {
      if (json.size() > 1) json += ',';
      json += std::to_string(v);
    }
    json += ']';
    sqlite3_bind_text(s_, i, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
  }

  Result<bool> Next(std::string_view op) override {
    if (done_) return false;
    if (writes_ && !turn_held_ && turn_.writers != nullptr && sqlite3_get_autocommit(db_) != 0 &&
        sqlite3_stmt_busy(s_) == 0) {
      if (!turn_.writers->try_lock_for(std::chrono::milliseconds(turn_.timeout_ms))) {
        done_ = true;
        return Status::Unavailable("sqlite: " + std::string(op) +
                                   ": database is locked (another write transaction of this "
                                   "process did not end)");
      }
      turn_held_ = true;
    }
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    done_ = true;
    changes_ = sqlite3_changes(db_);
    if (rc != SQLITE_DONE) {
      Status st = ErrorFrom(db_, rc, op);
      EndTurn();
      return st;
    }
    EndTurn();
    return false;
  }
  int64_t Affected() const override { return changes_; }
  void Reset() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    EndTurn();  // a statement with rows left (RETURNING) ends its write here
    done_ = false;
  }

  bool IsNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Text(int col) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  std::string Blob(int col) const override {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  double Double(int col) const override { return sqlite3_column_double(s_, col); }

 private:
  void EndTurn() {
    if (!turn_held_) return;
    turn_held_ = false;
    turn_.writers->unlock();
  }

  sqlite3* db_;
  sqlite3_stmt* s_;
  const WriteTurn turn_;
  const bool writes_;       // not a read-only statement
  bool turn_held_ = false;  // this statement's write holds turn_.writers
  bool done_ = false;
  int64_t changes_ = 0;
};

// Binds the row's values in column order, without copying text.
class BindingWriter final : public RowWriter {
 public:
  explicit BindingWriter(Query& q) : q_(q) {}
  void Start() { i_ = 0; }
  void Text(std::string_view v) override { q_.BindRef(++i_, v); }
  void Int(int64_t v) override { q_.Bind(++i_, v); }
  void Int(std::optional<int64_t> v) override { q_.Bind(++i_, v); }
  void Double(std::optional<double> v) override { q_.Bind(++i_, v); }
  void Blob(std::string_view v) override { q_.BindBlob(++i_, v); }

 private:
  Query& q_;
  int i_ = 0;
};

// Checkpoints one database file in the background, on a connection of its
// own, each time a commit leaves the WAL at kCheckpointPages or more: PASSIVE
// checkpoints, which block neither writers nor readers. Under a steady stream
// of commits such a checkpoint never reaches the last frame, and only one that
// did lets the next writer start the WAL over; so once the WAL holds
// kRestartPages the checkpointer takes the writers' mutex (a transaction in
// progress ends first, the next waits) and copies the little that is left,
// which lets the next writer start over (unless a reader still holds an older
// snapshot: nothing can start the WAL over before that reader ends). The WAL stays under about 40
// MiB, and writers wait on a checkpoint once per 10 000 pages instead of once per 1 000. Should the
// background connection not open, each commit past kCheckpointPages checkpoints itself, as SQLite
// does by default.
class Checkpointer {
 public:
  // SQLite's own autocheckpoint is at 1 000 pages. A checkpoint copies each page
  // once however often it was rewritten since the last: at 4 000, pages that
  // every commit rewrites (indexes, devices) are copied a quarter as often
  // (the store's half of ingest: 0.90 x the CPU of 1 000, docs/benchmarks.md).
  static constexpr int kCheckpointPages = 4000;
  static constexpr int kRestartPages = 10'000;

  Checkpointer(std::string file, std::shared_ptr<FifoMutex> writers, int busy_timeout_ms)
      : file_(std::move(file)), writers_(std::move(writers)), busy_timeout_ms_(busy_timeout_ms) {}
  ~Checkpointer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // sqlite3_wal_hook's callback: after each commit, with the WAL's size in pages.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    if (pages < kCheckpointPages) return SQLITE_OK;
    if (checkpointer->unavailable_.load()) {
      (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else {
      checkpointer->Request();
    }
    return SQLITE_OK;
  }

 private:
  void Request() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (requested_ || stop_) return;
      requested_ = true;
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
    cv_.notify_one();
  }

  void Run() {
    NameThisThread("sqlite-checkpt");
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        WalBufferVfsName()) != SQLITE_OK) {
      sqlite3_close_v2(db);
      unavailable_ = true;
      return;
    }
    sqlite3_busy_timeout(db, busy_timeout_ms_);
    // Its syncs of the WAL, before copying frames, are real ones (sqlite_wal_buffer.h).
    (void)sqlite3_exec(db, "PRAGMA checkpoint_fullfsync=ON", nullptr, nullptr, nullptr);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || requested_; });
      if (stop_) break;
      // Requests made while this one runs are for WAL frames it may not reach:
      // they ask for one more.
      requested_ = false;
      lock.unlock();
      // A connection that has read nothing yet does not know the file is in
      // WAL mode, and its checkpoint would do nothing.
      (void)sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr);
      int wal_pages = 0;
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, nullptr);
      if (wal_pages >= kRestartPages) {
        // PASSIVE again, not RESTART: RESTART would wait for every reader of
        // an older snapshot (a long export, say) with all writers held back.
        std::lock_guard<FifoMutex> writers(*writers_);
        (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
    lock.unlock();
    sqlite3_close_v2(db);
  }

  const std::string file_;
  const std::shared_ptr<FifoMutex> writers_;  // the opener's write mutex
  const int busy_timeout_ms_;
  std::atomic<bool> unavailable_{false};  // the background connection did not open
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  std::thread thread_;      // started at the first request
};

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::shared_ptr<FifoMutex> writers,
                   std::shared_ptr<Checkpointer> checkpointer, int busy_timeout_ms)
      : db_(db),
        writers_(std::move(writers)),
        checkpointer_(std::move(checkpointer)),
        busy_timeout_ms_(busy_timeout_ms) {
    sqlite3_wal_hook(db_, &Checkpointer::OnCommit, checkpointer_.get());
  }
  ~SqliteConnection() override {
    EndWrite();
    cache_.clear();
    sqlite3_close_v2(db_);
  }

  const Dialect& dialect() const override { return kSqliteDialect; }

  Result<Query> Prepare(const std::string& sql, std::string_view op) override {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      const std::string text = NumberedParameters(sql);
      sqlite3_stmt* s = nullptr;
      const int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                        SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return ErrorFrom(db_, rc, op);
      it = cache_
               .emplace(sql, std::make_unique<SqliteStatement>(
                                 db_, s, WriteTurn{writers_.get(), busy_timeout_ms_}))
               .first;
    }
    return Query(it->second.get(), op);
  }

  Status Exec(const std::string& sql, std::string_view op) override {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : ErrorFrom(db_, rc, op);
  }
  Status Begin(bool write, std::string_view op) override {
    if (!write) return Exec("BEGIN", op);
    if (!writers_->try_lock_for(std::chrono::milliseconds(busy_timeout_ms_))) {
      return Status::Unavailable("sqlite: " + std::string(op) +
                                 ": database is locked (another write transaction of this "
                                 "process did not end)");
    }
    Status st = Exec("BEGIN IMMEDIATE", op);
    if (st.ok()) {
      writing_ = true;
    } else {
      writers_->unlock();
    }
    return st;
  }
  Status Commit(std::string_view op) override {
    Status st = Exec("COMMIT", op);
    // A commit that failed leaves the transaction open: nobody rolls it back
    // after a commit, and it would keep the lock.
    if (!st.ok() && sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK", "rollback");
    EndWrite();
    return st;
  }
  void Rollback() override {
    (void)Exec("ROLLBACK", "rollback");
    EndWrite();
  }
  // BEGIN IMMEDIATE already serialises writers.
  Status LockMigrations() override { return Status::Ok(); }

  Result<std::vector<bool>> BulkInsert(
      const BulkInsertSpec& spec, size_t rows,
      const std::function<void(size_t, RowWriter&)>& write_row) override {
    std::vector<bool> inserted;
    if (rows == 0) return inserted;
    std::string sql = "INSERT INTO " + std::string(spec.table) + " (";
    std::string values;
    for (size_t c = 0; c < spec.columns.size(); ++c) {
      sql += (c ? ", " : "") + std::string(spec.columns[c].name);
      values += (c ? ", $" : "$") + std::to_string(c + 1);
    }
    sql += ") VALUES (" + values + ")";
    if (!spec.on_conflict.empty()) sql += " " + std::string(spec.on_conflict);
    auto q = Prepare(sql, spec.op);
    if (!q.ok()) return q.status();
    if (spec.report_inserted) inserted.reserve(rows);
    BindingWriter writer(*q);
    for (size_t r = 0; r < rows; ++r) {
      writer.Start();
      write_row(r, writer);
      ROOST_RETURN_IF_ERROR(q->Run());
      if (spec.report_inserted) inserted.push_back(q->Affected() > 0);
      q->Reset();
    }
    return inserted;
  }

 private:
  void EndWrite() {
    if (!writing_) return;
    writing_ = false;
    writers_->unlock();
  }

  sqlite3* db_;
  std::shared_ptr<FifoMutex> writers_;          // shared by the opener's connections
  std::shared_ptr<Checkpointer> checkpointer_;  // outlives db_: its hook points to it
  int busy_timeout_ms_;
  bool writing_ = false;  // this connection holds writers_
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace

Pool::Opener SqliteOpener(std::string file, int busy_timeout_ms) {
  // SQLite's allocation statistics take a process-wide mutex around every
  // malloc and free it makes; Roost reads none of them. Off before SQLite
  // initialises (the first open); later calls are refused harmlessly.
  static const bool kMemoryStatisticsOff = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)kMemoryStatisticsOff;
  auto writers = std::make_shared<FifoMutex>();
  auto checkpointer = std::make_shared<Checkpointer>(file, writers, busy_timeout_ms);
  return [file = std::move(file), writers = std::move(writers),
          checkpointer = std::move(checkpointer),
          busy_timeout_ms]() -> Result<std::unique_ptr<Connection>> {
    sqlite3* db = nullptr;
    // Commits write their WAL frames in a few large writes (sqlite_wal_buffer.h).
    const char* vfs = WalBufferVfsName();
    const int rc = sqlite3_open_v2(
        file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
    if (rc != SQLITE_OK) {
      Status st = ErrorFrom(db, rc, "open " + file);
      sqlite3_close_v2(db);
      return st;
    }
    auto c = std::make_unique<SqliteConnection>(db, writers, checkpointer, busy_timeout_ms);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    ROOST_RETURN_IF_ERROR(
        c->Exec(std::string("PRAGMA foreign_keys=ON; ") +
                    // With the WAL buffer: FULL and checkpoint_fullfsync tell it
                    // which syncs end a commit (written, not fsynced: the
                    // durability of NORMAL) and which must be real.
                    (vfs != nullptr ? "PRAGMA synchronous=FULL; PRAGMA checkpoint_fullfsync=ON; "
                                    : "PRAGMA synchronous=NORMAL; ") +
                    "PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY",
                "configure connection"));
    return std::unique_ptr<Connection>(std::move(c));
  };
}

}  // namespace roost::storage::driver
