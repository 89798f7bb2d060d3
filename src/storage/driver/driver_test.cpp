// The driver contract (driver.h), checked on both engines with one table of each
// column type.
#include "storage/driver/driver.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/temp_dir.h"
#include "storage/migrations.h"
#include "storage/testing/pg_fixture.h"

namespace roost::storage::driver {
namespace {

class DriverTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_.emplace("driver-test");
      pool_ = std::make_unique<Pool>(2, SqliteOpener(dir_->File("test.db")));
    } else {
      auto server = storage::testing::PgServer::Shared();
      ASSERT_TRUE(server.ok()) << server.status().message();
      auto db = (*server)->CreateDatabase("driver");
      ASSERT_TRUE(db.ok()) << db.status().message();
      pool_ = std::make_unique<Pool>(2, PostgresOpener(*db));
    }
    auto c = pool_->Acquire();
    ASSERT_TRUE(c.ok()) << c.status().message();
    const Status st =
        (*c)->Exec(ForDialect("CREATE TABLE parent (id BIGINT PRIMARY KEY);"
                              "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                              "x DOUBLE PRECISION, n BIGINT, data {{BLOB}}, "
                              "parent BIGINT REFERENCES parent (id));"
                              "INSERT INTO parent VALUES (7);",
                              GetParam() == "sqlite" ? storage::Dialect::kSqlite
                                                     : storage::Dialect::kPostgres),
                   "create tables");
    ASSERT_TRUE(st.ok()) << st.message();
  }
  void TearDown() override {
    pool_.reset();
    dir_.reset();
  }

  // Inserts one row; the status of the insert.
  Status Insert(Connection& c, int64_t id, std::string_view name) {
    auto q = c.Prepare("INSERT INTO t (id, name) VALUES ($1, $2)", "insert");
    if (!q.ok()) return q.status();
    return q->Bind(1, id).Bind(2, name).Run();
  }
  int64_t Count(Connection& c) {
    auto q = c.Prepare("SELECT COUNT(*) FROM t", "count");
    EXPECT_TRUE(q.ok());
    auto row = q->Next();
    EXPECT_TRUE(row.ok() && *row);
    return q->Int(0);
  }

  std::optional<roost::testing::TempDir> dir_;  // SQLite: the database's directory
  std::unique_ptr<Pool> pool_;
};

TEST_P(DriverTest, AQueryRunTwiceRunsTwiceAndCountsEachRun) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  {
    auto q = (*c)->Prepare("INSERT INTO t (id, name) VALUES ($1, $2)", "insert");
    ASSERT_TRUE(q.ok()) << q.status().message();
    for (int64_t id = 1; id <= 2; ++id) {
      ASSERT_TRUE(q->Bind(1, id).Bind(2, id == 1 ? "a" : "b").Run().ok());
      EXPECT_EQ(q->Affected(), 1);
    }
  }
  auto u = (*c)->Prepare("UPDATE t SET name = 'z' WHERE id = $1 AND name = 'a'", "update");
  ASSERT_TRUE(u.ok()) << u.status().message();
  ASSERT_TRUE(u->Bind(1, int64_t{1}).Run().ok());
  EXPECT_EQ(u->Affected(), 1);
  ASSERT_TRUE(u->Bind(1, int64_t{1}).Run().ok());  // nothing left to change
  EXPECT_EQ(u->Affected(), 0);
  auto n = (*c)->Prepare("SELECT count(*) FROM t", "count");
  ASSERT_TRUE(n.ok());
  auto row = n->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(n->Int(0), 2);
}

// Two reads of one read transaction see the same moment, whatever another
// connection commits between them.
TEST_P(DriverTest, AReadTransactionReadsOneSnapshot) {
  auto reader = pool_->Acquire();
  auto writer = pool_->Acquire();
  ASSERT_TRUE(reader.ok() && writer.ok());
  auto count = [&]() -> int64_t {
    auto q = (*reader)->Prepare("SELECT count(*) FROM t", "count");
    EXPECT_TRUE(q.ok());
    if (!q.ok()) return -1;
    auto row = q->Next();
    EXPECT_TRUE(row.ok() && *row);
    return row.ok() && *row ? q->Int(0) : -1;
  };
  if (GetParam() == "sqlite") {  // as the store runs it: readers beside the writer
    ASSERT_TRUE((*writer)->Exec("PRAGMA journal_mode=WAL", "wal").ok());
  }
  ASSERT_TRUE((*reader)->Begin(/*write=*/false, "read").ok());
  EXPECT_EQ(count(), 0);
  {
    auto q = (*writer)->Prepare("INSERT INTO t (id, name) VALUES (1, 'meanwhile')", "insert");
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE(q->Run().ok());
  }
  EXPECT_EQ(count(), 0);
  ASSERT_TRUE((*reader)->Commit("read").ok());
  EXPECT_EQ(count(), 1);  // a new read sees it
}

