// roost credentials import: the factory's ID/KEY and ID/PAC files into the store.
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "api/json/credential_json.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/mapped_file.h"
#include "crypto/aes.h"
#include "crypto/seal.h"
#include "registry/credentials.h"
#include "storage/store.h"

namespace roost::cmd {
namespace {

Key128 ReadEncryptionKey(const std::string& hex, const std::string& key_file) {
  if (!key_file.empty()) {
    std::string text = ValueOrFail(ReadWholeFile(key_file));
    auto key = ParseKey128(text);
    crypto::Cleanse(text.data(), text.size());
    return ValueOrFail(std::move(key), key_file + ": encryption");
  }
  if (hex.empty()) Fail("an encryption key is required (--enc-key HEX32 or --enc-key-file FILE)");
  return ValueOrFail(ParseKey128(hex), "encryption");
}

}  // namespace

void AddCredentialsCommands(CLI::App& app) {
  auto* group = app.add_subcommand("credentials", "Device credentials (KEY and initial PAC)");
  group->require_subcommand(1);
  struct Options {
    std::string enc_key, enc_key_file, id_key, id_pac, mode = "ecb";
    std::string data_dir = "roost-data", database, master_key_file;
  };
  auto o = std::make_shared<Options>();
  auto* import = group->add_subcommand(
      "import",
      "Import a CRA ID/KEY file and its ID/PAC file: KEYs are stored sealed with the master key; "
      "prints {\"imported\", \"unchanged\", \"skipped\", \"refusedCount\", \"refused\": "
      "[{\"id\", \"message\"}]} (the first 1000 refused IDs listed)");
  auto* key_opt = import->add_option("--enc-key", o->enc_key, "encryption key, 32 hex digits");
  auto* key_file_opt =
      import->add_option("--enc-key-file", o->enc_key_file, "file holding the encryption key");
  key_opt->excludes(key_file_opt);
  import->add_option("--id-key", o->id_key, "the encrypted ID/KEY file")->required();
  import->add_option("--id-pac", o->id_pac, "the ID/PAC file")->required();
  import->add_option("--mode", o->mode, "block chaining of the ID/KEY file: ecb or cbc")
      ->capture_default_str();
  auto* dir = import->add_option("--data-dir", o->data_dir, "data directory of an SQLite store")
                  ->capture_default_str();
  auto* db = import->add_option("--database", o->database, "postgresql://... URL");
  dir->excludes(db);
  import->add_option("--master-key-file", o->master_key_file,
                     "master key sealing the KEYs (default: <data-dir>/master.key)");
  import->callback([o] {
    auto mode = ValueOrFail(factory::ParseCraMode(o->mode), "--mode");
  // Mapped, not read: a batch of a million devices is 58 MB that the import reads in place.
  MappedFile id_key = ValueOrFail(MappedFile::Open(o->id_key));
  MappedFile id_pac = ValueOrFail(MappedFile::Open(o->id_pac));

  std::string key_path = o->master_key_file;
  if (key_path.empty()) {
    key_path = o->data_dir + "/master.key";
    std::FILE* f = std::fopen(key_path.c_str(), "rb");
    if (f == nullptr) {
      Fail(key_path +
           ": no master key: start `roost serve` once to create it, or give --master-key-file");
    }
    std::fclose(f);
  }
  crypto::MasterKey master = ValueOrFail(crypto::ReadMasterKeyFile(key_path));
  auto sealer = crypto::Sealer::FromKey(master);
  crypto::Cleanse(master.data(), master.size());
  FailIfError(sealer.status(), key_path);

  auto store =
      ValueOrFail(storage::OpenStore(o->database.empty() ? o->data_dir : o->database), "database");
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  // Read last: no failure above leaves it in memory.
  Key128 enc_key = ReadEncryptionKey(o->enc_key, o->enc_key_file);
  auto report = registry::ImportCredentials(*store, *sealer, enc_key, id_key.bytes(), id_pac.view(),
                                            mode, now);
  crypto::Cleanse(enc_key.data(), enc_key.size());
  if (!report.ok()) {
    std::string message = report.status().message();
    // Name the file the whole-file error is about.
    if (message.rfind("ID/KEY file: ", 0) == 0) {
      message = o->id_key + ": " + message.substr(13);
    } else if (message.rfind("ID/PAC file: ", 0) == 0) {
      message = o->id_pac + ": " + message.substr(13);
    }
    Fail(message);
  }
  nlohmann::json out = api::ImportReportJson(*report);
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
});
}  // namespace roost::cmd

}  // namespace roost::cmd
