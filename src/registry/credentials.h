// Credentials import: the factory's CRA ID/KEY file and ID/PAC file become, per
// device ID, a sealed KEY and an initial PAC in the store (registry.md
// "Credentials import").
//
// Contract:
// - The encryption key and the decrypted KEYs live in memory only (never on
//   disk, never in messages); clear copies are wiped before returning.
// - Whole-file errors refuse the import and store nothing: an ID/KEY file that
//   is empty, not a whole number of 32-byte pairs, larger than kMaxImportPairs,
//   or repeats a device ID (the offset is named); an ID/PAC file that does not
//   parse or has no device line (the line is named); an ID/PAC line naming an ID
//   missing from the ID/KEY file (the line is named). When a file has several
//   of these, the one reported is the one a front-to-back reading meets first.
// - Per ID: an ID already imported with a different KEY, or with the same KEY
//   but a different initial PAC, or whose stored KEY does not open with this
//   master key, is refused and counted in the report (the first
//   `listed_refusals` are listed); the others are imported. The same KEY and
//   PAC again is idempotent ("unchanged", the row untouched).
// - IDs of the ID/KEY file without a line in the ID/PAC file are not imported
//   (a device without a PAC cannot be registered); they are only counted in
//   `skipped`.
// - KEYs are sealed with SealAad("device-key", id.ToFile()).
// - Memory is bounded whatever the batch size: the files are read in place
//   (the caller maps them), the whole-file checks keep 8 bytes per device, and
//   the import proper goes through the ID/PAC file `chunk_entries` lines at a
//   time, decrypting only the pairs of the chunk.
// - One transaction per chunk, not per import: an import of a million devices
//   must not hold SQLite's single write lock (and so every login and job
//   worker) for the minute it takes. A failure after the checks (the database)
//   returns an error and leaves the chunks before it stored; running the same
//   import again completes it, the stored ones being "unchanged". Only IDs
//   without a credential are inserted (Store::InsertNewCredentials), so two
//   concurrent imports of one ID never overwrite each other: the later one
//   compares with what the earlier stored.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/seal.h"
#include "factory/cra_file.h"
#include "model/credential.h"
#include "storage/store.h"

namespace roost::registry {

// An ID/KEY file holds at most this many pairs (32 MB).
inline constexpr size_t kMaxImportPairs = 1'000'000;

// A report lists at most this many refused IDs (refused_count has them all).
inline constexpr size_t kMaxListedRefusals = 1'000;

// The purpose under which device KEYs are sealed (crypto::SealAad).
inline constexpr std::string_view kDeviceKeyPurpose = "device-key";

struct RefusedCredential {
  SigfoxId id;
  std::string message;  // never contains a KEY
  bool operator==(const RefusedCredential&) const = default;
};

struct ImportReport {
  int64_t imported = 0;       // new credentials stored
  int64_t unchanged = 0;      // already stored with the same KEY and PAC
  int64_t skipped = 0;        // ID/KEY pairs without an ID/PAC line
  int64_t refused_count = 0;  // every refused ID
  // The first refused IDs, at most ImportLimits::listed_refusals, in ID/PAC file order.
  std::vector<RefusedCredential> refused;
};

// How an import works through a batch. Roost uses the defaults; tests shrink them.
struct ImportLimits {
  size_t chunk_entries = 10'000;  // ID/PAC lines compared, sealed and stored per transaction
  size_t listed_refusals = kMaxListedRefusals;
};

Result<ImportReport> ImportCredentials(storage::Store& store, const crypto::Sealer& sealer,
                                       const Key128& encryption_key,
                                       std::span<const uint8_t> id_key_file,
                                       std::string_view id_pac_text, factory::CraMode mode,
                                       EpochMillis now, const ImportLimits& limits = {});

// Opens a stored credential's sealed KEY. Fails (kInvalidInput) when it does not
// open with this master key for this device ID.
Result<Key128> OpenDeviceKey(const crypto::Sealer& sealer, const Credential& credential);

}  // namespace roost::registry
