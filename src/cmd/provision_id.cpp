// roost pid hash|verify-code|generate|request|report: Provision IDs (the subcommand is "pid");
// roost pid import|devices|keys|export: the Provision ID registry, on the store directly.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "crypto/aes.h"
#include "crypto/seal.h"
#include "factory/provision_csv.h"
#include "observe/log.h"
#include "provisioning/provision_id.h"
#include "registry/provisioning.h"
#include "storage/store.h"

#include <nlohmann/json.hpp>

namespace roost::cmd {
namespace {

constexpr uint64_t kMaxDevices = 10'000'000;  // per request file or generate run
constexpr size_t kMaxErrorsShown = 50;
constexpr uint64_t kProgressThreshold = 10'000;  // items before a progress bar is worth it

std::string LineError(const std::string& file, size_t line, const std::string& message) {
  return file + ": line " + std::to_string(line) + ": " + message;
}

std::string CheckedText(const std::string& what, const std::string& value) {
  std::string_view v = TrimSpace(value);
  if (v.empty()) Fail(what + ": must not be empty");
  if (HasControl(v)) Fail(what + ": contains a control character");
  return std::string(v);
}

// Lines of a text file with their 1-based numbers: CRLF accepted, surrounding
// whitespace trimmed, blank lines and '#' comments skipped.
std::vector<std::pair<size_t, std::string>> ListLines(std::string_view text) {
  std::vector<std::pair<size_t, std::string>> out;
  size_t line_no = 0;
  size_t pos = 0;
  if (text.starts_with("\xEF\xBB\xBF")) pos = 3;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = TrimSpace(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    out.emplace_back(line_no, std::string(line));
  }
  return out;
}

// "S000000..S000999": a common prefix and an inclusive, zero-padded number range.
std::vector<std::string> ExpandSerialRange(const std::string& spec) {
  const std::string ctx = "--serials '" + spec + "'";
  size_t dots = spec.find("..");
  if (dots == std::string::npos || spec.find("..", dots + 2) != std::string::npos) {
    Fail(ctx + ": expected FIRST..LAST, like S000000..S000999");
  }
  std::string first(TrimSpace(std::string_view(spec).substr(0, dots)));
  std::string last(TrimSpace(std::string_view(spec).substr(dots + 2)));
  auto split = [&](const std::string& s, const char* which) {
    size_t digits_at = s.size();
    while (digits_at > 0 && s[digits_at - 1] >= '0' && s[digits_at - 1] <= '9') --digits_at;
    if (digits_at == s.size()) {
      Fail(ctx + ": the " + which + " serial '" + s + "' does not end in a number");
    }
    if (s.size() - digits_at > 18) {
      Fail(ctx + ": the " + which + " serial '" + s + "' has more than 18 digits");
    }
    return std::make_pair(s.substr(0, digits_at), s.substr(digits_at));
  };
  auto [prefix, from] = split(first, "first");
  auto [prefix2, to] = split(last, "last");
  if (prefix != prefix2) {
    Fail(ctx + ": the two ends have different prefixes ('" + prefix + "' and '" + prefix2 + "')");
  }
  if (from.size() != to.size()) {
    Fail(ctx + ": the two numbers have different widths (" + std::to_string(from.size()) + " and " +
         std::to_string(to.size()) + " digits)");
  }
  if (HasControl(prefix)) Fail(ctx + ": the prefix contains a control character");
  uint64_t a = std::stoull(from);
  uint64_t b = std::stoull(to);
  if (a > b) Fail(ctx + ": the first serial comes after the last");
  if (b - a >= kMaxDevices) {
    Fail(ctx + ": " + std::to_string(b - a + 1) + " serials; at most " +
         std::to_string(kMaxDevices) + " per request");
  }
  std::vector<std::string> serials;
  serials.reserve(b - a + 1);
  const int width = static_cast<int>(from.size());
  char buf[32];
  for (uint64_t n = a; n <= b; ++n) {
    std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(n));
    serials.push_back(prefix + buf);
  }
  return serials;
}

std::vector<std::string> ReadSerialFile(const std::string& path) {
  std::string text = ValueOrFail(ReadWholeFile(path));
  std::vector<std::string> serials;
  std::unordered_map<std::string, size_t> line_of;
  for (auto& [line, serial] : ListLines(text)) {
    if (HasControl(serial)) Fail(LineError(path, line, "serial contains a control character"));
    auto [it, inserted] = line_of.emplace(serial, line);
    if (!inserted) {
      Fail(LineError(path, line,
                     "serial '" + serial + "' already on line " + std::to_string(it->second)));
    }
    serials.push_back(std::move(serial));
  }
  if (serials.empty()) Fail(path + ": no serial numbers in the file");
  if (serials.size() > kMaxDevices) {
    Fail(path + ": " + std::to_string(serials.size()) + " serials; at most " +
         std::to_string(kMaxDevices) + " per request");
  }
  return serials;
}

std::vector<Eui64> ReadMacFile(const std::string& path) {
  std::string text = ValueOrFail(ReadWholeFile(path));
  std::vector<Eui64> euis;
  std::unordered_map<uint64_t, size_t> line_of;
  for (const auto& [line, mac_text] : ListLines(text)) {
    auto mac = ParseMac48(mac_text);
    if (!mac.ok()) Fail(LineError(path, line, mac.status().message()));
    Eui64 eui = EuiFromMac(*mac);
    auto [it, inserted] = line_of.emplace(eui.ToU64(), line);
    if (!inserted) {
      Fail(LineError(
          path, line,
          "MAC address '" + mac_text + "' already on line " + std::to_string(it->second)));
    }
    euis.push_back(eui);
  }
  return euis;
}

// Writes `data` to `path` ("-" is stdout) atomically.
void WriteOutput(const std::string& path, const std::string& data, bool force) {
  if (path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    return;
  }
  Status st = WriteWholeFile(path, data, force, /*mode=*/0600);  // may hold keys
  if (st.code() == Status::Code::kAlreadyExists) Fail(st.message() + " (--force replaces it)");
  FailIfError(st);
}

// Fails with every parse error, each on its own line naming the file.
void FailOnCsvErrors(const std::string& path, const factory::ProvisionCsvParse& parse) {
  if (parse.ok()) return;
  const auto& errors = parse.errors;
  if (errors.size() == 1) Fail(LineError(path, errors[0].line, errors[0].message));
  for (size_t i = 0; i < errors.size() && i < kMaxErrorsShown; ++i) {
    std::fprintf(stderr, "roost: %s\n", LineError(path, errors[i].line, errors[i].message).c_str());
  }
  std::string more = errors.size() > kMaxErrorsShown
                         ? " (first " + std::to_string(kMaxErrorsShown) + " shown)"
                         : "";
  Fail(path + ": " + std::to_string(errors.size()) + " errors" + more + "; nothing written");
}

void AddHash(CLI::App& pid) {
  auto* cmd = pid.add_subcommand("hash", "Print SHA256(PID + suffix) in lowercase hex");
  auto id = std::make_shared<std::string>();
  auto suffix = std::make_shared<std::string>(provisioning::kDefaultHashSuffix);
  cmd->add_option("PID", *id, "Provision ID: 20 Base32 characters, any case")->required();
  cmd->add_option("--hash-suffix", *suffix, "Text appended before hashing")->capture_default_str();
  cmd->callback([id, suffix] {
    std::string canonical = ValueOrFail(ParseProvisionId(*id));
    std::cout << ToHex(provisioning::ProvisionIdHash(canonical, *suffix)) << "\n";
  });
}

void AddVerifyCode(CLI::App& pid) {
  auto* cmd = pid.add_subcommand(
      "verify-code", "Print AES-CMAC(fixedKey, PID || nonce), all 16 bytes in lowercase hex");
  auto id = std::make_shared<std::string>();
  auto nonce = std::make_shared<std::string>();
  cmd->add_option("PID", *id, "Provision ID: 20 Base32 characters, any case")->required();
  cmd->add_option("NONCEHEX", *nonce, "The 4-byte nonce as 8 hex digits")->required();
  cmd->callback([id, nonce] {
    std::string canonical = ValueOrFail(ParseProvisionId(*id));
    std::string_view hex = TrimSpace(*nonce);
    if (hex.size() != 2 * sizeof(provisioning::Nonce)) {
      Fail("nonce '" + std::string(hex) + "': expected 8 hex digits (4 bytes), got " +
           std::to_string(hex.size()));
    }
    provisioning::Nonce bytes{};
    FailIfError(FromHexInto(hex, bytes), "nonce '" + std::string(hex) + "'");
    std::cout << ToHex(provisioning::ComputeVerifyCode(canonical, bytes)) << "\n";
  });
}

void AddGenerate(CLI::App& pid) {
  auto* cmd = pid.add_subcommand("generate",
                                 "Print N distinct random Provision IDs (CSPRNG), one per line");
  auto count = std::make_shared<uint64_t>(0);
  cmd->add_option("--count,-n", *count, "How many")
      ->required()
      ->check(CLI::Range(uint64_t{1}, kMaxDevices));
  cmd->callback([count] {
    const bool show = *count >= kProgressThreshold;
    Progress progress("generate", *count);
    std::unordered_set<std::string> seen;
    seen.reserve(*count);
    std::string out;
    out.reserve(*count * (kProvisionIdLength + 1));
    while (seen.size() < *count) {
      constexpr uint64_t kChunk = 65536;
      for (std::string& id : factory::RandomProvisionIds(std::min(kChunk, *count - seen.size()))) {
        if (!seen.insert(id).second) continue;  // unique within the run
        out += id;
        out += '\n';
      }
      if (show) progress.Update(seen.size());
    }
    if (show) progress.Finish();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  });
}

struct RequestArgs {
  std::string manufacturer;
  std::string model;
  std::string serials;
  std::string serial_file;
  std::string mac_file;
  std::string out;
  bool force = false;
};

void AddRequest(CLI::App& pid) {
  auto* cmd = pid.add_subcommand("request", "Write a Provision ID request CSV");
  auto a = std::make_shared<RequestArgs>();
  cmd->add_option("--manufacturer", a->manufacturer, "Manufacturer name (line 2 of the file)")
      ->required();
  cmd->add_option("--model", a->model, "Model of every device in the request")->required();
  auto* range = cmd->add_option("--serials", a->serials,
                                "Serial range FIRST..LAST, inclusive, e.g. S000000..S000999");
  auto* file = cmd->add_option("--serial-file", a->serial_file,
                               "File with one serial per line (blank lines and # comments "
                               "skipped)");
  range->excludes(file);
  cmd->add_option("--mac-file", a->mac_file,
                  "File with one MAC-48 per line, in serial order: fixed devEUIs (FF FE "
                  "inserted); without it devEUIs are left blank (fixedDevEUI N)");
  cmd->add_option("-o,--output", a->out, "Output CSV file ('-' for stdout)")->required();
  cmd->add_flag("--force", a->force, "Overwrite the output file if it exists");
  cmd->callback([a] {
    if (a->serials.empty() && a->serial_file.empty()) {
      Fail("request: give --serials FIRST..LAST or --serial-file FILE");
    }
    factory::ProvisionCsv csv;
    csv.manufacturer = CheckedText("--manufacturer", a->manufacturer);
    std::string model = CheckedText("--model", a->model);
    std::vector<std::string> serials =
        a->serial_file.empty() ? ExpandSerialRange(a->serials) : ReadSerialFile(a->serial_file);
    std::vector<Eui64> euis;
    if (!a->mac_file.empty()) {
      euis = ReadMacFile(a->mac_file);
      if (euis.size() != serials.size()) {
        Fail(a->mac_file + ": " + std::to_string(euis.size()) + " MAC addresses for " +
             std::to_string(serials.size()) + " serials; give exactly one per serial");
      }
    }
    const bool show = serials.size() >= kProgressThreshold;
    Progress progress("request", serials.size());
    csv.rows.reserve(serials.size());
    for (size_t i = 0; i < serials.size(); ++i) {
      factory::ProvisionRow row;
      row.model = model;
      row.serial_number = std::move(serials[i]);
      if (!euis.empty()) {
        row.fixed_dev_eui = true;
        row.dev_eui = euis[i];
      }
      csv.rows.push_back(std::move(row));
      if (show) progress.Update(i + 1);
    }
    if (show) progress.Finish();
    std::string text = factory::WriteRequestCsv(csv);
    // The file must be one Roost (and the receiving side) accepts: check before writing.
    auto check = factory::ParseProvisionCsv(text);
    if (!check.ok())
      Fail("internal error: the request would not parse: " + check.errors[0].ToString());
    WriteOutput(a->out, text, a->force);
  });
}

struct ReportArgs {
  std::string request;
  std::string out;
  std::string suffix{provisioning::kDefaultHashSuffix};
  bool force = false;
};

void AddReport(CLI::App& pid) {
  auto* cmd = pid.add_subcommand(
      "report",
      "Turn a request CSV into a report: assign Provision IDs to blank rows, add provisionIdHash");
  auto a = std::make_shared<ReportArgs>();
  cmd->add_option("REQUEST", a->request, "Request CSV file")->required();
  cmd->add_option("-o,--output", a->out, "Report CSV file ('-' for stdout)")->required();
  cmd->add_option("--hash-suffix", a->suffix, "Text appended to the Provision ID before hashing")
      ->capture_default_str();
  cmd->add_flag("--force", a->force, "Overwrite the output file if it exists");
  cmd->callback([a] {
    std::string text = ValueOrFail(ReadWholeFile(a->request));
    auto parse = factory::ParseProvisionCsv(text, {.hash_suffix = a->suffix});
    FailOnCsvErrors(a->request, parse);
    if (parse.csv.is_report) {
      Fail(a->request + ": line 3: this is already a report (it has a provisionIdHash column)");
    }
    auto report = ValueOrFail(factory::MakeReport(std::move(parse.csv), a->suffix));
    WriteOutput(a->out, factory::WriteReportCsv(report), a->force);
  });
}

// Where the registry commands find the store and the master key, as `roost
// credentials import` does.
struct StoreArgs {
  std::string data_dir = "roost-data";
  std::string database;
  std::string master_key_file;
};

void AddStoreOptions(CLI::App& cmd, StoreArgs& a, bool with_master_key) {
  auto* dir = cmd.add_option("--data-dir", a.data_dir, "data directory of an SQLite store")
                  ->capture_default_str();
  auto* db = cmd.add_option("--database", a.database, "postgresql://... URL");
  dir->excludes(db);
  if (with_master_key) {
    cmd.add_option("--master-key-file", a.master_key_file,
                   "master key sealing the keys (default: <data-dir>/master.key)");
  }
}

// The registry over the store of `a`. Without `with_master_key` the sealer is
// a fresh random key: import and listings never seal or open a key.
struct RegistryOnStore {
  std::unique_ptr<storage::Store> store;
  std::optional<crypto::Sealer> sealer;
  observe::Logger log;  // the key-read audit, on stderr
  std::unique_ptr<registry::ProvisioningRegistry> registry;
};

std::unique_ptr<RegistryOnStore> OpenRegistry(const StoreArgs& a, bool with_master_key) {
  auto r = std::make_unique<RegistryOnStore>();
  crypto::MasterKey master{};
  if (with_master_key) {
    std::string key_path =
        a.master_key_file.empty() ? a.data_dir + "/master.key" : a.master_key_file;
    master = ValueOrFail(crypto::ReadMasterKeyFile(key_path));
    auto sealer = crypto::Sealer::FromKey(master);
    crypto::Cleanse(master.data(), master.size());
    FailIfError(sealer.status(), key_path);
    r->sealer.emplace(*sealer);
  } else {
    master = crypto::GenerateMasterKey();
    r->sealer.emplace(ValueOrFail(crypto::Sealer::FromKey(master)));
    crypto::Cleanse(master.data(), master.size());
  }
  r->store =
      ValueOrFail(storage::OpenStore(a.database.empty() ? a.data_dir : a.database), "database");
  registry::ProvisioningOptions options;
  options.log = &r->log;
  r->registry =
      std::make_unique<registry::ProvisioningRegistry>(*r->store, *r->sealer, options, [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      });
  return r;
}

constexpr std::string_view kCliReader = "roost cli";

void AddImport(CLI::App& pid) {
  auto* cmd = pid.add_subcommand(
      "import",
      "Import a Provision ID report CSV into the registry, all rows or none; prints "
      "{\"imported\": N}");
  struct Args {
    StoreArgs store;
    std::string report;
    std::string group;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("REPORT", a->report, "Report CSV file")->required();
  cmd->add_option("--group", a->group, "Owning group id (default: the only root group)");
  AddStoreOptions(*cmd, a->store, false);
  cmd->callback([a] {
    std::string text = ValueOrFail(ReadWholeFile(a->report));
    auto r = OpenRegistry(a->store, false);
    std::string group = a->group;
    if (group.empty()) {
      auto roots = ValueOrFail(r->store->ListChildGroups(""), "groups");
      if (roots.size() != 1) Fail("import: give --group ID (the store has several root groups)");
      group = roots[0].id;
    }
    auto imported = ValueOrFail(r->registry->ImportReport("", group, text), a->report);
    if (!imported.errors.empty()) {
      const size_t shown = std::min(imported.errors.size(), kMaxErrorsShown);
      for (size_t i = 0; i + 1 < shown; ++i) {
        std::fprintf(
            stderr, "roost: %s\n",
            LineError(a->report, imported.errors[i].line, imported.errors[i].message).c_str());
      }
      const factory::CsvError& last = imported.errors[shown - 1];
      Fail(LineError(a->report, last.line, last.message) + " (" +
           std::to_string(imported.errors.size()) + " problem(s); nothing was imported)");
    }
    std::printf("%s\n", nlohmann::json{{"imported", imported.imported}}.dump().c_str());
  });
}

void AddDevices(CLI::App& pid) {
  auto* cmd = pid.add_subcommand(
      "devices", "List the provisioned devices (no keys), one JSON object per line");
  auto a = std::make_shared<StoreArgs>();
  AddStoreOptions(*cmd, *a, false);
  cmd->callback([a] {
    auto r = OpenRegistry(*a, false);
    storage::ProvisionedQuery query;
    query.limit = storage::kMaxPageSize;
    for (;;) {
      auto page = ValueOrFail(r->registry->ListDevices(query), "devices");
      for (const storage::ProvisionedDevice& d : page.devices) {
        const storage::ProvisionExchange& e = d.exchange;
        nlohmann::json line{{"devEUI", e.dev_eui},
                            {"joinEUI", e.join_eui},
                            {"provisionId", d.id.provision_id},
                            {"groupId", d.id.group},
                            {"model", d.id.model},
                            {"serialNumber", d.id.serial_number},
                            {"provisionedAt", e.at},
                            {"gatewayEUI", e.gateway_eui},
                            {"rssi", e.rssi},
                            {"snr", e.snr}};
        std::printf("%s\n",
                    line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      }
      if (!page.next) break;
      query.after = *page.next;
    }
  });
}

void AddKeys(CLI::App& pid) {
  auto* cmd =
      pid.add_subcommand("keys",
                         "Print a provisioned device's current keys: {\"devEUI\", \"joinEUI\", "
                         "\"appKey\", \"nwkKey\"} (logged on stderr, without the keys)");
  struct Args {
    StoreArgs store;
    std::string dev_eui;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("DEVEUI", a->dev_eui, "The device's devEUI (16 hex digits)")->required();
  AddStoreOptions(*cmd, a->store, true);
  cmd->callback([a] {
    auto r = OpenRegistry(a->store, true);
    auto keys = ValueOrFail(r->registry->Keys("", kCliReader, a->dev_eui), a->dev_eui);
    std::string app = ToHex(keys.app_key);
    std::string nwk = ToHex(keys.nwk_key);
    std::string out = nlohmann::json{
        {"devEUI", keys.dev_eui},
        {"joinEUI", keys.join_eui},
        {"appKey", app},
        {"nwkKey", nwk}}.dump();
    std::printf("%s\n", out.c_str());
    crypto::Cleanse(app.data(), app.size());
    crypto::Cleanse(nwk.data(), nwk.size());
    crypto::Cleanse(out.data(), out.size());
  });
}

void AddExport(CLI::App& pid) {
  auto* cmd = pid.add_subcommand(
      "export",
      "Export every provisioned device with its current keys for a LoRaWAN network "
      "server: JSON or CSV (logged on stderr, without the keys)");
  struct Args {
    StoreArgs store;
    std::string format = "json";
    std::string out = "-";
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--format", a->format, "json or csv")->capture_default_str();
  cmd->add_option("-o,--output", a->out, "Output file ('-' for stdout)")->capture_default_str();
  cmd->add_flag("--force", a->force, "Overwrite the output file if it exists");
  AddStoreOptions(*cmd, a->store, true);
  cmd->callback([a] {
    auto format = registry::ParseExportFormat(a->format);
    if (!format) Fail("--format: must be json or csv");
    auto r = OpenRegistry(a->store, true);
    std::string text = ValueOrFail(r->registry->Export("", kCliReader, *format), "export");
    if (*format == registry::ExportFormat::kJson) text += '\n';
    // The file holds every device's keys: readable by its owner only, from
    // the moment it is created.
    const mode_t old_mask = ::umask(077);
    WriteOutput(a->out, text, a->force);
    ::umask(old_mask);
    crypto::Cleanse(text.data(), text.size());
  });
}

}  // namespace

void AddProvisionIdCommands(CLI::App& app) {
  auto* pid = app.add_subcommand("pid", "LoRaWAN Provision IDs: hashes, verify codes, CSVs");
  pid->require_subcommand(1);
  AddHash(*pid);
  AddVerifyCode(*pid);
  AddGenerate(*pid);
  AddRequest(*pid);
  AddReport(*pid);
  AddImport(*pid);
  AddDevices(*pid);
  AddKeys(*pid);
  AddExport(*pid);
}

}  // namespace roost::cmd
