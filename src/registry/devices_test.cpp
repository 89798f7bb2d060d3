#include "registry/devices.h"

#include <gtest/gtest.h>

#include <map>

#include "model/object_id.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

class DeviceRegistryTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    root_ = MakeGroup("root", "");
    team_ = MakeGroup("team", root_);
    foreign_ = MakeGroup("foreign", "");
    type_ = MakeType(team_);
    foreign_type_ = MakeType(foreign_);
    std::vector<Credential> creds;
    for (uint32_t i = 0; i < 20; ++i) {
      creds.push_back(Credential{SigfoxId{0xC000 + i}, {1, 2, 3}, Pac(i), 1});
    }
    ASSERT_TRUE(store_->UpsertCredentials(creds).ok());
    registry_ = std::make_unique<DeviceRegistry>(
        *store_, [this] { return ++now_; }, 5);
  }

  static std::string Pac(uint32_t i) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llX", 0xABCD000000000000ull + i);
    return buf;
  }
  RegistrationRequest Request(uint32_t i) {
    RegistrationRequest r;
    char id[9];
    std::snprintf(id, sizeof id, "%x", 0xC000 + i);
    r.id = id;
    r.pac = Pac(i);
    r.name = "dev" + std::to_string(i);
    r.type = type_;
    return r;
  }
  JobStatus RunJob(const std::string& job_id, const std::string& group) {
    return RunAllChunks(*registry_, job_id, group);
  }

  std::unique_ptr<DeviceRegistry> registry_;
  std::string root_, team_, foreign_, type_, foreign_type_;
};

TEST_F(DeviceRegistryTest, RegisterConsumesTheInitialPac) {
  auto device = registry_->Register(root_, Request(1));
  ASSERT_TRUE(device.ok()) << device.status().message();
  EXPECT_EQ(device->id.value, 0xC001u);
  EXPECT_EQ(device->group, team_);
  EXPECT_EQ(device->type, type_);
  EXPECT_NE(device->pac, Pac(1));
  EXPECT_EQ(device->pac.size(), 16u);
  auto stored = store_->GetDevice(0xC001);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->pac, device->pac);
  // Registering again, even with the initial PAC, is refused.
  auto again = registry_->Register(root_, Request(1));
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
}

TEST_F(DeviceRegistryTest, RegisterRefusesBadInputNamingTheField) {
  auto r = Request(2);
  r.pac = Pac(3);
  EXPECT_NE(registry_->Register(root_, r).status().message().find("pac: PAC does not match"),
            std::string::npos);
  r = Request(2);
  r.pac = r.pac.substr(0, 15);
  EXPECT_NE(registry_->Register(root_, r).status().message().find("pac:"), std::string::npos);
  r = Request(2);
  r.id = "XYZ";
  EXPECT_NE(registry_->Register(root_, r).status().message().find("id:"), std::string::npos);
  r = Request(2);
  r.id = "BEEF";  // no credentials imported
  EXPECT_NE(registry_->Register(root_, r).status().message().find("unknown"), std::string::npos);
  r = Request(2);
  r.product_certificate = "P_0004_D356";
  EXPECT_NE(registry_->Register(root_, r).status().message().find("productCertificate"),
            std::string::npos);
  r = Request(2);
  r.lat = 91;
  EXPECT_NE(registry_->Register(root_, r).status().message().find("lat"), std::string::npos);
  EXPECT_EQ(store_->GetDevice(0xC002).status().code(), Status::Code::kNotFound);
}

