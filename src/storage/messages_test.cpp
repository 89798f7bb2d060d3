// The Store contract for stations and messages (ingest decisions, lists), on
// SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "storage/driver/driver.h"
#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

class MessageStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    tenant_ = MakeGroup(2, root_.id);
    other_ = MakeGroup(3, root_.id);
    type_ = MakeType(1, tenant_.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2D, type_)).ok());
    AddStation("0A1B", root_.id, 43.60, 1.44);  // the operator's: hears every device
    AddStation("0A1C", tenant_.id, 43.70, 1.40);
    AddStation("0A1D", tenant_.id, std::nullopt, std::nullopt);
    AddStation("0B00", other_.id, 43.0, 1.0);  // another tenant's
  }

  void AddStation(const std::string& id, const std::string& group, std::optional<double> lat,
                  std::optional<double> lng) {
    Station s{id, "station " + id, group, lat, lng, 77};
    auto st = store_->CreateStation(s);
    ASSERT_TRUE(st.ok()) << st.message();
  }

  static UplinkReport Report(uint32_t device, int64_t seq, EpochMillis time,
                             const std::string& station, double rssi = -120, double snr = 10) {
    UplinkReport r;
    r.device.value = device;
    r.seq_number = seq;
    r.data = "0102";
    r.time = time;
    r.station = station;
    r.rssi = rssi;
    r.snr = snr;
    r.freq = 868130000;
    return r;
  }

  std::vector<IngestDecision> Ingest(std::vector<UplinkReport> reports,
                                     const IngestPolicy& policy = {}) {
    auto r = store_->IngestUplinks(reports, policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<IngestDecision>{};
  }

  std::vector<Message> DeviceMessages(uint32_t device) {
    MessageQuery q;
    q.device = device;
    q.limit = 1000;
    auto page = store_->ListMessages(q);
    EXPECT_TRUE(page.ok()) << page.status().message();
    return page.ok() ? page->messages : std::vector<Message>{};
  }

  static std::vector<IngestResult> Results(const std::vector<IngestDecision>& d) {
    std::vector<IngestResult> out;
    for (const auto& x : d) out.push_back(x.result);
    return out;
  }

  Group root_, tenant_, other_;
  DeviceType type_;
};

TEST_P(MessageStoreTest, StationsAreListedPerSubtreeAndIdsAreUnique) {
  auto all = store_->ListStations("");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, "0A1B");
  EXPECT_EQ((*all)[0].lat, 43.60);
  auto tenant = store_->ListStations(tenant_.id);
  ASSERT_TRUE(tenant.ok());
  ASSERT_EQ(tenant->size(), 2u);
  EXPECT_EQ((*tenant)[1].id, "0A1D");
  EXPECT_FALSE((*tenant)[1].lat.has_value());
  auto one = store_->GetStation("0B00");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->group, other_.id);
  EXPECT_EQ(store_->GetStation("FFFF").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(
      store_->CreateStation(Station{"0A1B", "again", tenant_.id, std::nullopt, std::nullopt, 1})
          .code(),
      Status::Code::kAlreadyExists);
  EXPECT_EQ(
      store_->CreateStation(Station{"0C00", "orphan", Hex24(0xbad), std::nullopt, std::nullopt, 1})
          .code(),
      Status::Code::kInvalidInput);
  // A group that still has a station cannot go.
  auto del = store_->DeleteGroup(other_.id);
  EXPECT_EQ(del.code(), Status::Code::kInvalidInput);
  EXPECT_NE(del.message().find("1 stations"), std::string::npos) << del.message();
}

