#include "registry/provisioning.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/hex.h"
#include "crypto/aes.h"

namespace roost::registry {
namespace {

// Pages of the export: enough to keep round trips few, few enough that the
// sealed rows of one page stay small.
constexpr int kExportPage = 1000;

std::string KeyAad(std::string_view purpose, std::string_view provision_id) {
  return crypto::SealAad(purpose, provision_id);
}

Result<Key128> OpenKey(const crypto::Sealer& sealer, const std::vector<uint8_t>& blob,
                       std::string_view purpose, std::string_view provision_id) {
  auto opened = sealer.Open(blob, KeyAad(purpose, provision_id));
  if (!opened.ok()) {
    return Status::InvalidInput("the keys of Provision ID " + std::string(provision_id) +
                                " do not open with this master key");
  }
  Key128 key{};
  const bool fits = opened->size() == key.size();
  if (fits) std::copy(opened->begin(), opened->end(), key.begin());
  crypto::Cleanse(opened->data(), opened->size());
  if (!fits) {
    return Status::InvalidInput("the keys of Provision ID " + std::string(provision_id) +
                                " are not 16 bytes");
  }
  return key;
}

provisioning::ProvisionIdState ToDirectoryState(storage::ProvisionIdState s) {
  switch (s) {
    case storage::ProvisionIdState::kPending:
      return provisioning::ProvisionIdState::kPending;
    case storage::ProvisionIdState::kProvisioned:
      return provisioning::ProvisionIdState::kProvisioned;
    case storage::ProvisionIdState::kDisabled:
      return provisioning::ProvisionIdState::kDisabled;
  }
  return provisioning::ProvisionIdState::kDisabled;
}

// A CSV cell per RFC 4180: quoted when it holds a separator, quote or line end.
std::string CsvCell(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// One line of the store's refusal of taken IDs or devEUIs: "line N: ..."
// (Store::ImportProvisionIds).
factory::CsvError LineError(const std::string& message) {
  factory::CsvError e;
  e.message = message;
  constexpr std::string_view kLine = "line ";
  if (message.rfind(kLine, 0) == 0) {
    size_t line = 0;
    const char* begin = message.data() + kLine.size();
    auto r = std::from_chars(begin, message.data() + message.size(), line);
    if (r.ec == std::errc() && std::string_view(r.ptr).rfind(": ", 0) == 0) {
      e.line = line;
      e.message = std::string(r.ptr + 2);
    }
  }
  return e;
}

}  // namespace

storage::DevEuiRange PoolRange(const config::EuiPool& pool) {
  return storage::DevEuiRange{pool.ToString(), pool.First(), pool.Last() - pool.First()};
}

std::optional<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "json") return ExportFormat::kJson;
  if (name == "csv") return ExportFormat::kCsv;
  return std::nullopt;
}

ProvisionedDeviceKeys::~ProvisionedDeviceKeys() {
  crypto::Cleanse(app_key.data(), app_key.size());
  crypto::Cleanse(nwk_key.data(), nwk_key.size());
}

ProvisioningRegistry::ProvisioningRegistry(storage::Store& store, const crypto::Sealer& sealer,
                                           ProvisioningOptions options, Clock clock)
    : store_(store), sealer_(sealer), options_(std::move(options)), clock_(std::move(clock)) {}

Result<std::optional<provisioning::ProvisionIdEntry>> ProvisioningRegistry::FindByHash(
    const crypto::Sha256Digest& hash) {
  auto row = store_.FindProvisionIdByHash(ToHex(hash));
  if (row.status().code() == Status::Code::kNotFound) {
    return std::optional<provisioning::ProvisionIdEntry>();
  }
  if (!row.ok()) return row.status();
  return std::optional<provisioning::ProvisionIdEntry>(
      provisioning::ProvisionIdEntry{row->provision_id, ToDirectoryState(row->state)});
}

Result<provisioning::Assignment> ProvisioningRegistry::RecordProvisioned(
    const provisioning::ProvisioningRecord& record) {
  storage::ProvisioningWrite w;
  w.provision_id = record.provision_id;
  w.exchange.join_eui = options_.join_eui.ToString();
  w.exchange.rdev_eui = ToHex(record.rdev_eui);
  if (record.network_flag) w.exchange.network_flag = int64_t{*record.network_flag};
  w.exchange.gateway_eui = record.reception.gateway_eui.ToString();
  w.exchange.rssi = record.reception.rssi;
  w.exchange.snr = record.reception.snr;
  w.exchange.frequency_mhz = record.reception.frequency_mhz;
  w.exchange.at = record.at_ms;
  w.sealed_app_key = sealer_.Seal(record.keys.app_key, KeyAad(kAppKeyPurpose, w.provision_id));
  w.sealed_nwk_key = sealer_.Seal(record.keys.nwk_key, KeyAad(kNwkKeyPurpose, w.provision_id));
  if (options_.dev_eui_pool) w.pool = PoolRange(*options_.dev_eui_pool);
  w.now = clock_();
  auto stored = store_.RecordProvisioning(w);
  if (!stored.ok()) return stored.status();
  auto dev_eui = ParseEui64(stored->dev_eui);
  if (!dev_eui.ok()) return Status::Internal("stored devEUI is not an EUI");
  return provisioning::Assignment{*dev_eui, options_.join_eui};
}

