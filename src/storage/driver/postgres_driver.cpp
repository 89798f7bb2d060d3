// PostgreSQL driver (libpq). Every statement is prepared once per connection
// and run with parameters in text format, except bytea (binary); results come
// back in text format. Several processes may share the database: migrations
// take an advisory lock.
#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/driver/driver.h"

namespace roost::storage::driver {
namespace {

constexpr int64_t kMigrationLockKey = 0x526f6f7374;  // "Roost"
constexpr size_t kCopyPieceBytes = 256 * 1024;

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
  if (code == "55P03") return Status::Unavailable(msg);  // lock_timeout, NOWAIT
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

// Rows in COPY's binary format (big-endian; each field a 32-bit length, -1 for
// NULL). Integers take the width of their column; a value the column cannot
// hold, or a call that does not fit the column's type, fails the whole insert.
class CopyWriter final : public RowWriter {
 public:
  // `keys`, when given, collects the first `key_columns` columns of each row
  // (integers).
  CopyWriter(std::span<const Column> columns, const std::vector<Oid>& types,
             std::vector<int64_t>* keys, size_t key_columns)
      : columns_(columns), types_(types), keys_(keys), key_columns_(key_columns) {
    static constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    buf_.append(kHeader, sizeof kHeader - 1);
  }

  void Start() {
    i_ = 0;
    Put<int16_t>(static_cast<int16_t>(columns_.size()));
  }
  void Text(std::string_view v) override {
    const Oid t = Next();
    if (t != kText && t != kVarchar && t != kBpchar) return Mismatch("text");
    Bytes(v);
  }
  void Blob(std::string_view v) override {
    if (Next() != kBytea) return Mismatch("bytes");
    Bytes(v);
  }
  void Int(int64_t v) override {
    if (keys_ && i_ < key_columns_) keys_->push_back(v);
    const Oid t = Next();
    if (t == kInt8) return Field<int64_t>(v);
    if (t == kInt4 && v >= INT32_MIN && v <= INT32_MAX)
      return Field<int32_t>(static_cast<int32_t>(v));
    if (t == kInt2 && v >= INT16_MIN && v <= INT16_MAX)
      return Field<int16_t>(static_cast<int16_t>(v));
    Mismatch(t == kInt4 || t == kInt2 ? "an integer out of the column's range" : "an integer");
  }
  void Int(std::optional<int64_t> v) override {
    if (v) return Int(*v);
    if (!IsInt(Next())) return Mismatch("an integer");
    Null();
  }
  void Double(std::optional<double> v) override {
    const Oid t = Next();
    if (t != kFloat8) return Mismatch("a double");
    if (!v) return Null();
    Field<uint64_t>(std::bit_cast<uint64_t>(*v));
  }

  // The stream so far, to send; keeps the encoder's state.
  std::string& buffer() { return buf_; }
  void Finish() { Put<int16_t>(-1); }
  // The first value that did not fit its column, if any: "column <name>: <what>".
  const std::string& error() const { return error_; }

  static bool Supported(Oid t) {
    return IsInt(t) || t == kFloat8 || t == kText || t == kVarchar || t == kBpchar || t == kBytea;
  }

 private:
  // pg_type OIDs (stable across PostgreSQL versions).
  static constexpr Oid kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kFloat8 = 701,
                       kBpchar = 1042, kVarchar = 1043;
  static bool IsInt(Oid t) { return t == kInt8 || t == kInt4 || t == kInt2; }

  Oid Next() { return i_ < types_.size() ? types_[i_++] : (++i_, 0); }
  void Mismatch(std::string_view what) {
    if (error_.empty()) {
      const size_t at = i_ - 1;
      error_ = "column " + std::string(at < columns_.size() ? columns_[at].name : "?") +
               ": cannot hold " + std::string(what);
    }
    Null();
  }
  template <typename T>
  void Put(T v) {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(v);
    char b[sizeof(T)];
    for (size_t k = 0; k < sizeof(T); ++k) b[k] = static_cast<char>(u >> (8 * (sizeof(T) - 1 - k)));
    buf_.append(b, sizeof(T));
  }
  template <typename T>
  void Field(T v) {
    Put<int32_t>(static_cast<int32_t>(sizeof(T)));
    Put<T>(v);
  }
  void Bytes(std::string_view v) {
    Put<int32_t>(static_cast<int32_t>(v.size()));
    buf_.append(v);
  }
  void Null() { Put<int32_t>(-1); }