TEST_P(MessageStoreTest, AStationIsEditedInPlaceAndDeletedWhileItsMessagesStay) {
  ASSERT_EQ(Results(Ingest({Report(0x2C, 1, 1'000, "0A1C")})),
            std::vector<IngestResult>{IngestResult::kAccepted});
  // Its name and position change; its creation time does not.
  const Station read = *store_->GetStation("0A1C");
  Station edit{"0A1C", "moved mast", tenant_.id, 44.0, 2.0, 999};
  auto updated = store_->UpdateStation(edit, read);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_TRUE(*updated);
  auto got = store_->GetStation("0A1C");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "moved mast");
  EXPECT_EQ(got->lat, 44.0);
  EXPECT_EQ(got->lng, 2.0);
  EXPECT_EQ(got->group, tenant_.id);
  EXPECT_EQ(got->creation_time, 77);
  // An edit that started from the version before changes nothing.
  Station stale = read;
  stale.name = "from the stale read";
  updated = store_->UpdateStation(stale, read);
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(*updated);
  EXPECT_EQ(store_->GetStation("0A1C")->name, "moved mast");
  // A position can be taken away (and a position-less station edited again).
  Station moved = edit;
  edit.lat = edit.lng = std::nullopt;
  ASSERT_TRUE(*store_->UpdateStation(edit, moved));
  EXPECT_FALSE(store_->GetStation("0A1C")->lat.has_value());
  Station renamed = edit;
  renamed.name = "moved mast, no position";
  ASSERT_TRUE(*store_->UpdateStation(renamed, edit));
  edit = renamed;
  edit.id = "FFFF";
  EXPECT_EQ(store_->UpdateStation(edit, edit).status().code(), Status::Code::kNotFound);

  // Only as the station of its group: another group listing the id since is
  // not touched.
  edit.id = "0A1C";
  edit.group = other_.id;
  EXPECT_EQ(store_->UpdateStation(edit, renamed).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteStation("0A1C", other_.id).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetStation("0A1C")->name, "moved mast, no position");

  ASSERT_TRUE(store_->DeleteStation("0A1C", tenant_.id).ok());
  EXPECT_EQ(store_->GetStation("0A1C").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteStation("0A1C", tenant_.id).code(), Status::Code::kNotFound);
  const auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].rinfos.size(), 1u);
  EXPECT_EQ(messages[0].rinfos[0].station, "0A1C");
  // Its reports are refused now; the id may be created again.
  EXPECT_EQ(Results(Ingest({Report(0x2C, 2, 2'000, "0A1C")})),
            std::vector<IngestResult>{IngestResult::kUnknownStation});
  EXPECT_TRUE(
      store_->CreateStation(Station{"0A1C", "again", other_.id, std::nullopt, std::nullopt, 1})
          .ok());
}

TEST_P(MessageStoreTest, AStationOutsideTheSendersSubtreeIsUnknownToIt) {
  auto sent_by = [](UplinkReport r, const std::string& group) {
    r.caller_group = group;
    return r;
  };
  // The tenant's sender, through the tenant's, the other tenant's and the
  // operator's stations; the operator's sender through the tenant's.
  EXPECT_EQ(Results(Ingest({sent_by(Report(0x2C, 1, 1'000, "0A1C"), tenant_.id),
                            sent_by(Report(0x2C, 2, 2'000, "0B00"), tenant_.id),
                            sent_by(Report(0x2C, 3, 3'000, "0A1B"), tenant_.id),
                            sent_by(Report(0x2C, 4, 4'000, "0A1C"), root_.id),
                            sent_by(Report(0x2D, 1, 5'000, "0A1B"), root_.id)})),
            (std::vector<IngestResult>{IngestResult::kAccepted, IngestResult::kUnknownStation,
                                       IngestResult::kUnknownStation, IngestResult::kAccepted,
                                       IngestResult::kAccepted}));
  EXPECT_EQ(DeviceMessages(0x2C).size(), 2u);
}

TEST_P(MessageStoreTest, ACopyOfAFrameOlderThanTheDevicesLatestIsBehindIt) {
  EXPECT_FALSE(Ingest({Report(0x2C, 100, 10'000, "0A1C")})[0].behind_latest);
  auto copy = Ingest({Report(0x2C, 100, 10'400, "0A1B")});
  EXPECT_EQ(copy[0].result, IngestResult::kDuplicate);
  EXPECT_FALSE(copy[0].behind_latest);  // a copy of the latest frame
  EXPECT_EQ(Ingest({Report(0x2C, 101, 20'000, "0A1C")})[0].result, IngestResult::kAccepted);
  auto late = Ingest({Report(0x2C, 100, 10'500, "0A1D")});
  EXPECT_EQ(late[0].result, IngestResult::kDuplicate);
  EXPECT_TRUE(late[0].behind_latest);
  // In one batch: a copy of the latest, then the device's next frame, then a
  // copy of that one. The first copy is behind once the batch is taken.
  auto batch = Ingest({Report(0x2C, 101, 20'100, "0A1B"), Report(0x2C, 102, 30'000, "0A1C"),
                       Report(0x2C, 102, 30'200, "0A1B")});
  EXPECT_EQ(Results(batch),
            (std::vector<IngestResult>{IngestResult::kDuplicate, IngestResult::kAccepted,
                                       IngestResult::kDuplicate}));
  EXPECT_TRUE(batch[0].behind_latest);
  EXPECT_FALSE(batch[1].behind_latest);
  EXPECT_FALSE(batch[2].behind_latest);
}

TEST_P(MessageStoreTest, APublicNetworksServiceReportCountsForItsCallersSubtree) {
  ServiceReport r;
  r.device.value = 0x2C;  // the tenant's
  r.type = ServiceReportType::kStatus;
  r.time = 50'000;
  r.temp = 21;
  r.batt = 3.2;
  auto decide = [&](const std::string& station, const std::string& caller, int64_t seq) {
    ServiceReport x = r;
    x.station = station;
    x.public_network_caller = caller;
    x.seq_number = seq;
    x.time += seq * 100'000;  // apart: not copies of each other
    auto d = store_->IngestService(x, IngestPolicy{});
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? d->result : IngestResult::kUnknownDevice;
  };
  // Listed nowhere, or by another group (0B00, the other tenant's; 0A1B, the
  // operator's): the public network's, heard for the caller's subtree.
  EXPECT_EQ(decide("7E57", tenant_.id, 1), IngestResult::kAccepted);
  EXPECT_EQ(decide("0B00", tenant_.id, 2), IngestResult::kAccepted);
  EXPECT_EQ(decide("0A1B", tenant_.id, 3), IngestResult::kAccepted);
  // Listed in the caller's subtree: its own rule (0A1C is the tenant's).
  EXPECT_EQ(decide("0A1C", tenant_.id, 4), IngestResult::kAccepted);
  // Another group's caller: not its device, whatever the station.
  EXPECT_EQ(decide("7E57", other_.id, 5), IngestResult::kForeignStation);
  EXPECT_EQ(decide("0B00", other_.id, 6), IngestResult::kForeignStation);
  // Without the public network, an unlisted station is unknown.
  EXPECT_EQ(decide("7E57", "", 7), IngestResult::kUnknownStation);
  // A caller group that does not exist (deleted meanwhile): unknown station.
  EXPECT_EQ(decide("7E57", "no-such-group", 8), IngestResult::kUnknownStation);
}

TEST_P(MessageStoreTest, APublicBaseStationWithTheIdOfAListedOneIsAnotherStation) {
  // The operator's 0A1B hears the frame; so does the public network's base
  // station 0A1B, through a Sigfox Cloud callback of the tenant.
  auto listed = Ingest({Report(0x2C, 100, 10'000, "0A1B", -90)});
  UplinkReport cloud = Report(0x2C, 100, 10'300, "0A1B", -140);
  cloud.public_network_caller = tenant_.id;
  auto heard = Ingest({cloud});
  ASSERT_EQ(listed[0].result, IngestResult::kAccepted);
  EXPECT_FALSE(listed[0].public_network);
  ASSERT_EQ(heard[0].result, IngestResult::kDuplicate);
  EXPECT_TRUE(heard[0].public_network);
  // Two receptions, told apart; the same public station again is known.
  cloud.time += 100;
  EXPECT_EQ(Ingest({cloud})[0].result, IngestResult::kDuplicate);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].rinfos.size(), 2u);
  EXPECT_EQ(messages[0].rinfos[0].station, "0A1B");
  EXPECT_FALSE(messages[0].rinfos[0].public_network);
  EXPECT_EQ(messages[0].rinfos[0].lat, 43.60);
  EXPECT_EQ(messages[0].rinfos[1].station, "0A1B");
  EXPECT_TRUE(messages[0].rinfos[1].public_network);  // stored and read back
  EXPECT_FALSE(messages[0].rinfos[1].lat.has_value());
  // And the other way round: the public one first, then the listed one.
  auto first = [&] {
    UplinkReport r = Report(0x2D, 7, 20'000, "0A1B", -100);
    r.public_network_caller = tenant_.id;
    return Ingest({r});
  }();
  EXPECT_EQ(first[0].result, IngestResult::kAccepted);
  EXPECT_TRUE(first[0].public_network);
  EXPECT_EQ(Ingest({Report(0x2D, 7, 20'100, "0A1B", -95)})[0].result, IngestResult::kDuplicate);
  EXPECT_EQ(DeviceMessages(0x2D)[0].rinfos.size(), 2u);
}

TEST_P(MessageStoreTest, ThreeStationsReportingOneFrameMakeOneMessage) {
  // Separate batches, as three requests would be.
  auto first = Ingest({Report(0x2C, 100, 10'000, "0A1C", -110, 12)});
  auto second = Ingest({Report(0x2C, 100, 10'400, "0A1B", -125, 4)});
  auto third = Ingest({Report(0x2C, 100, 10'900, "0A1D", -118, 8)});
  EXPECT_EQ(first[0].result, IngestResult::kAccepted);
  EXPECT_EQ(second[0].result, IngestResult::kDuplicate);
  EXPECT_EQ(third[0].result, IngestResult::kDuplicate);
  ASSERT_TRUE(third[0].message.has_value());
  EXPECT_EQ(third[0].message->rinfos.size(), 3u);

  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  const Message& m = messages[0];
  EXPECT_EQ(m.time, 10'000);
  EXPECT_EQ(m.seq_number, 100);
  EXPECT_EQ(m.type, type_.id);
  EXPECT_EQ(m.group, tenant_.id);
  EXPECT_EQ(m.data, "0102");
  ASSERT_EQ(m.rinfos.size(), 3u);
  EXPECT_EQ(m.rinfos[0].station, "0A1C");  // the first report first
  EXPECT_EQ(m.rinfos[0].delay, 0);
  EXPECT_EQ(m.rinfos[0].rssi, -110);
  EXPECT_EQ(m.rinfos[0].lat, 43.70);
  EXPECT_EQ(m.rinfos[1].station, "0A1B");
  EXPECT_EQ(m.rinfos[1].delay, 400);
  EXPECT_EQ(m.rinfos[1].snr, 4);
  EXPECT_EQ(m.rinfos[2].station, "0A1D");
  EXPECT_EQ(m.rinfos[2].delay, 900);
  EXPECT_FALSE(m.rinfos[2].lat.has_value());
  EXPECT_EQ(m.rinfos[2].freq, 868130000);

  // The device moved on once, with the first report's values.
  auto d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sequence_number, 100);
  EXPECT_EQ(d->last, 10'000);
  EXPECT_EQ(d->average_rssi, -110);
  EXPECT_EQ(d->average_snr, 12);
}

// A frame stamped earlier than the one before it (the stations' clocks differ)
// is a new message, but the device was still heard at the later time: its
// `last` never moves back, so it does not look silent. The frame is still
// found for another station's copy of it, and the next number still follows.
TEST_P(MessageStoreTest, AFrameStampedEarlierThanTheLastLeavesTheDeviceHeardAtTheLater) {
  const EpochMillis now = 10'000'000;
  EXPECT_EQ(Ingest({Report(0x2D, 1, now, "0A1C")})[0].result, IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 10, now, "0A1C")})[0].result, IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 11, now - 3'600'000, "0A1C")})[0].result, IngestResult::kAccepted);
  auto d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->last, now);
  EXPECT_EQ(d->sequence_number, 11);
  // A keepAlive of 30 min: heard 1 s ago, so no loss.
  SilenceWatch watch{type_.id, 1'800'000, now + 1'000, 500};
  auto watched = store_->WatchSilence(watch);
  ASSERT_TRUE(watched.ok()) << watched.status().message();
  EXPECT_EQ(watched->lost, 0);

  // Another station's copy of frame 11 joins its message; frame 11 again past
  // the window is late; frame 12 is new.
  auto copy = Ingest({Report(0x2C, 11, now - 3'600'000 + 500, "0A1B")});
  EXPECT_EQ(copy[0].result, IngestResult::kDuplicate);
  ASSERT_TRUE(copy[0].message.has_value());
  EXPECT_EQ(copy[0].message->rinfos.size(), 2u);
  EXPECT_EQ(Ingest({Report(0x2C, 11, now - 3'500'000, "0A1D")})[0].result, IngestResult::kLate);
  EXPECT_EQ(Ingest({Report(0x2C, 12, now + 5'000, "0A1C")})[0].result, IngestResult::kAccepted);
  d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->last, now + 5'000);
  EXPECT_EQ(DeviceMessages(0x2C).size(), 3u);
}

TEST_P(MessageStoreTest, ReportsOfOneFrameInOneBatchAreStoredOnceWithEveryStation) {
  auto d = Ingest({Report(0x2C, 7, 5'000, "0A1B"), Report(0x2D, 1, 5'000, "0A1C"),
                   Report(0x2C, 7, 5'010, "0A1C"), Report(0x2C, 7, 5'020, "0A1C")});
  EXPECT_EQ(Results(d),
            (std::vector<IngestResult>{IngestResult::kAccepted, IngestResult::kAccepted,
                                       IngestResult::kDuplicate, IngestResult::kDuplicate}));
  // A station that reports again (a retry) is listed once.
  ASSERT_TRUE(d[3].message.has_value());
  EXPECT_EQ(d[3].message->rinfos.size(), 2u);
  // The accepted report's decision carries the message as stored, with the
  // stations that joined it later in the batch (the live feed shows it).
  ASSERT_TRUE(d[0].message.has_value());
  EXPECT_EQ(d[0].message->rinfos.size(), 2u);
  EXPECT_EQ(d[0].message->rinfos[1].station, "0A1C");
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].rinfos.size(), 2u);
  EXPECT_EQ(messages[0].rinfos[1].station, "0A1C");
  EXPECT_EQ(messages[0].rinfos[1].delay, 10);
  EXPECT_EQ(DeviceMessages(0x2D).size(), 1u);
  // Every device of the batch moved on, not only the first one written.
  for (uint32_t id : {0x2Cu, 0x2Du}) {
    auto dev = store_->GetDevice(id);
    ASSERT_TRUE(dev.ok());
    EXPECT_EQ(dev->last, 5'000) << id;
  }
}

// However many station ids a client reports one frame as, its message lists
// at most 64: each later copy is a duplicate that rewrites nothing.
TEST_P(MessageStoreTest, AMessageListsAtMost64Stations) {
  std::vector<UplinkReport> copies{Report(0x2C, 9, 5'000, "0A1B")};
  for (int n = 0; n < 70; ++n) {
    char id[5];
    std::snprintf(id, sizeof id, "%04X", 0xE000 + n);
    AddStation(id, tenant_.id, std::nullopt, std::nullopt);
    copies.push_back(Report(0x2C, 9, 5'001 + n, id));
  }
  auto first = Ingest({copies.begin(), copies.begin() + 40});
  auto rest = Ingest({copies.begin() + 40, copies.end()});  // a later commit: the stored row
  for (const auto* d : {&first, &rest}) {
    for (size_t i = d == &first ? 1 : 0; i < d->size(); ++i) {
      EXPECT_EQ((*d)[i].result, IngestResult::kDuplicate) << i;
    }
  }
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].rinfos.size(), 64u);
  EXPECT_EQ(messages[0].rinfos[0].station, "0A1B");
  EXPECT_EQ(messages[0].rinfos[63].station, "E03E");  // the 63rd copy; those after join nothing
}

TEST_P(MessageStoreTest, SameFrameAfterTheWindowIsLate) {
  IngestPolicy policy;
  policy.dedup_window_ms = 3000;
  EXPECT_EQ(Ingest({Report(0x2C, 9, 1'000, "0A1B")}, policy)[0].result, IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 9, 4'000, "0A1C")}, policy)[0].result, IngestResult::kDuplicate);
  EXPECT_EQ(Ingest({Report(0x2C, 9, 4'001, "0A1D")}, policy)[0].result, IngestResult::kLate);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].rinfos.size(), 2u);
}

TEST_P(MessageStoreTest, ReplaysAreRefusedAcrossTheWrapAndDisengageAcceptsTheNextOne) {
  EXPECT_EQ(Ingest({Report(0x2C, 4090, 1'000, "0A1B")})[0].result, IngestResult::kAccepted);
  // Ahead across the wrap: 4090 -> 3.
  EXPECT_EQ(Ingest({Report(0x2C, 3, 20'000, "0A1B")})[0].result, IngestResult::kAccepted);
  // Behind (3 -> 4095 is 2052 ahead, i.e. behind), and far behind.
  EXPECT_EQ(Ingest({Report(0x2C, 4095, 40'000, "0A1B")})[0].result, IngestResult::kReplay);
  EXPECT_EQ(Ingest({Report(0x2C, 2051, 40'000, "0A1B")})[0].result, IngestResult::kReplay);
  // 2047 ahead is the furthest accepted.
  EXPECT_EQ(Ingest({Report(0x2C, 2050, 60'000, "0A1B")})[0].result, IngestResult::kAccepted);
  EXPECT_EQ(DeviceMessages(0x2C).size(), 3u);

  // Disengaged: the next message is accepted whatever its number, once.
  ASSERT_EQ(*store_->DisengageSequenceCheck(type_.id, 70'000), 2);
  EXPECT_EQ(Ingest({Report(0x2C, 5, 80'000, "0A1B")})[0].result, IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 4, 90'000, "0A1B")})[0].result, IngestResult::kReplay);
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(0x2C));
  EXPECT_TRUE(*store_->ClearSequenceCheckDisengaged(0x2D));  // untouched by 2C's message
  auto d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sequence_number, 5);
  EXPECT_EQ(DeviceMessages(0x2C).size(), 4u);
}

// After a disengaged device's number went back, a station sending a frame
// stored before (with a number now ahead) sends a copy: it joins the stored
// message, is not counted again, and leaves the device's number where it was,
// so that the device's own next frame of that number is still taken.
TEST_P(MessageStoreTest, AStoredFrameSentAgainAfterTheNumberWentBackIsACopy) {
  EXPECT_EQ(Ingest({Report(0x2C, 6, 100'000, "0A1B")})[0].result, IngestResult::kAccepted);
  ASSERT_TRUE(store_->DisengageDeviceSequenceCheck(0x2C, 150'000).ok());
  EXPECT_EQ(Ingest({Report(0x2C, 5, 200'000, "0A1B")})[0].result, IngestResult::kAccepted);
  // In a batch with another device's new frame, which is stored once.
  auto again = Ingest({Report(0x2D, 1, 210'000, "0A1B"), Report(0x2C, 6, 100'000, "0A1C")});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].result, IngestResult::kAccepted);
  EXPECT_EQ(again[1].result, IngestResult::kDuplicate);
  auto d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sequence_number, 5);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 2u);
  const Message& six = messages[1];  // newest first
  EXPECT_EQ(six.seq_number, 6);
  ASSERT_EQ(six.rinfos.size(), 2u);
  EXPECT_EQ(six.rinfos[1].station, "0A1C");
  EXPECT_EQ(DeviceMessages(0x2D).size(), 1u);
  StatsQuery q;
  q.device = 0x2C;
  q.from = 0;
  q.to = 3'600'000;
  auto stats = store_->GetStats(q);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].messages, 2);
  EXPECT_EQ(Ingest({Report(0x2C, 6, 300'000, "0A1B")})[0].result, IngestResult::kAccepted);
}

// The same after the device moved to another owner: the stored frame is the
// old owner's message, which no report of the new owner joins (its station
// and position would show there); it is not a new frame either.
TEST_P(MessageStoreTest, AStoredFrameOfTheDevicesFormerOwnerSentAgainIsAReplay) {
  EXPECT_EQ(Ingest({Report(0x2C, 6, 100'000, "0A1B")})[0].result, IngestResult::kAccepted);
  DeviceType theirs = MakeType(2, other_.id);
  DevicePatch move;
  move.id = 0x2C;
  move.expect_group = tenant_.id;
  move.type = theirs.id;
  move.group = other_.id;
  auto moved = store_->PatchDevices(std::vector<DevicePatch>{move});
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  ASSERT_TRUE(store_->DisengageDeviceSequenceCheck(0x2C, 150'000).ok());
  EXPECT_EQ(Ingest({Report(0x2C, 5, 200'000, "0A1B")})[0].result, IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 6, 100'000, "0B00")})[0].result, IngestResult::kReplay);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].rinfos.size(), 1u);  // the old owner's message, untouched
  EXPECT_EQ(messages[1].group, tenant_.id);
  auto d = store_->GetDevice(0x2C);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sequence_number, 5);
}

TEST_P(MessageStoreTest, ACopyOfAnEarlierFrameArrivingAfterALaterOneJoinsItsMessage) {
  IngestPolicy policy;
  policy.dedup_window_ms = 3000;
  // In one batch: frame 5, frame 6, then another station's copy of 5.
  auto d = Ingest({Report(0x2C, 5, 10'000, "0A1B"), Report(0x2C, 6, 12'000, "0A1B"),
                   Report(0x2C, 5, 10'030, "0A1C")},
                  policy);
  EXPECT_EQ(Results(d), (std::vector<IngestResult>{IngestResult::kAccepted, IngestResult::kAccepted,
                                                   IngestResult::kDuplicate}));
  ASSERT_TRUE(d[2].message.has_value());
  EXPECT_EQ(d[2].message->seq_number, 5);
  EXPECT_EQ(d[2].message->rinfos.size(), 2u);
  // In a later batch, from the store: a third station's copy of 5 within the
  // window joins it; one past the window is a replay.
  EXPECT_EQ(Ingest({Report(0x2C, 5, 12'900, "0A1D")}, policy)[0].result, IngestResult::kDuplicate);
  EXPECT_EQ(Ingest({Report(0x2C, 5, 13'100, "0A1C")}, policy)[0].result, IngestResult::kReplay);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 2u);
  const Message& five = messages[0].seq_number == 5 ? messages[0] : messages[1];
  ASSERT_EQ(five.rinfos.size(), 3u);
  EXPECT_EQ(five.rinfos[1].station, "0A1C");
  EXPECT_EQ(five.rinfos[1].delay, 30);
  EXPECT_EQ(five.rinfos[2].station, "0A1D");
  // The device stays at its last frame.
  auto dev = store_->GetDevice(0x2C);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->sequence_number, 6);
  EXPECT_EQ(dev->last, 12'000);
}

// A report of a device that another transaction is moving to another device
// type (a bulk edit's chunk, an edit on another instance) waits for it and is
// then taken, for the new type: a statement that locked the device joined to
// its type re-read the device after the wait but not the type, found no row,
// and refused the report as coming from an unknown device.
TEST_P(MessageStoreTest, AReportOfADeviceBeingMovedToAnotherTypeWaitsAndIsTaken) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite runs one writer at a time";
  DeviceType moved_to = MakeType(2, tenant_.id);
  auto mover = driver::PostgresOpener(location_)();
  ASSERT_TRUE(mover.ok()) << mover.status().message();
  for (const std::string& sql :
       {std::string("BEGIN"), "UPDATE devices SET type_id = '" + moved_to.id + "' WHERE id = 44"}) {
    ASSERT_TRUE((*mover)->Exec(sql, "test").ok()) << sql;
  }
  std::vector<IngestDecision> waited;
  std::thread here([&] { waited = Ingest({Report(0x2C, 1, 10'000, "0A1B")}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // waits for the lock
  ASSERT_TRUE((*mover)->Exec("COMMIT", "test").ok());
  here.join();
  ASSERT_EQ(Results(waited), std::vector<IngestResult>{IngestResult::kAccepted});
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].type, moved_to.id);
}

// Two instances' reports of one disengaged device on PostgreSQL: the one that
// waited for the device's lock must not use the flag the other used meanwhile
// (PostgreSQL re-reads the locked row after the wait, not the rows joined to it).
TEST_P(MessageStoreTest, ADisengagedFlagUsedByAnotherInstanceMeanwhileIsNotUsedAgain) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite runs one writer at a time";
  ASSERT_EQ(Results(Ingest({Report(0x2C, 100, 10'000, "0A1B")})),
            std::vector<IngestResult>{IngestResult::kAccepted});
  ASSERT_TRUE(store_->DisengageDeviceSequenceCheck(0x2C, 15'000).ok());
  // The other instance: locks the device, uses its flag for frame 500, not yet committed.
  auto other = driver::PostgresOpener(location_)();
  ASSERT_TRUE(other.ok()) << other.status().message();
  for (const char* sql :
       {"BEGIN", "SELECT id FROM devices WHERE id = 44 FOR NO KEY UPDATE",
        "DELETE FROM sequence_check_disengaged WHERE device_id = 44",
        "UPDATE devices SET sequence_number = 500, last_time = 20000 WHERE id = 44"}) {
    ASSERT_TRUE((*other)->Exec(sql, "test").ok()) << sql;
  }
  std::vector<IngestDecision> behind;
  std::thread here([&] { behind = Ingest({Report(0x2C, 300, 30'000, "0A1B")}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // waits for the lock
  ASSERT_TRUE((*other)->Exec("COMMIT", "test").ok());
  here.join();
  EXPECT_EQ(Results(behind), std::vector<IngestResult>{IngestResult::kReplay})
      << "frame 300 is behind 500, and the flag was used";
  EXPECT_EQ(store_->GetDevice(0x2C)->sequence_number, 500);
}

// Ingest uses and clears a type's disengage flags in device id order; a
// disengage of the type sets them again (locking those still set) in the same
// order, so the two never wait for each other (PostgreSQL found a deadlock
// when the disengage followed the table's order, here the reverse of ids).
TEST_P(MessageStoreTest, IngestWhileItsTypeIsDisengagedAgainAndAgainNeverDeadlocks) {
  constexpr uint32_t kFirst = 0x5000;
  constexpr int kDevices = 150;
  for (int i = kDevices - 1; i >= 0; --i) {
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(kFirst + i, type_)).ok());
  }
  ASSERT_GE(*store_->DisengageSequenceCheck(type_.id, 1'000), kDevices);
  std::atomic<bool> done{false};
  std::atomic<int> disengaged{0};
  std::thread again([&] {
    while (!done.load()) {
      auto n = store_->DisengageSequenceCheck(type_.id, 1'000 + disengaged.load());
      EXPECT_TRUE(n.ok()) << n.status().message();
      ++disengaged;
    }
  });
  for (int round = 0; round < 15; ++round) {
    std::vector<UplinkReport> reports;
    for (int i = 0; i < kDevices; ++i) {
      reports.push_back(Report(kFirst + i, 10 + round, 10'000 + round * 1'000, "0A1B"));
    }
    auto r = store_->IngestUplinks(reports, IngestPolicy{});
    EXPECT_TRUE(r.ok()) << "round " << round << ": " << r.status().message();
  }
  while (disengaged.load() < 3) std::this_thread::yield();
  done = true;
  again.join();
}

TEST_P(MessageStoreTest, DisengageAcceptsTheLastSequenceNumberAgainPastTheWindow) {
  IngestPolicy policy;
  policy.dedup_window_ms = 3000;
  EXPECT_EQ(Ingest({Report(0x2C, 100, 1'000, "0A1B")}, policy)[0].result, IngestResult::kAccepted);
  ASSERT_EQ(*store_->DisengageSequenceCheck(type_.id, 2'000), 2);
  // Within the window it is still another station's copy of the frame...
  EXPECT_EQ(Ingest({Report(0x2C, 100, 1'500, "0A1C")}, policy)[0].result, IngestResult::kDuplicate);
  // ... past it, a device that restarted and counts from 100 again.
  EXPECT_EQ(Ingest({Report(0x2C, 100, 600'000, "0A1B")}, policy)[0].result,
            IngestResult::kAccepted);
  EXPECT_EQ(Ingest({Report(0x2C, 100, 900'000, "0A1B")}, policy)[0].result, IngestResult::kLate);
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(0x2C));  // used by the accepted one
  EXPECT_EQ(DeviceMessages(0x2C).size(), 2u);
}

TEST_P(MessageStoreTest, UnknownDevicesAndStationsAndForeignStationsAreRefused) {
  auto d = Ingest({Report(0x99, 1, 1'000, "0A1B"), Report(0x2C, 1, 1'000, "FFFF"),
                   Report(0x2C, 1, 1'000, "0B00"), Report(0x2C, 1, 1'000, "0A1C")});
  EXPECT_EQ(Results(d),
            (std::vector<IngestResult>{IngestResult::kUnknownDevice, IngestResult::kUnknownStation,
                                       IngestResult::kForeignStation, IngestResult::kAccepted}));
  EXPECT_FALSE(d[0].message.has_value());
  // A refused report never joins the message either.
  ASSERT_TRUE(d[3].message.has_value());
  EXPECT_EQ(d[3].message->rinfos.size(), 1u);
  EXPECT_EQ(Ingest({Report(0x2C, 1, 1'100, "0B00")})[0].result, IngestResult::kForeignStation);
  EXPECT_EQ(DeviceMessages(0x2C).at(0).rinfos.size(), 1u);
}

TEST_P(MessageStoreTest, TheCompletionHookSetsDerivedFieldsForNewAndMergedMessages) {
  IngestPolicy policy;
  std::atomic<int> calls{0};
  policy.complete = [&](Message& m, PayloadType type, std::string_view config) {
    ++calls;
    EXPECT_EQ(type, PayloadType::kCustom);
    EXPECT_EQ(config, "temp::int:16:little-endian");
    m.decoded = "{\"stations\":" + std::to_string(m.rinfos.size()) + "}";
    m.link_quality = m.rinfos.size() >= 2 ? LinkQuality::kGood : LinkQuality::kLimit;
    m.computed_location = ComputedLocation{1.5, 2.5, 1000.0 / static_cast<double>(m.rinfos.size())};
  };
  Ingest({Report(0x2C, 1, 1'000, "0A1B")}, policy);
  Ingest({Report(0x2C, 1, 1'200, "0A1C")}, policy);
  EXPECT_EQ(calls.load(), 2);
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].decoded, "{\"stations\":2}");
  EXPECT_EQ(messages[0].link_quality, LinkQuality::kGood);
  ASSERT_TRUE(messages[0].computed_location.has_value());
  EXPECT_EQ(messages[0].computed_location->radius, 500.0);
}

TEST_P(MessageStoreTest, MessageListsPageNewestFirstByDeviceAndByType) {
  std::vector<UplinkReport> reports;
  for (int i = 1; i <= 5; ++i) {
    reports.push_back(Report(0x2C, i, 1'000 * i, "0A1B"));
    reports.push_back(Report(0x2D, i, 1'000 * i, "0A1B"));  // same times: ties by device
  }
  auto d = Ingest(reports);
  ASSERT_EQ(d.size(), 10u);
  for (const auto& x : d) EXPECT_EQ(x.result, IngestResult::kAccepted);

  MessageQuery q;
  q.type = type_.id;
  q.limit = 3;
  std::vector<std::pair<uint32_t, EpochMillis>> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListMessages(q);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& m : page->messages) seen.emplace_back(m.device.value, m.time);
    if (!page->next) break;
    q.after = page->next;
  }
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen[0], std::make_pair(uint32_t{0x2D}, EpochMillis{5'000}));
  EXPECT_EQ(seen[1], std::make_pair(uint32_t{0x2C}, EpochMillis{5'000}));
  EXPECT_EQ(seen[9], std::make_pair(uint32_t{0x2C}, EpochMillis{1'000}));

  MessageQuery range;
  range.device = 0x2C;
  range.since = 2'000;
  range.before = 5'000;
  auto page = store_->ListMessages(range);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages.front().time, 4'000);
  EXPECT_EQ(page->messages.back().time, 2'000);
  EXPECT_FALSE(page->next.has_value());

  MessageQuery both;
  both.device = 0x2C;
  both.type = type_.id;
  EXPECT_EQ(store_->ListMessages(both).status().code(), Status::Code::kInvalidInput);
  MessageQuery too_many;
  too_many.device = 0x2C;
  too_many.limit = kMaxPageSize + 1;
  EXPECT_EQ(store_->ListMessages(too_many).status().code(), Status::Code::kInvalidInput);
}

// The messages of many keys far apart in time are read by key, each once,
// across the statements' chunks, and keys of no message are left out.
TEST_P(MessageStoreTest, MessagesAreReadByTheirKeysEachOnce) {
  constexpr EpochMillis kDay = 86'400'000;
  constexpr EpochMillis kMarch10 = 1773100800000;  // 2026-03-10 UTC
  // On PostgreSQL: March to June have partitions of their own, the rest is
  // in the default one; one statement's keys span several.
  ASSERT_TRUE(store_->PrepareMessagePartitions(kMarch10, 4).ok());
  std::vector<UplinkReport> reports;
  for (int i = 1; i <= 70; ++i) reports.push_back(Report(0x2C, i, kMarch10 + kDay * i, "0A1B"));
  for (int i = 1; i <= 3; ++i) reports.push_back(Report(0x2D, i, 1'000 * i, "0A1B"));
  for (const auto& x : Ingest(reports)) ASSERT_EQ(x.result, IngestResult::kAccepted);

  std::vector<MessageCursor> keys;
  for (int i = 70; i >= 1; --i) keys.push_back({kMarch10 + kDay * i, 0x2C, i});
  keys.push_back({2'000, 0x2D, 2});
  keys.push_back({2'000, 0x2D, 2});                // twice
  keys.push_back({kMarch10 + kDay * 5, 0x2C, 6});  // a sequence number of another time
  keys.push_back({3'000, 0x2E, 3});                // no such device
  keys.push_back({kMarch10 + kDay * 3, 0x2C, 3});  // again, in another chunk
  auto read = store_->GetMessages(keys);
  ASSERT_TRUE(read.ok()) << read.status().message();
  std::vector<std::tuple<uint32_t, EpochMillis, int64_t>> got;
  for (const Message& m : *read) {
    got.emplace_back(m.device.value, m.time, m.seq_number);
    EXPECT_EQ(m.data, "0102");
  }
  std::sort(got.begin(), got.end());
  std::vector<std::tuple<uint32_t, EpochMillis, int64_t>> want;
  for (int i = 1; i <= 70; ++i) want.emplace_back(0x2C, kMarch10 + kDay * i, i);
  want.emplace_back(0x2D, 2'000, 2);
  EXPECT_EQ(got, want);

  auto none = store_->GetMessages({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Several instances sharing one database (here: several Store objects on it)
// that receive reports of one frame at once make one message with every station.
TEST_P(MessageStoreTest, InstancesReceivingOneFrameTogetherMakeOneMessage) {
  std::vector<std::unique_ptr<Store>> instances;
  for (int i = 0; i < 3; ++i) {
    auto s = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    instances.push_back(std::move(*s));
  }
  const char* kStations[] = {"0A1B", "0A1C", "0A1D"};
  for (int frame = 1; frame <= 20; ++frame) {
    std::atomic<int> accepted{0}, duplicates{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&, i] {
        std::vector<UplinkReport> one{Report(0x2C, frame, frame * 10'000 + i, kStations[i])};
        auto r = instances[i]->IngestUplinks(one, IngestPolicy{});
        ASSERT_TRUE(r.ok()) << r.status().message();
        if ((*r)[0].result == IngestResult::kAccepted) ++accepted;
        if ((*r)[0].result == IngestResult::kDuplicate) ++duplicates;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(accepted.load(), 1) << "frame " << frame;
    EXPECT_EQ(duplicates.load(), 2) << "frame " << frame;
  }
  auto messages = DeviceMessages(0x2C);
  ASSERT_EQ(messages.size(), 20u);
  for (const auto& m : messages) EXPECT_EQ(m.rinfos.size(), 3u) << m.seq_number;
}

// A bulk edit's rows are locked in id order, as ingest locks them: given in
// the reverse order, the two used to deadlock on PostgreSQL (one aborted).
TEST_P(MessageStoreTest, ABulkEditInAnyOrderAndIngestNeverDeadlock) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite runs one writer at a time";
  constexpr uint32_t kFirst = 0x300, kDevices = 40;
  for (uint32_t id = kFirst; id < kFirst + kDevices; ++id) {
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, type_)).ok());
  }
  constexpr int kRounds = 60;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex mu;
  auto failed = [&](const Status& st) {
    std::lock_guard lock(mu);
    if (failures++ == 0) first_failure = st.message();
  };
  std::thread editor([&] {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<DevicePatch> patches;
      for (uint32_t id = kFirst + kDevices; id-- > kFirst;) {  // descending
        DevicePatch p;
        p.id = id;
        p.expect_group = tenant_.id;
        p.name = "round " + std::to_string(round);
        patches.push_back(p);
      }
      auto r = store_->PatchDevices(patches);
      if (!r.ok()) failed(r.status());
    }
  });
  std::thread ingest([&] {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<UplinkReport> reports;
      for (uint32_t id = kFirst; id < kFirst + kDevices; ++id) {
        reports.push_back(Report(id, round + 1, (round + 1) * 60'000, "0A1B"));
      }
      auto r = store_->IngestUplinks(reports, IngestPolicy{});
      if (!r.ok()) failed(r.status());
    }
  });
  editor.join();
  ingest.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  auto device = store_->GetDevice(kFirst);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->name, "round " + std::to_string(kRounds - 1));
  EXPECT_EQ(device->sequence_number.value_or(-1), kRounds);
}

// Patches are applied in id order; a mismatch is still reported at its index.
TEST_P(MessageStoreTest, PatchMismatchesAreReportedAtTheirIndexWhateverTheOrder) {
  std::vector<DevicePatch> patches(3);
  patches[0].id = 0x2D;
  patches[0].expect_group = tenant_.id;
  patches[0].name = "d";
  patches[1].id = 0x2C;
  patches[1].expect_group = other_.id;  // not its group: mismatched
  patches[1].name = "c";
  patches[2].id = 0x2B;  // no such device
  patches[2].expect_group = tenant_.id;
  auto r = store_->PatchDevices(patches);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(store_->GetDevice(0x2D)->name, "d");
  EXPECT_NE(store_->GetDevice(0x2C)->name, "c");
}

TEST_P(MessageStoreTest, StatisticsAddUpPerHourAndPerDayForDevicesAndTypes) {
  constexpr EpochMillis kDay = 20'000 * kMillisPerDay;  // a midnight, UTC
  // Day 1, hour 0: a frame heard by two stations; hour 5: another frame.
  Ingest({Report(0x2C, 1, kDay + 1'000, "0A1B", -100, 10),
          Report(0x2C, 1, kDay + 1'500, "0A1C", -110, 6)});
  auto second = Report(0x2C, 2, kDay + 5 * kMillisPerHour + 7, "0A1B", -90, 12);
  second.freq = 868131400;
  Ingest({second});
  // Day 2: the other device of the type.
  Ingest({Report(0x2D, 1, kDay + kMillisPerDay + 3, "0A1C", -120, 2)});
  // Refused reports count nowhere.
  Ingest({Report(0x2C, 1, kDay + 9 * kMillisPerHour, "0A1B")});

  StatsQuery hours;
  hours.device = 0x2C;
  hours.from = kDay;
  hours.to = kDay + 2 * kMillisPerDay;
  auto h = store_->GetStats(hours);
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].start, kDay);
  EXPECT_EQ((*h)[0].messages, 1);
  EXPECT_EQ((*h)[0].bytes, 2);
  EXPECT_EQ((*h)[0].receptions, 2);
  EXPECT_DOUBLE_EQ((*h)[0].snr_sum, 16);
  EXPECT_DOUBLE_EQ((*h)[0].rssi_sum, -210);
  EXPECT_EQ((*h)[0].frequencies, (std::map<int64_t, int64_t>{{868130, 2}}));
  EXPECT_EQ((*h)[1].start, kDay + 5 * kMillisPerHour);
  EXPECT_EQ((*h)[1].frequencies, (std::map<int64_t, int64_t>{{868131, 1}}));

  StatsQuery days;
  days.type = type_.id;
  days.from = kDay + 7;  // rounded down to the day
  days.to = kDay + 3 * kMillisPerDay;
  days.step = StatsStep::kDay;
  auto d = store_->GetStats(days);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].start, kDay);
  EXPECT_EQ((*d)[0].messages, 2);
  EXPECT_EQ((*d)[0].receptions, 3);
  EXPECT_EQ((*d)[0].frequencies, (std::map<int64_t, int64_t>{{868130, 2}, {868131, 1}}));
  EXPECT_EQ((*d)[1].start, kDay + kMillisPerDay);
  EXPECT_EQ((*d)[1].messages, 1);

  // A downlink counts once, however many times the frame is decided.
  const EpochMillis t = kDay + 5 * kMillisPerHour + 7;
  ASSERT_TRUE(store_->SetMessageDownlink({t, 0x2C, 2}, "00112233aabbccdd", "0A1B").ok());
  ASSERT_TRUE(store_->SetMessageDownlink({t, 0x2C, 2}, "ffffffffffffffff", "0A1C").ok());
  // A STATUS report adds its temperature and voltage.
  ServiceReport status;
  status.device.value = 0x2C;
  status.time = kDay + 5 * kMillisPerHour + 60'000;
  status.station = "0A1B";
  status.temp = 20.5;
  status.batt = 3.25;
  auto accepted = store_->IngestService(status, IngestPolicy{});
  ASSERT_TRUE(accepted.ok()) << accepted.status().message();
  h = store_->GetStats(hours);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].downlinks, 1);
  EXPECT_EQ((*h)[1].status_reports, 1);
  EXPECT_DOUBLE_EQ((*h)[1].temp_sum, 20.5);
  EXPECT_DOUBLE_EQ((*h)[1].batt_sum, 3.25);

  StatsQuery both;
  both.device = 0x2C;
  both.type = type_.id;
  EXPECT_EQ(store_->GetStats(both).status().code(), Status::Code::kInvalidInput);
}

TEST_P(MessageStoreTest, LocationListsOnlyMessagesWithAComputedLocation) {
  IngestPolicy policy;
  policy.complete = [](Message& m, PayloadType, std::string_view) {
    if (m.seq_number % 2 == 0) m.computed_location = ComputedLocation{43.6, 1.44, 1000};
  };
  for (int seq = 1; seq <= 5; ++seq) Ingest({Report(0x2C, seq, seq * 10'000, "0A1B")}, policy);
  MessageQuery q;
  q.device = 0x2C;
  q.with_location = true;
  auto page = store_->ListMessages(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].seq_number, 4);
  EXPECT_EQ(page->messages[1].seq_number, 2);
}

TEST_P(MessageStoreTest, RetentionDropsWholeMonthsOnPostgresAndRowsOnSqlite) {
  // 2026-03-10, and the first days of April, May and July 2026 (UTC).
  constexpr EpochMillis kMarch10 = 1773100800000;
  constexpr EpochMillis kApril1 = 1775001600000;
  constexpr EpochMillis kMay1 = 1777593600000;
  constexpr EpochMillis kJuly1 = 1782864000000;
  // A report of July before its partition exists lands in the default partition:
  // that month cannot get one, the others are made.
  Ingest({Report(0x2D, 1, kJuly1 + 5, "0A1B")});
  Status prepared = store_->PrepareMessagePartitions(kMarch10, 4);
  auto partitions = store_->ListMessagePartitions();
  ASSERT_TRUE(partitions.ok()) << partitions.status().message();
  if (GetParam() == "postgresql") {
    EXPECT_EQ(prepared.code(), Status::Code::kInvalidInput);
    EXPECT_NE(prepared.message().find("messages_p202607"), std::string::npos) << prepared.message();
    EXPECT_EQ(*partitions,
              (std::vector<std::string>{"messages_default", "messages_p202603", "messages_p202604",
                                        "messages_p202605", "messages_p202606"}));
  } else {
    EXPECT_TRUE(prepared.ok()) << prepared.message();
    EXPECT_TRUE(partitions->empty());
  }
  // An old message (default partition), two in March, one in April.
  Ingest({Report(0x2C, 1, kMarch10 - 400 * kMillisPerDay, "0A1B")});
  Ingest({Report(0x2C, 2, kMarch10, "0A1B")});
  Ingest({Report(0x2C, 3, kMarch10 + kMillisPerDay, "0A1B")});
  Ingest({Report(0x2C, 4, kApril1 + 1, "0A1B")});
  Callback cb;
  cb.id = "cb-1";
  cb.type = type_.id;
  cb.url = "http://127.0.0.1:9/";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  Ingest({Report(0x2C, 5, kApril1 + 2, "0A1B")});  // queues a delivery

  // Everything before April goes; April stays (whole month on PostgreSQL).
  auto purged = store_->PurgeMessagesBefore(kApril1);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  std::vector<int64_t> left;
  for (const Message& m : DeviceMessages(0x2C)) left.push_back(m.seq_number);
  EXPECT_EQ(left, (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(DeviceMessages(0x2D).size(), 1u);  // July
  if (GetParam() == "postgresql") {
    EXPECT_EQ(purged->partitions_dropped, 1);
    EXPECT_EQ(purged->rows_deleted, 1);  // the old one, from the default partition
    partitions = store_->ListMessagePartitions();
    ASSERT_TRUE(partitions.ok());
    EXPECT_EQ(std::count(partitions->begin(), partitions->end(), "messages_p202603"), 0);
  } else {
    EXPECT_EQ(purged->rows_deleted, 3);
  }
  // A cutoff inside April: PostgreSQL keeps the month whole, with its messages'
  // deliveries; SQLite deletes to the row.
  purged = store_->PurgeMessagesBefore(kApril1 + 3);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(DeviceMessages(0x2C).size(), GetParam() == "postgresql" ? 2u : 0u);
  std::vector<MessageCursor> fifth{{kApril1 + 2, 0x2C, 5}};
  auto kept = store_->ListMessageDeliveries(fifth);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(kept->size(), GetParam() == "postgresql" ? 1u : 0u);
  // The deliveries of purged messages go with them.
  purged = store_->PurgeMessagesBefore(kMay1);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_TRUE(DeviceMessages(0x2C).empty());
  auto due = store_->ClaimDeliveries(kJuly1, 10, 1000);
  ASSERT_TRUE(due.ok()) << due.status().message();
  EXPECT_TRUE(due->empty());
}

TEST_P(MessageStoreTest, StatisticsStayExactWhenOneBatchAddsToManyRowsAtOnce) {
  // 40 devices × 10 hours × 3 frequencies in one batch: 400 device rows (more
  // than one statement's worth), 10 type rows, 1 230 frequency rows; then a
  // second batch adds to every one of them (the ON CONFLICT path).
  constexpr EpochMillis kDay = 20'100 * kMillisPerDay;
  constexpr int kDevices = 40, kHours = 10;
  constexpr int64_t kFreqs[] = {868130000, 868131000, 868132000};
  std::vector<Device> devices;
  for (uint32_t id = 0x1000; id < 0x1000 + kDevices; ++id) devices.push_back(MakeDevice(id, type_));
  ASSERT_TRUE(store_->InsertDevices(devices).ok());
  std::vector<UplinkReport> first, second;
  for (uint32_t id = 0x1000; id < 0x1000 + kDevices; ++id) {
    for (int h = 0; h < kHours; ++h) {
      for (int f = 0; f < 3; ++f) {
        auto r = Report(id, h * 3 + f + 1, kDay + h * kMillisPerHour + f * 60'000, "0A1B", -100 - f,
                        5 + f);
        r.freq = kFreqs[f];
        first.push_back(r);
        if (f == 0) {  // heard by a second station too: a reception, not a message
          auto dup = r;
          dup.station = "0A1C";
          dup.time += 100;
          first.push_back(dup);
        }
      }
      auto more = Report(id, 100 + h, kDay + h * kMillisPerHour + 30 * 60'000, "0A1B", -90, 7);
      more.freq = kFreqs[0];
      second.push_back(more);
    }
  }
  for (const auto& d : Ingest(first)) {
    ASSERT_TRUE(d.result == IngestResult::kAccepted || d.result == IngestResult::kDuplicate);
  }
  for (const auto& d : Ingest(second)) ASSERT_EQ(d.result, IngestResult::kAccepted);

  // Per hour of one device: 3 + 1 messages, 4 + 1 receptions.
  for (uint32_t id : {0x1000u, 0x1013u, 0x1000u + kDevices - 1}) {
    StatsQuery q;
    q.device = id;
    q.from = kDay;
    q.to = kDay + kMillisPerDay;
    auto hours = store_->GetStats(q);
    ASSERT_TRUE(hours.ok()) << hours.status().message();
    ASSERT_EQ(hours->size(), static_cast<size_t>(kHours));
    for (int h = 0; h < kHours; ++h) {
      const StatsBucket& b = (*hours)[h];
      EXPECT_EQ(b.start, kDay + h * kMillisPerHour);
      EXPECT_EQ(b.messages, 4) << id << " hour " << h;
      EXPECT_EQ(b.bytes, 8);
      EXPECT_EQ(b.receptions, 5);
      EXPECT_DOUBLE_EQ(b.snr_sum, 5 + 5 + 6 + 7 + 7);
      EXPECT_DOUBLE_EQ(b.rssi_sum, -100 - 100 - 101 - 102 - 90);
      EXPECT_EQ(b.frequencies, (std::map<int64_t, int64_t>{{868130, 3}, {868131, 1}, {868132, 1}}));
    }
  }
  // The type's hours: every device's sums.
  StatsQuery q;
  q.type = type_.id;
  q.from = kDay;
  q.to = kDay + kMillisPerDay;
  auto hours = store_->GetStats(q);
  ASSERT_TRUE(hours.ok()) << hours.status().message();
  ASSERT_EQ(hours->size(), static_cast<size_t>(kHours));
  for (const StatsBucket& b : *hours) {
    EXPECT_EQ(b.messages, 4 * kDevices);
    EXPECT_EQ(b.receptions, 5 * kDevices);
    EXPECT_DOUBLE_EQ(b.rssi_sum, -493.0 * kDevices);
    EXPECT_EQ(b.frequencies, (std::map<int64_t, int64_t>{
                                 {868130, 3 * kDevices}, {868131, kDevices}, {868132, kDevices}}));
  }
}

TEST_P(MessageStoreTest, StatisticsOlderThanTheirRetentionArePurgedAndRecentOnesKept) {
  constexpr EpochMillis kDay = 20'000 * kMillisPerDay;
  const EpochMillis cutoff = kDay + 10 * kMillisPerDay;
  // Old: two hours of two devices, another frequency, a STATUS report.
  Ingest({Report(0x2C, 1, kDay + 1'000, "0A1B"), Report(0x2D, 1, kDay + 2'000, "0A1C")});
  auto other_freq = Report(0x2C, 2, kDay + 3 * kMillisPerHour, "0A1B");
  other_freq.freq = 868131400;
  Ingest({other_freq});
  ServiceReport status;
  status.device.value = 0x2C;
  status.time = kDay + 3 * kMillisPerHour + 60'000;
  status.station = "0A1B";
  status.seq_number = 2;
  status.temp = 20.5;
  status.batt = 3.25;
  ASSERT_TRUE(store_->IngestService(status, IngestPolicy{}).ok());
  // Recent: the hour the cutoff falls in starts before it, the next one after.
  Ingest({Report(0x2C, 3, cutoff + kMillisPerHour + 5, "0A1B")});

  auto purged = store_->PurgeStatisticsBefore(cutoff);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  // hourly_stats: 2 device hours of 0x2C, 1 of 0x2D, 2 type hours; hourly_frequencies:
  // the same five rows (one frequency each); service_reports: one.
  EXPECT_EQ(*purged, 5 + 5 + 1);
  for (bool device : {true, false}) {
    StatsQuery q;
    if (device) {
      q.device = 0x2C;
    } else {
      q.type = type_.id;
    }
    q.from = kDay;
    q.to = cutoff + 2 * kMillisPerDay;
    q.step = StatsStep::kDay;
    auto days = store_->GetStats(q);
    ASSERT_TRUE(days.ok()) << days.status().message();
    ASSERT_EQ(days->size(), 1u) << "device " << device;
    EXPECT_EQ((*days)[0].start, cutoff);
    EXPECT_EQ((*days)[0].messages, 1);
    EXPECT_EQ((*days)[0].frequencies, (std::map<int64_t, int64_t>{{868130, 1}}));
  }
  purged = store_->PurgeStatisticsBefore(cutoff);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0);
}

TEST_P(MessageStoreTest, StatisticsArePurgedInChunksOfBoundedSize) {
  // More rows than one chunk (5 000): 2 600 hours of one device, each a device
  // row, a type row and two frequency rows.
  constexpr EpochMillis kStart = 20'000 * kMillisPerDay;
  constexpr int kHours = 2'600;
  std::vector<UplinkReport> batch;
  for (int h = 0; h < kHours; ++h) {
    batch.push_back(Report(0x2C, h + 1, kStart + h * kMillisPerHour, "0A1B"));
    if (batch.size() == 500 || h + 1 == kHours) {
      auto decided = Ingest(batch);
      ASSERT_EQ(decided.size(), batch.size());
      for (const auto& d : decided) ASSERT_EQ(d.result, IngestResult::kAccepted);
      batch.clear();
    }
  }
  auto purged = store_->PurgeStatisticsBefore(kStart + kHours * kMillisPerHour);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(*purged, 4 * kHours);
  StatsQuery q;
  q.type = type_.id;
  q.from = kStart;
  q.to = kStart + 300 * kMillisPerDay;
  q.step = StatsStep::kDay;
  auto days = store_->GetStats(q);
  ASSERT_TRUE(days.ok());
  EXPECT_TRUE(days->empty());
}

TEST_P(MessageStoreTest, APartitionDropThatCannotGetItsLockIsSkippedNotQueuedBehind) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "partitions are PostgreSQL's";
  constexpr EpochMillis kMarch10 = 1773100800000;
  constexpr EpochMillis kApril1 = 1775001600000;
  ASSERT_TRUE(store_->PrepareMessagePartitions(kMarch10, 2).ok());
  Ingest({Report(0x2C, 1, kMarch10, "0A1B")});
  Callback cb;
  cb.id = "cb-1";
  cb.type = type_.id;
  cb.url = "http://127.0.0.1:9/";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  Ingest({Report(0x2C, 2, kMarch10 + 1, "0A1B")});  // with a delivery
  // Another session reads `messages`: its lock conflicts with the drop's.
  auto reader = driver::PostgresOpener(location_)();
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_TRUE((*reader)->Exec("BEGIN", "test").ok());
  ASSERT_TRUE((*reader)->Exec("LOCK TABLE messages IN ACCESS SHARE MODE", "test").ok());
  const auto start = std::chrono::steady_clock::now();
  auto purged = store_->PurgeMessagesBefore(kApril1);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_LT(waited, std::chrono::seconds(10)) << "the drop gave up after its lock timeout";
  EXPECT_EQ(purged->partitions_dropped, 0);
  EXPECT_EQ(purged->partitions_busy, std::vector<std::string>{"messages_p202603"});
  EXPECT_EQ(DeviceMessages(0x2C).size(), 2u);
  std::vector<MessageCursor> second{{kMarch10 + 1, 0x2C, 2}};
  auto kept = store_->ListMessageDeliveries(second);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(kept->size(), 1u) << "the deliveries of a month kept stay with it";
  // Ingest is not left behind a failed drop.
  Ingest({Report(0x2C, 3, kMarch10 + 2, "0A1B")});
  ASSERT_TRUE((*reader)->Exec("COMMIT", "test").ok());
  purged = store_->PurgeMessagesBefore(kApril1);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(purged->partitions_dropped, 1);
  EXPECT_TRUE(purged->partitions_busy.empty());
  EXPECT_TRUE(DeviceMessages(0x2C).empty());
  kept = store_->ListMessageDeliveries(second);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
}

// Making a month's partition waits for every transaction reading `messages`,
// and every ingest queues behind that wait: bounded as a drop's, the month is
// left to the next pass. A month made already takes no lock at all.
TEST_P(MessageStoreTest, APartitionThatCannotGetItsLockIsMadeByTheNextPassNotQueuedBehind) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "partitions are PostgreSQL's";
  constexpr EpochMillis kMarch10 = 1773100800000;
  constexpr EpochMillis kApril10 = 1775779200000;
  ASSERT_TRUE(store_->PrepareMessagePartitions(kMarch10, 0).ok());
  auto reader = driver::PostgresOpener(location_)();
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_TRUE((*reader)->Exec("BEGIN", "test").ok());
  ASSERT_TRUE((*reader)->Exec("LOCK TABLE messages IN ACCESS SHARE MODE", "test").ok());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(store_->PrepareMessagePartitions(kMarch10, 0).ok()) << "made already: no lock";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  start = std::chrono::steady_clock::now();
  Status busy = store_->PrepareMessagePartitions(kApril10, 0);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::seconds(10)) << "it gave up after its lock timeout";
  EXPECT_EQ(busy.code(), Status::Code::kInvalidInput);
  EXPECT_NE(busy.message().find("messages_p202604"), std::string::npos) << busy.message();
  ASSERT_TRUE((*reader)->Exec("COMMIT", "test").ok());
  ASSERT_TRUE(store_->PrepareMessagePartitions(kApril10, 0).ok());
  auto partitions = store_->ListMessagePartitions();
  ASSERT_TRUE(partitions.ok()) << partitions.status().message();
  EXPECT_EQ(*partitions,
            (std::vector<std::string>{"messages_default", "messages_p202603", "messages_p202604"}));
}

// The console's messages of today count the day's hours only: ingest takes
// frames stamped up to ten minutes ahead, which belong to tomorrow's count.
TEST_P(MessageStoreTest, MessagesTodayCountTheDayOnly) {
  constexpr EpochMillis kDay = 86'400'000;
  const EpochMillis today = 20'000 * kDay;
  Ingest({Report(0x2C, 1, today - 1, "0A1B"), Report(0x2C, 2, today, "0A1B"),
          Report(0x2C, 3, today + kDay - 1, "0A1B"), Report(0x2C, 4, today + kDay, "0A1B")});
  auto summary = store_->SummarizeGroup(tenant_.id, today);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->messages_today, 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, MessageStoreTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage
