// The WAL buffer's contract (sqlite_wal_buffer.h): the writes and syncs it
// passes to the file (its own counters), what another connection of its own
// file descriptors reads, and what the file holds when the writing process
// dies.
#include "storage/driver/sqlite_wal_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "core/testing/temp_dir.h"
#include "storage/driver/driver.h"

namespace roost::storage::driver {
namespace {

// A connection of SQLite's default VFS: its own descriptors, no buffer.
class PlainReader {
 public:
  explicit PlainReader(const std::string& file) {
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  }
  ~PlainReader() { sqlite3_close_v2(db_); }
  // "rows total_length" of t, or the error.
  std::string Summary() {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT count(*), coalesce(sum(length(pad)), 0) FROM t", -1, &s,
                           nullptr) != SQLITE_OK) {
      return sqlite3_errmsg(db_);
    }
    std::string out = sqlite3_step(s) == SQLITE_ROW
                          ? std::to_string(sqlite3_column_int64(s, 0)) + " " +
                                std::to_string(sqlite3_column_int64(s, 1))
                          : sqlite3_errmsg(db_);
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

Status Fill(Connection& c, int64_t first, int rows, size_t length) {
  const std::string pad(length, 'x');
  auto q = c.Prepare("INSERT INTO t VALUES ($1, $2)", "insert");
  if (!q.ok()) return q.status();
  for (int i = 0; i < rows; ++i) {
    ROOST_RETURN_IF_ERROR(q->Bind(1, first + i).Bind(2, pad).Run());
  }
  return Status::Ok();
}

// A connection of the WAL buffer, set up as the driver sets its own.
sqlite3* OpenBuffered(const std::string& file) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            WalBufferVfsName()),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA checkpoint_fullfsync=ON",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sql << ": " << sqlite3_errmsg(db);
}

// `rows` rows of `length` bytes from id `first`, in the open transaction.
void Insert(sqlite3* db, int64_t first, int rows, int length) {
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < " +
               std::to_string(rows) + ") INSERT INTO t SELECT " + std::to_string(first) +
               " + i, printf('%.*c', " + std::to_string(length) + ", 'x') FROM n");
}

TEST(SqliteWalBuffer, TheDriversConnectionsSayWhichSyncsEndACommit) {
  const roost::testing::TempDir temp("wal-buffer-test");
  Pool pool(1, SqliteOpener(temp.File("test.db")));
  ASSERT_NE(WalBufferVfsName(), nullptr);
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  for (auto [pragma, want] : {std::pair<const char*, int64_t>{"synchronous", 2},
                              std::pair<const char*, int64_t>{"checkpoint_fullfsync", 1}}) {
    auto q = (*c)->Prepare(std::string("PRAGMA ") + pragma, pragma);
    ASSERT_TRUE(q.ok());
    auto row = q->Next();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(q->Int(0), want) << pragma;
  }
}

// A commit of about 1 MiB goes to the file in a few writes, and its sync
// writes without fsync; a checkpoint's sync is a real one.
TEST(SqliteWalBuffer, ACommitIsAFewWritesAndACheckpointSyncsForReal) {
  const roost::testing::TempDir temp("wal-buffer-test");
  sqlite3* db = OpenBuffered(temp.File("test.db"));
  Exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)");
  auto before = GetWalBufferCounts(db);
  ASSERT_TRUE(before.has_value());
  Exec(db, "BEGIN IMMEDIATE");
  Insert(db, 0, 1000, 900);  // about 250 pages: 500 writes as SQLite makes them
  Exec(db, "COMMIT");
  auto after = GetWalBufferCounts(db);
  ASSERT_TRUE(after.has_value());
  EXPECT_LE(after->file_writes - before->file_writes, 20);
  EXPECT_GE(after->file_writes - before->file_writes, 1);
  EXPECT_EQ(after->commit_syncs - before->commit_syncs, 1);
  EXPECT_EQ(after->real_syncs, before->real_syncs);
  Exec(db, "PRAGMA wal_checkpoint(PASSIVE)");
  auto checkpointed = GetWalBufferCounts(db);
  ASSERT_TRUE(checkpointed.has_value());
  EXPECT_GE(checkpointed->real_syncs - after->real_syncs, 1);
  EXPECT_EQ(checkpointed->commit_syncs, after->commit_syncs);
  sqlite3_close_v2(db);
}

// A database whose device does not promise power-safe overwrite (psow=0 in
// its URI) has SQLite pad each commit and sync in mid-frame: its WAL is not
// held, and every sync is a real one.
TEST(SqliteWalBuffer, WithoutPowerSafeOverwriteNothingIsHeld) {
  const roost::testing::TempDir temp("wal-buffer-test");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + temp.File("test.db") + "?psow=0").c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                            WalBufferVfsName()),
            SQLITE_OK);
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA checkpoint_fullfsync=ON");
  Exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)");
  auto before = GetWalBufferCounts(db);
  ASSERT_TRUE(before.has_value());
  Exec(db, "BEGIN IMMEDIATE");
  Insert(db, 0, 1000, 900);
  Exec(db, "COMMIT");
  auto after = GetWalBufferCounts(db);
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->file_writes - before->file_writes, 400);
  EXPECT_EQ(after->commit_syncs, 0);
  EXPECT_GE(after->real_syncs - before->real_syncs, 1);
  sqlite3_close_v2(db);
  EXPECT_EQ(PlainReader(temp.File("test.db")).Summary(), "1000 900000");
}

// A transaction too large for its page cache writes frames before it ends; when
// it is rolled back, what it still held is dropped, not written later over the
// frames another connection committed at the same offsets in the meantime.
TEST(SqliteWalBuffer, ARolledBackTransactionNeverWritesOverAnotherConnectionsCommit) {
  const roost::testing::TempDir temp("wal-buffer-test");
  const std::string file = temp.File("test.db");
  sqlite3* a = OpenBuffered(file);
  sqlite3* b = OpenBuffered(file);
  Exec(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)");
  Exec(a, "PRAGMA cache_size=20");
  auto before = GetWalBufferCounts(a);
  ASSERT_TRUE(before.has_value());
  Exec(a, "BEGIN IMMEDIATE");
  Insert(a, 0, 600, 1000);  // about 150 pages: all still held when it ends
  auto spilled = GetWalBufferCounts(a);
  ASSERT_TRUE(spilled.has_value());
  EXPECT_EQ(spilled->file_writes, before->file_writes);  // else this test shows nothing
  Exec(a, "ROLLBACK");
  auto rolled_back = GetWalBufferCounts(a);
  ASSERT_TRUE(rolled_back.has_value());
  EXPECT_GT(rolled_back->file_writes, spilled->file_writes);  // written while a held the lock
  Exec(b, "BEGIN IMMEDIATE");
  Insert(b, 100000, 400, 700);
  Exec(b, "COMMIT");
  // `a` writes again, after b's frames.
  Exec(a, "BEGIN IMMEDIATE");
  Insert(a, 200000, 5, 10);
  Exec(a, "COMMIT");
  sqlite3_close_v2(a);
  PlainReader reader(file);
  EXPECT_EQ(reader.Summary(), "405 280050");
  sqlite3_close_v2(b);
  sqlite3* check = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &check, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(check, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  sqlite3_close_v2(check);
}

// Commits from one row to several MiB (many times the 1 MiB held), some with
// the page cache too small for the transaction, so that SQLite writes frames
// before the commit and rewrites them in place: another connection sees each
// commit whole as soon as it returns, and nothing of one in progress.
TEST(SqliteWalBuffer, AnotherConnectionSeesEachCommitWholeAsItReturns) {
  const roost::testing::TempDir temp("wal-buffer-test");
  const std::string file = temp.File("test.db");
  Pool pool(1, SqliteOpener(file));
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT PRIMARY KEY, "
                         "pad TEXT)",
                         "create")
                  .ok());
  PlainReader reader(file);
  int64_t rows = 0, bytes = 0;
  const int kSizes[] = {1, 3, 1000, 5000, 1, 12000, 2, 700};
  int round = 0;
  for (int size : kSizes) {
    const bool small_cache = round++ % 2 == 1;
    ASSERT_TRUE(
        (*c)->Exec(small_cache ? "PRAGMA cache_size=20" : "PRAGMA cache_size=-32000", "cache")
            .ok());
    ASSERT_TRUE((*c)->Begin(true, "fill").ok());
    ASSERT_TRUE(Fill(**c, rows, size, 900).ok());
    // Rewritten in the same transaction: pages already written as frames
    // when the cache is small.
    ASSERT_TRUE((*c)->Exec("UPDATE t SET pad = pad || 'y' WHERE id % 7 = 0", "rewrite").ok());
    EXPECT_EQ(reader.Summary(), std::to_string(rows) + " " + std::to_string(bytes));
    ASSERT_TRUE((*c)->Commit("fill").ok());
    // The sums as the writer sees them.
    auto q = (*c)->Prepare("SELECT count(*), sum(length(pad)) FROM t", "sum");
    ASSERT_TRUE(q.ok());
    auto row = q->Next();
    ASSERT_TRUE(row.ok() && *row);
    rows = q->Int(0);
    bytes = q->Int(1);
    q->Reset();
    EXPECT_EQ(reader.Summary(), std::to_string(rows) + " " + std::to_string(bytes))
        << "after a commit of " << size << " rows";
  }
  EXPECT_EQ(rows, 18707);
}

// Runs `body` in a child process that then dies at once (no close, no
// checkpoint, no destructor); true when body returned true.
template <typename Body>
bool InAProcessThatDies(Body body) {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) _exit(body() ? 0 : 1);
  int status = 0;
  return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A process that dies right after a commit returned leaves that commit in the
// file, the small last one too; one that dies within a transaction that had
// already written frames (several MiB) leaves nothing of that transaction.
TEST(SqliteWalBuffer, ACommitThatReturnedOutlivesTheProcessAndAnUnfinishedOneLeavesNothing) {
  const roost::testing::TempDir temp("wal-buffer-test");
  const std::string file = temp.File("test.db");
  ASSERT_TRUE(InAProcessThatDies([&] {
    auto* pool = new Pool(1, SqliteOpener(file));  // never closed
    auto c = pool->Acquire();
    return c.ok() &&
           (*c)->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id BIGINT PRIMARY KEY, pad TEXT)",
                      "create")
               .ok() &&
           // About 3 MiB of frames, three times the hold, then a few rows.
           (*c)->Begin(true, "fill").ok() && Fill(**c, 0, 3000, 1000).ok() &&
           (*c)->Commit("fill").ok() && (*c)->Begin(true, "last").ok() &&
           Fill(**c, 3000, 5, 1000).ok() && (*c)->Commit("last").ok();
  }));
  EXPECT_EQ(PlainReader(file).Summary(), "3005 3005000");
  ASSERT_TRUE(InAProcessThatDies([&] {
    auto* pool = new Pool(1, SqliteOpener(file));
    auto c = pool->Acquire();
    return c.ok() && (*c)->Exec("PRAGMA cache_size=20", "cache").ok() &&
           (*c)->Begin(true, "unfinished").ok() && Fill(**c, 10000, 4000, 1000).ok();
  }));
  EXPECT_EQ(PlainReader(file).Summary(), "3005 3005000");
}

}  // namespace
}  // namespace roost::storage::driver