TEST_F(DeviceRegistryTest, ForeignDeviceTypeIsNotFound) {
  auto r = Request(4);
  r.type = foreign_type_;
  EXPECT_EQ(registry_->Register(root_, r).status().code(), Status::Code::kNotFound);
  r.type = type_;
  EXPECT_EQ(registry_->Register(foreign_, r).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(registry_->Register(team_, r).ok());
}

TEST_F(DeviceRegistryTest, BulkCreateReportsEachBadItemAndRegistersTheRest) {
  ASSERT_TRUE(registry_->Register(root_, Request(9)).ok());
  BulkCreateRequest bulk;
  bulk.type = type_;
  bulk.prefix = "test-device-";
  bulk.product_certificate = "p 0004 d356 03";
  for (uint32_t i = 0; i < 8; ++i) bulk.ids.push_back({Request(i).id, Pac(i)});
  bulk.ids.push_back({"c003", Pac(3)});         // duplicate of index 3
  bulk.ids.push_back({"XYZ", Pac(1)});          // malformed id
  bulk.ids.push_back({"C00A", Pac(11)});        // wrong PAC
  bulk.ids.push_back({"BEEF", Pac(1)});         // unknown device
  bulk.ids.push_back({Request(9).id, Pac(9)});  // already registered
  bulk.ids.push_back({"C00C", "1234"});         // malformed PAC
  auto job = registry_->StartBulkCreate(root_, bulk);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->total, 14);

  JobStatus status = RunJob(job->id, root_);
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.total, 14);
  EXPECT_EQ(status.success, 8);
  ASSERT_EQ(status.failed.size(), 6u);
  std::map<std::string, std::string> failed;
  for (const auto& f : status.failed) failed[f.id] = f.message;
  ASSERT_EQ(failed.size(), 6u);
  EXPECT_NE(failed["c003"].find("duplicate in this request (first at index 3)"), std::string::npos);
  EXPECT_NE(failed["XYZ"].find("device ID"), std::string::npos);
  EXPECT_NE(failed["C00A"].find("PAC does not match"), std::string::npos);
  EXPECT_NE(failed["BEEF"].find("unknown"), std::string::npos);
  EXPECT_NE(failed["C009"].find("already"), std::string::npos);
  EXPECT_NE(failed["C00C"].find("PAC"), std::string::npos);

  auto d = store_->GetDevice(0xC005);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->name, "test-device-C005");
  EXPECT_EQ(d->product_certificate, "P_0004_D356_03");
  EXPECT_NE(d->pac, Pac(5));
  // Not visible from a foreign group.
  EXPECT_EQ(registry_->BulkStatus(foreign_, job->id).status().code(), Status::Code::kNotFound);
}

TEST_F(DeviceRegistryTest, BulkCreateRefusesTheWholeRequest) {
  BulkCreateRequest bulk;
  bulk.type = type_;
  EXPECT_EQ(registry_->StartBulkCreate(root_, bulk).status().code(),
            Status::Code::kInvalidInput);  // no ids
  bulk.ids.push_back({"C001", Pac(1)});
  bulk.product_certificate = "Q_0004_D356_03";
  EXPECT_EQ(registry_->StartBulkCreate(root_, bulk).status().code(), Status::Code::kInvalidInput);
  bulk.product_certificate = "";
  bulk.type = foreign_type_;
  EXPECT_EQ(registry_->StartBulkCreate(root_, bulk).status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(registry_->RunOneChunk("w").value());  // nothing was queued
}

TEST_F(DeviceRegistryTest, TwoWorkersNeverRegisterADeviceTwice) {
  BulkCreateRequest bulk;
  bulk.type = type_;
  for (uint32_t i = 0; i < 20; ++i) bulk.ids.push_back({Request(i).id, Pac(i)});
  auto job = registry_->StartBulkCreate(root_, bulk);
  ASSERT_TRUE(job.ok());
  DeviceRegistry other(
      *store_, [this] { return ++now_; }, 5);
  bool more = true;
  while (more) {
    auto a = registry_->RunOneChunk("a");
    auto b = other.RunOneChunk("b");
    ASSERT_TRUE(a.ok() && b.ok());
    more = *a || *b;
  }
  auto status = registry_->BulkStatus(root_, job->id);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->done);
  EXPECT_EQ(status->success, 20);
  EXPECT_TRUE(status->failed.empty());
}

TEST(DeviceRegistryIds, FreshIdsAndPacs) {
  std::string a = NewObjectId();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, NewObjectId());
  std::string pac = DeviceRegistry::NewPac();
  EXPECT_TRUE(ParsePac(pac).ok());
  EXPECT_EQ(*ParsePac(pac), pac);
}

}  // namespace
}  // namespace roost::registry
