// Device edits on a real SQLite store: the edit rules, the transfer PAC rule,
// and bulk edit jobs (chunks, per-item failures, a chunk re-run after a lost lease).
#include <gtest/gtest.h>

#include <map>

#include "model/object_id.h"
#include "registry/devices.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

class DeviceEditTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    root_ = MakeGroup("root", "");
    team_ = MakeGroup("team", root_);
    other_ = MakeGroup("other", root_);
    foreign_ = MakeGroup("foreign", "");
    type_ = MakeType(team_);
    type2_ = MakeType(team_);
    other_type_ = MakeType(other_);
    foreign_type_ = MakeType(foreign_);
    registry_ = std::make_unique<DeviceRegistry>(
        *store_, [this] { return now_; }, 3);
    for (uint32_t i = 0; i < 10; ++i) {
      Device d;
      d.id = SigfoxId{0xD000 + i};
      d.name = "dev" + std::to_string(i);
      d.type = type_;
      d.group = team_;
      d.pac = Pac(i);
      d.lat = 10;
      d.lng = 20;
      d.product_certificate = "P_0004_D356_03";
      ASSERT_TRUE(store_->InsertDevice(d).ok());
    }
  }

  static std::string Pac(uint32_t i) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llX", 0x1234000000000000ull + i);
    return buf;
  }
  static DeviceEdit For(std::string id) {
    DeviceEdit e;
    e.id = std::move(id);
    return e;
  }
  static std::string Id(uint32_t i) { return SigfoxId{0xD000 + i}.ToApi(); }
  Device Stored(uint32_t i) { return store_->GetDevice(0xD000 + i).value(); }
  JobStatus RunJob(const std::string& job_id) { return RunAllChunks(*registry_, job_id, root_); }

  std::unique_ptr<DeviceRegistry> registry_;
  std::string root_, team_, other_, foreign_, type_, type2_, other_type_, foreign_type_;
};

TEST_F(DeviceEditTest, AbsentFieldsStayGivenFieldsChangeNullClears) {
  DeviceEdit e;
  e.id = "0x" + Id(1);  // any accepted spelling
  e.name = "renamed";
  e.lat = std::optional<double>();  // explicit null
  e.token_renew_forbidden = true;
  e.product_certificate = "p 0004 d356 04";
  auto d = registry_->Edit(team_, e);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->name, "renamed");
  EXPECT_FALSE(d->lat.has_value());
  EXPECT_EQ(d->lng, 20);
  EXPECT_TRUE(d->token_renew_forbidden);
  EXPECT_EQ(d->product_certificate, "P_0004_D356_04");
  EXPECT_EQ(d->pac, Pac(1));  // no transfer: the PAC stays
  EXPECT_EQ(*d, Stored(1));

  DeviceEdit clear;
  clear.id = Id(1);
  clear.product_certificate = "";
  clear.token_renew_forbidden = false;
  d = registry_->Edit(root_, clear);  // a caller above the group may edit too
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->product_certificate, "");
  EXPECT_FALSE(d->token_renew_forbidden);
  EXPECT_EQ(d->name, "renamed");
}

