#include "factory/flashing_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "core/hex.h"
#include "crypto/hash.h"

namespace roost::factory {
namespace {

constexpr std::string_view kMagic = "roost-bench-journal";
constexpr std::string_view kVersion = "1";
constexpr size_t kSumDigits = 8;
constexpr size_t kMaxSerial = 64;

std::string Checksum(std::string_view body) {
  crypto::Sha256Digest d = crypto::Sha256(body);
  return ToHex(std::span<const uint8_t>(d.data(), kSumDigits / 2));
}

std::string Seal(std::string body) {
  std::string sum = Checksum(body);
  body += ' ';
  body += sum;
  body += '\n';
  return body;
}

std::string_view ModeName(CraMode mode) {
  return mode == CraMode::kCbc ? "cbc" : "ecb";
}

std::vector<std::string_view> SplitFields(std::string_view body) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t sp = body.find(' ', pos);
    out.push_back(body.substr(pos, sp == std::string_view::npos ? sp : sp - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  return out;
}

bool ParseU64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseMs(std::string_view s, int64_t& out) {
  uint64_t v = 0;
  if (!ParseU64(s, v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
  out = static_cast<int64_t>(v);
  return true;
}

// A file ID as the journal writes it: exactly 8 uppercase hex digits.
bool ParseFileId(std::string_view s, SigfoxId& out) {
  if (s.size() != 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
    v = (v << 4) | static_cast<uint32_t>(HexValue(c));
  }
  out.value = v;
  return true;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The outcome of parsing one line: an error message, or nothing (the line was
// applied to `state`).
class Replayer {
 public:
  explicit Replayer(JournalState& state) : state_(state) {}

  // Whether the line's checksum holds: a line that fails it was damaged (or
  // torn); one that passes it but breaks a rule is an error wherever it is.
  static bool Intact(std::string_view line) {
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) return false;
    std::string_view sum = line.substr(sp + 1);
    return sum.size() == kSumDigits && IsLowerHex(sum) && Checksum(line.substr(0, sp)) == sum;
  }

  // Applies an intact line; returns an error message when it breaks a rule.
  std::optional<std::string> Apply(std::string_view line, size_t line_no) {
    std::vector<std::string_view> f = SplitFields(line.substr(0, line.rfind(' ')));
    if (line_no == 1) return Header(f);
    if (f[0] == "reserved") return Reserved(f, line_no);
    if (f[0] == "withdrawn") return Withdrawn(f, line_no);
    if (f[0] == "flashed") return Outcome(f, PairOutcome::kFlashed);
    if (f[0] == "failed") return Outcome(f, PairOutcome::kFailed);
    if (f[0] == kMagic) return "a second journal header";
    return "unknown record type";
  }

 private:
  std::optional<std::string> Header(const std::vector<std::string_view>& f) {
    if (f[0] != kMagic) return "not a bench journal (no 'roost-bench-journal' header)";
    if (f.size() < 2 || f[1] != kVersion) return "unsupported journal version";
    if (f.size() != 6) return "header: expected 6 fields";
    if (!ParseU64(f[2], state_.binding.pairs)) return "header: bad pair count";
    auto mode = ParseCraMode(f[3]);
    if (!mode.ok() || f[3] != ModeName(*mode)) return "header: bad mode (ecb or cbc)";
    state_.binding.mode = *mode;
    if (f[4].size() != 64 || !IsLowerHex(f[4])) return "header: bad fingerprint";
    state_.binding.fingerprint = std::string(f[4]);
    if (!ParseMs(f[5], state_.created_ms)) return "header: bad timestamp";
    return std::nullopt;
  }

  // Checks the pair index of a reserved/withdrawn record.
  std::optional<std::string> NextIndex(std::string_view text, uint64_t& index) {
    if (!ParseU64(text, index)) return "bad pair number";
    uint64_t expected = state_.pairs.size();
    if (index != expected) {
      return "pair " + std::to_string(index) + " out of order, expected pair " +
             std::to_string(expected) + " (pairs are used in file order)";
    }
    if (index >= state_.binding.pairs) {
      return "pair " + std::to_string(index) + " beyond the file's " +
             std::to_string(state_.binding.pairs) + " pairs";
    }
    return std::nullopt;
  }

  std::optional<std::string> Reserved(const std::vector<std::string_view>& f, size_t line_no) {
    if (f.size() != 4) return "reserved: expected 4 fields";
    PairState p;
    if (auto e = NextIndex(f[1], p.index)) return "reserved: " + *e;
    SigfoxId id;
    if (!ParseFileId(f[2], id)) return "reserved: bad device ID (8 uppercase hex digits)";
    p.id = id;
    if (!ParseMs(f[3], p.reserved_ms)) return "reserved: bad timestamp";
    p.line = line_no;
    state_.pairs.push_back(p);
    return std::nullopt;
  }

  std::optional<std::string> Withdrawn(const std::vector<std::string_view>& f, size_t line_no) {
    if (f.size() != 3) return "withdrawn: expected 3 fields";
    PairState p;
    if (auto e = NextIndex(f[1], p.index)) return "withdrawn: " + *e;
    if (!ParseMs(f[2], p.reserved_ms)) return "withdrawn: bad timestamp";
    p.outcome = PairOutcome::kWithdrawn;
    p.outcome_ms = p.reserved_ms;
    p.line = line_no;
    state_.pairs.push_back(p);
    return std::nullopt;
  }

  std::optional<std::string> Outcome(const std::vector<std::string_view>& f, PairOutcome outcome) {
    std::string what(f[0]);
    if (f.size() != 5) return what + ": expected 5 fields";
    uint64_t index = 0;
    if (!ParseU64(f[1], index)) return what + ": bad pair number";
    if (index >= state_.pairs.size()) {
      return what + ": pair " + std::to_string(index) + " was never reserved";
    }
    PairState& p = state_.pairs[index];
    SigfoxId id;
    if (!ParseFileId(f[2], id)) return what + ": bad device ID (8 uppercase hex digits)";
    if (p.outcome == PairOutcome::kWithdrawn) {
      return what + ": pair " + std::to_string(index) + " was withdrawn on line " +
             std::to_string(p.line);
    }
    if (!p.id || *p.id != id) {
      return what + ": pair " + std::to_string(index) + " was reserved as " + p.id->ToFile() +
             " on line " + std::to_string(p.line) + ", not " + id.ToFile();
    }
    int64_t ms = 0;
    if (!ParseMs(f[3], ms)) return what + ": bad timestamp";
    std::string serial;
    if (f[4] != "-") {
      Status s = CheckSerial(f[4]);
      if (!s.ok()) return what + ": " + s.message();
      serial = std::string(f[4]);
    }
    p.outcome = outcome;
    p.outcome_ms = ms;
    p.serial = std::move(serial);
    return std::nullopt;
  }

  JournalState& state_;
};

// An unterminated first line that can only be the start of a header (or the
// zeros a power cut leaves in a file whose size was extended).
bool LooksLikeTornHeader(std::string_view line) {
  if (line.find_first_not_of('\0') == std::string_view::npos) return true;
  if (line.size() <= kMagic.size()) return kMagic.starts_with(line);
  return line.starts_with(kMagic) && line[kMagic.size()] == ' ';
}

Status Errno(const std::string& path, const std::string& what) {
  return Status::IoError(path + ": " + what + ": " + std::strerror(errno));
}

// Holds a flock on `fd` for its lifetime.
class FileLock {
 public:
  FileLock(int fd, int op) : fd_(fd) {
    int rc;
    do {
      rc = ::flock(fd_, op);
    } while (rc != 0 && errno == EINTR);
    ok_ = rc == 0;
  }
  ~FileLock() {
    if (ok_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

Status FsyncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno(dir, "cannot open directory to sync it");
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) {
    errno = err;
    return Errno(dir, "cannot sync directory");
  }
  return Status::Ok();
}

std::string DescribeBinding(const JournalBinding& b) {
  return std::to_string(b.pairs) + " pairs, " + std::string(ModeName(b.mode)) + ", fingerprint " +
         b.fingerprint.substr(0, 16);
}

std::string DescribeCounts(const JournalState& s) {
  std::string out = std::to_string(s.Count(PairOutcome::kFlashed)) + " flashed, " +
                    std::to_string(s.Count(PairOutcome::kFailed)) + " failed, " +
                    std::to_string(s.Count(PairOutcome::kPending)) + " pending";
  if (uint64_t w = s.Count(PairOutcome::kWithdrawn)) out += ", " + std::to_string(w) + " withdrawn";
  return out;
}

}  // namespace

// --- Binding ------------------------------------------------------------------

std::string CraFingerprint(uint64_t size, std::span<const uint8_t> first_pair,
                           std::span<const uint8_t> last_pair) {
  std::vector<uint8_t> data(8);
  for (int i = 0; i < 8; ++i)
    data[static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (56 - 8 * i));
  data.insert(data.end(), first_pair.begin(), first_pair.end());
  data.insert(data.end(), last_pair.begin(), last_pair.end());
  crypto::Sha256Digest d = crypto::Sha256(data);
  return ToHex(d);
}

Result<JournalBinding> BindingOfCraFile(const std::string& path, CraMode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno(path, "cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Errno(path, "cannot stat");
    ::close(fd);
    return s;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  Status size_ok = CheckCraFileSize(size);
  if (!size_ok.ok()) {
    ::close(fd);
    return size_ok.WithPrefix(path);
  }
  std::array<uint8_t, kCraPairSize> first{}, last{};
  size_t n = size == 0 ? 0 : kCraPairSize;
  for (auto [buf, off] : {std::pair{first.data(), uint64_t{0}},
                          std::pair{last.data(), size == 0 ? 0 : size - kCraPairSize}}) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        ::close(fd);
        return Status::IoError(path + ": read failed at offset " + std::to_string(off + done));
      }
      done += static_cast<size_t>(r);
    }
  }
  ::close(fd);
  JournalBinding b;
  b.pairs = size / kCraPairSize;
  b.mode = mode;
  b.fingerprint = CraFingerprint(size, std::span(first.data(), n), std::span(last.data(), n));
  return b;
}

// --- Formatting ------------------------------------------------------------------

std::string_view OutcomeName(PairOutcome outcome) {
  switch (outcome) {
    case PairOutcome::kPending:
      return "pending";
    case PairOutcome::kFlashed:
      return "flashed";
    case PairOutcome::kFailed:
      return "failed";
    case PairOutcome::kWithdrawn:
      return "withdrawn";
  }
  return "?";
}

std::string FormatJournalHeader(const JournalBinding& binding, int64_t created_ms) {
  return Seal(std::string(kMagic) + " " + std::string(kVersion) + " " +
              std::to_string(binding.pairs) + " " + std::string(ModeName(binding.mode)) + " " +
              binding.fingerprint + " " + std::to_string(created_ms));
}

std::string FormatReserved(uint64_t index, SigfoxId id, int64_t ms) {
  return Seal("reserved " + std::to_string(index) + " " + id.ToFile() + " " + std::to_string(ms));
}

std::string FormatOutcome(PairOutcome outcome, uint64_t index, SigfoxId id, int64_t ms,
                          std::string_view serial) {
  return Seal(std::string(OutcomeName(outcome)) + " " + std::to_string(index) + " " + id.ToFile() +
              " " + std::to_string(ms) + " " +
              (serial.empty() ? std::string("-") : std::string(serial)));
}

std::string FormatWithdrawn(uint64_t index, int64_t ms) {
  return Seal("withdrawn " + std::to_string(index) + " " + std::to_string(ms));
}

Status CheckSerial(std::string_view serial) {
  if (serial.empty()) return Status::InvalidInput("serial number is empty");
  if (serial.size() > kMaxSerial) {
    return Status::InvalidInput("serial number longer than " + std::to_string(kMaxSerial) +
                                " characters");
  }
  if (serial == "-") return Status::InvalidInput("serial number '-' is reserved for 'none'");
  for (size_t i = 0; i < serial.size(); ++i) {
    char c = serial[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '+' || c == '-';
    if (!ok) {
      return Status::InvalidInput("serial number: character " + std::to_string(i + 1) +
                                  " is not one of A-Z a-z 0-9 . _ : / + -");
    }
  }
  return Status::Ok();
}

// --- Parsing ------------------------------------------------------------------

uint64_t JournalState::Count(PairOutcome outcome) const {
  uint64_t n = 0;
  for (const PairState& p : pairs) n += p.outcome == outcome ? 1 : 0;
  return n;
}

const PairState* JournalState::FindId(SigfoxId id) const {
  for (const PairState& p : pairs) {
    if (p.id && *p.id == id) return &p;
  }
  return nullptr;
}

Result<JournalState> ParseJournal(std::string_view text) {
  JournalState state;
  Replayer replayer(state);
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t end = text.find('\n', pos);
    bool terminated = end != std::string_view::npos;
    std::string_view line = text.substr(pos, terminated ? end - pos : std::string_view::npos);
    size_t next = terminated ? end + 1 : text.size();
    if (!terminated || !Replayer::Intact(line)) {
      if (line_no == 1 && (terminated || !LooksLikeTornHeader(line))) {
        return Status::InvalidInput("line 1: not a bench journal (no valid '" +
                                    std::string(kMagic) + "' header)");
      }
      if (next != text.size()) {
        return Status::InvalidInput("line " + std::to_string(line_no) +
                                    ": damaged record (checksum does not match)");
      }
      // The last line: a write cut short by a crash or a power cut.
      if (line_no == 1) return Status::NotFound("journal holds no complete header");
      state.torn_tail = true;
      state.torn_may_reserve = line.empty() || line.front() != 'f';
      return state;
    }
    if (auto error = replayer.Apply(line, line_no)) {
      return Status::InvalidInput("line " + std::to_string(line_no) + ": " + *error);
    }
    pos = next;
    state.valid_bytes = pos;
  }
  if (line_no == 0) return Status::NotFound("journal is empty");
  return state;
}

// --- I/O ----------------------------------------------------------------------

int64_t NowEpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FlashingJournal::~FlashingJournal() {
  ::close(fd_);
}

Result<std::unique_ptr<FlashingJournal>> FlashingJournal::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EROFS)) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // enough for reports
  }
  if (fd < 0) return Errno(path, "cannot open journal");
  return std::unique_ptr<FlashingJournal>(new FlashingJournal(fd, path, std::nullopt));
}

Result<std::unique_ptr<FlashingJournal>> FlashingJournal::OpenOrCreate(
    const std::string& path, const JournalBinding& binding) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(path, "cannot open or create journal");
  std::unique_ptr<FlashingJournal> j(new FlashingJournal(fd, path, binding));
  {
    // Initialise (header, fsync of file and directory) and check the binding now,
    // so a wrong journal is refused before anything else happens.
    FileLock lock(fd, LOCK_EX);
    if (!lock.ok()) return Errno(path, "cannot lock journal");
    auto state = j->LoadForAppend(NowEpochMs());
    if (!state.ok()) return state.status();
  }
  return j;
}

Result<std::string> FlashingJournal::ReadAll() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Errno(path_, "cannot stat journal");
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pread(fd_, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(path_, "cannot read journal");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

Result<JournalState> FlashingJournal::Read() const {
  FileLock lock(fd_, LOCK_SH);
  if (!lock.ok()) return Errno(path_, "cannot lock journal");
  auto text = ReadAll();
  if (!text.ok()) return text.status();
  auto state = ParseJournal(*text);
  if (!state.ok()) return state.status().WithPrefix(path_);
  return state;
}

Status FlashingJournal::Append(std::string_view line, uint64_t at_size) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno(path_, "cannot append to journal");
      // Best effort: take the partial record back. If this fails too, the next
      // writer cuts it off as a torn tail.
      if (::ftruncate(fd_, static_cast<off_t>(at_size)) == 0) ::fdatasync(fd_);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return Errno(path_, "cannot sync journal to disk");
  return Status::Ok();
}

