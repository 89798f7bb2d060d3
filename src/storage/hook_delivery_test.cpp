// The claim of a frame's downlinkHook delivery (Store::ClaimHookDelivery) by
// the downlink arbiters of several instances, on SQLite and PostgreSQL, each
// instance with its own store handle on one database.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

constexpr EpochMillis kIngestedAt = 1'000;
constexpr int64_t kHookDelayMs = 60'000;

class HookDeliveryTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);  // CALLBACK downlink mode
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    ASSERT_TRUE(store_->CreateStation(Station{"0A1B", "roof", root_.id, 43.6, 1.44, 1}).ok());
    Callback hook;
    hook.id = "hook";
    hook.type = type_.id;
    hook.subtype = CallbackSubtype::kBidir;
    hook.url = "http://127.0.0.1:9/{device}";
    ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{hook}).ok());
    ASSERT_TRUE(store_->SetDownlinkHook("hook").ok());
  }

  // A frame asking for a downlink: its hook delivery waits for the arbiter.
  MessageCursor Frame(int64_t seq) {
    UplinkReport r;
    r.device.value = 0x2C;
    r.seq_number = seq;
    r.data = "01";
    r.time = 10'000 * seq;
    r.station = "0A1B";
    r.rssi = -110;
    r.snr = 10;
    r.ack = true;
    IngestPolicy policy;
    policy.now = kIngestedAt;
    policy.downlink_hook_delay_ms = kHookDelayMs;
    auto d = store_->IngestUplinks(std::span(&r, 1), policy);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return MessageCursor{r.time, 0x2C, seq};
  }

  Delivery Listed(Store& store, const MessageCursor& frame) {
    auto d = store.ListMessageDeliveries(std::span(&frame, 1));
    EXPECT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d.ok() ? d->size() : 0u, 1u);
    return d.ok() && !d->empty() ? d->front() : Delivery{};
  }

  Group root_;
  DeviceType type_;
};

TEST_P(HookDeliveryTest, TwoInstancesHoldingOneFrameNeverBothClaimItsHookCall) {
  auto second = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
  ASSERT_TRUE(second.ok()) << second.status().message();
  Store* instances[] = {store_.get(), second->get()};
  for (int64_t seq = 1; seq <= 20; ++seq) {
    const MessageCursor frame = Frame(seq);
    const Delivery seen = Listed(*instances[0], frame);
    ASSERT_EQ(seen.next_attempt, kIngestedAt + kHookDelayMs);
    std::atomic<int> claimed{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        auto r = instances[i]->ClaimHookDelivery(seen.id, 2'000, 5'000);
        if (!r.ok()) {
          ADD_FAILURE() << r.status().message();
          ++failed;
        } else if (*r == Store::HookClaim::kClaimed) {
          ++claimed;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(claimed.load(), 1) << "frame " << seq;
    // Leased: the dispatcher finds it due once the lease ends, not before.
    EXPECT_EQ(Listed(*store_, frame).next_attempt, 5'000);
  }
}

TEST_P(HookDeliveryTest, AClaimIsRefusedOnceClaimedAttemptedOrDue) {
  const MessageCursor frame = Frame(1);
  const Delivery seen = Listed(*store_, frame);
  auto first = store_->ClaimHookDelivery(seen.id, 2'000, 5'000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, Store::HookClaim::kClaimed);
  // An arbiter that reads the delivery only after the claim (its lease looks
  // like a delivery not yet due) still may not call.
  EXPECT_EQ(*store_->ClaimHookDelivery(seen.id, 2'500, 5'000), Store::HookClaim::kClaimedElsewhere);
  // Once the call is recorded, it is not a first attempt any more.
  const MessageCursor other = Frame(2);
  const Delivery attempted = Listed(*store_, other);
  DeliveryOutcome failed;
  failed.status = 500;
  failed.info = "HTTP 500";
  failed.now = 3'000;
  failed.retry_at = 90'000;
  ASSERT_TRUE(store_->CompleteDelivery(attempted.id, failed).ok());
  EXPECT_EQ(*store_->ClaimHookDelivery(attempted.id, 3'000, 6'000), Store::HookClaim::kDispatchers);
  // A delivery already due is the dispatcher's.
  const MessageCursor later = Frame(3);
  const Delivery due = Listed(*store_, later);
  EXPECT_EQ(*store_->ClaimHookDelivery(due.id, kIngestedAt + kHookDelayMs,
                                       kIngestedAt + kHookDelayMs + 5'000),
            Store::HookClaim::kDispatchers);
  EXPECT_EQ(*store_->ClaimHookDelivery(due.id, kIngestedAt + kHookDelayMs - 1,
                                       kIngestedAt + kHookDelayMs + 5'000),
            Store::HookClaim::kClaimed);
  // Unknown: nothing to claim.
  EXPECT_EQ(*store_->ClaimHookDelivery(999'999, 2'000, 5'000), Store::HookClaim::kDispatchers);
}

// The arbiter's call is in flight from its claim: deleting the hook callback
// meanwhile leaves the delivery to the call, whose outcome is recorded on it
// (it used to be deleted as never attempted).
TEST_P(HookDeliveryTest, ACallInFlightKeepsItsDeliveryWhenTheCallbackIsDeleted) {
  const MessageCursor frame = Frame(1);
  const Delivery seen = Listed(*store_, frame);
  ASSERT_EQ(*store_->ClaimHookDelivery(seen.id, 2'000, 5'000), Store::HookClaim::kClaimed);
  ASSERT_TRUE(store_->DeleteCallback("hook", 2'100).ok());
  auto kept = store_->ListMessageDeliveries(std::span(&frame, 1));
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->size(), 1u) << "the delivery of the call in flight was deleted";
  DeliveryOutcome answered;
  answered.delivered = true;
  answered.status = 200;
  answered.now = 2'400;
  ASSERT_TRUE(store_->CompleteDelivery(seen.id, answered).ok());
  EXPECT_EQ(Listed(*store_, frame).state, DeliveryState::kDone);
}

INSTANTIATE_TEST_SUITE_P(Engines, HookDeliveryTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage
