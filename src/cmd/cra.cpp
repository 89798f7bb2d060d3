// roost cra decrypt|issue (and, from cra_flashing.cpp, next|journal)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <set>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "crypto/aes.h"
#include "crypto/random.h"
#include "factory/cra_file.h"
#include "factory/id_pac.h"

namespace roost::cmd {
namespace {

Key128 ParseEncryptionKey(const std::string& hex, const std::string& key_file) {
  if (!key_file.empty()) {
    std::string text = ValueOrFail(ReadWholeFile(key_file));
    Key128 key = ValueOrFail(ParseKey128(text), key_file + ": encryption");
    crypto::Cleanse(text.data(), text.size());
    return key;
  }
  if (hex.empty()) Fail("an encryption key is required (--enc-key HEX32 or --enc-key-file FILE)");
  return ValueOrFail(ParseKey128(hex), "encryption");
}

// Writes to a file only its owner can read: decrypted output holds every KEY
// of the batch. A file that was there is made 0600 before anything is written
// (open's mode applies only to a file it creates), and a symbolic link is not
// followed.
class SecretOutput {
 public:
  explicit SecretOutput(const std::string& path) : path_(path) {
    fd_ = path == "-" ? STDOUT_FILENO
                      : ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) Fail(path + ": cannot create: " + std::strerror(errno));
    struct stat st {};
    if (fd_ > STDOUT_FILENO && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      if ((st.st_mode & 077) != 0 && ::fchmod(fd_, 0600) != 0) {
        Fail(path + ": cannot make it private (chmod 600): " + std::strerror(errno));
      }
      if (::ftruncate(fd_, 0) != 0) Fail(path + ": cannot truncate: " + std::strerror(errno));
    }
  }
  ~SecretOutput() {
    if (fd_ > STDOUT_FILENO) ::close(fd_);
  }
  void Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Fail(path_ + ": write failed: " + std::strerror(errno));
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void Close() {
    if (fd_ > STDOUT_FILENO && ::close(fd_) != 0) Fail(path_ + ": write failed on close");
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_;
};

enum class DumpFormat { kDump, kPairs, kJson, kRaw };

// Appends "0041A2F0;F0862C47...\n" (pairs) or a JSON object per pair. Written
// byte by byte: this runs once per device of a possibly very large batch.
void AppendPairs(std::string& out, std::span<const uint8_t> clear, DumpFormat format,
                 bool& first_json) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  auto put_hex = [](char* p, const uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      p[2 * i] = kDigits[b[i] >> 4];
      p[2 * i + 1] = kDigits[b[i] & 15];
    }
  };
  const bool json = format == DumpFormat::kJson;
  const size_t per_pair = json ? 65 : 42;
  size_t at = out.size();
  out.resize(at + clear.size() / factory::kCraPairSize * per_pair);
  char* p = out.data() + at;
  for (size_t off = 0; off + factory::kCraPairSize <= clear.size(); off += factory::kCraPairSize) {
    const uint8_t* pair = clear.data() + off;  // ID in bytes 0-3, KEY in 16-31
    if (json) {
      std::string_view open =
          first_json ? std::string_view("\n  {\"id\": \"") : std::string_view(",\n  {\"id\": \"");
      std::memcpy(p, open.data(), open.size());
      p += open.size();
      first_json = false;
      put_hex(p, pair, 4);
      std::memcpy(p + 8, "\", \"key\": \"", 11);
      put_hex(p + 19, pair + 16, 16);
      std::memcpy(p + 51, "\"}", 2);
      p += 53;
    } else {
      put_hex(p, pair, 4);
      p[8] = ';';
      put_hex(p + 9, pair + 16, 16);
      p[41] = '\n';
      p += 42;
    }
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

void DecryptWholeFile(const Key128& key, factory::CraMode mode, const std::string& in_path,
                      const std::string& out_path, DumpFormat format) {
  int fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(in_path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) Fail(in_path + ": cannot stat: " + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  FailIfError(factory::CheckCraFileSize(size), in_path);

  Warn("writing the whole batch in clear to " + out_path +
       "; prefer `roost cra next` on the flashing bench, and delete this file after use");
  SecretOutput out(out_path);
  crypto::Aes128 aes(key);
  crypto::Block iv{};
  // Two text buffers: while one is written out on a second thread, the next
  // chunk is decrypted and formatted into the other. Buffers are reused, so at
  // most two chunks of clear text exist at once; both are wiped at the end.
  constexpr size_t kChunk = size_t{4} << 20;  // a multiple of the pair size
  std::vector<uint8_t> buf(kChunk);
  std::array<std::string, 2> text;
  for (auto& t : text) t.reserve(kChunk * 5);
  std::future<void> writing;
  size_t current = 0;
  bool first_json = true;
  if (format == DumpFormat::kJson) text[current] += "[";
  Progress progress("decrypt", size);
  uint64_t done = 0;
  while (done < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, size - done));
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::read(fd, buf.data() + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Fail(in_path + ": read failed at offset " + std::to_string(done + got));
      got += static_cast<size_t>(n);
    }
    std::span<uint8_t> chunk(buf.data(), want);
    factory::DecryptCraBlocks(aes, key, mode, chunk, iv);
    std::string& t = text[current];
    switch (format) {
      case DumpFormat::kDump:
        factory::AppendDump(t, done, chunk);
        break;
      case DumpFormat::kRaw:
        t.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        break;
      default:
        AppendPairs(t, chunk, format, first_json);
        break;
    }
    done += want;
    if (done == size && format == DumpFormat::kJson) t += first_json ? "]\n" : "\n]\n";
    if (writing.valid()) writing.get();  // rethrows a write failure
    writing = std::async(std::launch::async, [&out, &t] { out.Write(t); });
    current ^= 1;
    text[current].clear();
    progress.Update(done);
  }
  if (writing.valid()) writing.get();
  for (auto& t : text) crypto::Cleanse(t.data(), t.capacity());
  crypto::Cleanse(buf.data(), buf.size());
  ::close(fd);
  out.Close();
  progress.Finish();
}

void AddDecrypt(CLI::App* cra) {
  struct Options {
    std::string key, in, out, format = "dump", mode = "ecb", id;
    int64_t pair = -1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = cra->add_subcommand(
      "decrypt",
      "Decrypt a CRA ID/KEY file (AESd-compatible: roost cra decrypt KEY IN OUT).\n"
      "With --pair or --id, decrypt only that pair in memory and print ID;KEY.");
  cmd->add_option("KEY", o->key, "manufacturer encryption key, 32 hex digits")->required();
  cmd->add_option("IN", o->in, "encrypted ID/KEY file")->required();
  cmd->add_option("OUT", o->out, "decrypted output file ('-' for stdout)");
  auto* pair_opt = cmd->add_option("--pair", o->pair, "decrypt only pair N (0-based)");
  auto* id_opt = cmd->add_option("--id", o->id, "decrypt only the pair of this device ID (hex)");
  pair_opt->excludes(id_opt);
  cmd->add_option("--format", o->format,
                  "output layout of a whole-file decrypt: dump (AESd), pairs (ID;KEY lines),\n"
                  "json, raw (the decrypted blocks, as openssl enc -d -nopad writes them)")
      ->check(CLI::IsMember({"dump", "pairs", "json", "raw"}))
      ->capture_default_str();
  cmd->add_option("--mode", o->mode, "block chaining of the file")
      ->check(CLI::IsMember({"ecb", "cbc"}))
      ->capture_default_str();
  cmd->callback([o, pair_opt, id_opt] {
    Key128 key = ValueOrFail(ParseKey128(o->key), "encryption");
    factory::CraMode mode = ValueOrFail(factory::ParseCraMode(o->mode));
    if (pair_opt->count() > 0 || id_opt->count() > 0) {
      if (!o->out.empty()) Fail("OUT is not used with --pair/--id: the pair is printed on stdout");
      auto reader = ValueOrFail(factory::CraFileReader::Open(o->in, key, mode));
      uint64_t index = 0;
      if (pair_opt->count() > 0) {
        if (o->pair < 0) Fail("--pair must be 0 or more, got " + std::to_string(o->pair));
        index = static_cast<uint64_t>(o->pair);
      } else {
        SigfoxId id = ValueOrFail(ParseSigfoxId(o->id), "--id");
        index = ValueOrFail(reader->FindId(id));
      }
      factory::CraPair pair = ValueOrFail(reader->ReadPair(index));
      std::string line = pair.id.ToFile() + ";" + ToHexUpper(pair.key) + "\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
      crypto::Cleanse(line.data(), line.size());
      return;
    }
    if (o->out.empty()) Fail("OUT is required to decrypt the whole file (or use --pair/--id)");
    DumpFormat format = o->format == "pairs"  ? DumpFormat::kPairs
                        : o->format == "json" ? DumpFormat::kJson
                        : o->format == "raw"  ? DumpFormat::kRaw
                                              : DumpFormat::kDump;
    DecryptWholeFile(key, mode, o->in, o->out, format);
  });
}

void AddIssue(CLI::App* cra) {
  struct Options {
    uint64_t count = 0;
    std::string first_id, enc_key, enc_key_file, out_dir, mode = "ecb";
    bool random_ids = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = cra->add_subcommand(
      "issue",
      "Issue a batch of credentials as the CRA would: random KEYs and PACs, written as\n"
      "id_key_encrypted.bin and id_pac.txt in --out-dir. Never overwrites existing files.");
  cmd->add_option("--count", o->count, "number of devices")
      ->required()
      ->check(CLI::Range(1, 16777216));
  auto* first = cmd->add_option("--first-id", o->first_id, "first device ID (hex); IDs count up");
  auto* random = cmd->add_flag("--random-ids", o->random_ids, "unique random device IDs instead");
  first->excludes(random);
  auto* key_opt = cmd->add_option("--enc-key", o->enc_key, "encryption key, 32 hex digits");
  auto* key_file_opt = cmd->add_option("--enc-key-file", o->enc_key_file, "file holding the key");
  key_opt->excludes(key_file_opt);
  cmd->add_option("--out-dir", o->out_dir, "output directory (created if missing)")->required();
  cmd->add_option("--mode", o->mode, "block chaining of the file")
      ->check(CLI::IsMember({"ecb", "cbc"}))
      ->capture_default_str();
  cmd->callback([o] {
    if (o->first_id.empty() && !o->random_ids) Fail("give --first-id HEX or --random-ids");
    Key128 key = ParseEncryptionKey(o->enc_key, o->enc_key_file);
    factory::CraMode mode = ValueOrFail(factory::ParseCraMode(o->mode));

    std::vector<SigfoxId> ids;
    ids.reserve(o->count);
    if (!o->random_ids) {
      SigfoxId first_id = ValueOrFail(ParseSigfoxId(o->first_id), "--first-id");
      if (uint64_t{first_id.value} + o->count - 1 > 0xFFFFFFFFu) {
        Fail("--first-id " + first_id.ToFile() + " + --count " + std::to_string(o->count) +
             " runs past the last device ID FFFFFFFF");
      }
      for (uint64_t i = 0; i < o->count; ++i) {
        ids.push_back(SigfoxId{static_cast<uint32_t>(first_id.value + i)});
      }
    } else {
      std::set<uint32_t> seen;
      while (ids.size() < o->count) {
        auto v = static_cast<uint32_t>(crypto::RandomBelow(uint64_t{1} << 32));
        if (seen.insert(v).second) ids.push_back(SigfoxId{v});
      }
    }

    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(o->out_dir, ec);
    if (ec) Fail(o->out_dir + ": cannot create directory: " + ec.message());
    const std::string bin_path = (fs::path(o->out_dir) / "id_key_encrypted.bin").string();
    const std::string pac_path = (fs::path(o->out_dir) / "id_pac.txt").string();
    for (const auto& p : {bin_path, pac_path}) {
      if (fs::exists(p)) Fail(p + ": already exists; refusing to overwrite");
    }

    std::vector<uint8_t> encrypted(o->count * factory::kCraPairSize);
    std::string id_pac;
    id_pac.reserve(o->count * 26);
    Progress progress("issue", o->count);
    for (uint64_t i = 0; i < o->count; ++i) {
      factory::CraPair pair;
      pair.id = ids[i];
      crypto::RandomBytes(pair.key);
      factory::EncodePair(pair,
                          std::span<uint8_t, factory::kCraPairSize>(
                              encrypted.data() + i * factory::kCraPairSize, factory::kCraPairSize));
      std::array<uint8_t, 8> pac{};
      crypto::RandomBytes(pac);
      id_pac += factory::FormatIdPacLine(factory::IdPac{pair.id, ToHexUpper(pac)});
      progress.Update(i + 1);
    }
    crypto::Aes128 aes(key);
    crypto::Block iv{};
    factory::EncryptCraBlocks(aes, key, mode, encrypted, iv);
    FailIfError(WriteWholeFile(
        bin_path,
        std::string_view(reinterpret_cast<const char*>(encrypted.data()), encrypted.size()),
        /*overwrite=*/false));
    FailIfError(WriteWholeFile(pac_path, id_pac, /*overwrite=*/false, /*mode=*/0600));
    progress.Finish();
    std::cerr << "roost: issued " << o->count << " devices: " << bin_path << ", " << pac_path
              << "\n";
  });
}

}  // namespace

void AddCraCommands(CLI::App& app) {
  auto* cra = app.add_subcommand("cra", "Sigfox CRA credential files");
  cra->require_subcommand(1);
  AddDecrypt(cra);
  AddIssue(cra);
  AddCraFlashingCommands(cra);
}

}  // namespace roost::cmd
