// PostgreSQL driver (libpq). Every statement is prepared once per connection
// and run with parameters in text format, except bytea (binary); results come
// back in text format. Several processes may share the database: migrations
// take an advisory lock.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <unordered_map>

#include "storage/driver/driver.h"

namespace roost::storage::driver {
namespace {

constexpr int64_t kMigrationLockKey = 0x526f6f7374;  // "Roost"
constexpr size_t kInsertBatchRows = 5000;

std::string AnyIntArray(int n) {
  return "= ANY($" + std::to_string(n) + "::bigint[])";
}

constexpr Dialect kPostgresDialect{
    Engine::kPostgres,         "postgresql", " FOR UPDATE", " FOR SHARE",
    " FOR UPDATE SKIP LOCKED", "strpos",     &AnyIntArray,
};

std::string DoubleText(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Status ErrorFromResult(PGresult* r, PGconn* c, std::string_view op) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  // The primary message names constraints and columns, never values (those are in DETAIL).
  std::string msg = "postgresql: " + std::string(op) + ": " +
                    (primary ? std::string(primary) : std::string(PQerrorMessage(c)));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string_view code = state ? state : "";
  if (code == "23505") return Status::AlreadyExists(msg);
  if (code == "23503" || code == "23502" || code == "23514" || code.starts_with("22")) {
    return Status::InvalidInput(msg);
  }
  return Status::IoError(msg);
}

// An array literal, sent as one text parameter.
class ArrayText {
 public:
  void Text(std::string_view v) {
    Sep();
    s_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') s_ += '\\';
      s_ += c;
    }
    s_ += '"';
  }
  void Int(int64_t v) {
    Sep();
    s_ += std::to_string(v);
  }
  void Double(double v) {
    Sep();
    s_ += DoubleText(v);
  }
  void Null() {
    Sep();
    s_ += "NULL";
  }
  std::string Done() const { return s_ + "}"; }

 private:
  void Sep() { s_ += s_.size() == 1 ? "" : ","; }
  std::string s_ = "{";
};

class PgStatement final : public Statement {
 public:
  PgStatement(PGconn* c, std::string name) : c_(c), name_(std::move(name)) {}
  ~PgStatement() override { Clear(); }

  void BindText(int i, std::string_view v, bool) override { Set(i, std::string(v), 0); }
  void BindInt(int i, int64_t v) override { Set(i, std::to_string(v), 0); }
  void BindDouble(int i, double v) override { Set(i, DoubleText(v), 0); }
  void BindBlob(int i, std::string_view v) override { Set(i, std::string(v), 1); }
  void BindNull(int i) override { Set(i, std::nullopt, 0); }
  void BindIntList(int i, std::span<const int64_t> values) override {
    ArrayText a;
    for (int64_t v : values) a.Int(v);
    Set(i, a.Done(), 0);
  }

  Result<bool> Next(std::string_view op) override {
    if (r_ == nullptr) {
      std::vector<const char*> values(values_.size());
      std::vector<int> lengths(values_.size());
      for (size_t i = 0; i < values_.size(); ++i) {
        if (values_[i]) {
          values[i] = values_[i]->data();
          lengths[i] = static_cast<int>(values_[i]->size());
        }
      }
      r_ = PQexecPrepared(c_, name_.c_str(), static_cast<int>(values_.size()), values.data(),
                          lengths.data(), formats_.data(), 0);
      const auto st = PQresultStatus(r_);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        Status s = ErrorFromResult(r_, c_, op);
        PQclear(r_);
        r_ = nullptr;
        return s;
      }
      const char* n = PQcmdTuples(r_);
      affected_ = n && *n ? std::strtoll(n, nullptr, 10) : 0;
      row_ = -1;
    }
    if (row_ < PQntuples(r_)) ++row_;
    return row_ < PQntuples(r_);
  }
  int64_t Affected() const override { return affected_; }
  void Reset() override {
    Clear();
    values_.clear();
    formats_.clear();
  }

  bool IsNull(int col) const override { return PQgetisnull(r_, row_, col) != 0; }
  std::string Text(int col) const override {
    return std::string(PQgetvalue(r_, row_, col), static_cast<size_t>(PQgetlength(r_, row_, col)));
  }
  std::string Blob(int col) const override {
    size_t n = 0;
    unsigned char* p =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row_, col)), &n);
    std::string out(reinterpret_cast<const char*>(p), n);
    PQfreemem(p);
    return out;
  }
  int64_t Int(int col) const override {
    return std::strtoll(PQgetvalue(r_, row_, col), nullptr, 10);
  }
  double Double(int col) const override { return std::strtod(PQgetvalue(r_, row_, col), nullptr); }

 private:
  void Set(int i, std::optional<std::string> v, int format) {
    const auto at = static_cast<size_t>(i - 1);
    if (values_.size() <= at) {
      values_.resize(at + 1);
      formats_.resize(at + 1, 0);
    }
    values_[at] = std::move(v);
    formats_[at] = format;
  }
  void Clear() {
    if (r_) PQclear(r_);
    r_ = nullptr;
  }

  PGconn* c_;
  std::string name_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  PGresult* r_ = nullptr;
  int row_ = -1;
  int64_t affected_ = 0;
};