Result<ProvisionImport> ProvisioningRegistry::ImportReport(std::string_view caller_group,
                                                           std::string_view group,
                                                           std::string_view csv_text) {
  const std::string owner(group.empty() ? caller_group : group);
  if (owner.empty()) return Status::InvalidInput("group: the owning group is required");
  auto visible = caller_group.empty() ? store_.IsInSubtree(owner, owner)
                                      : store_.IsInSubtree(owner, caller_group);
  if (!visible.ok() && visible.status().code() != Status::Code::kNotFound) {
    return visible.status();
  }
  if (!visible.ok() || !*visible) return Status::NotFound("group " + owner + " not found");
  ProvisionImport result;
  factory::ProvisionCsvParse parsed = factory::ParseProvisionCsv(csv_text);
  if (!parsed.ok()) {
    result.errors = std::move(parsed.errors);
    return result;
  }
  if (!parsed.csv.is_report) {
    result.errors.push_back(factory::CsvError{
        3, "a request file (no provisionIdHash column) cannot be imported; import the report"});
    return result;
  }
  const EpochMillis now = clock_();
  std::vector<storage::ProvisionIdRow> rows;
  rows.reserve(parsed.csv.rows.size());
  for (const factory::ProvisionRow& in : parsed.csv.rows) {
    storage::ProvisionIdRow r;
    r.provision_id = in.provision_id;
    r.group = owner;
    r.provision_id_hash = in.provision_id_hash;
    r.model = in.model;
    r.serial_number = in.serial_number;
    if (in.dev_eui) r.fixed_dev_eui = in.dev_eui->ToString();
    r.join_eui = in.app_eui.ToString();
    r.created_at = now;
    r.updated_at = now;
    r.line = in.line;
    rows.push_back(std::move(r));
  }
  Status st = store_.ImportProvisionIds(rows);
  if (st.code() == Status::Code::kAlreadyExists) {
    const std::string& message = st.message();
    for (size_t start = 0; start <= message.size();) {
      size_t end = message.find('\n', start);
      if (end == std::string::npos) end = message.size();
      result.errors.push_back(LineError(message.substr(start, end - start)));
      start = end + 1;
    }
    return result;
  }
  if (!st.ok()) return st;
  result.imported = static_cast<int64_t>(rows.size());
  return result;
}

Result<storage::ProvisionIdPage> ProvisioningRegistry::ListIds(
    const storage::ProvisionIdQuery& query) {
  return store_.ListProvisionIds(query);
}

Result<storage::ProvisionIdRow> ProvisioningRegistry::VisibleId(std::string_view caller_group,
                                                                std::string_view provision_id) {
  const std::string not_found = "Provision ID " + std::string(provision_id) + " not found";
  auto row = store_.GetProvisionId(provision_id);
  if (row.status().code() == Status::Code::kNotFound) return Status::NotFound(not_found);
  if (!row.ok()) return row.status();
  if (caller_group.empty()) return row;
  auto visible = store_.IsInSubtree(row->group, caller_group);
  if (!visible.ok()) return visible.status();
  if (!*visible) return Status::NotFound(not_found);
  return row;
}

Result<storage::ProvisionIdRow> ProvisioningRegistry::Disable(std::string_view caller_group,
                                                              std::string_view provision_id) {
  auto row = VisibleId(caller_group, provision_id);
  if (!row.ok()) return row.status();
  ROOST_RETURN_IF_ERROR(store_.DisableProvisionId(row->provision_id, clock_()));
  return store_.GetProvisionId(row->provision_id);
}

Result<ProvisionedPage> ProvisioningRegistry::ListDevices(const storage::ProvisionedQuery& query) {
  if (query.limit < 1 || query.limit > storage::kMaxPageSize) {
    return Status::InvalidInput("limit must be 1.." + std::to_string(storage::kMaxPageSize));
  }
  // One row more than asked tells whether another page follows; a full-size
  // page cannot ask for more, and then names its last devEUI anyway.
  const bool probe = query.limit < storage::kMaxPageSize;
  storage::ProvisionedQuery asked = query;
  if (probe) asked.limit = query.limit + 1;
  auto rows = store_.ListProvisionedDevices(asked);
  if (!rows.ok()) return rows.status();
  const size_t limit = static_cast<size_t>(query.limit);
  const bool more = probe ? rows->size() > limit : rows->size() == limit;
  ProvisionedPage page;
  page.devices = std::move(*rows);
  if (page.devices.size() > limit) page.devices.resize(limit);
  if (more) page.next = page.devices.back().exchange.dev_eui;
  return page;
}

