#include "pipeline/event_watcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/events.h"
#include "storage/store_test_fixture.h"

namespace roost::pipeline {
namespace {

using storage::StoreTest;

class EventWatcherTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    group_ = MakeGroup(1, "");
    watched_ = MakeType(1, group_.id);  // keepAlive 3600 s
    unwatched_ = MakeType(2, group_.id);
    unwatched_.keep_alive = 0;
    {
      auto updated = store_->UpdateDeviceType(unwatched_, unwatched_.update_time);
      ASSERT_TRUE(updated.ok() && *updated) << updated.status().message();
    }
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, watched_)).ok());
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2D, unwatched_)).ok());
    EventConfig c;
    c.kinds = {EventKind::kCommunicationLoss};
    c.emails = {"ops@example.com"};
    c.scope = EventScope::kGroup;
    c.target = group_.id;
    c.group = group_.id;
    events_ = std::make_unique<EventService>(*store_, [] { return EpochMillis{1}; });
    ASSERT_TRUE(events_->CreateEventConfig(c).ok());
  }

  EventWatcherOptions Options() {
    EventWatcherOptions o;
    o.clock = [this] { return now_; };
    o.batch = 1;
    o.send_email = [this](const std::string& to, const std::string& subject,
                          const std::string& body) {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back(to + "|" + subject + "|" + body);
      return fail_ ? Status::IoError("smtp: connect failed") : Status::Ok();
    };
    return o;
  }

  EpochMillis now_ = 42 + 3'600'000 + 1;  // the devices were registered at 42
  bool fail_ = false;
  std::mutex mu_;  // the threads test sends from the watcher's thread
  std::vector<std::string> sent_;
  std::unique_ptr<EventService> events_;
  Group group_;
  DeviceType watched_, unwatched_;
};

TEST_P(EventWatcherTest, OnlyTypesWithAKeepAliveAreWatched) {
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2E, watched_)).ok());
  EventWatcher watcher(*store_, Options());
  auto pass = watcher.WatchOnce();  // batch 1: the pass continues until both are done
  ASSERT_TRUE(pass.ok()) << pass.status().message();
  EXPECT_EQ(pass->lost, 2);
  storage::EventQuery q;
  q.device = 0x2D;
  EXPECT_TRUE(store_->ListEvents(q)->events.empty());
}

// A loss recorded while its type was watched ends when the device speaks
// again, also once the type's keepAlive went to 0; nothing new is lost then.
TEST_P(EventWatcherTest, ALossEndsWhenTheDeviceSpeaksAfterItsTypeStoppedBeingWatched) {
  EventWatcher watcher(*store_, Options());
  ASSERT_EQ(watcher.WatchOnce()->lost, 1);  // 0x2C
  EXPECT_TRUE(store_->ListTypesToRestore()->empty());
  watched_.keep_alive = 0;
  {
    auto updated = store_->UpdateDeviceType(watched_, watched_.update_time);
    ASSERT_TRUE(updated.ok() && *updated) << updated.status().message();
  }
  ASSERT_TRUE(store_->CreateStation(Station{"0A1B", "roof", group_.id, 43.6, 1.44, 1}).ok());
  UplinkReport r;
  r.device.value = 0x2C;
  r.seq_number = 1;
  r.data = "01";
  r.time = now_ + 500;
  r.station = "0A1B";
  r.rssi = -110;
  r.snr = 12;
  auto heard = store_->IngestUplinks(std::span(&r, 1), storage::IngestPolicy{});
  ASSERT_TRUE(heard.ok()) << heard.status().message();
  EXPECT_EQ(*store_->ListTypesToRestore(), std::vector<std::string>{watched_.id});
  now_ += 1'000;
  auto pass = watcher.WatchOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().message();
  EXPECT_EQ(pass->restored, 1);
  EXPECT_EQ(pass->lost, 0);
  EXPECT_TRUE(store_->ListTypesToRestore()->empty());
  storage::EventQuery q;
  q.device = 0x2C;
  q.severity = EventSeverity::kWarn;
  auto warns = store_->ListEvents(q);
  ASSERT_TRUE(warns.ok());
  ASSERT_EQ(warns->events.size(), 1u);
  EXPECT_EQ(warns->events[0].kind, EventKind::kCommunicationRestored);
  now_ += 10 * 3'600'000;  // long silent again, but no longer watched
  EXPECT_EQ(watcher.WatchOnce()->lost, 0);
}

TEST_P(EventWatcherTest, EmailsAreRetriedWithBackOffThenSent) {
  auto o = Options();
  o.email_retry_ms = 1000;
  EventWatcher watcher(*store_, o);
  ASSERT_EQ(watcher.WatchOnce()->lost, 1);
  fail_ = true;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  ASSERT_EQ(sent_.size(), 1u);
  now_ += 999;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  EXPECT_EQ(sent_.size(), 1u);  // not due yet
  now_ += 1;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  EXPECT_EQ(sent_.size(), 2u);
  now_ += 1999;  // the second retry waits twice as long
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  EXPECT_EQ(sent_.size(), 2u);
  now_ += 1;
  fail_ = false;
  EXPECT_EQ(*watcher.SendDueEmails(), 1);
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].substr(0, sent_[2].find('\n')),
            "ops@example.com|Roost: communication lost with device 0000002C|Device 0000002C of "
            "device type " +
                watched_.id + ":");
  now_ += 10'000'000;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  EXPECT_EQ(sent_.size(), 3u);
}

// An instance without SMTP leaves an email to the instances of the database
// that have it, untouched (no attempt of theirs spent, no error of theirs
// overwritten) however long they retry it, and gives it up only once it has
// been due an hour with none of them claiming it, so that a lone instance's
// outbox does not grow for good and configuring SMTP later sends no stale
// backlog.
TEST_P(EventWatcherTest, WithoutSmtpEmailsAreLeftToOthersUntilNoneTookThemForAnHour) {
  auto o = Options();
  o.send_email = nullptr;
  EventWatcher watcher(*store_, o);
  ASSERT_EQ(watcher.WatchOnce()->lost, 1);
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  // Another instance, with SMTP, finds it due at once and never tried; it
  // fails and retries a second later.
  auto other = store_->ClaimEventEmails(now_, 10, 1000);
  ASSERT_TRUE(other.ok()) << other.status().message();
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].email.attempts, 0);
  ASSERT_TRUE(
      *store_->CompleteEventEmail((*other)[0].email, false, "smtp: busy", now_ + 1000, false));
  // Due for just under an hour (the other instance slow to come back): still
  // not this instance's to touch.
  now_ += 1000 + o.no_smtp_grace_ms - 1;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  other = store_->ClaimEventEmails(now_, 10, 1000);
  ASSERT_TRUE(other.ok()) << other.status().message();
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].email.attempts, 1);  // its own attempt only
  ASSERT_TRUE(
      *store_->CompleteEventEmail((*other)[0].email, false, "smtp: busy", now_ + 1000, false));
  // Then no instance with SMTP claims it for an hour: this one gives it up.
  now_ += 1000 + o.no_smtp_grace_ms;
  EXPECT_EQ(*watcher.SendDueEmails(), 0);
  EXPECT_TRUE(store_->ClaimEventEmails(now_ + 100'000'000, 10, 1000)->empty());
}

TEST_P(EventWatcherTest, TheThreadsWatchAndMailOnTheirOwn) {
  auto o = Options();
  o.period_ms = 20;
  EventWatcher watcher(*store_, o);
  watcher.Start();
  auto count = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.size();
  };
  for (int i = 0; i < 250 && count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  watcher.Stop();
  EXPECT_EQ(sent_.size(), 1u);
}

// A stop ends the mailer after the email being sent, not after every email
// it claimed: with a mail server that takes its whole timeout for each, a
// claim of 50 held a stop for minutes. Those not sent come due again.
TEST_P(EventWatcherTest, AStopEndsTheMailerAfterTheEmailBeingSent) {
  for (uint32_t id = 0x30; id < 0x35; ++id) {
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, watched_)).ok());
  }
  auto o = Options();
  o.period_ms = 20;
  std::atomic<int> started{0};
  o.send_email = [&started](const std::string&, const std::string&, const std::string&) {
    ++started;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a slow mail server
    return Status::Ok();
  };
  EventWatcher watcher(*store_, o);
  watcher.Start();
  for (int i = 0; i < 250 && started.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(started.load(), 1);
  watcher.Stop();
  EXPECT_LE(started.load(), 2) << "it went on sending after the stop";
  auto again = store_->ClaimEventEmails(now_ + o.email_lease_ms + 1, 50, 1'000);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(static_cast<int>(again->size()), 6 - started.load());
}

TEST(EventConfigValidation, KindsAndAddressesAreChecked) {
  // The checks run before the store is called.
  char dir[] = "/tmp/roost-event-config-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto store = storage::OpenSqliteStore(std::string(dir) + "/roost.db");
  ASSERT_TRUE(store.ok()) << store.status().message();
  EventService events(**store, [] { return EpochMillis{7}; });
  EventConfig c;
  c.scope = EventScope::kDeviceType;
  c.target = "t";
  c.group = "g";
  c.emails = {"a@example.com"};
  EXPECT_NE(events.CreateEventConfig(c).status().message().find("kinds"), std::string::npos);
  c.kinds = {EventKind::kCommunicationLoss, EventKind::kCommunicationLoss};
  EXPECT_NE(events.CreateEventConfig(c).status().message().find("repeated"), std::string::npos);
  c.kinds = {EventKind::kCommunicationLoss};
  c.emails = {"a@example.com", "not an address"};
  auto bad = events.CreateEventConfig(c);
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(bad.status().message().find("emails[1]"), std::string::npos);
  c.emails = {"a@example.com", "a@example.com"};
  EXPECT_NE(events.CreateEventConfig(c).status().message().find("emails[1]"), std::string::npos);
  c.emails.clear();
  EXPECT_EQ(events.CreateEventConfig(c).status().code(), Status::Code::kInvalidInput);
  c.emails = {"a@example.com", "b@example.com"};
  auto ok = events.CreateEventConfig(c);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->creation_time, 7);
  EXPECT_EQ(ok->id.size(), kObjectIdLength);
  store->reset();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, EventWatcherTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::pipeline
