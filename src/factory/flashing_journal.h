// The flashing-bench journal: an append-only, fsync'd record of every pair of
// a CRA ID/KEY encrypted file that `roost cra next` handed out, so that a pair
// is never handed out twice, also after a crash, a kill -9 or a power cut.
//
// Format: text, one record per line, fields separated by one space, the last
// field a checksum (the first 4 bytes of SHA-256 of the rest of the line,
// without the separating space, as 8 lowercase hex digits):
//
//   roost-bench-journal 1 <pairs> <ecb|cbc> <fingerprint> <created_ms> <sum>   (line 1 only)
//   reserved <pair> <ID> <ms> <sum>          pair handed out next (write-ahead)
//   flashed <pair> <ID> <ms> <serial> <sum>  the flasher succeeded
//   failed <pair> <ID> <ms> <serial> <sum>   the flasher failed
//   withdrawn <pair> <ms> <sum>              pair skipped after a torn journal tail
//
// <pair> is the 0-based index of the pair in the encrypted file, <ID> the
// device ID zero-padded to 8 uppercase hex digits, <ms> epoch milliseconds,
// <serial> the device's serial number or "-" when none was given. KEYs never
// appear in the journal.
//
// Rules the parser enforces (any violation names its line):
// - Line 1 is the header; it binds the journal to one encrypted file (its pair
//   count, mode and fingerprint, see BindingOfCraFile).
// - `reserved` and `withdrawn` take the pairs in file order: the Nth such
//   record names pair N-1.
// - `flashed`/`failed` name a pair reserved earlier with the same ID; a later
//   outcome for the same pair replaces an earlier one (a correction).
//
// Crash safety (write-ahead): a `reserved` record is written with one write()
// and fsync'd before the pair leaves the process. A record that is torn by a
// power cut therefore belongs to a pair that never left. Only the journal's
// tail can be torn: an unterminated last line, or a last line whose checksum
// fails, is ignored by the parser (JournalState::torn_tail) and is cut off
// (ftruncate + fsync) by the next writer before it appends. As a second line of
// defence, when the torn bytes might have been a reservation (anything that
// does not start with 'f' of flashed/failed), the writer also withdraws the
// next pair: it will never be handed out. Damage anywhere before the last line
// is not a torn write; it fails the parse with the line number.
//
// Concurrency: every read-modify-append happens under an exclusive flock on
// the journal, so two benches sharing one journal never reserve the same pair.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "core/status.h"
#include "factory/cra_file.h"

namespace roost::factory {

// What a journal is bound to: the encrypted file it serves.
struct JournalBinding {
  uint64_t pairs = 0;
  CraMode mode = CraMode::kEcb;
  // 64 lowercase hex digits: SHA-256 of the file's size (8 bytes big-endian),
  // its first pair and its last pair, as encrypted. Cheap for any file size;
  // two issued batches never share it because each KEY block is random.
  std::string fingerprint;
  bool operator==(const JournalBinding&) const = default;
};

// Computes the binding of an encrypted CRA file (reads at most 64 bytes). The
// file size must be a whole number of pairs.
Result<JournalBinding> BindingOfCraFile(const std::string& path, CraMode mode);
// The same from the file's size and its first and last 32 bytes (empty spans
// for an empty file). Pure.
std::string CraFingerprint(uint64_t size, std::span<const uint8_t> first_pair,
                           std::span<const uint8_t> last_pair);

enum class PairOutcome { kPending, kFlashed, kFailed, kWithdrawn };
std::string_view OutcomeName(PairOutcome outcome);  // "pending", "flashed", ...

// One used pair, as replayed from the journal.
struct PairState {
  uint64_t index = 0;
  std::optional<SigfoxId> id;  // absent for a withdrawn pair
  int64_t reserved_ms = 0;
  PairOutcome outcome = PairOutcome::kPending;
  int64_t outcome_ms = 0;
  std::string serial;  // empty when none was recorded
  size_t line = 0;     // line of the reserved/withdrawn record
};

struct JournalState {
  JournalBinding binding;
  int64_t created_ms = 0;
  std::vector<PairState> pairs;   // pairs[i].index == i: every pair used so far
  uint64_t valid_bytes = 0;       // length of the well-formed prefix
  bool torn_tail = false;         // bytes after valid_bytes were ignored
  bool torn_may_reserve = false;  // ... and they might have been a reservation

  uint64_t used() const { return pairs.size(); }
  uint64_t remaining() const { return binding.pairs - pairs.size(); }
  uint64_t Count(PairOutcome outcome) const;
  // The pair reserved with `id`, if any.
  const PairState* FindId(SigfoxId id) const;
};

// --- Pure: formatting and parsing ------------------------------------------

// Each returns one whole line, newline included.
std::string FormatJournalHeader(const JournalBinding& binding, int64_t created_ms);
std::string FormatReserved(uint64_t index, SigfoxId id, int64_t ms);
// `outcome` is kFlashed or kFailed; `serial` empty for none.
std::string FormatOutcome(PairOutcome outcome, uint64_t index, SigfoxId id, int64_t ms,
                          std::string_view serial);
std::string FormatWithdrawn(uint64_t index, int64_t ms);

// A device serial number as the journal records it: 1-64 characters from
// A-Z a-z 0-9 . _ : / + - (not "-" alone, which means none).
Status CheckSerial(std::string_view serial);

// Replays a whole journal. An empty text, or one holding only a torn header,
// is NotFound (the journal was never initialised). Other errors are
// InvalidInput and name the line.
Result<JournalState> ParseJournal(std::string_view text);

// --- I/O --------------------------------------------------------------------

class FlashingJournal {
 public:
  // Opens an existing journal. Fails when it does not exist.
  static Result<std::unique_ptr<FlashingJournal>> Open(const std::string& path);
  // Opens the journal for `binding`, creating it (and writing its header,
  // fsync'ing the file and its directory) when absent or empty. Fails when the
  // journal is bound to another file.
  static Result<std::unique_ptr<FlashingJournal>> OpenOrCreate(const std::string& path,
                                                               const JournalBinding& binding);
  ~FlashingJournal();
  FlashingJournal(const FlashingJournal&) = delete;
  FlashingJournal& operator=(const FlashingJournal&) = delete;

  const std::string& path() const { return path_; }

  // Replays the journal under a shared lock.
  Result<JournalState> Read() const;

  // Under an exclusive lock: replays, repairs a torn tail, and reserves the
  // next pair never used. `fetch(index)` decrypts that pair and returns its ID;
  // when it fails nothing is written and its status is returned. On success
  // the `reserved` record is on disk (fsync'd) before this returns. When every
  // pair is used, fails with kNotFound and a message that says so.
  Result<PairState> Reserve(const std::function<Result<SigfoxId>(uint64_t index)>& fetch,
                            int64_t now_ms);

  // Under an exclusive lock: appends (and fsyncs) the outcome of pair `index`,
  // which must be reserved with `id`. With `only_if_pending`, refuses a pair
  // whose outcome is already recorded (kAlreadyExists).
  Status RecordOutcome(uint64_t index, SigfoxId id, PairOutcome outcome, std::string_view serial,
                       int64_t now_ms, bool only_if_pending = false);

 private:
  FlashingJournal(int fd, std::string path, std::optional<JournalBinding> binding)
      : fd_(fd), path_(std::move(path)), binding_(std::move(binding)) {}
  // With the exclusive lock held: reads, initialises an empty journal with
  // binding_ (when known), checks the binding, and repairs a torn tail.
  Result<JournalState> LoadForAppend(int64_t now_ms);
  Status Append(std::string_view line, uint64_t at_size);
  Result<std::string> ReadAll() const;

  int fd_;
  std::string path_;
  std::optional<JournalBinding> binding_;
};

// Epoch milliseconds now.
int64_t NowEpochMs();

}  // namespace roost::factory