Result<JournalState> FlashingJournal::LoadForAppend(int64_t now_ms) {
  auto text = ReadAll();
  if (!text.ok()) return text.status();
  auto parsed = ParseJournal(*text);
  if (!parsed.ok() && parsed.status().code() == Status::Code::kNotFound) {
    if (!binding_) return parsed.status().WithPrefix(path_);
    // Never initialised (or the header write was cut short): start afresh.
    if (!text->empty() && ::ftruncate(fd_, 0) != 0) return Errno(path_, "cannot truncate journal");
    ROOST_RETURN_IF_ERROR(Append(FormatJournalHeader(*binding_, now_ms), 0));
    ROOST_RETURN_IF_ERROR(FsyncDirectoryOf(path_));
    text = ReadAll();
    if (!text.ok()) return text.status();
    parsed = ParseJournal(*text);
  }
  if (!parsed.ok()) return parsed.status().WithPrefix(path_);
  JournalState state = std::move(parsed).value();
  if (binding_ && !(state.binding == *binding_)) {
    return Status::InvalidInput(path_ + ": journal is bound to another file (" +
                                DescribeBinding(state.binding) + "), not this one (" +
                                DescribeBinding(*binding_) + ")");
  }
  if (state.torn_tail) {
    if (::ftruncate(fd_, static_cast<off_t>(state.valid_bytes)) != 0 || ::fdatasync(fd_) != 0) {
      return Errno(path_, "cannot cut off the torn last line of the journal");
    }
    if (state.torn_may_reserve && state.remaining() > 0) {
      uint64_t index = state.pairs.size();
      std::string line = FormatWithdrawn(index, now_ms);
      ROOST_RETURN_IF_ERROR(Append(line, state.valid_bytes));
      PairState p;
      p.index = index;
      p.reserved_ms = p.outcome_ms = now_ms;
      p.outcome = PairOutcome::kWithdrawn;
      state.pairs.push_back(p);
      state.valid_bytes += line.size();
    }
  }
  return state;
}