// A double read back equals the one stored, to the last bit, whatever the
// PostgreSQL server's own extra_float_digits (PostgreSQL sends it as text).
TEST_P(DriverTest, DoublesComeBackExactly) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  if (GetParam() == "postgresql") {
    auto digits = (*c)->Prepare("SHOW extra_float_digits", "show");
    ASSERT_TRUE(digits.ok() && *digits->Next());
    EXPECT_EQ(digits->Text(0), "3");
  }
  const double awkward = 0.1 + 0.2;  // 0.30000000000000004
  auto q = (*c)->Prepare("INSERT INTO t (id, name, x) VALUES (7, 'x', $1)", "insert");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(q->Bind(1, std::optional<double>(awkward)).Run().ok());
  auto r = (*c)->Prepare("SELECT x FROM t WHERE id = 7", "select");
  ASSERT_TRUE(r.ok() && *r->Next());
  EXPECT_EQ(r->OptDouble(0), awkward);
}

TEST_P(DriverTest, BindsAndReadsEveryType) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  const std::string blob("a\0b\xff\0", 5);
  {
    auto q =
        (*c)->Prepare("INSERT INTO t (id, name, x, n, data) VALUES ($1, $2, $3, $4, $5)", "insert");
    ASSERT_TRUE(q.ok()) << q.status().message();
    q->Bind(1, int64_t{1} << 40).Bind(2, "first").Bind(3, std::optional<double>(0.1));
    q->Bind(4, std::optional<int64_t>(-5)).BindBlob(5, blob);
    ASSERT_TRUE(q->Run().ok());
    EXPECT_EQ(q->Affected(), 1);
    q->Reset();
    q->Bind(1, int64_t{2}).Bind(2, "second").Bind(3, std::optional<double>());
    q->Bind(4, std::optional<int64_t>()).BindBlob(5, "");
    ASSERT_TRUE(q->Run().ok());
  }
  auto q = (*c)->Prepare("SELECT id, name, x, n, data FROM t ORDER BY id DESC", "select");
  ASSERT_TRUE(q.ok());
  auto row = q->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Int(0), int64_t{1} << 40);
  EXPECT_EQ(q->Text(1), "first");
  EXPECT_EQ(q->OptDouble(2), 0.1);
  EXPECT_EQ(q->OptInt(3), -5);
  EXPECT_EQ(q->Blob(4), blob);
  row = q->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_FALSE(q->OptDouble(2).has_value());
  EXPECT_FALSE(q->OptInt(3).has_value());
  EXPECT_TRUE(q->IsNull(3));
  EXPECT_FALSE(q->IsNull(4));  // an empty blob is not NULL
  EXPECT_EQ(q->Blob(4), "");
  row = q->Next();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
}

TEST_P(DriverTest, ParametersCanRepeatAndComeInAnyOrder) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Insert(**c, 3, "three").ok());
  auto q = (*c)->Prepare(
      "SELECT id, name FROM t WHERE name = $2 AND id = $1 AND (id = $1 OR name <> $2)", "select");
  ASSERT_TRUE(q.ok()) << q.status().message();
  q->Bind(1, int64_t{3}).Bind(2, "three");
  auto row = q->Next();
  ASSERT_TRUE(row.ok() && *row) << row.status().message();
  EXPECT_EQ(q->Text(1), "three");
  // '$1' inside a literal is text, not a parameter.
  auto lit = (*c)->Prepare("SELECT '$1', CAST($1 AS TEXT)", "literal");
  ASSERT_TRUE(lit.ok()) << lit.status().message();
  row = lit->Bind(1, "x").Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(lit->Text(0), "$1");
  EXPECT_EQ(lit->Text(1), "x");
}

