// The Store contract for device events (the silence watcher's pass, event
// lists, event configurations, the outbox of event emails), on SQLite and
// PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "storage/sql/events_sql.h"
#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

constexpr EpochMillis kT = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kKeepAliveMs = 3'600'000;    // the fixture's types: keepAlive 3600 s

class EventStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    tenant_ = MakeGroup(2, root_.id);
    other_ = MakeGroup(3, root_.id);
    type_ = MakeType(1, tenant_.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    Station s{"0A1B", "station", root_.id, std::nullopt, std::nullopt, 1};
    ASSERT_TRUE(store_->CreateStation(s).ok());
  }

  void Hear(uint32_t device, int64_t seq, EpochMillis time) {
    UplinkReport r;
    r.device.value = device;
    r.seq_number = seq;
    r.data = "01";
    r.time = time;
    r.station = "0A1B";
    r.rssi = -110;
    r.snr = 12;
    auto d = store_->IngestUplinks(std::span(&r, 1), IngestPolicy{});
    ASSERT_TRUE(d.ok()) << d.status().message();
    ASSERT_EQ((*d)[0].result, IngestResult::kAccepted);
  }

  SilenceOutcome Watch(EpochMillis now, Store* store = nullptr, int limit = 500) {
    SilenceWatch w;
    w.type = type_.id;
    w.keep_alive_ms = kKeepAliveMs;
    w.now = now;
    w.limit = limit;
    auto r = (store ? store : store_.get())->WatchSilence(w);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : SilenceOutcome{-1, -1, false};
  }

  std::vector<Event> Events(uint32_t device, EventSeverity severity) {
    EventQuery q;
    q.device = device;
    q.severity = severity;
    q.limit = 1000;
    auto page = store_->ListEvents(q);
    EXPECT_TRUE(page.ok()) << page.status().message();
    return page.ok() ? page->events : std::vector<Event>{};
  }

  EventConfig Config(const std::string& id, EventScope scope, const std::string& target,
                     const std::string& group, std::vector<EventKind> kinds,
                     std::vector<std::string> emails) {
    EventConfig c;
    c.id = id;
    c.scope = scope;
    c.target = target;
    c.group = group;
    c.kinds = std::move(kinds);
    c.emails = std::move(emails);
    c.creation_time = 9;
    auto st = store_->CreateEventConfig(c, 100);
    EXPECT_TRUE(st.ok()) << st.status().message();
    EXPECT_TRUE(st.ok() && *st);
    return c;
  }

  std::multiset<std::string> ClaimRecipients(EpochMillis now) {
    auto claimed = store_->ClaimEventEmails(now, 100, 60'000);
    EXPECT_TRUE(claimed.ok()) << claimed.status().message();
    std::multiset<std::string> out;
    if (claimed.ok()) {
      for (const auto& t : *claimed) {
        out.insert(t.email.recipient + " " + t.event.text.substr(0, 2));
        auto done = store_->CompleteEventEmail(t.email, true, "", now, false);
        EXPECT_TRUE(done.ok() && *done) << done.status().message();
      }
    }
    return out;
  }

  Group root_, tenant_, other_;
  DeviceType type_;
};

