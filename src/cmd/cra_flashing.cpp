// roost cra next|journal: the flashing bench (see factory/flashing_journal.h).
//
// `roost cra next` reserves the next pair never handed out (a `reserved`
// record, fsync'd, under an exclusive lock), decrypts only that pair and gives
// it to the flasher:
// - with --exec CMD: runs /bin/sh -c CMD with ROOST_ID, ROOST_KEY, ROOST_PAC
//   (with --id-pac) and ROOST_SERIAL (with --serial) in its environment; exit
//   status 0 records `flashed`, anything else (or a signal) `failed`.
// - without --exec: prints "ID;KEY[;PAC]" on stdout. The outcome is unknown, so
//   the pair stays pending until `roost cra journal --mark ID flashed|failed`.
// Exit status: 0 handed out (and flashed, with --exec), 1 error, 2 every pair
// of the file is used, 3 the flasher failed (recorded as failed).
//
// `roost cra journal` reports used/remaining pairs, lists pending ones, records
// an outcome by hand, and exports the ID/PAC list of the flashed devices.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "crypto/aes.h"
#include "factory/cra_file.h"
#include "factory/flashing_journal.h"
#include "factory/id_pac.h"

extern char** environ;

namespace roost::cmd {
namespace {

constexpr int kExitExhausted = 2;
constexpr int kExitFlasherFailed = 3;

Key128 FlashingEncryptionKey(const std::string& hex, const std::string& key_file) {
  if (!key_file.empty()) {
    std::string text = ValueOrFail(ReadWholeFile(key_file));
    auto key = ParseKey128(text);
    crypto::Cleanse(text.data(), text.size());
    return ValueOrFail(std::move(key), key_file + ": encryption");
  }
  if (hex.empty()) Fail("an encryption key is required (--enc-key HEX32 or --enc-key-file FILE)");
  return ValueOrFail(ParseKey128(hex), "--enc-key");
}

std::map<uint32_t, std::string> LoadPacs(const std::string& path) {
  std::string text = ValueOrFail(ReadWholeFile(path));
  std::map<uint32_t, std::string> out;
  for (auto& e : ValueOrFail(factory::ParseIdPacFile(text), path)) out[e.id.value] = e.pac;
  return out;
}

// Runs `/bin/sh -c command` with `extra` added to (and replacing) the
// environment; returns the wait status. Like system(3), SIGINT and SIGQUIT are
// ignored while the flasher runs, so a Ctrl-C stops the flasher and its
// outcome is still recorded.
int RunFlasher(const std::string& command, std::vector<std::string>& extra) {
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var(*e);
    bool replaced = false;
    for (const std::string& x : extra) {
      size_t eq = x.find('=');
      if (var.substr(0, eq + 1) == std::string_view(x).substr(0, eq + 1)) replaced = true;
    }
    if (!replaced) envp.push_back(*e);
  }
  for (std::string& x : extra) envp.push_back(x.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    ::execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  int status = 0;
  int fork_errno = errno;
  if (pid > 0) {
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        status = -1;
        break;
      }
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  if (pid < 0) {
    errno = fork_errno;
    return -1;
  }
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (status == -1) return "could not be started";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

void WriteStdout(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(std::string("cannot write to stdout: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void AddNext(CLI::App* cra) {
  struct Options {
    std::string enc_key, enc_key_file, journal, in, id_pac, exec, mode = "ecb", serial;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = cra->add_subcommand(
      "next",
      "Hand the next pair never handed out to the flasher, decrypting only that pair.\n"
      "The journal records it as reserved (fsync'd) before it leaves; with --exec the\n"
      "flasher's exit status records flashed/failed. Without --exec it prints ID;KEY[;PAC]\n"
      "and the pair stays pending until `roost cra journal --mark ID flashed|failed`.\n"
      "Exit status: 0 ok, 1 error, 2 all pairs used, 3 flasher failed.");
  auto* key_opt = cmd->add_option("--enc-key", o->enc_key, "encryption key, 32 hex digits");
  auto* key_file_opt = cmd->add_option("--enc-key-file", o->enc_key_file, "file holding the key");
  key_opt->excludes(key_file_opt);
  cmd->add_option("--journal", o->journal, "bench journal (created on first use)")->required();
  cmd->add_option("IN", o->in, "encrypted ID/KEY file")->required();
  cmd->add_option("--id-pac", o->id_pac, "ID/PAC file: the PAC is handed out too");
  cmd->add_option("--exec", o->exec,
                  "flasher command, run by /bin/sh -c with ROOST_ID, ROOST_KEY, ROOST_PAC and "
                  "ROOST_SERIAL in its environment");
  cmd->add_option("--mode", o->mode, "block chaining of the file")
      ->check(CLI::IsMember({"ecb", "cbc"}))
      ->capture_default_str();
  cmd->add_option("--serial", o->serial, "serial number of the device being flashed (with --exec)");
  cmd->callback([o] {
    Key128 key = FlashingEncryptionKey(o->enc_key, o->enc_key_file);
    factory::CraMode mode = ValueOrFail(factory::ParseCraMode(o->mode));
    if (!o->serial.empty()) {
      FailIfError(factory::CheckSerial(o->serial), "--serial");
      if (o->exec.empty()) {
        Fail(
            "--serial is recorded with the outcome: use it with --exec, or later with "
            "`roost cra journal --mark ID flashed --serial SN`");
      }
    }
    std::optional<std::map<uint32_t, std::string>> pacs;
    if (!o->id_pac.empty()) pacs = LoadPacs(o->id_pac);
    auto reader = ValueOrFail(factory::CraFileReader::Open(o->in, key, mode));
    crypto::Cleanse(key.data(), key.size());
    factory::JournalBinding binding = ValueOrFail(factory::BindingOfCraFile(o->in, mode));
    auto journal = ValueOrFail(factory::FlashingJournal::OpenOrCreate(o->journal, binding),
                               "cannot use it with " + o->in);

    std::optional<factory::CraPair> pair;
    std::string pac;
    auto reserved = journal->Reserve(
        [&](uint64_t index) -> Result<SigfoxId> {
          auto p = reader->ReadPair(index);
          if (!p.ok()) return p.status();
          if (pacs) {
            auto it = pacs->find(p->id.value);
            if (it == pacs->end()) {
              return Status::InvalidInput(o->id_pac + ": no PAC for device " + p->id.ToFile() +
                                          " (pair " + std::to_string(index) +
                                          "); nothing was reserved");
            }
            pac = it->second;
          }
          pair = *p;
          return p->id;
        },
        factory::NowEpochMs());
    if (reserved.status().code() == Status::Code::kNotFound) {
      // Every pair is used.
      Fail(o->in + ": " + reserved.status().message() + " according to journal " + o->journal,
           kExitExhausted);
    }
    FailIfError(reserved.status());
    const std::string id = pair->id.ToFile();
    std::string key_hex = ToHexUpper(pair->key);

    if (o->exec.empty()) {
      std::string line = id + ";" + key_hex + (pacs ? ";" + pac : "") + "\n";
      crypto::Cleanse(key_hex.data(), key_hex.size());
      WriteStdout(line);
      crypto::Cleanse(line.data(), line.size());
      std::cerr << "roost: " << id << " (pair " << reserved->index
                << ") handed out; it stays pending until `roost cra journal --journal "
                << o->journal << " --mark " << id << " flashed|failed`\n";
      return;
    }

    std::vector<std::string> env = {"ROOST_ID=" + id, "ROOST_KEY=" + key_hex};
    crypto::Cleanse(key_hex.data(), key_hex.size());
    if (pacs) env.push_back("ROOST_PAC=" + pac);
    if (!o->serial.empty()) env.push_back("ROOST_SERIAL=" + o->serial);
    int status = RunFlasher(o->exec, env);
    for (std::string& e : env) crypto::Cleanse(e.data(), e.size());
    bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    auto outcome = ok ? factory::PairOutcome::kFlashed : factory::PairOutcome::kFailed;
    Status recorded = journal->RecordOutcome(reserved->index, pair->id, outcome, o->serial,
                                             factory::NowEpochMs());
    if (!recorded.ok()) {
      Fail("the flasher " + std::string(ok ? "succeeded" : "failed") + " for " + id +
           " but the outcome could not be recorded; the pair stays pending: " + recorded.message());
    }
    if (!ok) {
      Fail("flasher failed for " + id + " (" + DescribeWaitStatus(status) + "); recorded as failed",
           kExitFlasherFailed);
    }
    std::cerr << "roost: " << id << " (pair " << reserved->index << ") flashed\n";
  });
}

void AddJournal(CLI::App* cra) {
  struct Options {
    std::string journal, export_id_pac, id_pac, serial;
    std::vector<std::string> mark;
    bool pending = false, force = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = cra->add_subcommand(
      "journal",
      "Report a bench journal: used/remaining pairs (flashed, failed, pending), the pending\n"
      "pairs (--pending), record an outcome (--mark ID flashed|failed), or export the ID/PAC\n"
      "list of the flashed devices (--export-id-pac OUT --id-pac IDPAC).");
  cmd->add_option("--journal", o->journal, "bench journal")->required();
  cmd->add_flag("--pending", o->pending, "list the pending pairs (outcome unknown)");
  auto* exp = cmd->add_option("--export-id-pac", o->export_id_pac,
                              "write the ID/PAC list of the flashed devices to this file");
  auto* idpac = cmd->add_option("--id-pac", o->id_pac, "the batch's ID/PAC file");
  exp->needs(idpac);
  auto* mark = cmd->add_option("--mark", o->mark, "record the outcome of a handed-out pair")
                   ->expected(2)
                   ->type_name("ID flashed|failed");
  auto* serial = cmd->add_option("--serial", o->serial, "serial number recorded with --mark");
  auto* force =
      cmd->add_flag("--force", o->force, "with --mark: correct an outcome already recorded");
  serial->needs(mark);
  force->needs(mark);
  cmd->callback([o] {
    auto journal = ValueOrFail(factory::FlashingJournal::Open(o->journal));
    if (!o->mark.empty()) {
      SigfoxId id = ValueOrFail(ParseSigfoxId(o->mark[0]), "--mark");
      const std::string& what = o->mark[1];
      if (what != "flashed" && what != "failed") {
        Fail("--mark: outcome must be 'flashed' or 'failed', got '" + what + "'");
      }
      if (!o->serial.empty()) FailIfError(factory::CheckSerial(o->serial), "--serial");
      auto state = ValueOrFail(journal->Read());
      const factory::PairState* p = state.FindId(id);
      if (p == nullptr) Fail(o->journal + ": device " + id.ToFile() + " was never handed out");
      Status s = journal->RecordOutcome(
          p->index, id,
          what == "flashed" ? factory::PairOutcome::kFlashed : factory::PairOutcome::kFailed,
          o->serial, factory::NowEpochMs(), /*only_if_pending=*/!o->force);
      if (s.code() == Status::Code::kAlreadyExists) {
        Fail(o->journal + ": " + s.message() + "; add --force to correct it");
      }
      FailIfError(s);
      std::cerr << "roost: " << id.ToFile() << " recorded as " << what << "\n";
    }

    factory::JournalState state = ValueOrFail(journal->Read());
    if (state.torn_tail) {
      Warn(o->journal + ": the last line is incomplete (an interrupted write) and is ignored" +
           std::string(state.torn_may_reserve && state.remaining() > 0
                           ? "; the next `roost cra next` withdraws pair " +
                                 std::to_string(state.used()) + " to be safe"
                           : ""));
    }
    bool acted = !o->mark.empty();
    if (o->pending) {
      acted = true;
      std::string out;
      for (const auto& p : state.pairs) {
        if (p.outcome != factory::PairOutcome::kPending) continue;
        out += p.id->ToFile() + " pair=" + std::to_string(p.index) +
               " reserved_ms=" + std::to_string(p.reserved_ms) + "\n";
      }
      WriteStdout(out);
    }
    if (!o->export_id_pac.empty()) {
      acted = true;
      auto pacs = LoadPacs(o->id_pac);
      std::string out;
      uint64_t n = 0;
      for (const auto& p : state.pairs) {
        if (p.outcome != factory::PairOutcome::kFlashed) continue;
        auto it = pacs.find(p.id->value);
        if (it == pacs.end()) {
          Fail(o->id_pac + ": no PAC for flashed device " + p.id->ToFile() + "; nothing exported");
        }
        out += factory::FormatIdPacLine(factory::IdPac{*p.id, it->second});
        ++n;
      }
      FailIfError(WriteWholeFile(o->export_id_pac, out, /*overwrite=*/true, /*mode=*/0600));
      std::cerr << "roost: exported " << n << " flashed devices to " << o->export_id_pac << "\n";
    }
    if (acted) return;
    using factory::PairOutcome;
    std::string report =
        "journal: " + o->journal + "\n" + "pairs: " + std::to_string(state.binding.pairs) +
        "\nused: " + std::to_string(state.used()) +
        "\nremaining: " + std::to_string(state.remaining()) +
        "\nflashed: " + std::to_string(state.Count(PairOutcome::kFlashed)) +
        "\nfailed: " + std::to_string(state.Count(PairOutcome::kFailed)) +
        "\npending: " + std::to_string(state.Count(PairOutcome::kPending)) +
        "\nwithdrawn: " + std::to_string(state.Count(PairOutcome::kWithdrawn)) + "\n";
    WriteStdout(report);
  });
}

}  // namespace

void AddCraFlashingCommands(CLI::App* cra) {
  AddNext(cra);
  AddJournal(cra);
}

}  // namespace roost::cmd
