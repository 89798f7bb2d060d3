#include "registry/credentials.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>

#include "crypto/aes.h"
#include "crypto/password.h"
#include "factory/id_pac.h"

namespace roost::registry {
namespace {

std::string HexOffset(uint64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(offset));
  return buf;
}

// Wipes a buffer of secrets when it goes out of scope.
class WipeGuard {
 public:
  WipeGuard(void* p, size_t n) : p_(p), n_(n) {}
  ~WipeGuard() { crypto::Cleanse(p_, n_); }
  WipeGuard(const WipeGuard&) = delete;
  WipeGuard& operator=(const WipeGuard&) = delete;

 private:
  void* p_;
  size_t n_;
};

// A device ID and where it is: a pair index in the ID/KEY file, or a line of the
// ID/PAC file. Eight bytes per device is what the whole-file checks keep.
struct IdAt {
  uint32_t id;
  uint32_t at;
  bool operator<(const IdAt& o) const { return id != o.id ? id < o.id : at < o.at; }
};

// An ID listed twice: where it is repeated and where it was first.
struct Repeat {
  uint32_t id;
  uint32_t at;
  uint32_t first_at;
};

// Of the IDs listed more than once in `sorted` (ordered by id, then place), the one
// whose second listing comes first: what a front-to-back reading remembering every
// ID would stop at.
std::optional<Repeat> FirstRepeat(std::span<const IdAt> sorted) {
  std::optional<Repeat> first;
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].id != sorted[i - 1].id) continue;
    // Sorted by place within an id, so i-1 is the first listing only at a group's start.
    if (i >= 2 && sorted[i - 2].id == sorted[i].id) continue;
    if (!first || sorted[i].at < first->at) {
      first = Repeat{sorted[i].id, sorted[i].at, sorted[i - 1].at};
    }
  }
  return first;
}

// The pair index of `id` in `pairs` (sorted, distinct ids), or nullopt.
std::optional<uint32_t> PairOf(std::span<const IdAt> pairs, uint32_t id) {
  auto it = std::lower_bound(pairs.begin(), pairs.end(), IdAt{id, 0});
  if (it == pairs.end() || it->id != id) return std::nullopt;
  return it->at;
}

std::string DeviceKeyAad(SigfoxId id) {
  return crypto::SealAad(kDeviceKeyPurpose, id.ToFile());
}

}  // namespace

Result<Key128> OpenDeviceKey(const crypto::Sealer& sealer, const Credential& credential) {
  auto opened = sealer.Open(credential.sealed_key, DeviceKeyAad(credential.device_id));
  if (!opened.ok()) {
    return Status::InvalidInput("the stored KEY of device " + credential.device_id.ToApi() +
                                " does not open with this master key");
  }
  Bytes clear = std::move(opened).value();
  WipeGuard wipe(clear.data(), clear.size());
  if (clear.size() != Key128{}.size()) {
    return Status::InvalidInput("the stored KEY of device " + credential.device_id.ToApi() +
                                " has the wrong length");
  }
  Key128 key;
  std::copy(clear.begin(), clear.end(), key.begin());
  return key;
}

