#include "registry/provisioning.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/hex.h"
#include "provisioning/provision_id.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

factory::ProvisionRow RequestRow(int n, std::optional<Eui64> fixed = std::nullopt) {
  factory::ProvisionRow r;
  r.model = "M-1234";
  r.serial_number = "S" + std::to_string(n);
  r.fixed_dev_eui = fixed.has_value();
  r.dev_eui = fixed;
  return r;
}

// A report of `rows` request rows with fresh Provision IDs.
std::string Report(std::vector<factory::ProvisionRow> rows) {
  factory::ProvisionCsv request;
  request.manufacturer = "MatchX GmbH";
  request.rows = std::move(rows);
  auto report = factory::MakeReport(request);
  EXPECT_TRUE(report.ok());
  return factory::WriteReportCsv(*report);
}

// The Provision ID of data line `i` (0-based) of a report.
std::string IdOf(const std::string& report, size_t i) {
  auto parsed = factory::ParseProvisionCsv(report);
  EXPECT_TRUE(parsed.ok());
  return parsed.csv.rows.at(i).provision_id;
}

Key128 KeyFilled(uint8_t v) {
  Key128 k;
  k.fill(v);
  return k;
}

provisioning::ProvisioningRecord Record(const std::string& pid, int64_t at = 1000) {
  provisioning::ProvisioningRecord r;
  r.provision_id = pid;
  r.rdev_eui = {1, 2, 3, 4, 5, 6, 7, 8};
  r.network_flag = 1;
  r.keys.app_key = KeyFilled(0xA1);
  r.keys.nwk_key = KeyFilled(0xB2);
  r.reception.gateway_eui = Eui64::FromU64(0xAA555A0000000001u);
  r.reception.rssi = -70;
  r.reception.snr = 9.25;
  r.reception.frequency_mhz = 868.1;
  r.at_ms = at;
  return r;
}

class ProvisioningRegistryTest : public testing::RegistryEngineTest {
 protected:
  void SetUp() override {
    RegistryEngineTest::SetUp();
    if (HasFatalFailure()) return;
    crypto::MasterKey mk = crypto::GenerateMasterKey();
    sealer_.emplace(crypto::Sealer::FromKey(mk).value());
    group_ = MakeGroup("makers", "");
    other_ = MakeGroup("others", "");
    ProvisioningOptions options;
    options.dev_eui_pool = config::ParseEuiPool("70b3d57ed0000000/40").value();
    options.join_eui = Eui64::FromU64(0x0102030405060708u);
    options.log = &log_;
    registry_.emplace(*store_, *sealer_, options, [] { return EpochMillis{777}; });
  }

  std::vector<std::string> log_lines_;
  observe::Logger log_{[this](std::string_view line) { log_lines_.emplace_back(line); }};
  std::optional<crypto::Sealer> sealer_;
  std::optional<ProvisioningRegistry> registry_;
  std::string group_;
  std::string other_;
};

TEST_P(ProvisioningRegistryTest, ImportsAReportAndFindsItsIdsByHash) {
  const std::string report = Report({RequestRow(0), RequestRow(1)});
  auto imported = registry_->ImportReport(group_, "", report);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_TRUE(imported->errors.empty());
  EXPECT_EQ(imported->imported, 2);
  const std::string pid = IdOf(report, 1);
  auto found = registry_->FindByHash(provisioning::ProvisionIdHash(pid));
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->provision_id, pid);
  EXPECT_EQ((*found)->state, provisioning::ProvisionIdState::kPending);
  auto unknown = registry_->FindByHash(provisioning::ProvisionIdHash("AAAAAAAAAAAAAAAAAAAA"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(ProvisioningRegistryTest, ARequestFileWithoutHashesIsRefused) {
  factory::ProvisionCsv request;
  request.manufacturer = "MatchX GmbH";
  request.rows = {RequestRow(0)};
  auto imported = registry_->ImportReport(group_, "", factory::WriteRequestCsv(request));
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->errors.size(), 1u);
  EXPECT_NE(imported->errors[0].message.find("report"), std::string::npos);
  EXPECT_TRUE(store_->ListProvisionIds({}).value().ids.empty());
}

TEST_P(ProvisioningRegistryTest, EveryBadLineIsListedWithItsNumberAndNothingIsStored) {
  std::string report = Report({RequestRow(0), RequestRow(1), RequestRow(2)});
  // Line 5 loses its model, line 6 its hash's last digit.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = report.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(report.substr(start, nl - start));
  }
  lines[4].replace(lines[4].find(",M-1234,"), 8, ",,");
  lines[5].pop_back();
  std::string broken;
  for (const std::string& l : lines) broken += l + "\n";
  auto imported = registry_->ImportReport(group_, "", broken);
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->errors.size(), 2u);
  EXPECT_EQ(imported->errors[0].line, 5u);
  EXPECT_EQ(imported->errors[1].line, 6u);
  EXPECT_EQ(imported->imported, 0);
  EXPECT_TRUE(store_->ListProvisionIds({}).value().ids.empty());
}

TEST_P(ProvisioningRegistryTest, EveryIdImportedAlreadyIsRefusedNamingItsLine) {
  const std::string report = Report({RequestRow(0), RequestRow(1)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  auto again = registry_->ImportReport(group_, "", report);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->errors.size(), 2u);
  EXPECT_EQ(again->errors[0].line, 4u);
  EXPECT_EQ(again->errors[0].message, "Provision ID " + IdOf(report, 0) + " is already imported");
  EXPECT_EQ(again->errors[1].line, 5u);
  EXPECT_NE(again->errors[1].message.find(IdOf(report, 1)), std::string::npos);
}

TEST_P(ProvisioningRegistryTest, ImportIntoAGroupOutsideTheCallersIsNotFound) {
  auto imported = registry_->ImportReport(group_, other_, Report({RequestRow(0)}));
  EXPECT_EQ(imported.status().code(), Status::Code::kNotFound);
}

TEST_P(ProvisioningRegistryTest, RecordsAFixedOrAPoolDevEuiAndTheConfiguredJoinEui) {
  const std::string report =
      Report({RequestRow(0, Eui64::FromU64(0x0011223344556677u)), RequestRow(1)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  auto fixed = registry_->RecordProvisioned(Record(IdOf(report, 0)));
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_EQ(fixed->dev_eui.ToString(), "0011223344556677");
  EXPECT_EQ(fixed->join_eui.ToString(), "0102030405060708");
  auto pooled = registry_->RecordProvisioned(Record(IdOf(report, 1)));
  ASSERT_TRUE(pooled.ok()) << pooled.status().message();
  EXPECT_EQ(pooled->dev_eui.ToString(), "70b3d57ed0000001");
  auto again = registry_->RecordProvisioned(Record(IdOf(report, 1), 2000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->dev_eui, pooled->dev_eui);
  auto found = registry_->FindByHash(provisioning::ProvisionIdHash(IdOf(report, 1)));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->state, provisioning::ProvisionIdState::kProvisioned);
}

TEST_P(ProvisioningRegistryTest, ADisabledIdIsNotFoundWhenRecorded) {
  const std::string report = Report({RequestRow(0)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  EXPECT_EQ(registry_->Disable(other_, IdOf(report, 0)).status().code(), Status::Code::kNotFound);
  auto disabled = registry_->Disable(group_, IdOf(report, 0));
  ASSERT_TRUE(disabled.ok()) << disabled.status().message();
  EXPECT_EQ(disabled->state, storage::ProvisionIdState::kDisabled);
  EXPECT_EQ(registry_->RecordProvisioned(Record(IdOf(report, 0))).status().code(),
            Status::Code::kNotFound);
}

TEST_P(ProvisioningRegistryTest, KeysAreSealedAtRestAndOpenOnlyForTheOwningSubtree) {
  const std::string report = Report({RequestRow(0)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  auto assigned = registry_->RecordProvisioned(Record(IdOf(report, 0)));
  ASSERT_TRUE(assigned.ok());
  const std::string dev_eui = assigned->dev_eui.ToString();
  auto raw = store_->GetProvisionedKeys(dev_eui);
  ASSERT_TRUE(raw.ok());
  const Key128 app = KeyFilled(0xA1);
  const Key128 nwk = KeyFilled(0xB2);
  for (const auto* blob : {&raw->sealed_app_key, &raw->sealed_nwk_key}) {
    EXPECT_EQ(std::search(blob->begin(), blob->end(), app.begin(), app.end()), blob->end());
    EXPECT_EQ(std::search(blob->begin(), blob->end(), nwk.begin(), nwk.end()), blob->end());
    const std::string as_text(blob->begin(), blob->end());
    EXPECT_EQ(as_text.find(ToHex(app)), std::string::npos);
    EXPECT_EQ(as_text.find(ToHex(nwk)), std::string::npos);
  }
  auto keys = registry_->Keys(group_, "admin@example.com", dev_eui);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ(keys->app_key, app);
  EXPECT_EQ(keys->nwk_key, nwk);
  EXPECT_EQ(keys->join_eui, "0102030405060708");
  EXPECT_EQ(registry_->Keys(other_, "someone", dev_eui).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(registry_->GetDevice(other_, dev_eui).status().code(), Status::Code::kNotFound);
}

TEST_P(ProvisioningRegistryTest, ExportsJsonAndCsvAndLogsTheReadWithoutKeys) {
  const std::string report = Report({RequestRow(0), RequestRow(1)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  ASSERT_TRUE(registry_->RecordProvisioned(Record(IdOf(report, 0))).ok());
  ASSERT_TRUE(registry_->RecordProvisioned(Record(IdOf(report, 1))).ok());
  auto json = registry_->Export(group_, "admin@example.com", ExportFormat::kJson);
  ASSERT_TRUE(json.ok()) << json.status().message();
  auto parsed = nlohmann::json::parse(*json);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["devEUI"], "70b3d57ed0000001");
  EXPECT_EQ(parsed[0]["joinEUI"], "0102030405060708");
  EXPECT_EQ(parsed[0]["appKey"], ToHex(KeyFilled(0xA1)));
  EXPECT_EQ(parsed[0]["nwkKey"], ToHex(KeyFilled(0xB2)));
  EXPECT_EQ(parsed[0]["serialNumber"], "S0");
  auto csv = registry_->Export(group_, "admin@example.com", ExportFormat::kCsv);
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(csv->substr(0, csv->find('\n')),
            "devEUI,joinEUI,appKey,nwkKey,provisionId,model,serialNumber");
  EXPECT_NE(csv->find("70b3d57ed0000002,0102030405060708," + ToHex(KeyFilled(0xA1)) + "," +
                      ToHex(KeyFilled(0xB2)) + "," + IdOf(report, 1) + ",M-1234,S1\n"),
            std::string::npos);
  auto none = registry_->Export(other_, "someone", ExportFormat::kJson);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "[]");
  ASSERT_EQ(log_lines_.size(), 3u);
  EXPECT_NE(log_lines_[0].find("\"who\":\"admin@example.com\""), std::string::npos);
  EXPECT_NE(log_lines_[0].find("\"count\":2"), std::string::npos);
  for (const std::string& line : log_lines_) {
    EXPECT_EQ(line.find(ToHex(KeyFilled(0xA1))), std::string::npos) << line;
    EXPECT_EQ(line.find(ToHex(KeyFilled(0xB2))), std::string::npos) << line;
  }
}

TEST_P(ProvisioningRegistryTest, ListsDevicesAPageAtATime) {
  const std::string report = Report({RequestRow(0), RequestRow(1), RequestRow(2)});
  ASSERT_TRUE(registry_->ImportReport(group_, "", report).value().errors.empty());
  for (size_t i = 0; i < 3; ++i)
    ASSERT_TRUE(registry_->RecordProvisioned(Record(IdOf(report, i))).ok());
  storage::ProvisionedQuery q;
  q.group_subtree = group_;
  q.limit = 2;
  auto first = registry_->ListDevices(q);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->devices.size(), 2u);
  ASSERT_TRUE(first->next);
  q.after = *first->next;
  auto second = registry_->ListDevices(q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->devices.size(), 1u);
  EXPECT_EQ(second->devices[0].exchange.dev_eui, "70b3d57ed0000003");
  EXPECT_FALSE(second->next);
}

INSTANTIATE_TEST_SUITE_P(Engines, ProvisioningRegistryTest,
                         ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace roost::registry