TEST_F(DeviceEditTest, BadFieldsAreRefusedNamingTheFieldAndChangeNothing) {
  const Device before = Stored(2);
  auto refuse = [&](DeviceEdit e, std::string_view field, Status::Code code) {
    auto d = registry_->Edit(team_, e);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), code) << d.status().message();
    EXPECT_EQ(d.status().message().rfind(std::string(field) + ": ", 0), 0u) << d.status().message();
    EXPECT_EQ(Stored(2), before);
  };
  DeviceEdit e;
  e.id = "XYZ";
  refuse(e, "id", Status::Code::kInvalidInput);
  e.id = Id(2);
  e.name = "";
  refuse(e, "name", Status::Code::kInvalidInput);
  e = For(Id(2));
  e.lat = 90.5;
  refuse(e, "lat", Status::Code::kInvalidInput);
  e = For(Id(2));
  e.lng = -181.0;
  refuse(e, "lng", Status::Code::kInvalidInput);
  e = For(Id(2));
  e.product_certificate = "P_0004";
  refuse(e, "productCertificate", Status::Code::kInvalidInput);
  e = For(Id(2));
  e.pac = Pac(3);  // a PAC, when given, must be the current one
  e.name = "x";
  refuse(e, "pac", Status::Code::kInvalidInput);
  e = For(Id(2));
  e.type = foreign_type_;  // invisible type: not found
  refuse(e, "deviceTypeId", Status::Code::kNotFound);
  e.type = NewObjectId();  // unknown type
  refuse(e, "deviceTypeId", Status::Code::kNotFound);
  e = For("BEEF");
  refuse(e, "id", Status::Code::kNotFound);
  // A device of another group is not found for a caller who cannot see it.
  e = For(Id(2));
  e.name = "x";
  auto d = registry_->Edit(other_, e);
  EXPECT_EQ(d.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(d.status().message(), "id: device " + Id(2) + " not found");
  EXPECT_EQ(Stored(2), before);
}

TEST_F(DeviceEditTest, MovingWithinTheGroupNeedsNoPac) {
  DeviceEdit e = For(Id(3));
  e.type = type2_;
  auto d = registry_->Edit(team_, e);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->type, type2_);
  EXPECT_EQ(d->group, team_);
  EXPECT_EQ(d->pac, Pac(3));
}

TEST_F(DeviceEditTest, TransferToAnotherGroupNeedsTheCurrentPacAndIssuesANewOne) {
  DeviceEdit e = For(Id(4));
  e.type = other_type_;
  // Without the PAC, or with a wrong one: refused, nothing changes.
  auto d = registry_->Edit(root_, e);
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(d.status().message().rfind("pac: ", 0), 0u) << d.status().message();
  e.pac = Pac(5);
  EXPECT_EQ(registry_->Edit(root_, e).status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(Stored(4).group, team_);
  EXPECT_EQ(Stored(4).pac, Pac(4));

  e.pac = Pac(4);
  for (char& c : *e.pac) c = static_cast<char>(std::tolower(c));  // case-insensitive
  d = registry_->Edit(root_, e);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->group, other_);
  EXPECT_EQ(d->type, other_type_);
  EXPECT_NE(d->pac, Pac(4));
  EXPECT_TRUE(ParsePac(d->pac).ok());
  EXPECT_EQ(d->name, "dev4");
  EXPECT_EQ(*d, Stored(4));

  // The old PAC stopped working: transferring back with it is refused.
  DeviceEdit back = For(Id(4));
  back.type = type_;
  back.pac = Pac(4);
  EXPECT_EQ(registry_->Edit(root_, back).status().code(), Status::Code::kInvalidInput);
  // The old owner's group no longer sees the device.
  EXPECT_EQ(registry_->Edit(team_, For(Id(4))).status().code(), Status::Code::kNotFound);
  back.pac = d->pac;
  auto again = registry_->Edit(root_, back);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->group, team_);
  EXPECT_NE(again->pac, d->pac);
}

TEST_F(DeviceEditTest, TransferIsACompareAndSetOnThePac) {
  // Two transfers authorised with the same PAC: the store applies only the
  // first patch; the second, re-validated, finds the PAC changed.
  const Device before = Stored(6);
  storage::DevicePatch first;
  first.id = before.id.value;
  first.expect_group = team_;
  first.expect_pac = before.pac;
  first.pac = "00000000000000AA";
  storage::DevicePatch second = first;
  second.pac = "00000000000000BB";
  ASSERT_TRUE(store_->PatchDevices(std::vector<storage::DevicePatch>{first}).value().empty());
  EXPECT_EQ(store_->PatchDevices(std::vector<storage::DevicePatch>{second}).value(),
            (std::vector<size_t>{0}));
  EXPECT_EQ(Stored(6).pac, "00000000000000AA");
  DeviceEdit e = For(Id(6));
  e.type = other_type_;
  e.pac = before.pac;
  EXPECT_EQ(registry_->Edit(root_, e).status().code(), Status::Code::kInvalidInput);
}