TEST_P(EventStoreTest, SilenceLongerThanKeepAliveRaisesOneErrorAndSpeakingAgainRestores) {
  Hear(0x2C, 1, kT);
  // Exactly keepAlive of silence is not yet a loss (as networkstate says).
  EXPECT_EQ(Watch(kT + kKeepAliveMs).lost, 0);
  EXPECT_EQ(Watch(kT + kKeepAliveMs + 1).lost, 1);
  // Never twice for one silence.
  EXPECT_EQ(Watch(kT + kKeepAliveMs + 5000).lost, 0);
  EXPECT_EQ(Watch(kT + 10 * kKeepAliveMs).lost, 0);
  auto errors = Events(0x2C, EventSeverity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, EventKind::kCommunicationLoss);
  EXPECT_EQ(errors[0].text, "No message received since 2023-11-14T22:13:20Z");
  EXPECT_EQ(errors[0].type, type_.id);
  EXPECT_EQ(errors[0].group, tenant_.id);
  EXPECT_EQ(errors[0].time, kT + kKeepAliveMs + 1);
  EXPECT_TRUE(Events(0x2C, EventSeverity::kWarn).empty());

  const EpochMillis back = kT + 11 * kKeepAliveMs;
  Hear(0x2C, 2, back);
  auto restored = Watch(back + 1000);
  EXPECT_EQ(restored.restored, 1);
  EXPECT_EQ(restored.lost, 0);
  EXPECT_EQ(Watch(back + 2000).restored, 0);
  auto warns = Events(0x2C, EventSeverity::kWarn);
  ASSERT_EQ(warns.size(), 1u);
  EXPECT_EQ(warns[0].kind, EventKind::kCommunicationRestored);
  EXPECT_EQ(warns[0].text, "Communication restored: message received at 2023-11-15T09:13:20Z");
  // And a new silence is a new loss.
  EXPECT_EQ(Watch(back + kKeepAliveMs + 1).lost, 1);
  EXPECT_EQ(Events(0x2C, EventSeverity::kError).size(), 2u);
}

// The watcher runs for every device type with a keepAlive, every few seconds:
// reading all of a type's devices there would make each pass cost the size of
// the fleet. Both of its reads go through their partial indexes, ordered by
// them, so a pass reads what it finds and stops at its limit.
TEST_P(EventStoreTest, TheSilenceWatcherReadsItsIndexesNotEveryDevice) {
  const std::string silent = PlanOf(GetParam(), location_, sql::kSilentDevicesSql, "('t', 0, 10)");
  EXPECT_NE(silent.find("devices_silence"), std::string::npos) << silent;
  const std::string spoken = PlanOf(GetParam(), location_, sql::kSpokenAgainSql, "('t', 10)");
  EXPECT_NE(spoken.find("devices_spoken_again"), std::string::npos) << spoken;
  for (const std::string& plan : {silent, spoken}) {
    EXPECT_EQ(plan.find("SCAN devices\n"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
    // Ordered by the index itself: no sort of everything found.
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Sort"), std::string::npos) << plan;
  }
}

TEST_P(EventStoreTest, ADeviceThatSpokeBetweenTwoPassesIsRestoredThenLostAgain) {
  Hear(0x2C, 1, kT);
  EXPECT_EQ(Watch(kT + kKeepAliveMs + 1).lost, 1);
  // One message, then silence again, all between two passes of the watcher.
  const EpochMillis back = kT + 3 * kKeepAliveMs;
  Hear(0x2C, 2, back);
  auto pass = Watch(back + 2 * kKeepAliveMs);
  EXPECT_EQ(pass.restored, 1);
  ASSERT_EQ(Events(0x2C, EventSeverity::kWarn).size(), 1u);
  // Its new silence is a new loss, not lost for good.
  EXPECT_EQ(Watch(back + 2 * kKeepAliveMs + 1).lost, 1);
  EXPECT_EQ(Events(0x2C, EventSeverity::kError).size(), 2u);
}

TEST_P(EventStoreTest, ALateFrameSentBeforeTheLossWasRecordedDoesNotRestoreIt) {
  Hear(0x2C, 1, kT);
  const EpochMillis recorded = kT + 2 * kKeepAliveMs;
  EXPECT_EQ(Watch(recorded).lost, 1);
  // A station reports late a frame sent before the loss was recorded (after
  // the last one): no restoration, and so no second loss either.
  Hear(0x2C, 2, kT + kKeepAliveMs / 2);
  auto pass = Watch(recorded + 1000);
  EXPECT_EQ(pass.restored, 0);
  EXPECT_EQ(pass.lost, 0);
  EXPECT_EQ(Events(0x2C, EventSeverity::kWarn).size(), 0u);
  EXPECT_EQ(Events(0x2C, EventSeverity::kError).size(), 1u);
  // A frame sent after it restores it.
  Hear(0x2C, 3, recorded + 500);
  EXPECT_EQ(Watch(recorded + 2000).restored, 1);
  EXPECT_EQ(Events(0x2C, EventSeverity::kWarn).size(), 1u);
}

TEST_P(EventStoreTest, AServiceReportIsTheDeviceSpeaking) {
  Hear(0x2C, 1, kT);
  ServiceReport r;
  r.device.value = 0x2C;
  r.type = ServiceReportType::kStatus;
  r.station = "0A1B";
  r.temp = 20;
  r.batt = 3.3;
  // Keep-alive STATUS reports only, each within keepAlive of the one before.
  for (int i = 1; i <= 3; ++i) {
    r.time = kT + i * kKeepAliveMs * 3 / 4;
    r.seq_number = i;
    auto d = store_->IngestService(r, IngestPolicy{});
    ASSERT_TRUE(d.ok()) << d.status().message();
    ASSERT_EQ(d->result, IngestResult::kAccepted);
    EXPECT_EQ(Watch(r.time + kKeepAliveMs / 2).lost, 0) << i;
  }
  EXPECT_EQ(store_->GetDevice(0x2C)->last, r.time);
  // Silent after them: lost; a service report then restores it.
  const EpochMillis recorded = r.time + 2 * kKeepAliveMs;
  EXPECT_EQ(Watch(recorded).lost, 1);
  r.time = recorded + 1;
  r.seq_number = 9;
  ASSERT_EQ(store_->IngestService(r, IngestPolicy{})->result, IngestResult::kAccepted);
  EXPECT_EQ(Watch(recorded + 10).restored, 1);
  // The replay check still knows the last frame: a copy of it is a duplicate.
  UplinkReport copy;
  copy.device.value = 0x2C;
  copy.seq_number = 1;
  copy.data = "01";
  copy.time = kT + 100;
  copy.station = "0A1B";
  auto again = store_->IngestUplinks(std::span(&copy, 1), IngestPolicy{});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)[0].result, IngestResult::kDuplicate);
}

TEST_P(EventStoreTest, ADeviceMovedToAnotherTypeOrGroupLeavesItsLossBehind) {
  DeviceType other_type = MakeType(2, tenant_.id);
  for (int how = 0; how < 3; ++how) {
    const uint32_t id = 0x50 + how;
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, type_)).ok());
    Hear(id, 1, kT);
    Watch(kT + 2 * kKeepAliveMs);
    ASSERT_EQ(Events(id, EventSeverity::kError).size(), 1u) << how;
    if (how == 2) {  // written whole
      Device d = *store_->GetDevice(id);
      d.type = other_type.id;
      ASSERT_TRUE(store_->UpdateDevice(d).ok());
    } else {
      DevicePatch p;
      p.id = id;
      p.expect_group = tenant_.id;
      if (how == 0) p.type = other_type.id;
      if (how == 1) p.group = other_.id;
      auto r = store_->PatchDevices(std::span(&p, 1));
      ASSERT_TRUE(r.ok() && r->empty()) << how;
    }
    // It speaks again: the old type records no restoration (the new owner's
    // or type's watcher would have had one for a loss it never saw).
    Hear(id, 2, kT + 3 * kKeepAliveMs);
    SilenceWatch w;
    w.keep_alive_ms = kKeepAliveMs;
    w.now = kT + 3 * kKeepAliveMs + 1000;
    w.limit = 100;
    for (const std::string& t : {type_.id, other_type.id}) {
      w.type = t;
      auto pass = store_->WatchSilence(w);
      ASSERT_TRUE(pass.ok()) << pass.status().message();
      EXPECT_EQ(pass->restored, 0) << how;
    }
    EXPECT_TRUE(Events(id, EventSeverity::kWarn).empty()) << how;
  }
  // A name change is no move: the loss stays, and ends with its restoration.
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x60, type_)).ok());
  Hear(0x60, 1, kT);
  Watch(kT + 2 * kKeepAliveMs);
  ASSERT_EQ(Events(0x60, EventSeverity::kError).size(), 1u);
  DevicePatch rename;
  rename.id = 0x60;
  rename.expect_group = tenant_.id;
  rename.name = "renamed";
  ASSERT_TRUE(store_->PatchDevices(std::span(&rename, 1)).ok());
  Hear(0x60, 2, kT + 3 * kKeepAliveMs);
  Watch(kT + 3 * kKeepAliveMs + 1000);
  EXPECT_EQ(Events(0x60, EventSeverity::kWarn).size(), 1u);
}

