// The WAL buffer's contract (sqlite_wal_buffer.h), seen from outside the
// connection that writes: what another connection of its own file descriptors
// reads, and what the file holds when the writing process dies.
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

TEST(SqliteWalBuffer, IsUsedByTheDriversConnectionsWithCommitSyncs) {
  ASSERT_NE(WalBufferVfsName(), nullptr);
  const roost::testing::TempDir temp("wal-buffer-test");
  Pool pool(1, SqliteOpener(temp.File("test.db")));
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  auto q = (*c)->Prepare("PRAGMA synchronous", "synchronous");
  ASSERT_TRUE(q.ok());
  auto row = q->Next();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(q->Int(0), 2);  // FULL: SQLite syncs, so the buffer writes, at every commit
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