Result<storage::ProvisionedDevice> ProvisioningRegistry::GetDevice(std::string_view caller_group,
                                                                   std::string_view dev_eui) {
  const std::string not_found = "provisioned device " + std::string(dev_eui) + " not found";
  auto eui = ParseEui64(dev_eui);
  if (!eui.ok()) return Status::NotFound(not_found);
  auto device = store_.GetProvisionedDevice(eui->ToString());
  if (device.status().code() == Status::Code::kNotFound) return Status::NotFound(not_found);
  if (!device.ok()) return device.status();
  if (caller_group.empty()) return device;
  auto visible = store_.IsInSubtree(device->id.group, caller_group);
  if (!visible.ok()) return visible.status();
  if (!*visible) return Status::NotFound(not_found);
  return device;
}

Result<ProvisionedDeviceKeys> ProvisioningRegistry::Open(const storage::ProvisionedKeys& keys) {
  const std::string& pid = keys.device.id.provision_id;
  ProvisionedDeviceKeys out;
  out.dev_eui = keys.device.exchange.dev_eui;
  out.join_eui = keys.device.exchange.join_eui;
  auto app = OpenKey(sealer_, keys.sealed_app_key, kAppKeyPurpose, pid);
  if (!app.ok()) return app.status();
  out.app_key = *app;
  crypto::Cleanse(app->data(), app->size());
  auto nwk = OpenKey(sealer_, keys.sealed_nwk_key, kNwkKeyPurpose, pid);
  if (!nwk.ok()) return nwk.status();
  out.nwk_key = *nwk;
  crypto::Cleanse(nwk->data(), nwk->size());
  return out;
}

Result<ProvisionedDeviceKeys> ProvisioningRegistry::Keys(std::string_view caller_group,
                                                         std::string_view who,
                                                         std::string_view dev_eui) {
  auto device = GetDevice(caller_group, dev_eui);
  if (!device.ok()) return device.status();
  auto keys = store_.GetProvisionedKeys(device->exchange.dev_eui);
  if (!keys.ok()) return keys.status();
  auto opened = Open(*keys);
  if (!opened.ok()) return opened.status();
  if (options_.log) {
    options_.log->Info("provisioning keys read", {{"who", who},
                                                  {"what", "device keys"},
                                                  {"devEui", device->exchange.dev_eui},
                                                  {"provisionId", device->id.provision_id},
                                                  {"count", 1}});
  }
  return opened;
}

Result<std::string> ProvisioningRegistry::Export(std::string_view caller_group,
                                                 std::string_view who, ExportFormat format) {
  std::string out;
  nlohmann::json array = nlohmann::json::array();
  if (format == ExportFormat::kCsv) {
    out = "devEUI,joinEUI,appKey,nwkKey,provisionId,model,serialNumber\n";
  }
  storage::ProvisionedQuery query;
  query.group_subtree = std::string(caller_group);
  query.limit = kExportPage;
  int64_t count = 0;
  for (;;) {
    auto page = store_.ExportProvisionedKeys(query);
    if (!page.ok()) return page.status();
    for (const storage::ProvisionedKeys& k : *page) {
      auto opened = Open(k);
      if (!opened.ok()) return opened.status();
      std::string app = ToHex(opened->app_key);
      std::string nwk = ToHex(opened->nwk_key);
      const storage::ProvisionIdRow& id = k.device.id;
      if (format == ExportFormat::kJson) {
        array.push_back({{"devEUI", opened->dev_eui},
                         {"joinEUI", opened->join_eui},
                         {"appKey", app},
                         {"nwkKey", nwk},
                         {"provisionId", id.provision_id},
                         {"model", id.model},
                         {"serialNumber", id.serial_number}});
      } else {
        out += opened->dev_eui + "," + opened->join_eui + "," + app + "," + nwk + "," +
               CsvCell(id.provision_id) + "," + CsvCell(id.model) + "," +
               CsvCell(id.serial_number) + "\n";
      }
      crypto::Cleanse(app.data(), app.size());
      crypto::Cleanse(nwk.data(), nwk.size());
      ++count;
    }
    if (page->size() < static_cast<size_t>(query.limit)) break;
    query.after = page->back().device.exchange.dev_eui;
  }
  if (format == ExportFormat::kJson) out = array.dump();
  if (options_.log) {
    options_.log->Info("provisioning keys read",
                       {{"who", who},
                        {"what", "export"},
                        {"format", format == ExportFormat::kJson ? "json" : "csv"},
                        {"group", caller_group},
                        {"count", count}});
  }
  return out;
}

Result<storage::ProvisioningSummary> ProvisioningRegistry::Summary(std::string_view caller_group,
                                                                   int gateways) {
  return store_.SummarizeProvisioning(caller_group, gateways);
}

}  // namespace roost::registry
