// The group-commit writer over a real store, on SQLite and PostgreSQL.
#include "pipeline/uplink_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <thread>

#include "core/hex.h"
#include "core/text.h"
#include "pipeline/message_hub.h"
#include "storage/store_test_fixture.h"

namespace roost::pipeline {
namespace {

using storage::StoreTest;

class UplinkWriterTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);  // custom format "temp::int:16:little-endian"
    for (uint32_t id = 1; id <= kDevices; ++id) {
      ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, type_)).ok());
    }
    Station s{"0A1B", "roof", root_.id, 43.6, 1.44, 1};
    ASSERT_TRUE(store_->CreateStation(s).ok());
  }

  static UplinkReport Report(uint32_t device, int64_t seq, std::string data = "0102") {
    UplinkReport r;
    r.device.value = device;
    r.seq_number = seq;
    r.data = std::move(data);
    r.time = 1'000'000 + seq;
    r.station = "0A1B";
    r.rssi = -120;
    r.snr = 9;
    return r;
  }

  static UplinkWriterOptions Options() {
    UplinkWriterOptions options;
    options.clock = [] { return EpochMillis{2'000'000}; };
    return options;
  }

  static constexpr uint32_t kDevices = 16;
  Group root_;
  DeviceType type_;
};

TEST_P(UplinkWriterTest, ConcurrentSubmissionsAreCommittedInGroupsAndEachIsAnswered) {
  observe::Counter batches;
  UplinkWriterOptions options = Options();
  options.batches = &batches;
  UplinkWriter writer(*store_, options);
  constexpr int kPerDevice = 50;
  std::atomic<int> accepted{0}, failed{0};
  std::vector<std::thread> threads;
  for (uint32_t device = 1; device <= kDevices; ++device) {
    threads.emplace_back([&, device] {
      for (int seq = 1; seq <= kPerDevice; ++seq) {
        std::promise<void> answered;
        ASSERT_TRUE(writer.Submit({Report(device, seq)}, [&](auto decided) {
          if (decided.ok() && decided->size() == 1 &&
              (*decided)[0].result == IngestResult::kAccepted) {
            ++accepted;
          } else {
            ++failed;
          }
          answered.set_value();
        }));
        answered.get_future().wait();  // like a station waiting for its 2xx
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(accepted.load(), static_cast<int>(kDevices) * kPerDevice);
  // Sixteen stations waiting for their answers share transactions.
  EXPECT_LT(batches.Value(), static_cast<uint64_t>(kDevices) * kPerDevice);
  storage::MessageQuery q;
  q.type = type_.id;
  q.limit = 1000;
  auto page = store_->ListMessages(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->messages.size(), kDevices * kPerDevice);
}

TEST_P(UplinkWriterTest, AFullQueueRefusesAndTheRefusedReportIsNeverStored) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> commits{0};
  UplinkWriterOptions options = Options();
  options.max_queued_reports = 3;
  options.before_commit = [&] {
    if (commits++ == 0) released.wait();  // hold the first transaction
  };
  UplinkWriter writer(*store_, options);
  std::atomic<int> done{0};
  auto count = [&](auto decided) {
    EXPECT_TRUE(decided.ok());
    if (decided.ok()) {
      for (const auto& d : *decided) EXPECT_EQ(d.result, IngestResult::kAccepted);
    }
    ++done;
  };
  ASSERT_TRUE(writer.Submit({Report(1, 1)}, count));
  while (commits.load() == 0) std::this_thread::yield();  // the writer holds it
  EXPECT_TRUE(writer.Submit({Report(2, 1), Report(3, 1)}, count));
  EXPECT_TRUE(writer.Submit({Report(4, 1)}, count));
  EXPECT_EQ(writer.queued(), 3u);
  EXPECT_EQ(writer.writing(), 1u) << "the held transaction's one report";
  EXPECT_FALSE(writer.Submit({Report(5, 1)}, count)) << "past the bound";
  release.set_value();
  writer.Stop();  // drains what was accepted
  EXPECT_EQ(done.load(), 3);
  EXPECT_EQ(writer.writing(), 0u);
  EXPECT_FALSE(writer.Submit({Report(6, 1)}, count)) << "after Stop";
  auto five = store_->GetDevice(5);
  ASSERT_TRUE(five.ok());
  EXPECT_FALSE(five->last.has_value());
  auto four = store_->GetDevice(4);
  ASSERT_TRUE(four.ok());
  EXPECT_TRUE(four->last.has_value());
}

// Under load each transaction served only a few requests (its WAL writes
// paid for 3-8 reports): after one that served several, the writer waits
// briefly for as many again. A lone client is never kept waiting.
TEST_P(UplinkWriterTest, AfterAGroupOfSeveralTheWriterGathersAsManyBeforeCommitting) {
  observe::Counter batches;
  UplinkWriterOptions options = Options();
  options.batches = &batches;
  options.gather_delay = std::chrono::milliseconds(500);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> commits{0};
  options.before_commit = [&] {
    if (commits++ == 0) released.wait();  // hold the first transaction
  };
  UplinkWriter writer(*store_, options);
  std::atomic<int> done{0};
  auto count = [&](auto decided) {
    EXPECT_TRUE(decided.ok());
    ++done;
  };
  auto wait_done = [&](int n) {
    for (int i = 0; i < 2000 && done.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(done.load(), n);
  };
  // A lone submission: committed at once (no group of several before it).
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.Submit({Report(1, 1)}, count));
  while (commits.load() == 0) std::this_thread::yield();
  // Two more wait while the first is held: the next transaction serves both.
  ASSERT_TRUE(writer.Submit({Report(2, 1)}, count));
  ASSERT_TRUE(writer.Submit({Report(3, 1)}, count));
  release.set_value();
  wait_done(3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(batches.Value(), 2u);
  // Now one report alone is held back for a second one, and both share a transaction.
  ASSERT_TRUE(writer.Submit({Report(4, 1)}, count));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done.load(), 3) << "committed without waiting for company";
  ASSERT_TRUE(writer.Submit({Report(5, 1)}, count));
  wait_done(5);
  EXPECT_EQ(batches.Value(), 3u);
  // That transaction served two: the next lone one waits, but no longer than the delay.
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.Submit({Report(6, 1)}, count));
  wait_done(6);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(batches.Value(), 4u);
  // It was alone: the next is not held.
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.Submit({Report(7, 1)}, count));
  wait_done(7);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

TEST_P(UplinkWriterTest, MessagesAreDecodedWithTheirTypesFormat) {
  UplinkWriter writer(*store_, Options());
  std::promise<Result<std::vector<storage::IngestDecision>>> out;
  ASSERT_TRUE(writer.Submit({Report(1, 1, "feff"), Report(2, 1, "01")},
                            [&](auto decided) { out.set_value(std::move(decided)); }));
  auto decided = out.get_future().get();
  ASSERT_TRUE(decided.ok()) << decided.status().message();
  ASSERT_EQ(decided->size(), 2u);
  ASSERT_TRUE((*decided)[0].message.has_value());
  EXPECT_EQ((*decided)[0].message->decoded, "{\"temp\":-2}");
  EXPECT_EQ((*decided)[0].message->undecoded, "");
  EXPECT_EQ((*decided)[1].message->decoded, "{}");
  EXPECT_EQ((*decided)[1].message->undecoded, "[\"temp\"]");
  storage::MessageQuery q;
  q.device = 1;
  auto page = store_->ListMessages(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0].decoded, "{\"temp\":-2}");
  EXPECT_EQ(page->messages[0].undecoded, "");
  storage::MessageQuery short_one;
  short_one.device = 2;
  auto short_page = store_->ListMessages(short_one);
  ASSERT_TRUE(short_page.ok());
  ASSERT_EQ(short_page->messages.size(), 1u);
  EXPECT_EQ(short_page->messages[0].undecoded, "[\"temp\"]") << "stored and read back";
  // One station at -120 dBm (above -122) with a position: GOOD, located at the station.
  EXPECT_EQ(page->messages[0].link_quality, LinkQuality::kGood);
  ASSERT_TRUE(page->messages[0].computed_location.has_value());
  EXPECT_NEAR(page->messages[0].computed_location->lat, 43.6, 1e-9);
}

TEST_P(UplinkWriterTest, TheHubHearsEachNewMessageOnceItIsDurableBeforeTheAnswer) {
  MessageHub hub;
  std::vector<int64_t> heard;
  bool stored_when_heard = true;
  hub.Subscribe(1, "", [&](const Message& m) {
    heard.push_back(m.seq_number);
    storage::MessageQuery q;  // committed: visible to another connection
    q.device = 1;
    auto page = store_->ListMessages(q);
    stored_when_heard = stored_when_heard && page.ok() && !page->messages.empty();
  });
  UplinkWriterOptions options = Options();
  options.on_durable = [&hub](std::span<const storage::IngestDecision> d) { hub.Publish(d); };
  UplinkWriter writer(*store_, options);
  std::promise<std::vector<int64_t>> answered;
  // A new message, another device's, and a replay of the first: only the first is heard.
  ASSERT_TRUE(writer.Submit({Report(1, 5), Report(2, 5), Report(1, 4)},
                            [&](auto) { answered.set_value(heard); }));
  EXPECT_EQ(answered.get_future().get(), (std::vector<int64_t>{5}));
  EXPECT_TRUE(stored_when_heard);
}

TEST_P(UplinkWriterTest, TransactionsTakeTheInjectedClockNotTheSystemClock) {
  Callback cb;
  cb.id = storage::Hex24(0x900);
  cb.type = type_.id;
  cb.url = "http://127.0.0.1:9/{device}";
  ASSERT_TRUE(store_->CreateCallbacks(std::span(&cb, 1)).ok());
  EpochMillis now = 7'000'000;
  UplinkWriterOptions options = Options();
  options.clock = [&now] { return now; };
  UplinkWriter writer(*store_, options);
  std::promise<Result<std::vector<storage::IngestDecision>>> out;
  ASSERT_TRUE(
      writer.Submit({Report(1, 1)}, [&](auto decided) { out.set_value(std::move(decided)); }));
  auto decided = out.get_future().get();
  ASSERT_TRUE(decided.ok()) << decided.status().message();
  // The delivery queued with the message is created and due at the clock's time.
  auto claimed = store_->ClaimDeliveries(now, 10, 60'000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].delivery.creation_time, now);
}

TEST_P(UplinkWriterTest, HandedOffDeliveriesTheDispatcherRefusesAreMadeDueAtOnce) {
  Callback cb;
  cb.id = "cb";
  cb.type = type_.id;
  cb.url = "http://127.0.0.1:9/{device}";
  cb.creation_time = 1;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  std::vector<int64_t> offered;
  std::atomic<int> wakes{0};
  UplinkWriterOptions options = Options();
  options.handoff_lease_ms = 600'000;
  options.handoff_room = [] { return size_t{2}; };
  options.handoff = [&](std::vector<storage::DeliveryTask> tasks) {
    // Takes the first, refuses the rest.
    for (const auto& t : tasks) offered.push_back(t.delivery.id);
    return std::vector<int64_t>(offered.begin() + 1, offered.end());
  };
  options.after_commit = [&] { ++wakes; };
  {
    UplinkWriter writer(*store_, options);
    std::promise<void> answered;
    ASSERT_TRUE(writer.Submit({Report(1, 1), Report(2, 1), Report(3, 1)}, [&](auto decided) {
      EXPECT_TRUE(decided.ok());
      answered.set_value();
    }));
    answered.get_future().wait();
  }
  // Two handed off (the room), one of them refused; one never handed off.
  ASSERT_EQ(offered.size(), 2u);
  EXPECT_EQ(wakes.load(), 1);  // there is something to claim
  auto due = store_->ClaimDeliveries(2'000'000, 100, 1'000);
  ASSERT_TRUE(due.ok()) << due.status().message();
  ASSERT_EQ(due->size(), 2u);  // the refused one and the one not handed off
  for (const auto& t : *due) EXPECT_NE(t.delivery.id, offered[0]);

  // Everything handed off and taken: nothing to claim, no wake-up.
  offered.clear();
  options.handoff_room = [] { return size_t{100}; };
  options.handoff = [&](std::vector<storage::DeliveryTask> tasks) {
    for (const auto& t : tasks) offered.push_back(t.delivery.id);
    return std::vector<int64_t>{};
  };
  {
    UplinkWriter writer(*store_, options);
    std::promise<void> answered;
    ASSERT_TRUE(writer.Submit({Report(1, 2)}, [&](auto) { answered.set_value(); }));
    answered.get_future().wait();
  }
  EXPECT_EQ(offered.size(), 1u);
  EXPECT_EQ(wakes.load(), 1);
}

TEST(UplinkDecoderTest, StringPayloadsBecomeSafeText) {
  UplinkDecoder decoder;
  Message m;
  m.data = "48692200ff";
  m.rinfos.resize(1);
  decoder.Complete(m, PayloadType::kString, "");
  EXPECT_EQ(m.decoded, "\"Hi\\\"\xef\xbf\xbd\xef\xbf\xbd\"");
  m.data = "5ac3bc726963680a";  // "Zürich\n": UTF-8 kept, the control shown as U+FFFD
  decoder.Complete(m, PayloadType::kString, "");
  EXPECT_EQ(m.decoded, "\"Z\xc3\xbcrich\xef\xbf\xbd\"");
  m.data = "c3287f";  // a cut sequence, DEL
  decoder.Complete(m, PayloadType::kString, "");
  EXPECT_EQ(m.decoded, "\"\xef\xbf\xbd(\xef\xbf\xbd\"");
  decoder.Complete(m, PayloadType::kNone, "");
  EXPECT_EQ(m.decoded, "");
  decoder.Complete(m, PayloadType::kCustom, "not a format");
  EXPECT_EQ(m.decoded, "") << "a format that does not compile decodes nothing";
}

// Whatever bytes a device sends, String shows them as one JSON string of valid
// UTF-8 without a control character, and keeps the bytes that were text.
TEST(UplinkDecoderTest, AnyPayloadAsStringIsAJsonStringOfTextWithoutControls) {
  UplinkDecoder decoder;
  std::mt19937 random(20261206);
  Message m;
  m.rinfos.resize(1);
  for (int round = 0; round < 20'000; ++round) {
    std::vector<uint8_t> bytes(random() % 13);
    // Half the rounds from UTF-8 lead and continuation bytes, which make valid
    // sequences often; the others from any byte.
    for (auto& b : bytes) {
      b = static_cast<uint8_t>(round % 2 ? random() : 0x80 | (random() % 0x75));
    }
    m.data = ToHex(bytes);
    decoder.Complete(m, PayloadType::kString, "");
    const auto decoded = nlohmann::json::parse(m.decoded, nullptr, false);
    ASSERT_TRUE(decoded.is_string()) << m.data << " -> " << m.decoded;
    const std::string text = decoded.get<std::string>();
    ASSERT_TRUE(IsValidUtf8(text)) << m.data;
    ASSERT_FALSE(HasControl(text)) << m.data;
    const std::string raw(bytes.begin(), bytes.end());
    if (IsValidUtf8(raw) && !HasControl(raw)) {
      ASSERT_EQ(text, raw) << m.data;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, UplinkWriterTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::pipeline
