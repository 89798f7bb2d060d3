#include "pipeline/stored_queues.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/store_test_fixture.h"

namespace roost::pipeline {
namespace {

using storage::StoreTest;

class StoredQueueGaugesTest : public StoreTest {
 protected:
  // A callback on a type with one device, and `frames` of its messages: a
  // delivery each, due at once.
  void QueueDeliveries(int frames) {
    Group g = MakeGroup(1, "");
    DeviceType t = MakeType(1, g.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, t)).ok());
    ASSERT_TRUE(store_->CreateStation(Station{"0A1B", "roof", g.id, 43.6, 1.44, 1}).ok());
    Callback cb;
    cb.id = "cb";
    cb.type = t.id;
    cb.url = "http://127.0.0.1:9/{device}";
    ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
    std::vector<UplinkReport> reports;
    for (int i = 1; i <= frames; ++i) {
      UplinkReport r;
      r.device.value = 0x2C;
      r.seq_number = i;
      r.data = "01";
      r.time = 10'000 * i;
      r.station = "0A1B";
      reports.push_back(r);
    }
    storage::IngestPolicy policy;
    policy.now = 1'000;
    ASSERT_TRUE(store_->IngestUplinks(reports, policy).ok());
  }

  static double Value(const observe::MetricsRegistry& metrics, const std::string& series) {
    const std::string text = metrics.Render();
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
};

TEST_P(StoredQueueGaugesTest, TheGaugesShowWhatWaitsInTheDatabase) {
  observe::MetricsRegistry metrics;
  StoredQueueOptions options;
  options.period_ms = 3'600'000;  // the first look only, at start
  options.clock = [] { return EpochMillis{1'000}; };
  QueueDeliveries(3);
  auto gauges = StoredQueueGauges::Start(*store_, metrics, options);
  ASSERT_TRUE(gauges.ok()) << gauges.status().message();
  (*gauges)->Stop();  // its look at start is over: only the looks below set the gauges
  ASSERT_TRUE((*gauges)->MeasureOnce().ok());
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"due\"}"), 3);
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"leased\"}"), 0);
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"later\"}"), 0);
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"parked\"}"), 0);
  EXPECT_EQ(Value(metrics, "roost_event_emails_stored"), 0);
  EXPECT_EQ(Value(metrics, "roost_callback_dead_alerts_stored"), 0);
  // Claimed by a dispatcher: leased.
  ASSERT_EQ(store_->ClaimDeliveries(1'000, 2, 60'000)->size(), 2u);
  ASSERT_TRUE((*gauges)->MeasureOnce().ok());
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"due\"}"), 1);
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"leased\"}"), 2);
  EXPECT_EQ(Value(metrics, "roost_callback_deliveries_stored{state=\"later\"}"), 0);
}

TEST_P(StoredQueueGaugesTest, ABadOptionIsRefused) {
  observe::MetricsRegistry metrics;
  StoredQueueOptions options;
  EXPECT_FALSE(StoredQueueGauges::Start(*store_, metrics, options).ok()) << "no clock";
  options.clock = [] { return EpochMillis{1}; };
  options.cap = 0;
  EXPECT_FALSE(StoredQueueGauges::Start(*store_, metrics, options).ok());
}

TEST(StoredQueueGaugesPause, ADeepQueueIsMeasuredLessOften) {
  EXPECT_EQ(StoredQueueGauges::PauseAfter(5'000, 3), 5'000) << "a quick look keeps the period";
  EXPECT_EQ(StoredQueueGauges::PauseAfter(5'000, 102), 5'000);
  // 260 ms (a backlog of 100 000 on PostgreSQL): idle 49 times as long.
  EXPECT_EQ(StoredQueueGauges::PauseAfter(5'000, 260), 12'740);
  EXPECT_EQ(StoredQueueGauges::PauseAfter(20'000, 260), 20'000);
  // A measurement that waited long (a busy pool): the gauges never go stale for
  // more than 12 periods.
  EXPECT_EQ(StoredQueueGauges::PauseAfter(5'000, 120'000), 60'000);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoredQueueGaugesTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::pipeline