  std::span<const Column> columns_;
  const std::vector<Oid>& types_;
  std::vector<int64_t>* keys_;
  size_t key_columns_;
  std::string buf_;
  std::string error_;
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
  // A read transaction sees one snapshot for all its statements, as SQLite's
  // does (READ COMMITTED would take one per statement: a job's counts and its
  // failures could then come from different moments).
  Status Begin(bool write, std::string_view op) override {
    return Exec(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", op);
  }
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
    std::vector<bool> inserted(spec.report_inserted ? rows : 0, spec.on_conflict.empty());
    if (rows == 0) return inserted;
    // Outside a transaction the staging table would be emptied by the COPY's
    // own commit before the INSERT reads it.
    if (PQtransactionStatus(c_) != PQTRANS_INTRANS) {
      return Status::IoError("postgresql: " + std::string(spec.op) +
                             ": bulk insert outside a transaction");
    }
    std::string columns;
    for (size_t c = 0; c < spec.columns.size(); ++c) {
      columns += (c ? ", " : "") + std::string(spec.columns[c].name);
    }
    auto types = ColumnTypes(spec.table, columns, spec.op);
    if (!types.ok()) return types.status();
    if (spec.on_conflict.empty()) {
      ROOST_RETURN_IF_ERROR(
          Copy(std::string(spec.table), columns, spec, *types, rows, write_row, nullptr));
      return inserted;
    }
    // Most bulk inserts meet no conflict (a chunk of new devices): COPY straight
    // into the table under a savepoint. A unique violation undoes only that COPY
    // and the rows take the conflict-handling path below (written a second time).
    ROOST_RETURN_IF_ERROR(Exec("SAVEPOINT roost_bulk_insert", spec.op));
    Status direct = Copy(std::string(spec.table), columns, spec, *types, rows, write_row, nullptr);
    if (direct.ok()) {
      ROOST_RETURN_IF_ERROR(Exec("RELEASE SAVEPOINT roost_bulk_insert", spec.op));
      inserted.assign(inserted.size(), true);
      return inserted;
    }
    if (direct.code() != Status::Code::kAlreadyExists) return direct;
    ROOST_RETURN_IF_ERROR(Exec(
        "ROLLBACK TO SAVEPOINT roost_bulk_insert; RELEASE SAVEPOINT roost_bulk_insert", spec.op));
    // COPY has no conflict handling: the rows go to a temporary table of the
    // same column types, then one INSERT ... SELECT applies on_conflict. The
    // table is emptied by the statement that reads it, so a second call in the
    // same transaction starts empty.
    const std::string staging = "roost_copy_" + std::string(spec.table);
    ROOST_RETURN_IF_ERROR(Exec("CREATE TEMP TABLE IF NOT EXISTS " + staging +
                                   " ON COMMIT DELETE ROWS AS SELECT " + columns + " FROM " +
                                   std::string(spec.table) + " WITH NO DATA",
                               spec.op));
    std::vector<int64_t> sent_keys;
    ROOST_RETURN_IF_ERROR(Copy(staging, columns, spec, *types, rows, write_row,
                               spec.report_inserted ? &sent_keys : nullptr));
    const size_t k = spec.key_columns;
    if (spec.report_inserted &&
        (k == 0 || k > spec.columns.size() || sent_keys.size() != rows * k)) {
      return Status::InvalidInput("postgresql: " + std::string(spec.op) +
                                  ": the key columns must be integers, first");
    }
    std::string sql = "WITH staged AS (DELETE FROM " + staging + " RETURNING " + columns +
                      ") INSERT INTO " + std::string(spec.table) + " (" + columns + ") SELECT " +
                      columns + " FROM staged " + std::string(spec.on_conflict);
    if (spec.report_inserted) {
      sql += " RETURNING ";
      for (size_t c = 0; c < k; ++c) sql += (c ? ", " : "") + std::string(spec.columns[c].name);
    }
    auto q = Prepare(sql, spec.op);
    if (!q.ok()) return q.status();
    if (!spec.report_inserted) {
      ROOST_RETURN_IF_ERROR(q->Run());
      return inserted;
    }
    std::set<std::vector<int64_t>> keys;
    for (;;) {
      auto more = q->Next();
      if (!more.ok()) return more.status();
      if (!*more) break;
      std::vector<int64_t> key(k);
      for (size_t c = 0; c < k; ++c) key[c] = q->Int(static_cast<int>(c));
      keys.insert(std::move(key));
    }
    for (size_t r = 0; r < rows; ++r) {
      const auto first = sent_keys.begin() + static_cast<std::ptrdiff_t>(r * k);
      inserted[r] =
          keys.count(std::vector<int64_t>(first, first + static_cast<std::ptrdiff_t>(k))) > 0;
    }
    return inserted;
  }

