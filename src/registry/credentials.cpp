#include "registry/credentials.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "core/text.h"
#include "crypto/aes.h"
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

// The 1-based line of the ID/PAC file whose first field is `id` (the parser has
// already accepted the file, so exactly one such line exists); 0 if not found.
size_t LineOfId(std::string_view text, SigfoxId id) {
  size_t line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line;
    std::string_view l = TrimSpace(text.substr(pos, end - pos));
    if (!l.empty() && l.front() != '#') {
      size_t sep = l.find_first_of(";, \t");
      auto parsed = ParseSigfoxId(l.substr(0, sep));
      if (parsed.ok() && *parsed == id) return line;
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  return 0;
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

Result<ImportReport> ImportCredentials(storage::Store& store, const crypto::Sealer& sealer,
                                       const Key128& encryption_key,
                                       std::span<const uint8_t> id_key_file,
                                       std::string_view id_pac_text, factory::CraMode mode,
                                       EpochMillis now) {
  // --- The ID/KEY file, decrypted in memory ---
  ROOST_RETURN_IF_ERROR(factory::CheckCraFileSize(id_key_file.size()).WithPrefix("ID/KEY file"));
  if (id_key_file.empty()) return Status::InvalidInput("ID/KEY file: empty");
  const size_t pair_count = id_key_file.size() / factory::kCraPairSize;
  if (pair_count > kMaxImportPairs) {
    return Status::InvalidInput("ID/KEY file: " + std::to_string(pair_count) +
                                " pairs, more than the limit of " +
                                std::to_string(kMaxImportPairs));
  }
  std::vector<uint8_t> clear(id_key_file.begin(), id_key_file.end());
  WipeGuard wipe_clear(clear.data(), clear.size());
  {
    crypto::Aes128 aes(encryption_key);
    crypto::Block iv{};
    factory::DecryptCraBlocks(aes, encryption_key, mode, clear, iv);
  }
  std::vector<factory::CraPair> pairs;  // each wipes its KEY
  pairs.reserve(pair_count);
  std::unordered_map<uint32_t, size_t> index_of;
  index_of.reserve(pair_count);
  for (size_t i = 0; i < pair_count; ++i) {
    std::span<const uint8_t, factory::kCraPairSize> block(clear.data() + i * factory::kCraPairSize,
                                                          factory::kCraPairSize);
    pairs.push_back(factory::DecodePair(block));
    auto [it, inserted] = index_of.emplace(pairs.back().id.value, i);
    if (!inserted) {
      return Status::InvalidInput(
          "ID/KEY file: offset " + HexOffset(i * factory::kCraPairSize) + ": device ID " +
          pairs.back().id.ToFile() + " repeated (first at offset " +
          HexOffset(it->second * factory::kCraPairSize) + "); wrong encryption key or mode?");
    }
  }

  // --- The ID/PAC file ---
  auto parsed = factory::ParseIdPacFile(id_pac_text);
  if (!parsed.ok()) return parsed.status().WithPrefix("ID/PAC file");
  const std::vector<factory::IdPac>& entries = *parsed;
  if (entries.empty()) return Status::InvalidInput("ID/PAC file: no device line");
  std::vector<uint32_t> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) {
    if (!index_of.contains(e.id.value)) {
      return Status::InvalidInput(
          "ID/PAC file: line " + std::to_string(LineOfId(id_pac_text, e.id)) + ": device ID " +
          e.id.ToFile() + " is not in the ID/KEY file (wrong encryption key or mode?)");
    }
    ids.push_back(e.id.value);
  }

  // --- Compare with what is stored, seal the new ones ---
  auto existing = store.GetCredentials(ids);
  if (!existing.ok()) return existing.status();
  ImportReport report;
  report.skipped = static_cast<int64_t>(pairs.size() - entries.size());
  std::vector<Credential> accepted;
  accepted.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const factory::IdPac& e = entries[i];
    const factory::CraPair& pair = pairs[index_of.at(e.id.value)];
    if (const auto& stored = (*existing)[i]) {
      auto key = OpenDeviceKey(sealer, *stored);
      if (!key.ok()) {
        report.refused.push_back({e.id, key.status().message()});
        continue;
      }
      Key128 stored_key = *key;
      WipeGuard wipe_key(stored_key.data(), stored_key.size());
      if (stored_key != pair.key) {
        report.refused.push_back({e.id, "already imported with a different KEY"});
      } else if (stored->initial_pac != e.pac) {
        report.refused.push_back({e.id, "already imported with a different PAC"});
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
  }
  if (!accepted.empty()) ROOST_RETURN_IF_ERROR(store.UpsertCredentials(accepted));
  report.imported = static_cast<int64_t>(accepted.size());
  return report;
}

}  // namespace roost::registry