Result<PairState> FlashingJournal::Reserve(
    const std::function<Result<SigfoxId>(uint64_t index)>& fetch, int64_t now_ms) {
  FileLock lock(fd_, LOCK_EX);
  if (!lock.ok()) return Errno(path_, "cannot lock journal");
  auto loaded = LoadForAppend(now_ms);
  if (!loaded.ok()) return loaded.status();
  const JournalState& state = *loaded;
  if (state.remaining() == 0) {
    return Status::NotFound("all " + std::to_string(state.binding.pairs) +
                            " pairs of the file are used (" + DescribeCounts(state) + ")");
  }
  PairState p;
  p.index = state.pairs.size();
  auto id = fetch(p.index);
  if (!id.ok()) return id.status();
  p.id = *id;
  p.reserved_ms = now_ms;
  ROOST_RETURN_IF_ERROR(Append(FormatReserved(p.index, *id, now_ms), state.valid_bytes));
  return p;
}

Status FlashingJournal::RecordOutcome(uint64_t index, SigfoxId id, PairOutcome outcome,
                                      std::string_view serial, int64_t now_ms,
                                      bool only_if_pending) {
  if (outcome != PairOutcome::kFlashed && outcome != PairOutcome::kFailed) {
    return Status::InvalidInput("an outcome is 'flashed' or 'failed'");
  }
  if (!serial.empty()) ROOST_RETURN_IF_ERROR(CheckSerial(serial));
  FileLock lock(fd_, LOCK_EX);
  if (!lock.ok()) return Errno(path_, "cannot lock journal");
  auto loaded = LoadForAppend(now_ms);
  if (!loaded.ok()) return loaded.status();
  const JournalState& state = *loaded;
  if (index >= state.pairs.size() || !state.pairs[index].id || *state.pairs[index].id != id) {
    return Status::NotFound("device " + id.ToFile() + " is not reserved as pair " +
                            std::to_string(index) + " in " + path_);
  }
  const PairState& p = state.pairs[index];
  if (only_if_pending && p.outcome != PairOutcome::kPending) {
    return Status::AlreadyExists("device " + id.ToFile() + " is already recorded as " +
                                 std::string(OutcomeName(p.outcome)));
  }
  return Append(FormatOutcome(outcome, index, id, now_ms, serial), state.valid_bytes);
}

}  // namespace roost::factory