  Status Revive() override {
    types_.clear();
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
  // The server's type of each column, for the binary encoding; cached per
  // table and column list (the schema only changes by migration, before use).
  Result<std::vector<Oid>> ColumnTypes(std::string_view table, const std::string& columns,
                                       std::string_view op) {
    const std::string key = std::string(table) + " (" + columns + ")";
    auto it = types_.find(key);
    if (it != types_.end()) return it->second;
    PGresult* r =
        PQexec(c_, ("SELECT " + columns + " FROM " + std::string(table) + " LIMIT 0").c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      Status st = ErrorFromResult(r, c_, op);
      PQclear(r);
      return st;
    }
    std::vector<Oid> types;
    std::string unsupported;
    for (int i = 0; i < PQnfields(r); ++i) {
      types.push_back(PQftype(r, i));
      if (!CopyWriter::Supported(types.back()) && unsupported.empty()) unsupported = PQfname(r, i);
    }
    PQclear(r);
    if (!unsupported.empty()) {
      return Status::InvalidInput("postgresql: " + std::string(op) + ": column " + unsupported +
                                  ": a type bulk insert does not write");
    }
    return types_.emplace(key, std::move(types)).first->second;
  }

  // One COPY ... FROM STDIN (FORMAT binary) of every row, sent in pieces of
  // about kCopyPieceBytes so memory stays flat whatever the row count.
  Status Copy(const std::string& table, const std::string& columns, const BulkInsertSpec& spec,
              const std::vector<Oid>& types, size_t rows,
              const std::function<void(size_t, RowWriter&)>& write_row,
              std::vector<int64_t>* keys) {
    PGresult* r =
        PQexec(c_, ("COPY " + table + " (" + columns + ") FROM STDIN (FORMAT binary)").c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) {
      Status st = ErrorFromResult(r, c_, spec.op);
      PQclear(r);
      return st;
    }
    PQclear(r);
    CopyWriter w(spec.columns, types, keys, spec.key_columns);
    bool sent = true;
    for (size_t row = 0; row < rows && sent && w.error().empty(); ++row) {
      w.Start();
      write_row(row, w);
      if (w.buffer().size() >= kCopyPieceBytes) sent = Send(w.buffer());
    }
    w.Finish();
    if (sent && w.error().empty()) sent = Send(w.buffer());
    const std::string abort =
        w.error().empty() ? std::string() : "roost: " + std::string(spec.op) + ": " + w.error();
    const bool ended = PQputCopyEnd(c_, abort.empty() ? nullptr : abort.c_str()) == 1;
    Status st = Status::Ok();
    while (PGresult* res = PQgetResult(c_)) {
      if (st.ok() && PQresultStatus(res) != PGRES_COMMAND_OK) {
        st = ErrorFromResult(res, c_, spec.op);
      }
      PQclear(res);
    }
    if (!abort.empty()) {
      return Status::InvalidInput("postgresql: " + std::string(spec.op) + ": " + w.error());
    }
    if (st.ok() && (!sent || !ended)) {
      std::string msg = PQerrorMessage(c_);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Status::IoError("postgresql: " + std::string(spec.op) + ": " + msg);
    }
    return st;
  }

  bool Send(std::string& piece) {
    const bool ok = PQputCopyData(c_, piece.data(), static_cast<int>(piece.size())) == 1;
    piece.clear();
    return ok;
  }

  PGconn* c_;
  std::unordered_map<std::string, std::vector<Oid>> types_;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>> cache_;
  int64_t next_name_ = 0;
};

// libpq's message about a connection string it could not parse quotes the
// string, or the token it stopped at, password included: passwords go as
// "***", the rest (user, host, what is wrong) stays to be read.
std::string WithoutSecrets(std::string msg, std::string_view conninfo) {
  std::vector<std::string_view> secrets;
  if (size_t scheme = conninfo.find("://"); scheme != std::string_view::npos) {
    const size_t start = scheme + 3;
    const size_t at = conninfo.find('@', start);
    const size_t colon = conninfo.find(':', start);
    if (at != std::string_view::npos && colon < at) {
      secrets.push_back(conninfo.substr(colon + 1, at - colon - 1));
    }
  }
  // password=... as a keyword or a URI parameter; a quoted value ends at its
  // closing quote.
  for (size_t at = conninfo.find("password"); at != std::string_view::npos;
       at = conninfo.find("password", at + 1)) {
    size_t value = conninfo.find_first_not_of(" =", at + 8);
    if (value == std::string_view::npos) break;
    size_t end = std::string_view::npos;
    if (conninfo[value] == '\'') {
      ++value;
      for (end = value; end < conninfo.size() && conninfo[end] != '\''; ++end) {
        if (conninfo[end] == '\\') ++end;
      }
    } else {
      end = conninfo.find_first_of(" &", value);
    }
    secrets.push_back(conninfo.substr(value, std::min(end, conninfo.size()) - value));
  }
  std::sort(secrets.begin(), secrets.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (std::string_view secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = msg.find(secret); at != std::string::npos; at = msg.find(secret, at + 3)) {
      msg.replace(at, secret.size(), "***");
    }
  }
  return msg;
}

}  // namespace

Pool::Opener PostgresOpener(std::string conninfo) {
  return [conninfo = std::move(conninfo)]() -> Result<std::unique_ptr<Connection>> {
    // TCP keepalives after 30 s idle, every 10 s, 3 unanswered: a server host
    // that vanished (or a connection a firewall dropped) fails a waiting query
    // within about a minute rather than the system's two hours. Given first,
    // so that the same keywords in `conninfo` win.
    static constexpr const char* kKeywords[] = {"keepalives_idle", "keepalives_interval",
                                                "keepalives_count", "dbname", nullptr};
    const char* values[] = {"30", "10", "3", conninfo.c_str(), nullptr};
    PGconn* pg = PQconnectdbParams(kKeywords, values, /*expand_dbname=*/1);
    if (PQstatus(pg) != CONNECTION_OK) {
      std::string msg = WithoutSecrets(PQerrorMessage(pg), conninfo);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      PQfinish(pg);
      return Status::IoError("postgresql: connect: " + msg);
    }
    // Warnings (e.g. NOTICE from CREATE ... IF NOT EXISTS) are not ours to print.
    PQsetNoticeProcessor(
        pg, [](void*, const char*) {}, nullptr);
    auto c = std::make_unique<PgConnection>(pg);
    // Doubles come back as text: in full, whatever the server's own setting
    // (a position read then compared in an edit must equal what is stored).
    ROOST_RETURN_IF_ERROR(c->Exec("SET extra_float_digits = 3", "configure connection"));
    return std::unique_ptr<Connection>(std::move(c));
  };
}

}  // namespace roost::storage::driver