TEST_P(EventStoreTest, ADeviceThatNeverSpokeIsSilentFromItsRegistration) {
  // MakeDevice registers at 42 ms; 0x2C never spoke either.
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2D, type_)).ok());
  EXPECT_EQ(Watch(42 + kKeepAliveMs).lost, 0);
  EXPECT_EQ(Watch(42 + kKeepAliveMs + 1).lost, 2);
  auto errors = Events(0x2D, EventSeverity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].text, "No message received since its registration at 1970-01-01T00:00:00Z");
}

TEST_P(EventStoreTest, OtherTypesAndTheLimitAreRespected) {
  DeviceType quiet = MakeType(2, tenant_.id);
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x30, quiet)).ok());
  for (uint32_t id = 0x40; id < 0x45; ++id) {
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, type_)).ok());
  }
  // Six devices of type_ (0x2C and 0x40..0x44), three per call.
  auto first = Watch(kT, nullptr, 3);
  EXPECT_EQ(first.lost, 3);
  EXPECT_TRUE(first.more);
  auto second = Watch(kT, nullptr, 3);
  EXPECT_EQ(second.lost, 3);
  auto third = Watch(kT, nullptr, 3);
  EXPECT_EQ(third.lost, 0);
  EXPECT_FALSE(third.more);
  EXPECT_TRUE(Events(0x30, EventSeverity::kError).empty());  // another type: not this pass
}

TEST_P(EventStoreTest, TwoInstancesWatchingAtOnceRecordEachLossOnce) {
  for (uint32_t id = 0x100; id < 0x140; ++id) {
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, type_)).ok());
  }
  Config("c1", EventScope::kDeviceType, type_.id, tenant_.id, {EventKind::kCommunicationLoss},
         {"ops@example.com"});
  auto second = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
  ASSERT_TRUE(second.ok()) << second.status().message();
  std::atomic<int64_t> lost{0};
  std::atomic<int> failures{0};
  auto run = [&](Store* s) {
    for (int round = 0; round < 20; ++round) {
      SilenceWatch w;
      w.type = type_.id;
      w.keep_alive_ms = kKeepAliveMs;
      w.now = kT;
      w.limit = 7;
      auto r = s->WatchSilence(w);
      if (!r.ok()) {
        ++failures;  // a lost race on SQLite's write lock is retried next period
        continue;
      }
      lost += r->lost;
    }
  };
  std::thread a(run, store_.get());
  std::thread b(run, second->get());
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(lost.load(), 65);  // 0x2C and 0x100..0x13F
  EventQuery q;
  q.type = type_.id;
  q.limit = 1000;
  auto page = store_->ListEvents(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->events.size(), 65u);
  std::set<uint32_t> devices;
  for (const Event& e : page->events) devices.insert(e.device);
  EXPECT_EQ(devices.size(), 65u);
  EXPECT_EQ(ClaimRecipients(kT).size(), 65u);  // one email per event, not per instance
}

TEST_P(EventStoreTest, EmailsGoToTheConfigurationsThatApplyAndOnlyTheirKinds) {
  const std::string device = "0000002C";
  Config("a", EventScope::kDevice, device, tenant_.id, {EventKind::kCommunicationLoss},
         {"device@example.com", "both@example.com"});
  Config("b", EventScope::kDeviceType, type_.id, tenant_.id,
         {EventKind::kCommunicationLoss, EventKind::kCommunicationRestored},
         {"type@example.com", "both@example.com"});
  Config("c", EventScope::kGroup, root_.id, root_.id, {EventKind::kCommunicationRestored},
         {"root@example.com"});
  // Made by another group for a device of the same ID (before a transfer, or
  // another registration): never mailed while the device is elsewhere.
  Config("d", EventScope::kDevice, device, other_.id, {EventKind::kCommunicationLoss},
         {"stale@example.com"});
  Config("e", EventScope::kGroup, other_.id, other_.id, {EventKind::kCommunicationLoss},
         {"sibling@example.com"});
  Hear(0x2C, 1, kT);
  ASSERT_EQ(Watch(kT + kKeepAliveMs + 1).lost, 1);
  const EpochMillis now = kT + kKeepAliveMs + 1;
  EXPECT_EQ(ClaimRecipients(now),
            (std::multiset<std::string>{"both@example.com No", "device@example.com No",
                                        "type@example.com No"}));
  Hear(0x2C, 2, kT + 2 * kKeepAliveMs);
  ASSERT_EQ(Watch(kT + 2 * kKeepAliveMs + 1).restored, 1);
  EXPECT_EQ(ClaimRecipients(kT + 2 * kKeepAliveMs + 1),
            (std::multiset<std::string>{"both@example.com Co", "root@example.com Co",
                                        "type@example.com Co"}));
}

