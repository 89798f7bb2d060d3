// The provisioning part of the Store contract, on both engines.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/driver/driver.h"
#include "storage/sql/provisioning_sql.h"
#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

std::string Pid(int n) {
  std::string id = "PID" + std::to_string(n);
  id.resize(20, 'A');
  return id;
}

std::string HashOf(int n) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return buf;
}

ProvisionIdRow Row(int n, const std::string& group, std::string fixed_dev_eui = "") {
  ProvisionIdRow r;
  r.provision_id = Pid(n);
  r.group = group;
  r.provision_id_hash = HashOf(n);
  r.model = "M-1";
  r.serial_number = "S" + std::to_string(n);
  r.fixed_dev_eui = std::move(fixed_dev_eui);
  r.join_eui = "0000000000000000";
  r.created_at = 100;
  r.updated_at = 100;
  r.line = static_cast<size_t>(n) + 3;
  return r;
}

ProvisioningWrite Exchange(int n, std::optional<DevEuiRange> pool, EpochMillis at = 500) {
  ProvisioningWrite w;
  w.provision_id = Pid(n);
  w.exchange.join_eui = "0000000000000000";
  w.exchange.rdev_eui = "0102030405060708";
  w.exchange.network_flag = 1;
  w.exchange.gateway_eui = "aa555a0000000001";
  w.exchange.rssi = -80;
  w.exchange.snr = 7.5;
  w.exchange.frequency_mhz = 868.1;
  w.exchange.at = at;
  w.sealed_app_key = {1, 2, 3};
  w.sealed_nwk_key = {4, 5, 6};
  w.pool = std::move(pool);
  w.now = at;
  return w;
}

DevEuiRange Pool(uint64_t size) {
  return DevEuiRange{"70b3d57ed0000000/40", 0x70b3d57ed0000000u, size};
}

using ProvisioningStoreTest = StoreTest;

TEST_P(ProvisioningStoreTest, ImportIsAllOrNoneAndRefusesAnIdAlreadyImportedNamingItsLine) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> first{Row(1, g.id), Row(2, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(first).ok());
  std::vector<ProvisionIdRow> second{Row(3, g.id), Row(2, g.id), Row(4, g.id), Row(1, g.id)};
  Status st = store_->ImportProvisionIds(second);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(st.message(), "line 5: Provision ID " + Pid(2) +
                              " is already imported\nline 4: Provision ID " + Pid(1) +
                              " is already imported");
  EXPECT_EQ(store_->GetProvisionId(Pid(3)).status().code(), Status::Code::kNotFound);
  auto page = store_->ListProvisionIds({});
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->ids.size(), 2u);
}

TEST_P(ProvisioningStoreTest, ImportRefusesAFixedDevEuiAlreadyAnotherIds) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> first{Row(1, g.id, "0011223344556677")};
  ASSERT_TRUE(store_->ImportProvisionIds(first).ok());
  std::vector<ProvisionIdRow> second{Row(2, g.id, "0011223344556677")};
  Status st = store_->ImportProvisionIds(second);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.message();
  EXPECT_NE(st.message().find("line 5"), std::string::npos) << st.message();
}

TEST_P(ProvisioningStoreTest, ImportIntoAnUnknownGroupIsInvalidInput) {
  std::vector<ProvisionIdRow> rows{Row(1, Hex24(99))};
  EXPECT_EQ(store_->ImportProvisionIds(rows).code(), Status::Code::kInvalidInput);
}

TEST_P(ProvisioningStoreTest, FindsAnImportedIdByItsHash) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id, "0011223344556677"), Row(2, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto found = store_->FindProvisionIdByHash(HashOf(1));
  ASSERT_TRUE(found.ok()) << found.status().message();
  ProvisionIdRow want = rows[0];
  want.line = 0;
  EXPECT_EQ(*found, want);
  EXPECT_EQ(store_->FindProvisionIdByHash(HashOf(7)).status().code(), Status::Code::kNotFound);
}

TEST_P(ProvisioningStoreTest, RecordingWithAFixedDevEuiUsesItWithoutAPool) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id, "0011223344556677")};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto e = store_->RecordProvisioning(Exchange(1, std::nullopt));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->dev_eui, "0011223344556677");
  auto id = store_->GetProvisionId(Pid(1));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->state, ProvisionIdState::kProvisioned);
  EXPECT_EQ(id->dev_eui, "0011223344556677");
  auto device = store_->GetProvisionedDevice("0011223344556677");
  ASSERT_TRUE(device.ok()) << device.status().message();
  EXPECT_EQ(device->id.provision_id, Pid(1));
  EXPECT_EQ(device->exchange.gateway_eui, "aa555a0000000001");
  EXPECT_EQ(device->exchange.rssi, -80);
  EXPECT_EQ(device->exchange.network_flag, 1);
  EXPECT_TRUE(device->exchange.current);
}