TEST_P(DriverTest, IntListMatchesItsValues) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  for (int64_t id : {1, 2, 3, 4}) ASSERT_TRUE(Insert(**c, id, std::to_string(id)).ok());
  auto q = (*c)->Prepare(
      "SELECT id FROM t WHERE id " + (*c)->dialect().in_int_list(1) + " ORDER BY id", "select");
  ASSERT_TRUE(q.ok()) << q.status().message();
  const int64_t wanted[] = {4, 2, 9};
  q->BindIntList(1, wanted);
  std::vector<int64_t> got;
  for (auto row = q->Next(); row.ok() && *row; row = q->Next()) got.push_back(q->Int(0));
  EXPECT_EQ(got, (std::vector<int64_t>{2, 4}));
}

TEST_P(DriverTest, TransactionRollsBackUnlessCommitted) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  {
    Transaction tx(**c);
    ASSERT_TRUE(tx.Begin("test").ok());
    ASSERT_TRUE(Insert(**c, 1, "gone").ok());
  }
  EXPECT_EQ(Count(**c), 0);
  {
    Transaction tx(**c);
    ASSERT_TRUE(tx.Begin("test").ok());
    ASSERT_TRUE(Insert(**c, 1, "kept").ok());
    ASSERT_TRUE(tx.Commit("test").ok());
  }
  EXPECT_EQ(Count(**c), 1);
}

TEST_P(DriverTest, ErrorsAreMappedAndNameTheOperation) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Insert(**c, 1, "one").ok());
  Status st = Insert(**c, 1, "other");
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.message();
  EXPECT_EQ(st.message().rfind(GetParam() + ": insert: ", 0), 0u) << st.message();
  st = Insert(**c, 2, "one");  // UNIQUE
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.message();
  auto q = (*c)->Prepare("INSERT INTO t (id, name) VALUES ($1, NULL)", "insert null");
  ASSERT_TRUE(q.ok());
  st = q->Bind(1, int64_t{3}).Run();
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << st.message();
  auto fk = (*c)->Prepare("INSERT INTO t (id, name, parent) VALUES ($1, $2, $3)", "insert child");
  ASSERT_TRUE(fk.ok());
  st = fk->Bind(1, int64_t{4}).Bind(2, "four").Bind(3, int64_t{8}).Run();
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << st.message();
  fk->Reset();
  EXPECT_TRUE(fk->Bind(1, int64_t{4}).Bind(2, "four").Bind(3, int64_t{7}).Run().ok());
  auto bad = (*c)->Prepare("SELECT nothing FROM nowhere", "bad query");
  EXPECT_EQ(bad.status().code(), Status::Code::kIoError);
}

// A bulk insert into `table` that reports its rows, keyed by the first
// `key_columns` columns.
BulkInsertSpec ReportingSpec(std::string_view table, std::span<const Column> columns,
                             std::string_view on_conflict, size_t key_columns) {
  BulkInsertSpec spec;
  spec.table = table;
  spec.columns = columns;
  spec.on_conflict = on_conflict;
  spec.report_inserted = true;
  spec.key_columns = key_columns;
  spec.op = "bulk insert";
  return spec;
}

TEST_P(DriverTest, BulkInsertReportsTheRowsItInserted) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Insert(**c, 2, "taken").ok());
  static constexpr Column kColumns[] = {
      {"id", ColumnType::kInt}, {"name", ColumnType::kText}, {"x", ColumnType::kDouble}};
  const BulkInsertSpec spec = ReportingSpec("t", kColumns, "ON CONFLICT (id) DO NOTHING", 1);
  const std::vector<std::string> names = {"a \"quoted\" \\ name", "b", "c", "d,{x}"};
  Transaction tx(**c);
  ASSERT_TRUE(tx.Begin("test").ok());
  auto r = (*c)->BulkInsert(spec, names.size(), [&](size_t i, RowWriter& out) {
    out.Int(static_cast<int64_t>(i + 1));
    out.Text(names[i]);
    out.Double(i % 2 ? std::optional<double>(1.5) : std::nullopt);
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(tx.Commit("test").ok());
  EXPECT_EQ(*r, (std::vector<bool>{true, false, true, true}));
  auto q = (*c)->Prepare("SELECT name, x FROM t WHERE id = $1", "select");
  ASSERT_TRUE(q.ok());
  auto row = q->Bind(1, int64_t{1}).Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Text(0), names[0]);
  EXPECT_FALSE(q->OptDouble(1).has_value());
  q->Reset();
  row = q->Bind(1, int64_t{4}).Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Text(0), names[3]);
  EXPECT_EQ(q->OptDouble(1), 1.5);
}