// One event is mailed to at most 100 addresses, the groups' from the root down
// first: a tenant's own configurations never push out the operator's.
TEST_P(EventStoreTest, AnEventIsMailedToAtMostAHundredAddressesTheRootsFirst) {
  const std::string device = "0000002C";
  for (int c = 0; c < 6; ++c) {
    std::vector<std::string> emails;
    for (int i = 0; i < 20; ++i) {
      emails.push_back("d" + std::to_string(c) + "-" + std::to_string(i) + "@example.com");
    }
    Config("dev" + std::to_string(c), EventScope::kDevice, device, tenant_.id,
           {EventKind::kCommunicationLoss}, emails);
  }
  Config("root", EventScope::kGroup, root_.id, root_.id, {EventKind::kCommunicationLoss},
         {"root@example.com"});
  Hear(0x2C, 1, kT);
  const EpochMillis now = kT + kKeepAliveMs + 1;
  ASSERT_EQ(Watch(now).lost, 1);
  std::multiset<std::string> mailed = ClaimRecipients(now);
  mailed.merge(ClaimRecipients(now));
  EXPECT_EQ(mailed.size(), 100u);
  EXPECT_EQ(mailed.count("root@example.com No"), 1u);
}

TEST_P(EventStoreTest, ALossAndItsRestorationEachQueueTheTypesErrorCallbacksOnce) {
  Callback error;
  error.id = "cb-error";
  error.type = type_.id;
  error.callback_type = CallbackType::kError;
  error.subtype = CallbackSubtype::kNone;
  error.url = "http://example.com/{device}";
  Callback data = error;
  data.id = "cb-data";
  data.callback_type = CallbackType::kData;
  data.subtype = CallbackSubtype::kUplink;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{error, data}).ok());
  Hear(0x2C, 1, kT);
  auto first = store_->ClaimDeliveries(kT, 10, 60'000);  // the message's DATA delivery
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->size(), 1u);
  ASSERT_TRUE(
      store_->CompleteDelivery((*first)[0].delivery.id, {true, 200, "", kT, 0, false}).ok());

  const EpochMillis lost_at = kT + kKeepAliveMs + 1;
  ASSERT_EQ(Watch(lost_at).lost, 1);
  ASSERT_EQ(Watch(lost_at + 1).lost, 0);
  auto tasks = store_->ClaimDeliveries(lost_at + 1, 10, 60'000);
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  ASSERT_EQ(tasks->size(), 1u);
  const Delivery& d = (*tasks)[0].delivery;
  EXPECT_EQ(d.callback, "cb-error");
  EXPECT_EQ(d.device, 0x2Cu);
  EXPECT_EQ(d.message_time, lost_at);
  EXPECT_EQ(nlohmann::json::parse(d.variables),
            (nlohmann::json{{"info", "No message received since 2023-11-14T22:13:20Z"},
                            {"severity", "ERROR"}}));
  ASSERT_TRUE(store_->CompleteDelivery(d.id, {true, 200, "", lost_at, 0, false}).ok());

  Hear(0x2C, 2, kT + 2 * kKeepAliveMs);
  ASSERT_TRUE(store_
                  ->CompleteDelivery(
                      (*store_->ClaimDeliveries(kT + 2 * kKeepAliveMs, 10, 60'000))[0].delivery.id,
                      {true, 200, "", kT, 0, false})
                  .ok());
  ASSERT_EQ(Watch(kT + 2 * kKeepAliveMs + 1).restored, 1);
  // The restoration is called back too (as its email goes out), with WARN.
  auto restored = store_->ClaimDeliveries(kT + 3 * kKeepAliveMs, 10, 60'000);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  ASSERT_EQ(restored->size(), 1u);
  EXPECT_EQ((*restored)[0].delivery.callback, "cb-error");
  auto vars = nlohmann::json::parse((*restored)[0].delivery.variables);
  EXPECT_EQ(vars["severity"], "WARN");
  EXPECT_TRUE(vars["info"].get<std::string>().starts_with("Communication restored")) << vars;
  ASSERT_TRUE(store_
                  ->CompleteDelivery((*restored)[0].delivery.id,
                                     {true, 200, "", kT + 3 * kKeepAliveMs, 0, false})
                  .ok());
  EXPECT_EQ(Watch(kT + 3 * kKeepAliveMs).restored, 0);
  EXPECT_TRUE(store_->ClaimDeliveries(kT + 4 * kKeepAliveMs, 10, 60'000)->empty());
}

TEST_P(EventStoreTest, OutboxEmailsAreLeasedRetriedAndFinished) {
  Config("a", EventScope::kDevice, "0000002C", tenant_.id, {EventKind::kCommunicationLoss},
         {"ops@example.com"});
  ASSERT_EQ(Watch(kT).lost, 1);
  // The outbox's depth, for its gauge: the email waits until it is sent.
  EXPECT_EQ(store_->MeasureStoredQueues(kT, 100)->event_emails, 1);
  auto claimed = store_->ClaimEventEmails(kT, 10, 60'000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].event.device, 0x2Cu);
  EXPECT_EQ(store_->MeasureStoredQueues(kT, 100)->event_emails, 1) << "leased, not sent";
  // Leased: nobody else gets it meanwhile.
  EXPECT_TRUE(store_->ClaimEventEmails(kT + 1000, 10, 60'000)->empty());
  auto failed =
      store_->CompleteEventEmail((*claimed)[0].email, false, "connect failed", kT + 5000, false);
  ASSERT_TRUE(failed.ok() && *failed) << failed.status().message();
  EXPECT_TRUE(store_->ClaimEventEmails(kT + 4999, 10, 60'000)->empty());
  auto again = store_->ClaimEventEmails(kT + 5000, 10, 60'000);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].email.attempts, 1);
  auto sent = store_->CompleteEventEmail((*again)[0].email, true, "", kT + 6000, false);
  ASSERT_TRUE(sent.ok() && *sent) << sent.status().message();
  EXPECT_TRUE(store_->ClaimEventEmails(kT + 10'000'000, 10, 60'000)->empty());
  EXPECT_EQ(store_->MeasureStoredQueues(kT + 6000, 100)->event_emails, 0);
  EventEmail unknown = (*again)[0].email;
  unknown.id = 999999;
  EXPECT_EQ(store_->CompleteEventEmail(unknown, true, "", 0, false).status().code(),
            Status::Code::kNotFound);
}

TEST_P(EventStoreTest, ALateCompletionOfAnExpiredEmailClaimChangesNothing) {
  Config("a", EventScope::kDevice, "0000002C", tenant_.id, {EventKind::kCommunicationLoss},
         {"ops@example.com"});
  ASSERT_EQ(Watch(kT).lost, 1);
  auto first = store_->ClaimEventEmails(kT, 10, 60'000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->size(), 1u);
  // The first sender's lease runs out; another one claims the email.
  auto second = store_->ClaimEventEmails(kT + 60'000, 10, 60'000);
  ASSERT_TRUE(second.ok()) << second.status().message();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_NE((*second)[0].email.next_attempt, (*first)[0].email.next_attempt);
  // The first sender's late failure neither counts nor reschedules it.
  auto late = store_->CompleteEventEmail((*first)[0].email, false, "timeout", kT + 61'000, false);
  ASSERT_TRUE(late.ok()) << late.status().message();
  EXPECT_FALSE(*late);
  EXPECT_TRUE(store_->ClaimEventEmails(kT + 119'999, 10, 60'000)->empty())
      << "still leased to the second sender";
  auto done = store_->CompleteEventEmail((*second)[0].email, true, "", kT + 62'000, false);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_TRUE(*done);
  // A completion of a finished email is stale too, and it stays sent.
  late = store_->CompleteEventEmail((*first)[0].email, false, "timeout", kT + 63'000, false);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);
  EXPECT_TRUE(store_->ClaimEventEmails(kT + 10'000'000, 10, 60'000)->empty());
}

TEST_P(EventStoreTest, ClaimsOfOneEmailNeverShareAToken) {
  Config("a", EventScope::kDevice, "0000002C", tenant_.id, {EventKind::kCommunicationLoss},
         {"ops@example.com"});
  ASSERT_EQ(Watch(kT).lost, 1);
  auto first = store_->ClaimEventEmails(kT, 10, 60'000);
  ASSERT_EQ(first->size(), 1u);
  // A sender whose clock is a lease behind claims the expired email with the
  // lease end the first claim had.
  auto second = store_->ClaimEventEmails(kT + 60'000, 10, 0);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_GT((*second)[0].email.next_attempt, (*first)[0].email.next_attempt);
  auto late = store_->CompleteEventEmail((*first)[0].email, true, "", kT + 60'001, false);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);
}

TEST_P(EventStoreTest, EventsOlderThanTheRetentionArePurgedOnceTheirEmailsAreDone) {
  Config("a", EventScope::kDevice, "0000002C", tenant_.id,
         {EventKind::kCommunicationLoss, EventKind::kCommunicationRestored}, {"ops@example.com"});
  ASSERT_EQ(Watch(kT).lost, 1);  // never heard since its registration
  auto loss_email = store_->ClaimEventEmails(kT, 10, 60'000);
  ASSERT_EQ(loss_email->size(), 1u);
  ASSERT_TRUE(*store_->CompleteEventEmail((*loss_email)[0].email, true, "", kT + 1, false));
  Hear(0x2C, 1, kT + 10'000);
  ASSERT_EQ(Watch(kT + 20'000).restored, 1);  // its email stays pending
  const EpochMillis cutoff = kT + 30'000;
  ASSERT_EQ(Watch(cutoff + 2 * kKeepAliveMs).lost, 1);  // after the cutoff: kept

  auto purged = store_->PurgeEventsBefore(cutoff);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(*purged, 2) << "the first loss and its sent email";
  auto errors = Events(0x2C, EventSeverity::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].time, cutoff + 2 * kKeepAliveMs);
  EXPECT_EQ(Events(0x2C, EventSeverity::kWarn).size(), 1u) << "its email is still pending";

  // Once that email is given up, the restoration goes too.
  auto pending = store_->ClaimEventEmails(kT + 30'000, 10, 60'000);
  ASSERT_TRUE(pending.ok());
  for (const auto& t : *pending) {
    if (t.event.kind != EventKind::kCommunicationRestored) continue;
    ASSERT_TRUE(*store_->CompleteEventEmail(t.email, false, "refused", 0, true));
  }
  purged = store_->PurgeEventsBefore(cutoff);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(*purged, 2);
  EXPECT_TRUE(Events(0x2C, EventSeverity::kWarn).empty());
  EXPECT_EQ(Events(0x2C, EventSeverity::kError).size(), 1u);
  EXPECT_EQ(*store_->PurgeEventsBefore(cutoff), 0);
}

TEST_P(EventStoreTest, EventsArePurgedInChunksOfBoundedSize) {
  // More events than one chunk (5 000), none with an email.
  std::vector<Device> devices;
  for (uint32_t id = 0x1000; id < 0x1000 + 5'200; ++id) devices.push_back(MakeDevice(id, type_));
  auto inserted = store_->InsertDevices(devices);
  ASSERT_TRUE(inserted.ok()) << inserted.status().message();
  SilenceOutcome total{};
  for (;;) {
    SilenceOutcome o = Watch(kT, nullptr, 2'000);
    total.lost += o.lost;
    if (!o.more) break;
  }
  ASSERT_EQ(total.lost, 5'201);
  auto purged = store_->PurgeEventsBefore(kT + 1);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(*purged, 5'201);
  EXPECT_TRUE(Events(0x2C, EventSeverity::kError).empty());
}

TEST_P(EventStoreTest, EventListsPageNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    Hear(0x2C, i + 1, kT + i * 10 * kKeepAliveMs);
    if (i > 0) {
      ASSERT_EQ(Watch(kT + i * 10 * kKeepAliveMs + 1).restored, 1);
    }
    ASSERT_EQ(Watch(kT + i * 10 * kKeepAliveMs + kKeepAliveMs + 1).lost, 1);
  }
  EventQuery q;
  q.type = type_.id;
  q.limit = 2;
  auto page = store_->ListEvents(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_GT(page->events[0].time, page->events[1].time);
  ASSERT_TRUE(page->next.has_value());
  q.after = page->next;
  auto rest = store_->ListEvents(q);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->events.size(), 1u);
  EXPECT_FALSE(rest->next.has_value());
  EXPECT_LT(rest->events[0].time, page->events[1].time);
  q.after.reset();
  q.since = kT + 10 * kKeepAliveMs;
  EXPECT_EQ(store_->ListEvents(q)->events.size(), 2u);
  q.severity = EventSeverity::kWarn;
  EXPECT_EQ(store_->ListEvents(q)->events.size(), 2u);  // two restorations in between
}

TEST_P(EventStoreTest, ConcurrentEventConfigurationsNeverPassTheirGroupsBound) {
  // 6 threads of 4 creations each for one target, at most 10 of a group: the
  // count and the insert are one step, so exactly 10 are stored, and another
  // group's configurations of the same target are counted apart.
  constexpr size_t kMax = 10;
  std::atomic<int> stored{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        EventConfig c;
        c.id = "cfg-" + std::to_string(t) + "-" + std::to_string(i);
        c.scope = EventScope::kDeviceType;
        c.target = type_.id;
        c.group = tenant_.id;
        c.kinds = {EventKind::kCommunicationLoss};
        c.emails = {"a@example.com"};
        c.creation_time = 9;
        auto r = store_->CreateEventConfig(c, kMax);
        if (!r.ok()) {
          ++failed;
        } else if (*r) {
          ++stored;
        } else {
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored.load(), static_cast<int>(kMax));
  EXPECT_EQ(refused.load(), 24 - static_cast<int>(kMax));
  auto list = store_->ListEventConfigs(EventScope::kDeviceType, type_.id);
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->size(), kMax);
  EventConfig root_own;
  root_own.id = "root-1";
  root_own.scope = EventScope::kDeviceType;
  root_own.target = type_.id;
  root_own.group = root_.id;
  root_own.kinds = {EventKind::kCommunicationLoss};
  root_own.emails = {"r@example.com"};
  auto other = store_->CreateEventConfig(root_own, kMax);
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_TRUE(*other);
  EXPECT_EQ(store_->ListEventConfigs(EventScope::kDeviceType, type_.id)->size(), kMax + 1);
}

TEST_P(EventStoreTest, EventConfigurationsAreStoredListedAndDeleted) {
  EventConfig a =
      Config("a", EventScope::kDeviceType, type_.id, tenant_.id,
             {EventKind::kCommunicationRestored, EventKind::kCommunicationLoss}, {"x@example.com"});
  EventConfig b = Config("b", EventScope::kDeviceType, type_.id, tenant_.id,
                         {EventKind::kCommunicationLoss}, {"y@example.com", "z@example.com"});
  EXPECT_EQ(store_->CreateEventConfig(a, 100).status().code(), Status::Code::kAlreadyExists);
  auto list = store_->ListEventConfigs(EventScope::kDeviceType, type_.id);
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(*list, (std::vector<EventConfig>{a, b}));
  EXPECT_TRUE(store_->ListEventConfigs(EventScope::kGroup, type_.id)->empty());
  EXPECT_EQ(*store_->GetEventConfig("b"), b);
  ASSERT_TRUE(store_->DeleteEventConfig("a").ok());
  EXPECT_EQ(store_->DeleteEventConfig("a").code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetEventConfig("a").status().code(), Status::Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, EventStoreTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage
