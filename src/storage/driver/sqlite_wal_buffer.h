// A SQLite VFS that writes each transaction's WAL frames to the file in a few
// large writes instead of two small ones per page.
//
// Why: SQLite writes a WAL frame as two pwrite calls (its 24-byte header, then
// the page). A commit of 500 messages dirties about 1 000 pages, and on a
// virtual machine a system call costs more than the 4 KiB copy it makes
// (measured here: 3.0 µs a frame as SQLite writes it, 0.3 µs as one large
// write of the same bytes).
//
// Contract:
// - A WAL file's writes that follow each other (or land on bytes still held)
//   are held in memory, up to 1 MiB (allocated by the first write of a
//   connection that writes, kept until it closes), and written to the file, in
//   64 KiB calls, when the next write does not follow, when the hold is full,
//   and before any read of held bytes, size query, truncation, sync or close.
// - Connections must run with PRAGMA synchronous=FULL and
//   checkpoint_fullfsync=ON. SQLite then syncs the WAL at every commit with
//   SQLITE_SYNC_NORMAL, after the commit's last frame and before it publishes
//   the commit to other connections; every other sync of the WAL (its header's
//   after a restart, a checkpoint's before it copies frames into the database)
//   comes with SQLITE_SYNC_FULL. A NORMAL sync after frames were written writes
//   what is held and returns without fsync: a commit is in the operating
//   system (safe from the process dying, as with synchronous=NORMAL) when
//   another connection can see it or the committing call returns. Any other
//   sync writes what is held and is a real one, as with synchronous=NORMAL.
// - Whatever is still held when the connection gives up the WAL's write lock
//   belongs to no commit (a rolled-back transaction's frames, written because
//   its pages did not fit the cache, or a failed commit's): it is written then,
//   while the lock is still held, as SQLite itself would have written it (and
//   dropped should that fail). Never later: the next writer, maybe another
//   connection, writes its own frames at the same offsets. Anything held when a
//   connection takes the write lock is dropped for the same reason.
// - The main database file is wrapped only to see that write lock and to pair
//   with its WAL file; every other file, and a WAL file when either file's
//   device does not promise power-safe overwrite (SQLite would then pad commits
//   to sectors and sync in mid-frame), goes to the default VFS unchanged.
// - Registered once per process, on first use; not the default VFS.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>

namespace roost::storage::driver {

// The name to pass to sqlite3_open_v2; nullptr when it could not be
// registered (then open with the default VFS and synchronous=NORMAL).
const char* WalBufferVfsName();

// What one connection's WAL file did, since it was opened. nullopt when the
// connection's WAL is not held by this VFS (or not open yet).
struct WalBufferCounts {
  int64_t file_writes = 0;   // writes passed to the file
  int64_t commit_syncs = 0;  // syncs that only wrote what was held
  int64_t real_syncs = 0;    // syncs passed to the file
  int64_t dropped = 0;       // held bytes dropped (see above)
};
std::optional<WalBufferCounts> GetWalBufferCounts(sqlite3* db);

}  // namespace roost::storage::driver