TEST_F(DeviceEditTest, BulkEditAppliesGoodItemsAndReportsEachBadOne) {
  std::vector<DeviceEdit> edits;
  for (uint32_t i = 0; i < 5; ++i) {
    DeviceEdit e = For(Id(i));
    e.name = "bulk-" + std::to_string(i);
    e.lat = 45.0 + i;
    e.type = type2_;
    e.token_renew_forbidden = true;
    edits.push_back(e);
  }
  edits[4].lng = std::optional<double>();  // clears lng
  edits[4].product_certificate = "";
  DeviceEdit dup = For("0x" + Id(2));  // duplicate of index 2
  dup.name = "dup";
  DeviceEdit malformed = For("XYZ");
  DeviceEdit unknown = For("BEEF");
  unknown.name = "ghost";
  DeviceEdit foreign_type = For(Id(5));
  foreign_type.type = foreign_type_;
  DeviceEdit transfer = For(Id(6));
  transfer.type = other_type_;  // another group: not in a bulk edit
  DeviceEdit with_pac = For(Id(7));
  with_pac.pac = Pac(7);
  DeviceEdit bad_lat = For(Id(8));
  bad_lat.lat = 100.0;
  for (const auto& e : {dup, malformed, unknown, foreign_type, transfer, with_pac, bad_lat}) {
    edits.push_back(e);
  }
  // By a caller above both groups, who sees other_type_: still no transfer in bulk.
  auto job = registry_->StartBulkEdit(root_, edits);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->total, 12);
  EXPECT_EQ(job->kind, kBulkEditJob);
  // Nothing is applied before the worker runs.
  EXPECT_EQ(Stored(0).name, "dev0");

  JobStatus st = RunJob(job->id);
  EXPECT_TRUE(st.done);
  EXPECT_EQ(st.total, 12);
  EXPECT_EQ(st.success, 5);
  std::map<std::string, std::string> failed;
  for (const auto& f : st.failed) failed[f.id] = f.message;
  ASSERT_EQ(failed.size(), 7u) << ::testing::PrintToString(failed);
  EXPECT_NE(failed["0x" + Id(2)].find("duplicate in this request (first at index 2)"),
            std::string::npos);
  EXPECT_NE(failed["XYZ"].find("id:"), std::string::npos);
  EXPECT_EQ(failed["BEEF"], "device not found");
  EXPECT_NE(failed[Id(5)].find("deviceTypeId: device type " + foreign_type_ + " not found"),
            std::string::npos);
  EXPECT_NE(failed[Id(6)].find("another group"), std::string::npos);
  EXPECT_NE(failed[Id(7)].find("pac:"), std::string::npos);
  EXPECT_NE(failed[Id(8)].find("lat:"), std::string::npos);

  for (uint32_t i = 0; i < 5; ++i) {
    Device d = Stored(i);
    EXPECT_EQ(d.name, "bulk-" + std::to_string(i));
    EXPECT_EQ(d.lat, 45.0 + i);
    EXPECT_EQ(d.type, type2_);
    EXPECT_TRUE(d.token_renew_forbidden);
    EXPECT_EQ(d.pac, Pac(i));
    EXPECT_EQ(d.lng, i == 4 ? std::nullopt : std::optional<double>(20));
    EXPECT_EQ(d.product_certificate, i == 4 ? "" : "P_0004_D356_03");
  }
  for (uint32_t i = 5; i < 9; ++i) {
    EXPECT_EQ(Stored(i).name, "dev" + std::to_string(i));
    EXPECT_EQ(Stored(i).type, type_);
    EXPECT_EQ(Stored(i).group, team_);
  }
  // The job belongs to the caller's group: invisible from the groups below it.
  EXPECT_TRUE(registry_->BulkStatus(root_, job->id).ok());
  EXPECT_EQ(registry_->BulkStatus(team_, job->id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(registry_->StartBulkEdit(team_, {}).status().code(), Status::Code::kInvalidInput);
}

TEST_F(DeviceEditTest, BulkEditOfDevicesTheCallerCannotSeeReportsNotFound) {
  std::vector<DeviceEdit> edits = {For(Id(0)), For(Id(1))};
  edits[0].name = "x";
  edits[1].name = "y";
  auto job = registry_->StartBulkEdit(other_, edits);
  ASSERT_TRUE(job.ok());
  auto st = RunJob(job->id);
  EXPECT_EQ(st.success, 0);
  ASSERT_EQ(st.failed.size(), 2u);
  EXPECT_EQ(st.failed[0], (JobFailure{Id(0), "device not found"}));
  EXPECT_EQ(Stored(0).name, "dev0");
}

TEST_F(DeviceEditTest, ChunkRerunAfterALostLeaseAppliesTheEditOnce) {
  std::vector<DeviceEdit> edits;
  for (uint32_t i = 0; i < 3; ++i) {  // one chunk (chunk size 3)
    DeviceEdit e = For(Id(i));
    e.name = "edited-" + std::to_string(i);
    edits.push_back(e);
  }
  auto job = registry_->StartBulkEdit(team_, edits);
  ASSERT_TRUE(job.ok());
  // A worker claims the chunk and dies (its lease runs out).
  auto dead = store_->ClaimChunk("dying", now_, 1000);
  ASSERT_TRUE(dead.ok() && dead->has_value());
  EXPECT_EQ((*dead)->items.size(), 3u);
  EXPECT_FALSE(registry_->RunOneChunk("alive").value());  // still leased
  now_ += 1001;
  // Meanwhile someone renames device 0 by hand.
  DeviceEdit manual = For(Id(0));
  manual.name = "manual";
  ASSERT_TRUE(registry_->Edit(team_, manual).ok());
  // Another worker takes the chunk over and applies it.
  EXPECT_TRUE(registry_->RunOneChunk("alive").value());
  EXPECT_EQ(Stored(0).name, "edited-0");
  // A later manual edit is not undone by the dead worker waking up: its
  // completion (with its own computed patches) is refused and writes nothing.
  ASSERT_TRUE(registry_->Edit(team_, manual).ok());
  storage::ChunkOutcome late;
  storage::DevicePatch stale;
  stale.id = 0xD000;
  stale.expect_group = team_;
  stale.name = "edited-0";
  late.patch.push_back(stale);
  EXPECT_EQ(store_->CompleteChunk(**dead, late).code(), Status::Code::kNotFound);
  EXPECT_EQ(Stored(0).name, "manual");
  EXPECT_FALSE(registry_->RunOneChunk("alive").value());
  auto st = registry_->BulkStatus(team_, job->id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->processed, 3);
  EXPECT_EQ(st->success, 3);
  EXPECT_TRUE(st->failed.empty());
}

TEST_F(DeviceEditTest, BulkEditOfADeviceDeletedBeforeItsChunkRunsIsReported) {
  std::vector<DeviceEdit> edits = {For(Id(0)), For(Id(1))};
  edits[0].name = "a";
  edits[1].name = "b";
  auto job = registry_->StartBulkEdit(team_, edits);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(store_->DeleteDevice(0xD001).ok());
  auto st = RunJob(job->id);
  EXPECT_EQ(st.success, 1);
  ASSERT_EQ(st.failed.size(), 1u);
  EXPECT_EQ(st.failed[0], (JobFailure{Id(1), "device not found"}));
}

TEST_F(DeviceEditTest, SeriesDuplicatesNameTheFileLine) {
  BulkCreateRequest bulk;
  bulk.type = type_;
  bulk.ids = {{"E001", Pac(1)}, {"e001", Pac(1)}};
  bulk.lines = {2, 7};
  auto job = registry_->StartBulkCreate(team_, bulk);
  ASSERT_TRUE(job.ok()) << job.status().message();
  auto st = RunJob(job->id);
  ASSERT_EQ(st.failed.size(), 2u);  // E001 has no credentials; e001 repeats it
  EXPECT_EQ(st.failed[1].id, "e001");
  EXPECT_EQ(st.failed[1].message, "duplicate in this file (first on line 2)");
}

}  // namespace
}  // namespace roost::registry