TEST_P(ProvisioningStoreTest, RecordingWithoutAFixedDevEuiTakesThePoolsNextEui) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id), Row(2, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto a = store_->RecordProvisioning(Exchange(1, Pool(100)));
  auto b = store_->RecordProvisioning(Exchange(2, Pool(100)));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->dev_eui, "70b3d57ed0000001");
  EXPECT_EQ(b->dev_eui, "70b3d57ed0000002");
}

TEST_P(ProvisioningStoreTest, ReprovisioningKeepsTheDevEuiAndTheHistory) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id), Row(2, g.id, "0011223344556677")};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto first = store_->RecordProvisioning(Exchange(1, Pool(100), 500));
  ASSERT_TRUE(first.ok());
  ProvisioningWrite again = Exchange(1, Pool(100), 900);
  again.sealed_app_key = {9, 9, 9};
  auto second = store_->RecordProvisioning(again);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->dev_eui, first->dev_eui);
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(2, Pool(100), 600)).ok());
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(2, Pool(100), 700)).ok());

  auto history = store_->ListProvisionHistory(Pid(1));
  ASSERT_TRUE(history.ok()) << history.status().message();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_FALSE((*history)[0].device.exchange.current);
  EXPECT_TRUE((*history)[1].device.exchange.current);
  EXPECT_EQ((*history)[0].device.exchange.at, 500);
  auto keys = store_->GetProvisionedKeys(first->dev_eui);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->sealed_app_key, (std::vector<uint8_t>{9, 9, 9}));
  auto fixed = store_->ListProvisionHistory(Pid(2));
  ASSERT_TRUE(fixed.ok());
  ASSERT_EQ(fixed->size(), 2u);
  EXPECT_EQ((*fixed)[1].device.exchange.dev_eui, "0011223344556677");
  auto devices = store_->ListProvisionedDevices({});
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 2u);  // the current exchange of each
}

TEST_P(ProvisioningStoreTest, ThePoolSkipsEuisThatAreSomeRowsFixedDevEui) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id, "70b3d57ed0000001"),
                                   Row(2, g.id, "70b3d57ed0000002"), Row(3, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto e = store_->RecordProvisioning(Exchange(3, Pool(100)));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->dev_eui, "70b3d57ed0000003");
}

TEST_P(ProvisioningStoreTest, AUsedUpOrMissingPoolIsUnavailable) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id), Row(2, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto none = store_->RecordProvisioning(Exchange(1, std::nullopt));
  EXPECT_EQ(none.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(none.status().message().find("no devEUI pool"), std::string::npos);
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(1, Pool(1))).ok());
  auto used_up = store_->RecordProvisioning(Exchange(2, Pool(1)));
  EXPECT_EQ(used_up.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(used_up.status().message().find("used up"), std::string::npos);
  auto id = store_->GetProvisionId(Pid(2));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->state, ProvisionIdState::kPending);
}

TEST_P(ProvisioningStoreTest, ADisabledOrUnknownIdIsNotFound) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id, "0011223344556677")};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  ASSERT_TRUE(store_->DisableProvisionId(Pid(1), 200).ok());
  EXPECT_EQ(store_->RecordProvisioning(Exchange(1, Pool(10))).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store_->RecordProvisioning(Exchange(5, Pool(10))).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store_->DisableProvisionId(Pid(5), 200).code(), Status::Code::kNotFound);
  auto id = store_->GetProvisionId(Pid(1));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->state, ProvisionIdState::kDisabled);
  EXPECT_EQ(id->updated_at, 200);
}

