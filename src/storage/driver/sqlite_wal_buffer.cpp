#include "storage/driver/sqlite_wal_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace roost::storage::driver {
namespace {

constexpr int kHoldBytes = 1 << 20;
// The default VFS writes at most 128 KiB - 1 per call (it masks larger sizes).
constexpr int kWriteBytes = 64 << 10;
// The WAL file's own header; a write within it is not a frame.
constexpr sqlite3_int64 kWalHeaderBytes = 32;

// The default VFS, whose files ours wrap.
sqlite3_vfs* Base(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

// The wrapper of a WAL file; the default VFS's file follows it in the same
// block (WalFile is a multiple of 8 bytes long, so it stays aligned).
struct WalFile {
  sqlite3_file base;
  char* hold;              // kHoldBytes, allocated at the first write
  sqlite3_int64 start;     // file offset of hold[0]
  int length;              // bytes held
  bool frames_since_sync;  // a frame written since the last xSync
  sqlite3_file* Real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(WalFile) % 8 == 0);

WalFile* Wal(sqlite3_file* f) {
  return reinterpret_cast<WalFile*>(f);
}

int Flush(WalFile* w) {
  if (w->length == 0) return SQLITE_OK;
  const int n = w->length;
  w->length = 0;  // on failure too: the frames are not published, SQLite rolls back
  for (int done = 0; done < n; done += kWriteBytes) {
    const int rc = w->Real()->pMethods->xWrite(w->Real(), w->hold + done,
                                               std::min(kWriteBytes, n - done), w->start + done);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

int Close(sqlite3_file* f) {
  WalFile* w = Wal(f);
  const int flushed = Flush(w);
  const int closed = w->Real()->pMethods->xClose(w->Real());
  std::free(w->hold);
  w->hold = nullptr;
  return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (w->length > 0 && offset < w->start + w->length && offset + n > w->start) {
    if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  }
  return w->Real()->pMethods->xRead(w->Real(), out, n, offset);
}

int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (offset + n > kWalHeaderBytes) w->frames_since_sync = true;
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
  if (n > kHoldBytes) return w->Real()->pMethods->xWrite(w->Real(), data, n, offset);
  if (w->hold == nullptr) {
    w->hold = static_cast<char*>(std::malloc(kHoldBytes));
    if (w->hold == nullptr) return w->Real()->pMethods->xWrite(w->Real(), data, n, offset);
  }
  std::memcpy(w->hold, data, static_cast<size_t>(n));
  w->start = offset;
  w->length = n;
  return SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xTruncate(w->Real(), size);
}

int Sync(sqlite3_file* f, int flags) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  const bool commit = w->frames_since_sync;
  w->frames_since_sync = false;
  if (commit) return SQLITE_OK;  // see the header: durability of synchronous=NORMAL
  return w->Real()->pMethods->xSync(w->Real(), flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xFileSize(w->Real(), size);
}

int Lock(sqlite3_file* f, int level) {
  return Wal(f)->Real()->pMethods->xLock(Wal(f)->Real(), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Wal(f)->Real()->pMethods->xUnlock(Wal(f)->Real(), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Wal(f)->Real()->pMethods->xCheckReservedLock(Wal(f)->Real(), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Wal(f)->Real()->pMethods->xFileControl(Wal(f)->Real(), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Wal(f)->Real()->pMethods->xSectorSize(Wal(f)->Real());
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Wal(f)->Real()->pMethods->xDeviceCharacteristics(Wal(f)->Real());
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Wal(f)->Real()->pMethods->xShmMap(Wal(f)->Real(), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Wal(f)->Real()->pMethods->xShmLock(Wal(f)->Real(), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) {
  Wal(f)->Real()->pMethods->xShmBarrier(Wal(f)->Real());
}
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return Wal(f)->Real()->pMethods->xShmUnmap(Wal(f)->Real(), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  WalFile* w = Wal(f);
  if (const int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->Real()->pMethods->xFetch(w->Real(), offset, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Wal(f)->Real()->pMethods->xUnfetch(Wal(f)->Real(), offset, p);
}

constexpr sqlite3_io_methods kWalMethods = {
    3,
    &Close,
    &Read,
    &Write,
    &Truncate,
    &Sync,
    &FileSize,
    &Lock,
    &Unlock,
    &CheckReservedLock,
    &FileControl,
    &SectorSize,
    &DeviceCharacteristics,
    &ShmMap,
    &ShmLock,
    &ShmBarrier,
    &ShmUnmap,
    &Fetch,
    &Unfetch,
};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* base = Base(vfs);
  // Any other file is the default VFS's own, in the same block.
  if ((flags & SQLITE_OPEN_WAL) == 0) return base->xOpen(base, name, f, flags, out_flags);
  WalFile* w = Wal(f);
  *w = WalFile{};
  const int rc = base->xOpen(base, name, w->Real(), flags, out_flags);
  // SQLite calls xClose only on a file whose pMethods is set.
  if (rc != SQLITE_OK || w->Real()->pMethods == nullptr) {
    if (w->Real()->pMethods != nullptr) w->Real()->pMethods->xClose(w->Real());
    f->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
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
  // SQLite's own set-up (sqlite3_initialize) registers the default VFS.
  if (sqlite3_initialize() != SQLITE_OK) return nullptr;
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + base->szOsFile;
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
  return vfs != nullptr ? vfs->zName : nullptr;  // nullptr: the default VFS
}

}  // namespace roost::storage::driver
