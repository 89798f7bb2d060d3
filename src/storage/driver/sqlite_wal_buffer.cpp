#include "storage/driver/sqlite_wal_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace roost::storage::driver {
namespace {

constexpr int kHoldBytes = 1 << 20;
// The default VFS writes at most 128 KiB - 1 per call (it masks larger sizes).
constexpr int kWriteBytes = 64 << 10;
// The WAL file's own header; a write within it is not a frame.
constexpr sqlite3_int64 kWalHeaderBytes = 32;
// wal.c's WAL_WRITE_LOCK: the first lock of the wal-index.
constexpr int kWalWriteLock = 0;
// A file control of our own (SQLite passes codes it does not know to the VFS).
constexpr int kCountsFileControl = 0x524f0001;

// The default VFS, whose files ours wrap.
sqlite3_vfs* Base(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

struct DbFile;

// A WAL file; the default VFS's file follows it in the same block (both
// wrappers are a multiple of 8 bytes long, so it stays aligned).
struct WalFile {
  sqlite3_file base;
  DbFile* db;              // its database file, while both are open
  char* hold;              // kHoldBytes, allocated at the first held write
  sqlite3_int64 start;     // file offset of hold[0]
  int length;              // bytes held
  bool buffered;           // false: every call goes straight to the file
  bool frames_since_sync;  // a frame written since the last sync
  WalBufferCounts counts;
  sqlite3_file* Real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(WalFile) % 8 == 0);

// A main database file, wrapped to see its WAL's write lock go.
struct DbFile {
  sqlite3_file base;
  sqlite3_filename name;  // the pager's own pointer: its WAL file's name leads back to it
  WalFile* wal;           // while open
  sqlite3_file* Real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(DbFile) % 8 == 0);

// Open database files by their name pointer, for their WAL file to find.
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::unordered_map<const char*, DbFile*>& Registry() {
  static auto* files = new std::unordered_map<const char*, DbFile*>();
  return *files;
}

WalFile* Wal(sqlite3_file* f) {
  return reinterpret_cast<WalFile*>(f);
}
DbFile* Db(sqlite3_file* f) {
  return reinterpret_cast<DbFile*>(f);
}

// Writes what is held. On failure what was not written stays held, so that
// nothing is lost silently; SQLite gets the error.
int Flush(WalFile* w) {
  int done = 0;
  while (done < w->length) {
    const int n = std::min(kWriteBytes, w->length - done);
    ++w->counts.file_writes;
    const int rc = w->Real()->pMethods->xWrite(w->Real(), w->hold + done, n, w->start + done);
    if (rc != SQLITE_OK) {
      std::memmove(w->hold, w->hold + done, static_cast<size_t>(w->length - done));
      w->start += done;
      w->length -= done;
      return rc;
    }
    done += n;
  }
  w->length = 0;
  return SQLITE_OK;
}

int WalClose(sqlite3_file* f) {
  WalFile* w = Wal(f);
  const int flushed = Flush(w);
  const int closed = w->Real()->pMethods->xClose(w->Real());
  std::free(w->hold);
  w->hold = nullptr;
  if (w->db != nullptr) {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    w->db->wal = nullptr;
    w->db = nullptr;
  }
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalRead(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (w->length > 0 && offset < w->start + w->length && offset + n > w->start) {
    // An I/O error, whatever the cause: SQLite then rolls the whole
    // transaction back rather than a statement (as it may for SQLITE_FULL).
    if (Flush(w) != SQLITE_OK) return SQLITE_IOERR_READ;
  }
  return w->Real()->pMethods->xRead(w->Real(), out, n, offset);
}

int WalWrite(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (offset + n > kWalHeaderBytes) w->frames_since_sync = true;
  if (!w->buffered) {
    ++w->counts.file_writes;
    return w->Real()->pMethods->xWrite(w->Real(), data, n, offset);
  }
  const sqlite3_int64 end = w->start + w->length;
  if (w->length > 0 && offset >= w->start && offset + n <= end) {  // rewrites held bytes
    std::memcpy(w->hold + (offset - w->start), data, static_cast<size_t>(n));
    return SQLITE_OK;
  }
  if (w->length > 0 && offset == end && w->length + n <= kHoldBytes) {  // follows them
    std::memcpy(w->hold + w->length, data, static_cast<size_t>(n));
    w->length += n;
    return SQLITE_OK;
  }
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  if (w->hold == nullptr) w->hold = static_cast<char*>(std::malloc(kHoldBytes));
  if (n > kHoldBytes || w->hold == nullptr) {
    ++w->counts.file_writes;
    return w->Real()->pMethods->xWrite(w->Real(), data, n, offset);
  }
  std::memcpy(w->hold, data, static_cast<size_t>(n));
  w->start = offset;
  w->length = n;
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xTruncate(w->Real(), size);
}

int WalSync(sqlite3_file* f, int flags) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  const bool commit = w->buffered && (flags & 0x0f) == SQLITE_SYNC_NORMAL && w->frames_since_sync;
  w->frames_since_sync = false;
  if (commit) {  // see the header: the durability of synchronous=NORMAL
    ++w->counts.commit_syncs;
    return SQLITE_OK;
  }
  ++w->counts.real_syncs;
  return w->Real()->pMethods->xSync(w->Real(), flags);
}

int WalFileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xFileSize(w->Real(), size);
}

int WalFetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xFetch(w->Real(), offset, n, out);
}

// Held bytes that belong to no transaction any more: see the header.
void DropHeld(WalFile* w) {
  w->counts.dropped += w->length;
  w->length = 0;
  w->frames_since_sync = false;
}

int DbClose(sqlite3_file* f) {
  DbFile* d = Db(f);
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().erase(d->name);
    if (d->wal != nullptr) d->wal->db = nullptr;
    d->wal = nullptr;
  }
  return d->Real()->pMethods->xClose(d->Real());
}

int DbShmLock(sqlite3_file* f, int offset, int n, int flags) {
  DbFile* d = Db(f);
  const bool write_lock = d->wal != nullptr && offset == kWalWriteLock && n == 1;
  if (write_lock && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
    // Still the only writer: written now, where SQLite itself would have
    // written them; dropped should that fail.
    if (Flush(d->wal) != SQLITE_OK) DropHeld(d->wal);
    d->wal->frames_since_sync = false;
  }
  const int rc = d->Real()->pMethods->xShmLock(d->Real(), offset, n, flags);
  if (write_lock && rc == SQLITE_OK && flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE)) {
    // Anything held now is older than the last writer's frames (left by a
    // transaction of exclusive locking mode, which takes no lock).
    DropHeld(d->wal);
  }
  return rc;
}

int DbFileControl(sqlite3_file* f, int op, void* arg) {
  DbFile* d = Db(f);
  if (op == kCountsFileControl) {
    if (d->wal == nullptr) return SQLITE_NOTFOUND;
    *static_cast<WalBufferCounts*>(arg) = d->wal->counts;
    return SQLITE_OK;
  }
  return d->Real()->pMethods->xFileControl(d->Real(), op, arg);
}

// Every other method of both wrappers is the file's own.
template <typename File>
sqlite3_file* RealOf(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->Real();
}
template <typename File>
struct Forward {
  static int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
    return RealOf<File>(f)->pMethods->xRead(RealOf<File>(f), out, n, offset);
  }
  static int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
    return RealOf<File>(f)->pMethods->xWrite(RealOf<File>(f), data, n, offset);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) {
    return RealOf<File>(f)->pMethods->xTruncate(RealOf<File>(f), size);
  }
  static int Sync(sqlite3_file* f, int flags) {
    return RealOf<File>(f)->pMethods->xSync(RealOf<File>(f), flags);
  }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) {
    return RealOf<File>(f)->pMethods->xFileSize(RealOf<File>(f), size);
  }
  static int Lock(sqlite3_file* f, int level) {
    return RealOf<File>(f)->pMethods->xLock(RealOf<File>(f), level);
  }
  static int Unlock(sqlite3_file* f, int level) {
    return RealOf<File>(f)->pMethods->xUnlock(RealOf<File>(f), level);
  }
  static int CheckReservedLock(sqlite3_file* f, int* out) {
    return RealOf<File>(f)->pMethods->xCheckReservedLock(RealOf<File>(f), out);
  }
  static int FileControl(sqlite3_file* f, int op, void* arg) {
    return RealOf<File>(f)->pMethods->xFileControl(RealOf<File>(f), op, arg);
  }
  static int SectorSize(sqlite3_file* f) {
    return RealOf<File>(f)->pMethods->xSectorSize(RealOf<File>(f));
  }
  static int DeviceCharacteristics(sqlite3_file* f) {
    return RealOf<File>(f)->pMethods->xDeviceCharacteristics(RealOf<File>(f));
  }
  static int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return RealOf<File>(f)->pMethods->xShmMap(RealOf<File>(f), region, size, extend, out);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return RealOf<File>(f)->pMethods->xShmLock(RealOf<File>(f), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* f) {
    RealOf<File>(f)->pMethods->xShmBarrier(RealOf<File>(f));
  }
  static int ShmUnmap(sqlite3_file* f, int delete_flag) {
    return RealOf<File>(f)->pMethods->xShmUnmap(RealOf<File>(f), delete_flag);
  }
  static int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
    return RealOf<File>(f)->pMethods->xFetch(RealOf<File>(f), offset, n, out);
  }
  static int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
    return RealOf<File>(f)->pMethods->xUnfetch(RealOf<File>(f), offset, p);
  }
};