// Rows told apart only by several columns (a message's device, time and number):
// each row's own outcome, though rows share their first column.
TEST_P(DriverTest, BulkInsertReportsTheRowsItInsertedByAKeyOfSeveralColumns) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("CREATE TABLE pairs (a BIGINT NOT NULL, b BIGINT NOT NULL, "
                         "name TEXT NOT NULL, PRIMARY KEY (a, b))",
                         "create pairs")
                  .ok());
  ASSERT_TRUE((*c)->Exec("INSERT INTO pairs VALUES (1, 2, 'taken')", "insert pair").ok());
  static constexpr Column kColumns[] = {
      {"a", ColumnType::kInt}, {"b", ColumnType::kInt}, {"name", ColumnType::kText}};
  const BulkInsertSpec spec =
      ReportingSpec("pairs", kColumns, "ON CONFLICT (a, b) DO NOTHING", /*key_columns=*/2);
  const std::vector<std::pair<int64_t, int64_t>> rows = {{1, 1}, {1, 2}, {1, 3}, {2, 2}};
  Transaction tx(**c);
  ASSERT_TRUE(tx.Begin("test").ok());
  auto r = (*c)->BulkInsert(spec, rows.size(), [&](size_t i, RowWriter& out) {
    out.Int(rows[i].first);
    out.Int(rows[i].second);
    out.Text("new");
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(tx.Commit("test").ok());
  EXPECT_EQ(*r, (std::vector<bool>{true, false, true, true}));
  auto q = (*c)->Prepare("SELECT name FROM pairs WHERE a = 1 AND b = 2", "select");
  ASSERT_TRUE(q.ok());
  auto row = q->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Text(0), "taken");
}

// Without on_conflict the rows go straight in (PostgreSQL: COPY into the table):
// blobs with every byte value, NULLs, and an INTEGER column from Int.
TEST_P(DriverTest, BulkInsertWritesBlobsAndManyRows) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      (*c)->Exec("CREATE TABLE small (id BIGINT PRIMARY KEY, k INTEGER NOT NULL)", "create table")
          .ok());
  static constexpr Column kColumns[] = {{"id", ColumnType::kInt},
                                        {"name", ColumnType::kText},
                                        {"n", ColumnType::kInt},
                                        {"data", ColumnType::kBlob}};
  BulkInsertSpec spec;
  spec.table = "t";
  spec.columns = kColumns;
  spec.op = "bulk insert";
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  // Enough rows for several pieces of the COPY stream.
  const size_t rows = 30000;
  auto name = [](size_t i) { return "row\t" + std::to_string(i) + "\\\n\"é"; };
  std::vector<std::string> names(rows);
  for (size_t i = 0; i < rows; ++i) names[i] = name(i);
  {
    Transaction tx(**c);
    ASSERT_TRUE(tx.Begin("test").ok());
    auto r = (*c)->BulkInsert(spec, rows, [&](size_t i, RowWriter& out) {
      out.Int(static_cast<int64_t>(i) - 5);
      out.Text(names[i]);
      out.Int(i % 3 ? std::optional<int64_t>(int64_t{1} << 40) : std::nullopt);
      out.Blob(i == 1 ? std::string_view() : std::string_view(all_bytes));
    });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->empty());  // not asked for
    ASSERT_TRUE(tx.Commit("test").ok());
  }
  EXPECT_EQ(Count(**c), static_cast<int64_t>(rows));
  auto q = (*c)->Prepare("SELECT name, n, data FROM t WHERE id = $1", "select");
  ASSERT_TRUE(q.ok());
  for (int64_t id : {int64_t{-5}, int64_t{-4}, int64_t{29994}}) {
    q->Reset();
    auto row = q->Bind(1, id).Next();
    ASSERT_TRUE(row.ok() && *row) << id;
    EXPECT_EQ(q->Text(0), names[static_cast<size_t>(id + 5)]);
    EXPECT_EQ(q->OptInt(1), (id + 5) % 3 ? std::optional<int64_t>(int64_t{1} << 40) : std::nullopt);
    EXPECT_EQ(q->Blob(2), id == -4 ? std::string() : all_bytes);
    EXPECT_FALSE(q->IsNull(2));
  }

  // A value the column cannot hold fails the insert, naming the column; the
  // narrower INTEGER column takes what fits.
  static constexpr Column kSmall[] = {{"id", ColumnType::kInt}, {"k", ColumnType::kInt}};
  spec.table = "small";
  spec.columns = kSmall;
  for (int64_t k : {int64_t{2147483647}, int64_t{1} << 31}) {
    Transaction tx(**c);
    ASSERT_TRUE(tx.Begin("test").ok());
    auto r = (*c)->BulkInsert(spec, 1, [&](size_t, RowWriter& out) {
      out.Int(k == 2147483647 ? int64_t{1} : int64_t{2});
      out.Int(k);
    });
    if (k == 2147483647) {
      ASSERT_TRUE(r.ok()) << r.status().message();
      ASSERT_TRUE(tx.Commit("test").ok());
    } else if (GetParam() == "postgresql") {
      // SQLite's INTEGER holds 64 bits: only PostgreSQL refuses.
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
      EXPECT_NE(r.status().message().find("column k"), std::string::npos) << r.status().message();
    }
  }
}

// Two conflict-handling inserts into one table in one transaction: the second
// reports only its own rows.
TEST_P(DriverTest, BulkInsertTwiceInOneTransaction) {
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  static constexpr Column kColumns[] = {
      {"id", ColumnType::kInt}, {"name", ColumnType::kText}, {"data", ColumnType::kBlob}};
  BulkInsertSpec spec;
  spec.table = "t";
  spec.columns = kColumns;
  spec.on_conflict = "ON CONFLICT (id) DO NOTHING";
  spec.report_inserted = true;
  spec.op = "bulk insert";
  const std::string blob("\0\xff\\x", 4);
  Transaction tx(**c);
  ASSERT_TRUE(tx.Begin("test").ok());
  // Text stays alive until BulkInsert returns (RowWriter's contract): not a temporary.
  const std::vector<std::string> first_names = {"first 0", "first 1"};
  auto first = (*c)->BulkInsert(spec, 2, [&](size_t i, RowWriter& out) {
    out.Int(static_cast<int64_t>(i + 1));
    out.Text(first_names[i]);
    out.Blob(blob);
  });
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, (std::vector<bool>{true, true}));
  const std::vector<std::string> names = {"second 0", "second 1", "second 2"};
  auto second = (*c)->BulkInsert(spec, 3, [&](size_t i, RowWriter& out) {
    out.Int(static_cast<int64_t>(i + 2));
    out.Text(names[i]);
    out.Blob("");
  });
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(*second, (std::vector<bool>{false, true, true}));
  ASSERT_TRUE(tx.Commit("test").ok());
  EXPECT_EQ(Count(**c), 4);
  auto q = (*c)->Prepare("SELECT name, data FROM t WHERE id = $1", "select");
  ASSERT_TRUE(q.ok());
  auto row = q->Bind(1, int64_t{2}).Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Text(0), "first 1");
  EXPECT_EQ(q->Blob(1), blob);
  // A unique key taken without on_conflict is AlreadyExists, as for one row.
  spec.on_conflict = "";
  spec.report_inserted = false;
  Transaction tx2(**c);
  ASSERT_TRUE(tx2.Begin("test").ok());
  auto dup = (*c)->BulkInsert(spec, 1, [&](size_t, RowWriter& out) {
    out.Int(int64_t{1});
    out.Text("again");
    out.Blob("");
  });
  EXPECT_EQ(dup.status().code(), Status::Code::kAlreadyExists) << dup.status().message();
}

TEST_P(DriverTest, WriteTransactionsOfTwoThreadsAllCommit) {
  constexpr int kEach = 100;
  std::atomic<int> failures{0};
  auto writer = [&](int64_t first) {
    auto c = pool_->Acquire();
    if (!c.ok()) {
      ++failures;
      return;
    }
    for (int i = 0; i < kEach; ++i) {
      Transaction tx(**c);
      if (!tx.Begin("test").ok() || !Insert(**c, first + i, std::to_string(first + i)).ok() ||
          !tx.Commit("test").ok()) {
        ++failures;
      }
    }
  };
  std::thread a(writer, 0);
  std::thread b(writer, 1000);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Count(**c), 2 * kEach);
}