TEST_P(ProvisioningStoreTest, ListsIdsByStateWithinASubtreeAPageAtATime) {
  Group root = MakeGroup(1, "");
  Group child = MakeGroup(2, root.id);
  Group other = MakeGroup(3, "");
  std::vector<ProvisionIdRow> rows{Row(1, root.id), Row(2, child.id, "0011223344556677"),
                                   Row(3, child.id), Row(4, other.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(2, std::nullopt)).ok());
  ProvisionIdQuery q;
  q.group_subtree = root.id;
  q.limit = 2;
  auto p1 = store_->ListProvisionIds(q);
  ASSERT_TRUE(p1.ok()) << p1.status().message();
  ASSERT_EQ(p1->ids.size(), 2u);
  ASSERT_TRUE(p1->next);
  q.after = *p1->next;
  auto p2 = store_->ListProvisionIds(q);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->ids.size(), 1u);
  EXPECT_EQ(p2->ids[0].provision_id, Pid(3));
  EXPECT_FALSE(p2->next);
  ProvisionIdQuery provisioned;
  provisioned.group_subtree = root.id;
  provisioned.state = ProvisionIdState::kProvisioned;
  auto p3 = store_->ListProvisionIds(provisioned);
  ASSERT_TRUE(p3.ok());
  ASSERT_EQ(p3->ids.size(), 1u);
  EXPECT_EQ(p3->ids[0].provision_id, Pid(2));
  ProvisionedQuery devices;
  devices.group_subtree = other.id;
  auto none = store_->ListProvisionedDevices(devices);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(ProvisioningStoreTest, SummaryCountsStatesAndTheLatestExchangePerGateway) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows{Row(1, g.id), Row(2, g.id), Row(3, g.id), Row(4, g.id)};
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(1, Pool(10), 500)).ok());
  ProvisioningWrite other = Exchange(2, Pool(10), 800);
  other.exchange.gateway_eui = "aa555a0000000002";
  ASSERT_TRUE(store_->RecordProvisioning(other).ok());
  ASSERT_TRUE(store_->RecordProvisioning(Exchange(1, Pool(10), 600)).ok());
  ASSERT_TRUE(store_->DisableProvisionId(Pid(4), 900).ok());
  auto s = store_->SummarizeProvisioning(g.id, 10);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->pending, 1);
  EXPECT_EQ(s->provisioned, 2);
  EXPECT_EQ(s->disabled, 1);
  EXPECT_EQ(s->gateways, (std::vector<GatewayProvisioning>{{"aa555a0000000002", 800, 1},
                                                           {"aa555a0000000001", 600, 2}}));
}

// The pool's "is this EUI taken?" runs for every devEUI handed out: a full scan
// of provision_ids there made each provisioning cost time in proportion to the
// IDs ever imported.
TEST_P(ProvisioningStoreTest, TheDevEuiChecksUseTheIndexesNotAScanOfEveryId) {
  for (const std::string& sql :
       {std::string(sql::kDevEuiTakenSql),
        sql::FixedDevEuiClashesSql(GetParam() == "sqlite" ? "$1, $2" : "$1")}) {
    SCOPED_TRACE(sql);
    const std::string plan = PlanOf(GetParam(), location_, sql);
    EXPECT_NE(plan.find("provision_ids_fixed_dev_eui"), std::string::npos) << plan;
    EXPECT_NE(plan.find("provision_ids_dev_eui"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN provision_ids\n"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ProvisioningStoreTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

// Two processes on one PostgreSQL: each Store has its own connections, and a
// thread each provisions its half of 200 IDs at the same time as the other.
class ProvisioningConcurrencyTest : public StoreTest {};

TEST_P(ProvisioningConcurrencyTest, TwoStoresOnOneDatabaseNeverHandOutOneDevEuiTwice) {
  Group g = MakeGroup(1, "");
  std::vector<ProvisionIdRow> rows;
  for (int i = 0; i < 200; ++i) rows.push_back(Row(i, g.id));
  ASSERT_TRUE(store_->ImportProvisionIds(rows).ok());
  auto other = OpenPostgresStore(location_);
  ASSERT_TRUE(other.ok()) << other.status().message();
  std::vector<std::string> got[2];
  std::vector<std::string> failures[2];
  auto run = [&](Store* s, int half) {
    for (int i = half; i < 200; i += 2) {
      auto e = s->RecordProvisioning(Exchange(i, Pool(1000)));
      if (e.ok()) {
        got[half].push_back(e->dev_eui);
      } else {
        failures[half].push_back(e.status().message());
      }
    }
  };
  std::thread a(run, store_.get(), 0);
  std::thread b(run, other->get(), 1);
  a.join();
  b.join();
  EXPECT_TRUE(failures[0].empty()) << failures[0].front();
  EXPECT_TRUE(failures[1].empty()) << failures[1].front();
  std::set<std::string> distinct(got[0].begin(), got[0].end());
  distinct.insert(got[1].begin(), got[1].end());
  EXPECT_EQ(got[0].size() + got[1].size(), 200u);
  EXPECT_EQ(distinct.size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(Engines, ProvisioningConcurrencyTest, ::testing::Values("postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage
