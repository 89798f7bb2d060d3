// The SQL drivers under the store: one interface, two engines (SQLite and
// PostgreSQL through libpq). The store's queries are written once against it.
//
// Contract:
// - SQL texts number their parameters $1..$n (each number may appear several
//   times, in any order); values are always bound, never part of the text.
// - A Connection is used by one thread at a time (the Pool hands it out); its
//   statements are prepared once and cached by SQL text.
// - Errors: AlreadyExists for a unique key taken, InvalidInput for a value the
//   schema refuses (foreign key, NOT NULL, CHECK, bad number), Unavailable for a
//   lock not granted within the transaction's lock_timeout (PostgreSQL), IoError
//   otherwise.
//   Messages read "<engine>: <op>: <database message>" and never hold values.
// - Where the engines' SQL differs, the Dialect gives the fragment; where the
//   strategy differs (bulk insert), the Connection method does.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace roost::storage::driver {

enum class Engine { kSqlite, kPostgres };

// SQL fragments that differ between the engines.
struct Dialect {
  Engine engine;
  std::string_view name;         // "sqlite" / "postgresql" (Store::engine())
  std::string_view for_update;   // row lock of a SELECT in a write transaction ("" on SQLite,
                                 // whose BEGIN IMMEDIATE already locks the database)
  std::string_view for_share;    // shared row lock ("" on SQLite)
  std::string_view skip_locked;  // lock the rows picked, skipping rows locked by others
  std::string_view find_text;    // position of a substring: name(haystack, needle) > 0
  // "<column> <fragment>" is true when the column is in the integer list bound
  // (Query::BindIntList) as parameter n.
  std::string (*in_int_list)(int n);
};

// A prepared statement of a connection, borrowed for one execution: bind, then
// Next() until false; reset (bindings cleared) when the Query goes away.
class Statement;
class Query {
 public:
  Query(Statement* s, std::string_view op) : s_(s), op_(op) {}
  Query(Query&& o) noexcept : s_(std::exchange(o.s_, nullptr)), op_(o.op_) {}
  Query& operator=(Query&&) = delete;
  ~Query();

  // Parameters are numbered from 1. Text and blobs are copied, except by BindRef,
  // whose text must stay alive until the Query is reset or gone.
  Query& Bind(int i, std::string_view v);
  Query& BindRef(int i, std::string_view v);
  Query& Bind(int i, int64_t v);
  Query& Bind(int i, std::optional<int64_t> v);
  Query& Bind(int i, std::optional<double> v);
  Query& BindBlob(int i, std::string_view bytes);
  Query& BindNull(int i);
  Query& BindIntList(int i, std::span<const int64_t> values);  // see Dialect::in_int_list

  // Runs the statement on the first call; true while a row is available.
  Result<bool> Next();
  // Runs to completion (rows ignored) and resets for new bindings.
  Status Run();
  // Rows changed by the last completed statement (after Run, or Next() == false).
  int64_t Affected() const;
  // Resets for new bindings (the next Next() runs again).
  void Reset();

  bool IsNull(int col) const;
  std::string Text(int col) const;
  std::string Blob(int col) const;
  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<double> OptDouble(int col) const;

 private:
  Statement* s_;
  std::string_view op_;
};