namespace {

// The device IDs of the ID/KEY file with their pair index, sorted; refuses a
// repeated ID. Decrypts ID blocks only.
Result<std::vector<IdAt>> ReadIdKeyIds(const Key128& encryption_key,
                                       std::span<const uint8_t> id_key_file,
                                       factory::CraMode mode) {
  ROOST_RETURN_IF_ERROR(factory::CheckCraFileSize(id_key_file.size()).WithPrefix("ID/KEY file"));
  if (id_key_file.empty()) return Status::InvalidInput("ID/KEY file: empty");
  const size_t pair_count = id_key_file.size() / factory::kCraPairSize;
  if (pair_count > kMaxImportPairs) {
    return Status::InvalidInput("ID/KEY file: " + std::to_string(pair_count) +
                                " pairs, more than the limit of " +
                                std::to_string(kMaxImportPairs));
  }
  std::vector<IdAt> pairs;
  pairs.reserve(pair_count);
  {
    crypto::Aes128 aes(encryption_key);
    std::vector<SigfoxId> batch(4096);
    for (size_t first = 0; first < pair_count; first += batch.size()) {
      const size_t n = std::min(batch.size(), pair_count - first);
      factory::DecryptIdsAt(aes, mode, id_key_file, first, std::span(batch).first(n));
      for (size_t j = 0; j < n; ++j) {
        pairs.push_back(IdAt{batch[j].value, static_cast<uint32_t>(first + j)});
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  if (auto repeat = FirstRepeat(pairs)) {
    return Status::InvalidInput(
        "ID/KEY file: offset " + HexOffset(uint64_t{repeat->at} * factory::kCraPairSize) +
        ": device ID " + SigfoxId{repeat->id}.ToFile() + " repeated (first at offset " +
        HexOffset(uint64_t{repeat->first_at} * factory::kCraPairSize) +
        "); wrong encryption key or mode?");
  }
  return pairs;
}

// Checks the whole ID/PAC file against the ID/KEY file's `pairs`: it parses, has a
// device line, lists no ID twice and only IDs of the ID/KEY file. Returns how
// many device lines it has. The errors are those ParseIdPacFile and a check in
// file order would give, without keeping more than 8 bytes per line.
Result<size_t> CheckIdPacFile(std::string_view text, std::span<const IdAt> pairs) {
  std::vector<IdAt> lines;
  lines.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  factory::IdPacReader reader(text);
  Status parse_error;
  for (;;) {
    auto next = reader.Next();
    if (!next.ok()) {
      parse_error = next.status();
      break;
    }
    if (!*next) break;
    const size_t line = (*next)->line;
    if (line > std::numeric_limits<uint32_t>::max()) {
      return Status::InvalidInput("ID/PAC file: line " + std::to_string(line) +
                                  ": more lines than an import reads");
    }
    lines.push_back(IdAt{(*next)->entry.id.value, static_cast<uint32_t>(line)});
  }
  std::sort(lines.begin(), lines.end());
  // A repeat before the bad line is what a reading from the top meets first.
  if (auto repeat = FirstRepeat(lines)) {
    return factory::RepeatedIdError(SigfoxId{repeat->id}, repeat->at, repeat->first_at)
        .WithPrefix("ID/PAC file");
  }
  if (!parse_error.ok()) return parse_error.WithPrefix("ID/PAC file");
  if (lines.empty()) return Status::InvalidInput("ID/PAC file: no device line");
  std::optional<IdAt> first_missing;
  for (const IdAt& l : lines) {
    if (PairOf(pairs, l.id)) continue;
    if (!first_missing || l.at < first_missing->at) first_missing = l;
  }
  if (first_missing) {
    return Status::InvalidInput("ID/PAC file: line " + std::to_string(first_missing->at) +
                                ": device ID " + SigfoxId{first_missing->id}.ToFile() +
                                " is not in the ID/KEY file (wrong encryption key or mode?)");
  }
  return lines.size();
}

// What the files hold for a device against what is stored: nullopt when it is the
// same KEY and PAC again, else why the ID is refused.
std::optional<std::string> CompareWithStored(const crypto::Sealer& sealer, const Credential& stored,
                                             const Key128& key, std::string_view pac) {
  auto opened = OpenDeviceKey(sealer, stored);
  if (!opened.ok()) return opened.status().message();
  Key128 stored_key = *opened;
  WipeGuard wipe_key(stored_key.data(), stored_key.size());
  // Secrets: compared in constant time.
  if (!crypto::ConstantTimeEquals(std::span<const uint8_t>(stored_key),
                                  std::span<const uint8_t>(key))) {
    return "already imported with a different KEY";
  }
  if (!crypto::ConstantTimeEquals(stored.initial_pac, pac)) {
    return "already imported with a different PAC";
  }
  return std::nullopt;
}

// One chunk of ID/PAC lines with the pair index of each.
struct Chunk {
  std::vector<factory::IdPac> entries;
  std::vector<uint32_t> ids;
  std::vector<uint32_t> pair_index;
  void Clear() {
    entries.clear();
    ids.clear();
    pair_index.clear();
  }
};

}  // namespace

Result<ImportReport> ImportCredentials(storage::Store& store, const crypto::Sealer& sealer,
                                       const Key128& encryption_key,
                                       std::span<const uint8_t> id_key_file,
                                       std::string_view id_pac_text, factory::CraMode mode,
                                       EpochMillis now, const ImportLimits& limits) {
  // --- Whole-file checks: nothing is stored unless both files pass ---
  auto pairs = ReadIdKeyIds(encryption_key, id_key_file, mode);
  if (!pairs.ok()) return pairs.status();
  auto device_lines = CheckIdPacFile(id_pac_text, *pairs);
  if (!device_lines.ok()) return device_lines.status();

  ImportReport report;
  report.skipped = static_cast<int64_t>(pairs->size() - *device_lines);
  auto refuse = [&](SigfoxId id, std::string message) {
    ++report.refused_count;
    if (report.refused.size() < limits.listed_refusals) {
      report.refused.push_back({id, std::move(message)});
    }
  };

  // --- The import, chunk by chunk in ID/PAC file order ---
  const size_t chunk_size = std::max<size_t>(limits.chunk_entries, 1);
  const crypto::Aes128 aes(encryption_key);
  factory::IdPacReader reader(id_pac_text);
  Chunk chunk;
  std::vector<Credential> accepted;
  std::vector<size_t> accepted_entry;  // index into chunk.entries of each accepted credential
  std::vector<std::pair<size_t, std::string>> refusals;  // of this chunk, by entry index
  for (bool more = true; more;) {
    chunk.Clear();
    while (chunk.entries.size() < chunk_size) {
      auto next = reader.Next();
      if (!next.ok()) return next.status().WithPrefix("ID/PAC file");
      if (!*next) {
        more = false;
        break;
      }
      const uint32_t id = (*next)->entry.id.value;
      chunk.pair_index.push_back(PairOf(*pairs, id).value());  // checked above
      chunk.ids.push_back(id);
      chunk.entries.push_back(std::move((*next)->entry));
    }
    if (chunk.entries.empty()) break;

    auto existing = store.GetCredentials(chunk.ids);
    if (!existing.ok()) return existing.status();
    accepted.clear();
    accepted_entry.clear();
    refusals.clear();
    for (size_t i = 0; i < chunk.entries.size(); ++i) {
      const factory::IdPac& e = chunk.entries[i];
      const factory::CraPair pair =
          factory::DecryptPairAt(aes, mode, id_key_file, chunk.pair_index[i]);
      if (const auto& stored = (*existing)[i]) {
        if (auto why = CompareWithStored(sealer, *stored, pair.key, e.pac)) {
          refusals.emplace_back(i, std::move(*why));
        } else {
          ++report.unchanged;
        }
        continue;
      }
      Credential c;
      c.device_id = e.id;
      c.sealed_key = sealer.Seal(pair.key, DeviceKeyAad(e.id));
      c.initial_pac = e.pac;
      c.creation_time = now;
      accepted.push_back(std::move(c));
      accepted_entry.push_back(i);
    }
    existing->clear();

    auto kept = store.InsertNewCredentials(accepted);
    if (!kept.ok()) return kept.status();
    report.imported += static_cast<int64_t>(accepted.size() - kept->size());
    if (!kept->empty()) {
      // Stored by a concurrent import since the read above: compare with what it stored.
      std::vector<uint32_t> raced;
      for (size_t k : *kept) raced.push_back(accepted[k].device_id.value);
      auto now_stored = store.GetCredentials(raced);
      if (!now_stored.ok()) return now_stored.status();
      for (size_t r = 0; r < kept->size(); ++r) {
        const size_t i = accepted_entry[(*kept)[r]];
        const factory::CraPair pair =
            factory::DecryptPairAt(aes, mode, id_key_file, chunk.pair_index[i]);
        const auto& stored = (*now_stored)[r];
        auto why = stored ? CompareWithStored(sealer, *stored, pair.key, chunk.entries[i].pac)
                          : std::optional<std::string>("stored and removed during the import");
        if (why) {
          refusals.emplace_back(i, std::move(*why));
        } else {
          ++report.unchanged;
        }
      }
      std::sort(refusals.begin(), refusals.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    for (auto& [i, message] : refusals) refuse(chunk.entries[i].id, std::move(message));
  }
  return report;
}

}  // namespace roost::registry