// SQLite: a second write transaction of this process waits on the opener's
// mutex (not SQLite's sleeping busy handler), and each way a transaction ends
// lets the next one in.
TEST(SqliteDriver, WritersOfOneFileQueueOnAMutexReleasedByCommitAndRollback) {
  const roost::testing::TempDir temp("driver-test");
  const std::string& dir = temp.path();
  {
    Pool pool(2, SqliteOpener(dir + "/test.db", /*busy_timeout_ms=*/200));
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT)", "t").ok());

    ASSERT_TRUE((*a)->Begin(true, "first").ok());
    const auto start = std::chrono::steady_clock::now();
    Status waited = (*b)->Begin(true, "second");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(waited.code(), Status::Code::kUnavailable) << waited.message();
    EXPECT_NE(waited.message().find("another write transaction of this process"), std::string::npos)
        << waited.message();
    EXPECT_GE(took, std::chrono::milliseconds(190));
    // Reads are not held up.
    ASSERT_TRUE((*b)->Begin(false, "read").ok());
    (*b)->Rollback();

    // The second writer, waiting, goes in once the first commits.
    std::thread second([&] {
      Status st = (*b)->Begin(true, "second");
      EXPECT_TRUE(st.ok()) << st.message();
      if (st.ok()) {
        EXPECT_TRUE((*b)->Commit("second").ok());
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE((*a)->Exec("INSERT INTO t VALUES (1)", "insert").ok());
    ASSERT_TRUE((*a)->Commit("first").ok());
    second.join();

    // A rollback lets the next one in too.
    ASSERT_TRUE((*a)->Begin(true, "third").ok());
    (*a)->Rollback();
    Status after = (*b)->Begin(true, "fourth");
    EXPECT_TRUE(after.ok()) << after.message();
    (*b)->Rollback();
  }
}

// SQLite: writers get the database in the order they asked for it. A writer
// that commits and at once begins again (ingest's writer under load) would
// otherwise take the mutex back before a waiting writer woke, again and again,
// until that one's timeout failed a console edit with 503.
TEST(SqliteDriver, AWriterWaitingBehindABusyWriterGetsItsTurnPromptly) {
  const roost::testing::TempDir temp("driver-test");
  const std::string& dir = temp.path();
  Pool pool(2, SqliteOpener(dir + "/test.db", /*busy_timeout_ms=*/200));
  auto busy = pool.Acquire();
  auto other = pool.Acquire();
  ASSERT_TRUE(busy.ok() && other.ok());
  ASSERT_TRUE((*busy)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT)", "t").ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> busy_commits{0};
  std::thread hammer([&] {
    while (!done.load()) {
      if (!(*busy)->Begin(true, "busy").ok()) continue;
      (void)(*busy)->Exec("INSERT INTO t VALUES (1)", "busy insert");
      if ((*busy)->Commit("busy").ok()) ++busy_commits;
    }
  });
  int failed = 0;
  int64_t most_passed = 0;  // the busy writer's commits while the other waited
  for (int i = 0; i < 40; ++i) {
    const int64_t before = busy_commits.load();
    Status st = (*other)->Begin(true, "other");
    most_passed = std::max(most_passed, busy_commits.load() - before);
    if (!st.ok()) {
      ++failed;
      continue;
    }
    EXPECT_TRUE((*other)->Exec("INSERT INTO t VALUES (2)", "other insert").ok());
    EXPECT_TRUE((*other)->Commit("other").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  done = true;
  hammer.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(busy_commits.load(), 40) << "the busy writer went on meanwhile";
  // In turn: the transaction under way when the other asked, and perhaps two
  // whose counts were not yet added. A mutex that let the busy writer take it
  // back before the waiter woke let hundreds pass.
  EXPECT_LE(most_passed, 3);
}

// SQLite: a statement that writes outside a transaction takes its turn on the
// same mutex as the write transactions, so it neither starves behind writers
// that hand the database straight on nor fails with SQLite's "database is
// locked"; one that cannot get a turn in time is Unavailable (503), not IoError.
TEST(SqliteDriver, AWriteOutsideATransactionTakesItsTurnWithTheTransactions) {
  const roost::testing::TempDir temp("driver-test");
  const std::string& dir = temp.path();
  Pool pool(3, SqliteOpener(dir + "/test.db", /*busy_timeout_ms=*/200));
  {
    auto a = pool.Acquire();
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT)", "t").ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> transaction_failures{0};
  // Transactions back to back, as ingest's writer and the dispatcher make them
  // (each holds the lock a while; a short pause between them).
  std::thread transactions([&] {
    auto c = pool.Acquire();
    if (!c.ok()) {
      ++transaction_failures;
      return;
    }
    while (!stop) {
      if (!(*c)->Begin(true, "tx").ok()) {
        ++transaction_failures;
        continue;
      }
      (void)(*c)->Exec("INSERT INTO t VALUES (1)", "insert");
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      if (!(*c)->Commit("tx").ok()) ++transaction_failures;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  int inserted = 0;
  std::string first_failure;
  {
    auto c = pool.Acquire();
    if (c.ok()) {
      auto q = (*c)->Prepare("INSERT INTO t VALUES ($1)", "single insert");
      for (int i = 0; q.ok() && i < 300; ++i) {
        q->Bind(1, int64_t{2});
        Status st = q->Run();
        q->Reset();
        if (!st.ok()) {
          first_failure = st.message();
          break;
        }
        ++inserted;
      }
      // A statement with rows left (RETURNING) ends its write when it is reset.
      auto r = (*c)->Prepare("INSERT INTO t VALUES (3), (3) RETURNING id", "returning");
      EXPECT_TRUE(r.ok() && r->Next().ok());
      if (r.ok()) r->Reset();
    }
  }
  stop = true;
  transactions.join();  // before any assertion that could return
  EXPECT_EQ(inserted, 300) << first_failure;
  EXPECT_EQ(transaction_failures.load(), 0);
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  auto n = (*c)->Prepare("SELECT COUNT(*) FROM t WHERE id = 2", "count");
  ASSERT_TRUE(n.ok() && *n->Next());
  EXPECT_EQ(n->Int(0), inserted);
  n->Reset();

  // Held by a transaction past the timeout: Unavailable, after the timeout.
  auto holder = pool.Acquire();
  ASSERT_TRUE(holder.ok());
  ASSERT_TRUE((*holder)->Begin(true, "holder").ok());
  auto q = (*c)->Prepare("INSERT INTO t VALUES (4)", "blocked insert");
  ASSERT_TRUE(q.ok());
  const auto start = std::chrono::steady_clock::now();
  Status blocked = q->Run();
  EXPECT_EQ(blocked.code(), Status::Code::kUnavailable) << blocked.message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(190));
  q->Reset();
  (*holder)->Rollback();
  EXPECT_TRUE(q->Run().ok());
}

// SQLite: the WAL is checkpointed in the background (the pool's connections
// no longer do it at each 1 000 pages): the database file receives the pages
// and the WAL stays bounded (10 000 pages) however much is written.
TEST(SqliteDriver, TheWalIsCheckpointedWhileWritersGoOn) {
  const roost::testing::TempDir temp("driver-test");
  const std::string& dir = temp.path();
  const std::string file = dir + "/test.db";
  {
    Pool pool(2, SqliteOpener(file));
    auto c = pool.Acquire();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(
        (*c)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT, pad TEXT)", "t").ok());
    // 100 MiB in 1 000 commits of 100 KiB, a commit every millisecond or so.
    const std::string pad(1000, 'x');
    for (int tx = 0; tx < 1000; ++tx) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      ASSERT_TRUE((*c)->Begin(true, "fill").ok());
      for (int i = 0; i < 100; ++i) {
        auto q = (*c)->Prepare("INSERT INTO t VALUES ($1, $2)", "insert");
        ASSERT_TRUE(q.ok());
        ASSERT_TRUE(q->Bind(1, int64_t{tx * 100 + i}).Bind(2, pad).Run().ok());
      }
      ASSERT_TRUE((*c)->Commit("fill").ok());
    }
    // The checkpoints ran beside the writer: the rows reached the database
    // file while the pool (and its connections) stayed open — all but what
    // the commits since the last checkpoint added (fewer than its threshold,
    // 4 000 pages = 16 MiB), which waits for the next commit or the close.
    constexpr uintmax_t kCheckpointed = 75u * 1024 * 1024;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::filesystem::file_size(file) < kCheckpointed &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_GE(std::filesystem::file_size(file), kCheckpointed);
    // The WAL was started over rather than grown to hold it all.
    EXPECT_LT(std::filesystem::file_size(file + "-wal"), 80u * 1024 * 1024);
  }
}

// SQLite: a reader of an old snapshot (a long export, say) keeps the WAL from
// starting over, but never holds the writers back while the checkpointer
// copies what it can.
TEST(SqliteDriver, AReaderOfAnOldSnapshotNeverHoldsWritersBack) {
  const roost::testing::TempDir temp("driver-test");
  const std::string& dir = temp.path();
  {
    Pool pool(2, SqliteOpener(dir + "/test.db", /*busy_timeout_ms=*/2000));
    auto writer = pool.Acquire();
    auto reader = pool.Acquire();
    ASSERT_TRUE(writer.ok() && reader.ok());
    ASSERT_TRUE(
        (*writer)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT, pad TEXT)", "t").ok());
    ASSERT_TRUE((*writer)->Exec("INSERT INTO t VALUES (0, 'first')", "first").ok());
    ASSERT_TRUE((*reader)->Begin(false, "export").ok());
    {
      auto q = (*reader)->Prepare("SELECT count(*) FROM t", "count");
      ASSERT_TRUE(q.ok());
      ASSERT_TRUE(q->Next().ok());
    }
    // 60 MiB, past the 10 000 pages at which the checkpointer holds the
    // writers while it copies.
    const std::string pad(1000, 'x');
    auto slowest = std::chrono::steady_clock::duration::zero();
    for (int tx = 0; tx < 600; ++tx) {
      const auto start = std::chrono::steady_clock::now();
      ASSERT_TRUE((*writer)->Begin(true, "fill").ok());
      for (int i = 0; i < 100; ++i) {
        auto q = (*writer)->Prepare("INSERT INTO t VALUES ($1, $2)", "insert");
        ASSERT_TRUE(q.ok());
        ASSERT_TRUE(q->Bind(1, int64_t{tx * 100 + i + 1}).Bind(2, pad).Run().ok());
      }
      ASSERT_TRUE((*writer)->Commit("fill").ok());
      slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
    }
    (*reader)->Rollback();
    // A checkpoint waiting for the reader (up to the 2 s busy timeout) with
    // the writers held would show here.
    EXPECT_LT(slowest, std::chrono::milliseconds(1000));
  }
}

// Allocation statistics cost a process-wide mutex on every SQLite malloc and
// free; with them off SQLite counts nothing, so the count stays 0 however much
// a connection allocates.
TEST(SqliteDriver, KeepsNoAllocationStatistics) {
  const roost::testing::TempDir temp("driver-test");
  Pool pool(1, SqliteOpener(temp.File("test.db")));
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("CREATE TABLE t (id BIGINT, pad TEXT); WITH RECURSIVE n(i) AS "
                         "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                         "INSERT INTO t SELECT i, printf('%.*c', 500, 'x') FROM n",
                         "fill")
                  .ok());
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

// libpq quotes a connection string it cannot parse, or the token it stopped
// at: the error Roost reports (on stderr at start, in the journal) names what
// is wrong without the password.
TEST(PostgresOpener, AConnectionErrorNeverShowsThePassword) {
  const std::vector<std::string> urls = {
      "postgresql://roost:DBPWSECRET@[::1/roost",                  // the whole URI quoted
      "postgresql://roost:DBPW%zzSECRET@localhost/roost",          // the bad token quoted
      "postgresql:///roost?host=/nonexistent&password=QPWSECRET",  // no server there
      "host=/nonexistent port=1 password='KW SECRET' dbname=roost",
  };
  for (const std::string& url : urls) {
    auto c = PostgresOpener(url)();
    ASSERT_FALSE(c.ok()) << url;
    const std::string& msg = c.status().message();
    EXPECT_EQ(msg.rfind("postgresql: connect: ", 0), 0u) << msg;
    for (const char* secret : {"SECRET", "DBPW"}) {
      EXPECT_EQ(msg.find(secret), std::string::npos) << url << " -> " << msg;
    }
  }
  // The rest of what libpq quotes stays, to show what is wrong.
  auto quoted = PostgresOpener(urls[0])();
  ASSERT_FALSE(quoted.ok());
  EXPECT_NE(quoted.status().message().find("\"postgresql://roost:***@[::1/roost\""),
            std::string::npos)
      << quoted.status().message();
  auto spaced = PostgresOpener("postgresql://roost@[::1/roost?password='A SECRET'")();
  ASSERT_FALSE(spaced.ok());
  EXPECT_EQ(spaced.status().message().find("SECRET"), std::string::npos)
      << spaced.status().message();
}

std::string EngineName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

INSTANTIATE_TEST_SUITE_P(Engines, DriverTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage::driver