// The engine side of a Query (one per connection and SQL text).
class Statement {
 public:
  virtual ~Statement() = default;
  virtual void BindText(int i, std::string_view v, bool copy) = 0;
  virtual void BindInt(int i, int64_t v) = 0;
  virtual void BindDouble(int i, double v) = 0;
  virtual void BindBlob(int i, std::string_view bytes) = 0;
  virtual void BindNull(int i) = 0;
  virtual void BindIntList(int i, std::span<const int64_t> values) = 0;
  virtual Result<bool> Next(std::string_view op) = 0;
  virtual int64_t Affected() const = 0;
  virtual void Reset() = 0;
  virtual bool IsNull(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual std::string Blob(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
};

// Query forwards to its Statement; inline, since rows are read column by column.
inline Query::~Query() {
  if (s_) s_->Reset();
}

inline Query& Query::Bind(int i, std::string_view v) {
  s_->BindText(i, v, true);
  return *this;
}
inline Query& Query::BindRef(int i, std::string_view v) {
  s_->BindText(i, v, false);
  return *this;
}
inline Query& Query::Bind(int i, int64_t v) {
  s_->BindInt(i, v);
  return *this;
}
inline Query& Query::Bind(int i, std::optional<int64_t> v) {
  v ? s_->BindInt(i, *v) : s_->BindNull(i);
  return *this;
}
inline Query& Query::Bind(int i, std::optional<double> v) {
  v ? s_->BindDouble(i, *v) : s_->BindNull(i);
  return *this;
}
inline Query& Query::BindBlob(int i, std::string_view bytes) {
  s_->BindBlob(i, bytes);
  return *this;
}
inline Query& Query::BindNull(int i) {
  s_->BindNull(i);
  return *this;
}
inline Query& Query::BindIntList(int i, std::span<const int64_t> values) {
  s_->BindIntList(i, values);
  return *this;
}

inline Result<bool> Query::Next() {
  return s_->Next(op_);
}

inline Status Query::Run() {
  for (;;) {
    auto more = s_->Next(op_);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  // As documented: a Query run in a loop must not find its statement done
  // (a second Run would then do nothing and report the first one's count).
  s_->Reset();
  return Status::Ok();
}

inline int64_t Query::Affected() const {
  return s_->Affected();
}
inline void Query::Reset() {
  s_->Reset();
}
inline bool Query::IsNull(int col) const {
  return s_->IsNull(col);
}
inline std::string Query::Text(int col) const {
  return s_->Text(col);
}
inline std::string Query::Blob(int col) const {
  return s_->Blob(col);
}
inline int64_t Query::Int(int col) const {
  return s_->Int(col);
}
inline std::optional<int64_t> Query::OptInt(int col) const {
  return s_->IsNull(col) ? std::nullopt : std::optional<int64_t>(s_->Int(col));
}
inline std::optional<double> Query::OptDouble(int col) const {
  return s_->IsNull(col) ? std::nullopt : std::optional<double>(s_->Double(col));
}

// Values of one row of a bulk insert, written in the column order of the insert.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // The text must stay alive until the BulkInsert call returns.
  virtual void Text(std::string_view v) = 0;
  virtual void Int(int64_t v) = 0;
  virtual void Int(std::optional<int64_t> v) = 0;
  virtual void Double(std::optional<double> v) = 0;
  virtual void Blob(std::string_view bytes) = 0;  // alive as long as Text's
};

enum class ColumnType { kInt, kText, kDouble, kBlob };
struct Column {
  std::string_view name;
  ColumnType type;
};

struct BulkInsertSpec {
  std::string_view table;
  std::span<const Column> columns;
  std::string_view on_conflict;  // e.g. "ON CONFLICT (id) DO NOTHING"; "" = none
  // Report which rows were inserted; the first `key_columns` columns are then
  // integers that together are unique among the rows.
  bool report_inserted = false;
  std::string_view op;
  size_t key_columns = 1;  // with report_inserted
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual const Dialect& dialect() const = 0;
  // A cached prepared statement for `sql`; `op` names the operation in errors.
  virtual Result<Query> Prepare(const std::string& sql, std::string_view op) = 0;
  // SQL without parameters, possibly several statements (migrations, pragmas).
  virtual Status Exec(const std::string& sql, std::string_view op) = 0;
  // Transactions; `write` transactions take the write lock up front on SQLite.
  // A read transaction (`write` false) reads one snapshot in all its statements.
  virtual Status Begin(bool write, std::string_view op) = 0;
  virtual Status Commit(std::string_view op) = 0;
  virtual void Rollback() = 0;
  // Inside the migration transaction: makes concurrent openers wait their turn.
  virtual Status LockMigrations() = 0;
  // Inserts `rows` rows inside the current transaction, the engine's fastest way
  // (SQLite: one prepared INSERT per row; PostgreSQL: binary COPY; with
  // on_conflict, a COPY straight into the table is tried first and, when it
  // meets a unique key, undone and redone through a temporary table and one
  // INSERT ... SELECT ... on_conflict, so `write_row` may be called twice per
  // row and must write the same values). Returns, when asked, per row whether it was inserted
  // (false: skipped by on_conflict). Values are encoded for the column's type in
  // the table: Int fits any integer column it is in range of.
  virtual Result<std::vector<bool>> BulkInsert(
      const BulkInsertSpec& spec, size_t rows,
      const std::function<void(size_t row, RowWriter& out)>& write_row) = 0;
  // Called before the pool hands the connection out again: reconnects a broken
  // connection (forgetting its prepared statements). Error if it cannot.
  virtual Status Revive() { return Status::Ok(); }
};

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) c_.Rollback();
  }
  Status Begin(std::string_view op, bool write = true) {
    ROOST_RETURN_IF_ERROR(c_.Begin(write, op));
    open_ = true;
    return Status::Ok();
  }
  Status Commit(std::string_view op) {
    open_ = false;
    return c_.Commit(op);
  }

 private:
  Connection& c_;
  bool open_ = false;
};

// Up to `size` connections opened on demand; Acquire waits while all are lent.
class Pool {
 public:
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;
  Pool(int size, Opener open) : size_(size < 1 ? 1 : size), open_(std::move(open)) {}

  class Lease {
   public:
    Lease(Pool* p, std::unique_ptr<Connection> c) : pool_(p), conn_(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<Connection> c);
  void Forget();  // a connection was closed or never opened

  const int size_;
  Opener open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int opened_ = 0;
};

// Opens the pools of each engine. SQLite: `file`, WAL mode set by the caller's
// first connection, foreign keys on, 4 connections. A write transaction waits
// at most `busy_timeout_ms` for another's to end: for one of this opener's
// connections on an in-process mutex (then Unavailable), for another process
// in SQLite's busy handler.
Pool::Opener SqliteOpener(std::string file, int busy_timeout_ms = 10'000);
inline constexpr int kSqlitePoolSize = 4;
// PostgreSQL: `conninfo`, notices silenced.
Pool::Opener PostgresOpener(std::string conninfo);

}  // namespace roost::storage::driver
