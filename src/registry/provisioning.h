// The Provision ID registry of LoRaWAN zero-touch provisioning (provisioning.md):
// imports the report CSV of a device maker, answers the protocol service
// (provisioning::ProvisionDirectory) and keeps the provisioned devices and their
// keys for the API and the CLI.
//
// Contract:
// - AppKey and NwkKey are stored sealed (crypto/seal.h), each under
//   SealAad(kAppKeyPurpose or kNwkKeyPurpose, provision ID); they are opened
//   only by Keys and Export, and never appear in messages or logs.
// - Visibility: every operation that takes `caller_group` sees only the
//   Provision IDs owned by that group or a group below it; another group's ID
//   is NotFound with the same message as an unknown one; "" sees every group
//   (the CLI, run by the operator on the store). Roles (ADMIN for
//   Keys, Export, ImportReport and Disable) are the caller's to check.
// - Keys and Export log who read what and how many (one "provisioning keys
//   read" line each), never a key.
// - The devEUI pool is config::EuiPool (PREFIX/BITS, BITS the prefix length):
//   its EUIs after the first (whose free bits are all zero), in order, skipping
//   any that is some Provision ID's fixed devEUI.
// - Safe to call from several threads at once (the store is).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/seal.h"
#include "factory/provision_csv.h"
#include "observe/log.h"
#include "provisioning/directory.h"
#include "storage/store.h"

namespace roost::registry {

inline constexpr std::string_view kAppKeyPurpose = "lorawan-app-key";
inline constexpr std::string_view kNwkKeyPurpose = "lorawan-nwk-key";

// The pool's counter: the store hands out base + 1 .. base + size.
storage::DevEuiRange PoolRange(const config::EuiPool& pool);

struct ProvisioningOptions {
  std::optional<config::EuiPool> dev_eui_pool;  // nullopt: fixed devEUIs only
  Eui64 join_eui{};                             // sent to every provisioned device
  observe::Logger* log = nullptr;               // the key-read audit; nullptr = none
};

// What an import did: either rows were stored (errors empty), or nothing was
// and every problem is listed with its line.
struct ProvisionImport {
  int64_t imported = 0;
  std::vector<factory::CsvError> errors;
};

// A device's current keys, opened. Wiped on destruction.
struct ProvisionedDeviceKeys {
  std::string dev_eui;  // 16 lowercase hex digits
  std::string join_eui;
  Key128 app_key{};
  Key128 nwk_key{};
  ProvisionedDeviceKeys() = default;
  ProvisionedDeviceKeys(const ProvisionedDeviceKeys&) = default;
  ProvisionedDeviceKeys& operator=(const ProvisionedDeviceKeys&) = default;
  ~ProvisionedDeviceKeys();
};

struct ProvisionedPage {
  std::vector<storage::ProvisionedDevice> devices;
  std::optional<std::string> next;  // the last devEUI, when more follow
};

enum class ExportFormat { kJson, kCsv };
// "json" / "csv"; nullopt otherwise.
std::optional<ExportFormat> ParseExportFormat(std::string_view name);

class ProvisioningRegistry : public provisioning::ProvisionDirectory {
 public:
  using Clock = std::function<EpochMillis()>;
  // `store`, `sealer` and `options.log` must outlive the registry.
  ProvisioningRegistry(storage::Store& store, const crypto::Sealer& sealer,
                       ProvisioningOptions options, Clock clock);

  // provisioning::ProvisionDirectory (see directory.h).
  Result<std::optional<provisioning::ProvisionIdEntry>> FindByHash(
      const crypto::Sha256Digest& hash) override;
  Result<provisioning::Assignment> RecordProvisioned(
      const provisioning::ProvisioningRecord& record) override;

  // Imports a report CSV (factory/provision_csv.h) into `group` ("" = the
  // caller's own), all rows or none. A request file (without hashes) is
  // refused: the hashes are what devices are found by. Every problem of the
  // file, and a Provision ID or fixed devEUI imported already, is listed in
  // the result with its line (nothing stored). NotFound: `group` is not the
  // caller's or below it.
  Result<ProvisionImport> ImportReport(std::string_view caller_group, std::string_view group,
                                       std::string_view csv_text);
  // IDs of the query's subtree (the caller sets group_subtree).
  Result<storage::ProvisionIdPage> ListIds(const storage::ProvisionIdQuery& query);
  // NotFound: unknown or invisible.
  Result<storage::ProvisionIdRow> Disable(std::string_view caller_group,
                                          std::string_view provision_id);
  Result<ProvisionedPage> ListDevices(const storage::ProvisionedQuery& query);
  // `dev_eui` in any EUI spelling. NotFound: unknown, invisible or malformed.
  Result<storage::ProvisionedDevice> GetDevice(std::string_view caller_group,
                                               std::string_view dev_eui);
  // Opens a device's current keys; `who` names the reader in the audit line.
  Result<ProvisionedDeviceKeys> Keys(std::string_view caller_group, std::string_view who,
                                     std::string_view dev_eui);
  // Every provisioned device of the caller's subtree with its current keys,
  // for a LoRaWAN network server's import: JSON, an array of
  // {"devEUI","joinEUI","appKey","nwkKey","provisionId","model","serialNumber"},
  // or CSV with a header line of those names (keys lowercase hex).
  Result<std::string> Export(std::string_view caller_group, std::string_view who,
                             ExportFormat format);
  // State counts and the latest exchanges per gateway (at most `gateways`).
  Result<storage::ProvisioningSummary> Summary(std::string_view caller_group, int gateways = 20);

 private:
  // The ID if the caller may see it; NotFound otherwise (same message as unknown).
  Result<storage::ProvisionIdRow> VisibleId(std::string_view caller_group,
                                            std::string_view provision_id);
  Result<ProvisionedDeviceKeys> Open(const storage::ProvisionedKeys& keys);

  storage::Store& store_;
  const crypto::Sealer& sealer_;
  ProvisioningOptions options_;
  Clock clock_;
};

}  // namespace roost::registry