// Appends each value to its column's array.
class ArrayWriter final : public RowWriter {
 public:
  explicit ArrayWriter(size_t columns) : cols_(columns) {}
  void Start() { i_ = 0; }
  void Text(std::string_view v) override { cols_[i_++].Text(v); }
  void Int(int64_t v) override {
    if (i_ == 0) keys_.push_back(v);
    cols_[i_++].Int(v);
  }
  void Int(std::optional<int64_t> v) override { v ? Int(*v) : cols_[i_++].Null(); }
  void Double(std::optional<double> v) override { v ? cols_[i_++].Double(*v) : cols_[i_++].Null(); }
  const std::vector<ArrayText>& columns() const { return cols_; }
  // The first column of each row, when it is an integer.
  const std::vector<int64_t>& keys() const { return keys_; }

 private:
  std::vector<ArrayText> cols_;
  std::vector<int64_t> keys_;
  size_t i_ = 0;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* c) : c_(c) {}
  ~PgConnection() override {
    cache_.clear();
    PQfinish(c_);
  }

  const Dialect& dialect() const override { return kPostgresDialect; }

  Result<Query> Prepare(const std::string& sql, std::string_view op) override {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      std::string name = "roost_" + std::to_string(next_name_++);
      PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        Status st = ErrorFromResult(r, c_, op);
        PQclear(r);
        return st;
      }
      PQclear(r);
      it = cache_.emplace(sql, std::make_unique<PgStatement>(c_, std::move(name))).first;
    }
    return Query(it->second.get(), op);
  }

  Status Exec(const std::string& sql, std::string_view op) override {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    Status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::Ok()
                                                                 : ErrorFromResult(r, c_, op);
    PQclear(r);
    return s;
  }
  Status Begin(bool, std::string_view op) override { return Exec("BEGIN", op); }
  Status Commit(std::string_view op) override { return Exec("COMMIT", op); }
  void Rollback() override { (void)Exec("ROLLBACK", "rollback"); }

  Status LockMigrations() override {
    auto q = Prepare("SELECT pg_advisory_xact_lock($1)", "migrate schema");
    if (!q.ok()) return q.status();
    return q->Bind(1, kMigrationLockKey).Run();
  }

  Result<std::vector<bool>> BulkInsert(
      const BulkInsertSpec& spec, size_t rows,
      const std::function<void(size_t, RowWriter&)>& write_row) override {
    std::vector<bool> inserted(spec.report_inserted ? rows : 0, false);
    if (rows == 0) return inserted;
    std::string sql = "INSERT INTO " + std::string(spec.table) + " (";
    std::string arrays;
    for (size_t c = 0; c < spec.columns.size(); ++c) {
      static constexpr const char* kArrayType[] = {"bigint[]", "text[]", "float8[]"};
      sql += (c ? ", " : "") + std::string(spec.columns[c].name);
      arrays += (c ? ", $" : "$") + std::to_string(c + 1) +
                "::" + kArrayType[static_cast<int>(spec.columns[c].type)];
    }
    sql += ") SELECT * FROM unnest(" + arrays + ")";
    if (!spec.on_conflict.empty()) sql += " " + std::string(spec.on_conflict);
    if (spec.report_inserted) sql += " RETURNING " + std::string(spec.columns[0].name);
    auto q = Prepare(sql, spec.op);
    if (!q.ok()) return q.status();
    for (size_t first = 0; first < rows; first += kInsertBatchRows) {
      const size_t end = std::min(rows, first + kInsertBatchRows);
      ArrayWriter writer(spec.columns.size());
      for (size_t r = first; r < end; ++r) {
        writer.Start();
        write_row(r, writer);
      }
      int i = 0;
      for (const ArrayText& col : writer.columns()) q->Bind(++i, std::string_view(col.Done()));
      std::unordered_map<int64_t, bool> keys;
      for (;;) {
        auto more = q->Next();
        if (!more.ok()) return more.status();
        if (!*more) break;
        keys[q->Int(0)] = true;
      }
      if (spec.report_inserted) {
        for (size_t r = first; r < end; ++r) inserted[r] = keys.count(writer.keys()[r - first]) > 0;
      }
      q->Reset();
    }
    return inserted;
  }

  Status Revive() override {
    if (PQstatus(c_) == CONNECTION_OK) return Status::Ok();
    // The server restarted or dropped us; it forgot our prepared statements.
    PQreset(c_);
    cache_.clear();
    if (PQstatus(c_) == CONNECTION_OK) return Status::Ok();
    std::string msg = PQerrorMessage(c_);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status::IoError("postgresql: reconnect: " + msg);
  }

 private:
  PGconn* c_;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>> cache_;
  int64_t next_name_ = 0;
};

}  // namespace

Pool::Opener PostgresOpener(std::string conninfo) {
  return [conninfo = std::move(conninfo)]() -> Result<std::unique_ptr<Connection>> {
    PGconn* pg = PQconnectdb(conninfo.c_str());
    if (PQstatus(pg) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(pg);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      PQfinish(pg);
      return Status::IoError("postgresql: connect: " + msg);
    }
    // Warnings (e.g. NOTICE from CREATE ... IF NOT EXISTS) are not ours to print.
    PQsetNoticeProcessor(
        pg, [](void*, const char*) {}, nullptr);
    return std::unique_ptr<Connection>(std::make_unique<PgConnection>(pg));
  };
}

}  // namespace roost::storage::driver