using WalForward = Forward<WalFile>;
constexpr sqlite3_io_methods kWalMethods = {
    3,
    &WalClose,
    &WalRead,
    &WalWrite,
    &WalTruncate,
    &WalSync,
    &WalFileSize,
    &WalForward::Lock,
    &WalForward::Unlock,
    &WalForward::CheckReservedLock,
    &WalForward::FileControl,
    &WalForward::SectorSize,
    &WalForward::DeviceCharacteristics,
    &WalForward::ShmMap,
    &WalForward::ShmLock,
    &WalForward::ShmBarrier,
    &WalForward::ShmUnmap,
    &WalFetch,
    &WalForward::Unfetch,
};

using DbForward = Forward<DbFile>;
constexpr sqlite3_io_methods kDbMethods = {
    3,
    &DbClose,
    &DbForward::Read,
    &DbForward::Write,
    &DbForward::Truncate,
    &DbForward::Sync,
    &DbForward::FileSize,
    &DbForward::Lock,
    &DbForward::Unlock,
    &DbForward::CheckReservedLock,
    &DbFileControl,
    &DbForward::SectorSize,
    &DbForward::DeviceCharacteristics,
    &DbForward::ShmMap,
    &DbShmLock,
    &DbForward::ShmBarrier,
    &DbForward::ShmUnmap,
    &DbForward::Fetch,
    &DbForward::Unfetch,
};

// Opens `real` with the default VFS; on failure leaves `f` closed (SQLite
// calls xClose only on a file whose pMethods is set).
int OpenReal(sqlite3_vfs* base, sqlite3_filename name, sqlite3_file* f, sqlite3_file* real,
             int flags, int* out_flags) {
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc == SQLITE_OK && real->pMethods != nullptr && real->pMethods->iVersion >= 3) {
    return SQLITE_OK;
  }
  if (real->pMethods != nullptr) real->pMethods->xClose(real);
  f->pMethods = nullptr;
  return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
}

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* base = Base(vfs);
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0 && name != nullptr) {
    DbFile* d = Db(f);
    *d = DbFile{};
    d->name = name;
    if (const int rc = OpenReal(base, name, f, d->Real(), flags, out_flags); rc != SQLITE_OK) {
      return rc;
    }
    {
      std::lock_guard<std::mutex> lock(RegistryMutex());
      Registry()[name] = d;
    }
    f->pMethods = &kDbMethods;
    return SQLITE_OK;
  }
  DbFile* db = nullptr;
  if ((flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto found = Registry().find(sqlite3_filename_database(name));
    if (found != Registry().end() && found->second->wal == nullptr) db = found->second;
  }
  // Any other file, or a WAL whose database is not ours: the default VFS's
  // own, in the same block.
  if (db == nullptr) return base->xOpen(base, name, f, flags, out_flags);
  WalFile* w = Wal(f);
  *w = WalFile{};
  if (const int rc = OpenReal(base, name, f, w->Real(), flags, out_flags); rc != SQLITE_OK) {
    return rc;
  }
  // SQLite decides on the database file's whether to pad commits (and sync
  // in mid-frame): both must promise power-safe overwrite.
  w->buffered = (w->Real()->pMethods->xDeviceCharacteristics(w->Real()) &
                 db->Real()->pMethods->xDeviceCharacteristics(db->Real()) &
                 SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    w->db = db;
    db->wal = w;
  }
  f->pMethods = &kWalMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xDlOpen(Base(vfs), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Base(vfs)->xDlError(Base(vfs), n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  Base(vfs)->xDlClose(Base(vfs), handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) {
  return Base(vfs)->xSleep(Base(vfs), us);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Base(vfs)->xCurrentTime(Base(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xGetLastError(Base(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}

sqlite3_vfs* Register() {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);  // initialises SQLite
  if (base == nullptr) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(std::max(sizeof(WalFile), sizeof(DbFile))) + base->szOsFile;
  vfs.mxPathname = base->mxPathname;
  vfs.zName = "roost-wal-buffer";
  vfs.pAppData = base;
  vfs.xOpen = &Open;
  vfs.xDelete = &Delete;
  vfs.xAccess = &Access;
  vfs.xFullPathname = &FullPathname;
  vfs.xDlOpen = &DlOpen;
  vfs.xDlError = &DlError;
  vfs.xDlSym = &DlSym;
  vfs.xDlClose = &DlClose;
  vfs.xRandomness = &Randomness;
  vfs.xSleep = &Sleep;
  vfs.xCurrentTime = &CurrentTime;
  vfs.xGetLastError = &GetLastError;
  vfs.xCurrentTimeInt64 = &CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* WalBufferVfsName() {
  static sqlite3_vfs* const vfs = Register();
  return vfs != nullptr ? vfs->zName : nullptr;
}

std::optional<WalBufferCounts> GetWalBufferCounts(sqlite3* db) {
  WalBufferCounts counts;
  if (sqlite3_file_control(db, "main", kCountsFileControl, &counts) != SQLITE_OK) {
    return std::nullopt;
  }
  return counts;
}

}  // namespace roost::storage::driver
