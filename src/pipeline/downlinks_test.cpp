// CALLBACK-mode downlinks over a real store (SQLite and PostgreSQL) and a real
// downlinkHook receiver on loopback: the hook's answer, noData, a malformed
// answer, a late one and none; a dead hook holding up no other type's calls.
#include "pipeline/downlinks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "integration/dispatcher.h"
#include "integration/http_sender.h"
#include "integration/loopback_http_server.h"
#include "storage/store_test_fixture.h"

namespace roost::pipeline {
namespace {

using namespace std::chrono_literals;
using integration::testing::Answer;
using integration::testing::LoopbackHttpServer;
using integration::testing::ReceivedRequest;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

constexpr int64_t kTime = 1'700'000'000'000;
const storage::MessageCursor kFrame{kTime, 0x2C, 7};

// The answers an arbiter gives, by whose report was held. Declared before the
// arbiters it serves, which answer what they still hold when they end.
class HeldAnswers {
 public:
  DownlinkArbiter::Answer Of(std::string who) {
    return [this, who](std::optional<std::string> d) {
      std::lock_guard lock(mu_);
      answers_[who] = std::move(d);
    };
  }
  bool WaitFor(size_t count) {
    return roost::pipeline::WaitFor(
        [&] {
          std::lock_guard lock(mu_);
          return answers_.size() == count;
        },
        5s);
  }
  std::map<std::string, std::optional<std::string>> Get() {
    std::lock_guard lock(mu_);
    return answers_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::optional<std::string>> answers_;
};

class CallbackDownlinkTest : public storage::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);
    ASSERT_EQ(type_.downlink_mode, DownlinkMode::kCallback);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    for (const char* id : {"0A1B", "0A1C"}) {
      ASSERT_TRUE(store_->CreateStation(Station{id, id, root_.id, 43.6, 1.44, 1}).ok());
    }
    loop_thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    work_.reset();
    loop_.stop();
    if (loop_thread_.joinable()) loop_thread_.join();
    StoreTest::TearDown();
  }

  // The type's downlinkHook: a DATA BIDIR URL callback.
  void AddHook(const std::string& url, const DeviceType* type = nullptr,
               const std::string& id = "hook") {
    Callback cb;
    cb.id = id;
    cb.type = type != nullptr ? type->id : type_.id;
    cb.subtype = CallbackSubtype::kBidir;
    cb.url = url + "?device={device}&ack={ack}";
    cb.content_type = "application/json";
    cb.creation_time = 1;
    ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
    ASSERT_TRUE(store_->SetDownlinkHook(id).ok());
  }

  // The frame asking for a downlink, heard by 0A1B (-120 dBm) and then 0A1C (-100 dBm).
  void IngestFrame() {
    std::vector<UplinkReport> reports;
    for (auto [station, rssi] : {std::pair{"0A1B", -120.0}, std::pair{"0A1C", -100.0}}) {
      UplinkReport r;
      r.device.value = 0x2C;
      r.seq_number = kFrame.seq_number;
      r.data = "0a0b";
      r.time = kTime + (reports.empty() ? 0 : 50);
      r.station = station;
      r.rssi = rssi;
      r.snr = 10;
      r.ack = true;
      reports.push_back(r);
    }
    storage::IngestPolicy policy;
    policy.now = WallMs();
    policy.downlink_hook_delay_ms = 60'000;  // as roost serve does: the arbiter calls the hook
    auto r = store_->IngestUplinks(reports, policy);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }

  // The type answers in DIRECT mode with deadbeefcafebabe; kFrame is ingested.
  void IngestFrameOfDirectType() {
    DeviceType t = type_;
    t.downlink_mode = DownlinkMode::kDirect;
    t.downlink_data_string = "deadbeefcafebabe";
    {
      auto updated = store_->UpdateDeviceType(t, t.update_time);
      ASSERT_TRUE(updated.ok() && *updated) << updated.status().message();
    }
    IngestFrame();
  }

  DownlinkOptions Options() {
    DownlinkOptions o;
    o.hold_ms = 400;
    o.callback_timeout = 300ms;
    o.loop = &loop_;
    o.callback_threads = 2;
    o.refuse_private_destinations = false;  // the receiver is on loopback
    o.clock = WallMs;
    return o;
  }

  // Holds both stations' answers and waits for them: station -> downlink.
  std::map<std::string, std::optional<std::string>> HoldBoth(DownlinkArbiter& arbiter) {
    std::mutex mu;
    std::map<std::string, std::optional<std::string>> answers;
    for (const char* station : {"0A1B", "0A1C"}) {
      arbiter.Hold(kFrame, station, "client",
                   [&mu, &answers, station](std::optional<std::string> d) {
                     std::lock_guard lock(mu);
                     answers[station] = std::move(d);
                   });
    }
    EXPECT_TRUE(WaitFor(
        [&] {
          std::lock_guard lock(mu);
          return answers.size() == 2;
        },
        5s));
    std::lock_guard lock(mu);
    return answers;
  }

  Delivery HookDelivery() {
    auto d = store_->ListMessageDeliveries(std::vector<storage::MessageCursor>{kFrame});
    EXPECT_TRUE(d.ok());
    EXPECT_EQ(d.ok() ? d->size() : 0u, 1u);
    return d.ok() && !d->empty() ? d->front() : Delivery{};
  }

  // The hook answers `answer`: no station gets a downlink, the message records
  // `info` as the reason, and the hook's delivery is done (it was answered).
  void ExpectNoDownlinkFor(Answer answer, std::string_view info) {
    LoopbackHttpServer hook([answer](const ReceivedRequest&) { return answer; });
    AddHook(hook.Url("/hook"));
    DownlinkArbiter arbiter(*store_, Options());
    IngestFrame();
    auto answers = HoldBoth(arbiter);
    EXPECT_EQ(answers["0A1B"], std::nullopt);
    EXPECT_EQ(answers["0A1C"], std::nullopt);
    auto m = store_->GetMessage(kFrame);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->downlink_station, "");
    EXPECT_EQ(m->downlink_info, info);
    EXPECT_EQ(HookDelivery().state, DeliveryState::kDone);
  }

  Group root_;
  DeviceType type_;
  boost::asio::io_context loop_;  // the arbiters' HTTP calls run on it
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      loop_.get_executor()};
  std::thread loop_thread_;
};

TEST_P(CallbackDownlinkTest, TheHooksAnswerIsTheDownlinkOfTheBestStationAndTheHookIsCalledOnce) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    return Answer{200, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  // A dispatcher runs too: it must not send the hook's delivery a second time.
  integration::DispatcherOptions dispatch;
  dispatch.idle_poll_ms = 20;
  dispatch.refuse_private_destinations = false;
  dispatch.clock = WallMs;
  integration::Dispatcher dispatcher(*store_, dispatch);
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  dispatcher.Wake();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::optional<std::string>("0102030405060708"));
  EXPECT_EQ(answers["0A1B"], std::nullopt);
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_data, "0102030405060708");
  EXPECT_EQ(m->downlink_station, "0A1C");
  EXPECT_EQ(m->downlink_info, "");
  std::this_thread::sleep_for(300ms);
  auto requests = hook.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/hook?device=2C&ack=true");
  // The call was the hook's delivery for the frame: done, never sent again.
  const Delivery d = HookDelivery();
  EXPECT_EQ(d.state, DeliveryState::kDone);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_status, 200);
}

TEST_P(CallbackDownlinkTest, TwoInstancesHoldingOneFrameCallTheHookOnceAndShareItsAnswer) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    std::this_thread::sleep_for(100ms);  // both instances have started by then
    return Answer{200, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  auto second_store = GetParam() == "sqlite" ? storage::OpenSqliteStore(location_)
                                             : storage::OpenPostgresStore(location_);
  ASSERT_TRUE(second_store.ok()) << second_store.status().message();
  HeldAnswers held;
  DownlinkArbiter first(*store_, Options());
  DownlinkArbiter second(**second_store, Options());
  IngestFrame();
  // Each instance took one station's report; the best one (0A1C) is the second's.
  first.Hold(kFrame, "0A1B", "client", held.Of("0A1B"));
  second.Hold(kFrame, "0A1C", "client", held.Of("0A1C"));
  ASSERT_TRUE(held.WaitFor(2));
  auto answers = held.Get();
  EXPECT_EQ(answers["0A1C"], std::optional<std::string>("0102030405060708"));
  EXPECT_EQ(answers["0A1B"], std::nullopt);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(hook.requests().size(), 1u) << "one call for the frame, whichever instance made it";
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "0A1C");
  EXPECT_EQ(m->downlink_data, "0102030405060708");
  const Delivery d = HookDelivery();
  EXPECT_EQ(d.state, DeliveryState::kDone);
  EXPECT_EQ(d.attempts, 1);
}

TEST_P(CallbackDownlinkTest, ADeadHookHoldsOnlyItsOwnCallsAndNoMoreThanItsShare) {
  // Type A's hook never answers in time; type B's answers at once.
  auto since_epoch = [] { return std::chrono::steady_clock::now().time_since_epoch().count(); };
  std::atomic<int64_t> held_from{0};  // set when the frames are held
  std::atomic<int> early_calls{0};    // A's calls that reached it before any could time out
  LoopbackHttpServer dead([&](const ReceivedRequest&) {
    const auto held_for = std::chrono::steady_clock::duration(since_epoch() - held_from.load());
    if (held_for < 1200ms) ++early_calls;
    std::this_thread::sleep_for(2500ms);
    return Answer{200, "{}", {}, 0};
  });
  LoopbackHttpServer healthy([](const ReceivedRequest&) {
    return Answer{200, R"({"3D": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(dead.Url("/a"));
  const DeviceType other = MakeType(2, root_.id);
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x3D, other)).ok());
  AddHook(healthy.Url("/b"), &other, "hook-b");
  // Six frames of A, then one of B, each asking for a downlink.
  std::vector<storage::MessageCursor> frames;
  std::vector<UplinkReport> reports;
  for (int i = 0; i < 7; ++i) {
    UplinkReport r;
    r.device.value = i < 6 ? 0x2C : 0x3D;
    r.seq_number = 10 + i;
    r.data = "0a0b";
    r.time = kTime + i * 1000;
    r.station = "0A1B";
    r.rssi = -110;
    r.snr = 10;
    r.ack = true;
    reports.push_back(r);
    frames.push_back(storage::MessageCursor{r.time, r.device.value, r.seq_number});
  }
  storage::IngestPolicy policy;
  policy.now = WallMs();
  policy.downlink_hook_delay_ms = 60'000;
  ASSERT_TRUE(store_->IngestUplinks(reports, policy).ok());
  DownlinkOptions o = Options();
  o.calls_per_hook = 2;  // two threads too: with a thread per call, A's would take both
  // A deadline long enough that A's first calls reach its hook well before any
  // can time out, even on a loaded machine.
  o.callback_timeout = 1500ms;
  o.hold_ms = 1600;
  DownlinkArbiter arbiter(*store_, o);
  std::mutex mu;
  std::map<size_t, std::optional<std::string>> answers;
  held_from = since_epoch();
  for (size_t i = 0; i < frames.size(); ++i) {
    arbiter.Hold(frames[i], "0A1B", "client", [&mu, &answers, i](std::optional<std::string> d) {
      std::lock_guard lock(mu);
      answers[i] = std::move(d);
    });
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return answers.size() == frames.size();
      },
      5s));
  EXPECT_EQ(answers[6], std::optional<std::string>("0102030405060708"))
      << store_->GetMessage(frames[6])->downlink_info;
  EXPECT_EQ(store_->GetMessage(frames[6])->downlink_station, "0A1B");
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(answers[i], std::nullopt) << i;
    const std::string info = store_->GetMessage(frames[i])->downlink_info;
    EXPECT_TRUE(info == "no answer from the downlinkHook callback within 1500 ms" ||
                info.ends_with("(too many calls waiting)"))
        << info;
  }
  EXPECT_EQ(early_calls.load(), 2) << "A's hook had at most its share of calls at once";
}

// Given no loop (a misuse), the arbiter makes no call and says why on the message.
TEST_P(CallbackDownlinkTest, WithoutALoopNoCallIsMadeAndTheReasonSaysSo) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    return Answer{200, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  DownlinkOptions o = Options();
  o.loop = nullptr;
  DownlinkArbiter arbiter(*store_, o);
  IngestFrame();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info,
            "the downlinkHook callback could not be called: no event loop");
  EXPECT_TRUE(hook.requests().empty());
}

TEST_P(CallbackDownlinkTest, NoDataIsNoDownlinkAndRecordedAsSuch) {
  ExpectNoDownlinkFor(Answer{200, R"({"2C": {"noData": true}})", {}, 0},
                      "noData: the downlinkHook callback sent no downlink");
}

// As the Sigfox Cloud reads it: 204 No Content is noData, not an empty answer.
TEST_P(CallbackDownlinkTest, NoContentIsNoDownlinkAndRecordedAsSuch) {
  ExpectNoDownlinkFor(Answer{204, "", {}, 0},
                      "noData: the downlinkHook callback answered HTTP 204 (no downlink)");
}

TEST_P(CallbackDownlinkTest, AMalformedAnswerIsNoDownlinkWithTheReason) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    return Answer{200, R"({"2C": {"downlinkData": "0102"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "");
  EXPECT_TRUE(m->downlink_info.starts_with("malformed answer: ")) << m->downlink_info;
  EXPECT_EQ(m->downlink_info.find("0102"), std::string::npos) << "never quotes the answer";
}

TEST_P(CallbackDownlinkTest, AnAnswerAfterTheDeadlineIsNoDownlink) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    std::this_thread::sleep_for(700ms);  // past the 300 ms deadline
    return Answer{200, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  const auto start = std::chrono::steady_clock::now();
  auto answers = HoldBoth(arbiter);
  // Answered when the hold ends, not when the late answer comes.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 650ms);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(answers["0A1B"], std::nullopt);
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "");
  EXPECT_EQ(m->downlink_info, "no answer from the downlinkHook callback within 300 ms");
  // The attempt failed: the dispatcher retries the delivery later (without a downlink).
  const Delivery d = HookDelivery();
  EXPECT_EQ(d.state, DeliveryState::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_status, integration::kStatusTimeout);
}

TEST_P(CallbackDownlinkTest, AHookThatNeverAnswersIsNoDownlink) {
  LoopbackHttpServer hook([](const ReceivedRequest&) { return Answer{}; },
                          LoopbackHttpServer::Mode::kSilent);
  AddHook(hook.Url("/hook"));
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "");
  EXPECT_EQ(m->downlink_info, "no answer from the downlinkHook callback within 300 ms");
}

TEST_P(CallbackDownlinkTest, AnErrorStatusIsNoDownlink) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    return Answer{500, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  AddHook(hook.Url("/hook"));
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info,
            "the downlinkHook callback answered HTTP 500");
}

// The callback became the type's hook only after the frame was stored: its
// delivery was queued as a plain data callback, the dispatcher's. The arbiter
// does not call the hook (the data goes once, as that callback) and says so at
// once, rather than waiting for another instance's decision that never comes.
TEST_P(CallbackDownlinkTest, AHookSetAfterTheFrameArrivedIsNotCalledAndTheReasonSaysSo) {
  LoopbackHttpServer hook([](const ReceivedRequest&) {
    return Answer{200, R"({"2C": {"downlinkData": "0102030405060708"}})", {}, 0};
  });
  Callback cb;
  cb.id = "hook";
  cb.type = type_.id;
  cb.subtype = CallbackSubtype::kBidir;
  cb.url = hook.Url("/hook") + "?device={device}";
  cb.creation_time = 1;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  IngestFrame();
  ASSERT_TRUE(store_->SetDownlinkHook("hook").ok());
  DownlinkArbiter arbiter(*store_, Options());
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1B"], std::nullopt);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info,
            "the frame's delivery to the downlinkHook callback was already the dispatcher's (the "
            "hook changed after the frame arrived, or the call came too late)");
  EXPECT_TRUE(hook.requests().empty());
  EXPECT_EQ(HookDelivery().attempts, 0) << "left to the dispatcher";
}

TEST_P(CallbackDownlinkTest, WithoutAHookNothingIsCalledAndTheReasonSaysSo) {
  DownlinkArbiter arbiter(*store_, Options());
  IngestFrame();
  auto answers = HoldBoth(arbiter);
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info,
            "the device type has no downlinkHook callback");
}

// DIRECT without a template (DIRECT is the default mode) and NONE give no
// downlink, and the message says why.
TEST_P(CallbackDownlinkTest, DirectWithoutATemplateRecordsWhyOnTheMessage) {
  DeviceType t = type_;
  t.downlink_mode = DownlinkMode::kDirect;
  t.downlink_data_string = "";
  {
    auto updated = store_->UpdateDeviceType(t, t.update_time);
    ASSERT_TRUE(updated.ok() && *updated) << updated.status().message();
  }
  DownlinkArbiter arbiter(*store_, Options());
  ASSERT_NO_FATAL_FAILURE(IngestFrame());
  EXPECT_EQ(HoldBoth(arbiter)["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info, "the device type has no downlinkDataString");
}

TEST_P(CallbackDownlinkTest, ModeNoneRecordsWhyOnTheMessage) {
  DeviceType t = type_;
  t.downlink_mode = DownlinkMode::kNone;
  {
    auto updated = store_->UpdateDeviceType(t, t.update_time);
    ASSERT_TRUE(updated.ok() && *updated) << updated.status().message();
  }
  DownlinkArbiter arbiter(*store_, Options());
  ASSERT_NO_FATAL_FAILURE(IngestFrame());
  EXPECT_EQ(HoldBoth(arbiter)["0A1C"], std::nullopt);
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_info, "the device type's downlinkMode is NONE");
}

// Past max_frames, a report of another frame is answered at once without a
// downlink and counted; the frame already held (and more of its reports) is
// decided as usual. Once it is, a new frame is held again, but a later report
// of the refused frame is refused too: its refused station may be the best.
TEST_P(CallbackDownlinkTest, PastMaxFramesAReportOfAnotherFrameIsAnsweredAtOnceWithoutADownlink) {
  ASSERT_NO_FATAL_FAILURE(IngestFrameOfDirectType());
  observe::Counter refused;
  DownlinkOptions o = Options();
  o.max_frames = 1;
  o.refused = &refused;
  std::atomic<bool> third_answered{false};  // outlives the arbiter, which answers at its end
  DownlinkArbiter arbiter(*store_, o);
  std::mutex mu;
  std::vector<std::pair<std::string, std::optional<std::string>>> answers;
  auto answer_as = [&](std::string who) {
    return [&mu, &answers, who](std::optional<std::string> d) {
      std::lock_guard lock(mu);
      answers.emplace_back(who, std::move(d));
    };
  };
  const storage::MessageCursor other{kTime + 60'000, kFrame.device, kFrame.seq_number + 1};
  const auto start = std::chrono::steady_clock::now();
  arbiter.Hold(kFrame, "0A1B", "client", answer_as("0A1B"));
  arbiter.Hold(kFrame, "0A1C", "client", answer_as("0A1C"));
  arbiter.Hold(other, "0A1C", "client", answer_as("other"));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(answers.size(), 1u) << "answered at once, not after the 400 ms hold";
    EXPECT_EQ(answers[0], std::make_pair(std::string("other"), std::optional<std::string>()));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(refused.Value(), 1u);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return answers.size() == 3;
      },
      5s));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(answers[1].first, "0A1B");
    EXPECT_EQ(answers[1].second, std::nullopt);
    EXPECT_EQ(answers[2],
              std::make_pair(std::string("0A1C"), std::optional<std::string>("deadbeefcafebabe")));
  }
  EXPECT_EQ(store_->GetMessage(kFrame)->downlink_station, "0A1C");
  // The held frame decided, there is room again: for a new frame, not for the refused one.
  std::optional<std::string> again = "unanswered";
  arbiter.Hold(other, "0A1B", "client",
               [&again](std::optional<std::string> d) { again = std::move(d); });
  EXPECT_EQ(again, std::nullopt) << "answered at once";
  EXPECT_EQ(refused.Value(), 2u);
  const storage::MessageCursor third{kTime + 120'000, kFrame.device, kFrame.seq_number + 2};
  arbiter.Hold(third, "0A1C", "client",
               [&third_answered](std::optional<std::string>) { third_answered = true; });
  EXPECT_FALSE(third_answered.load()) << "held, not answered at once";
  EXPECT_EQ(refused.Value(), 2u);
}

// Refused for want of room, a frame's message records why, so that another
// instance holding a report of it does not choose the station already told
// "no downlink" (the best one here): nobody gets the downlink, and the
// message says why instead of naming a station that never had it.
TEST_P(CallbackDownlinkTest, AFrameRefusedHereIsNotGivenToItsRefusedStationByAnotherInstance) {
  ASSERT_NO_FATAL_FAILURE(IngestFrameOfDirectType());
  auto second_store = GetParam() == "sqlite" ? storage::OpenSqliteStore(location_)
                                             : storage::OpenPostgresStore(location_);
  ASSERT_TRUE(second_store.ok()) << second_store.status().message();
  HeldAnswers held;
  DownlinkOptions one_frame = Options();
  one_frame.max_frames = 1;
  DownlinkArbiter first(*store_, one_frame);
  DownlinkArbiter second(**second_store, Options());
  const storage::MessageCursor other{kTime + 60'000, kFrame.device, kFrame.seq_number + 1};
  first.Hold(other, "0A1B", "client", held.Of("other"));  // fills the first instance
  first.Hold(kFrame, "0A1C", "client", held.Of("0A1C"));  // the best station: refused
  second.Hold(kFrame, "0A1B", "client", held.Of("0A1B"));
  ASSERT_TRUE(held.WaitFor(3));
  auto answers = held.Get();
  EXPECT_EQ(answers["0A1C"], std::nullopt);
  EXPECT_EQ(answers["0A1B"], std::nullopt);
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "") << "decided for the station refused by the other instance";
  // The first instance records its refusal within a few ms, the second's hold
  // is 400 ms: the refusal is on the message when the second decides.
  EXPECT_EQ(m->downlink_info,
            "no room: pipeline.downlink_max_frames frames were awaiting their downlink");
}

// A frame holds at most max_held_per_frame reports: a station sending its
// report again and again cannot make one frame's held answers grow.
TEST_P(CallbackDownlinkTest, AFrameHoldsAtMostItsBoundOfReports) {
  observe::Counter refused;
  DownlinkOptions o = Options();
  o.max_held_per_frame = 2;
  o.refused = &refused;
  HeldAnswers held;  // outlives the arbiter, which answers what it still holds at its end
  DownlinkArbiter arbiter(*store_, o);
  arbiter.Hold(kFrame, "0A1B", "client", held.Of("1"));
  arbiter.Hold(kFrame, "0A1B", "client", held.Of("2"));
  arbiter.Hold(kFrame, "0A1B", "client", held.Of("3"));
  EXPECT_EQ(held.Get().size(), 1u) << "the third copy answered at once";
  EXPECT_TRUE(held.Get().contains("3"));
  EXPECT_EQ(refused.Value(), 1u);
  // The two held are answered when the frame is decided.
  EXPECT_TRUE(held.WaitFor(3));
}

// A station that sent its report of the frame twice (a retry, after it stopped
// waiting for the first answer) gets the downlink in the answer to its latest
// copy only: it must not transmit it twice.
TEST_P(CallbackDownlinkTest, OnlyTheLatestCopyOfTheBestStationsReportCarriesTheDownlink) {
  IngestFrameOfDirectType();
  HeldAnswers held;
  DownlinkArbiter arbiter(*store_, Options());
  arbiter.Hold(kFrame, "0A1C", "client", held.Of("best, first copy"));
  arbiter.Hold(kFrame, "0A1B", "client", held.Of("other station"));
  arbiter.Hold(kFrame, "0A1C", "client", held.Of("best, second copy"));
  ASSERT_TRUE(held.WaitFor(3));
  auto answers = held.Get();
  EXPECT_EQ(answers["best, first copy"], std::nullopt);
  EXPECT_EQ(answers["best, second copy"], std::optional<std::string>("deadbeefcafebabe"));
  EXPECT_EQ(answers["other station"], std::nullopt);
}

TEST_P(CallbackDownlinkTest, PastItsShareAClientsNewFramesAreAnsweredAtOnceWhileOthersAreHeld) {
  observe::Counter refused;
  DownlinkOptions o = Options();
  o.max_frames = 4;
  o.max_frames_per_client = 2;
  o.refused = &refused;
  // Outlive the arbiter, which answers what it still holds at its end.
  std::mutex mu;
  std::vector<std::string> answered;
  DownlinkArbiter arbiter(*store_, o);
  auto answer_as = [&](std::string who) {
    return [&mu, &answered, who](std::optional<std::string>) {
      std::lock_guard lock(mu);
      answered.push_back(who);
    };
  };
  auto frame = [](int n) {
    return storage::MessageCursor{kTime + n * 60'000, kFrame.device, kFrame.seq_number + n};
  };
  auto answered_now = [&] {
    std::lock_guard lock(mu);
    return answered;
  };
  arbiter.Hold(frame(1), "0A1B", "greedy", answer_as("greedy 1"));
  arbiter.Hold(frame(2), "0A1B", "greedy", answer_as("greedy 2"));
  arbiter.Hold(frame(3), "0A1B", "greedy", answer_as("greedy 3"));
  EXPECT_EQ(answered_now(), std::vector<std::string>{"greedy 3"}) << "refused at once";
  EXPECT_EQ(refused.Value(), 1u);
  // Another client still finds room, for a new frame and for one the first holds.
  arbiter.Hold(frame(4), "0A1C", "other", answer_as("other 4"));
  arbiter.Hold(frame(1), "0A1C", "other", answer_as("other 1"));
  arbiter.Hold(frame(5), "0A1C", "other", answer_as("other 5"));
  EXPECT_EQ(answered_now(), std::vector<std::string>{"greedy 3"}) << "all four held";
  EXPECT_EQ(refused.Value(), 1u);
  // Frames 1, 2, 4 and 5 fill the arbiter: a third client is refused too.
  arbiter.Hold(frame(6), "0A1D", "third", answer_as("third 6"));
  EXPECT_EQ(answered_now().size(), 2u);
  EXPECT_EQ(refused.Value(), 2u);
  // Once its frames are decided, the first client has its share again.
  ASSERT_TRUE(WaitFor([&] { return answered_now().size() == 7; }, 5s));
  arbiter.Hold(frame(7), "0A1B", "greedy", answer_as("greedy 7"));
  arbiter.Hold(frame(8), "0A1B", "greedy", answer_as("greedy 8"));
  EXPECT_EQ(answered_now().size(), 7u) << "both held";
  EXPECT_EQ(refused.Value(), 2u);
}

// A frame refused for its client's share records that reason, naming the
// setting an operator would raise, not the global one.
TEST_P(CallbackDownlinkTest, AFrameRefusedForItsClientsShareRecordsThatReason) {
  ASSERT_NO_FATAL_FAILURE(IngestFrameOfDirectType());
  HeldAnswers held;
  DownlinkOptions o = Options();
  o.max_frames_per_client = 1;
  DownlinkArbiter arbiter(*store_, o);
  const storage::MessageCursor other{kTime + 60'000, kFrame.device, kFrame.seq_number + 1};
  arbiter.Hold(other, "0A1B", "greedy", held.Of("other"));  // its share
  arbiter.Hold(kFrame, "0A1C", "greedy", held.Of("0A1C"));  // past it: refused
  ASSERT_TRUE(held.WaitFor(2));
  EXPECT_EQ(held.Get()["0A1C"], std::nullopt);
  // The refusal is recorded by the arbiter's thread within a few ms.
  ASSERT_TRUE(WaitFor([&] { return !store_->GetMessage(kFrame)->downlink_info.empty(); }, 5s));
  auto m = store_->GetMessage(kFrame);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "");
  EXPECT_EQ(m->downlink_info,
            "no room: the reporting client held its share of the frames awaiting their downlink "
            "(pipeline.downlink_max_frames_per_client)");
}

// Frames whose hold is over are decided the longest waiting first, not in
// the order of their keys: under a burst an early frame must not wait behind
// later ones of smaller device IDs or times.
TEST_P(CallbackDownlinkTest, DueFramesAreDecidedTheLongestWaitingFirst) {
  std::atomic<int64_t> now{kTime};
  DownlinkOptions o = Options();
  o.clock = [&now] { return now.load(); };
  std::mutex mu;
  std::vector<int> order;
  DownlinkArbiter arbiter(*store_, o);
  for (int n : {3, 1, 2}) {  // first seen 3, then 1, then 2; by key: 1, 2, 3
    arbiter.Hold(storage::MessageCursor{kTime + n * 60'000, kFrame.device, kFrame.seq_number + n},
                 "0A1B", "client", [&mu, &order, n](std::optional<std::string>) {
                   std::lock_guard lock(mu);
                   order.push_back(n);
                 });
    now += 10;
  }
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(order.empty()) << "nothing is due before its hold is over";
  }
  now += o.hold_ms;  // all three are due
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return order.size() == 3;
      },
      5s));
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{3, 1, 2}));
}

TEST_P(CallbackDownlinkTest, TheFirstDecisionStays) {
  ASSERT_NO_FATAL_FAILURE(IngestFrame());
  ASSERT_TRUE(store_->SetMessageNoDownlink(kFrame, "first").ok());
  auto m = store_->SetMessageDownlink(kFrame, "0102030405060708", "0A1C");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_station, "") << "a reason recorded first stays";
  EXPECT_EQ(m->downlink_info, "first");
  m = store_->SetMessageNoDownlink(kFrame, "second");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->downlink_info, "first");
}

// Hook calls answered while the arbiter stops, before their attempts were
// recorded, are recorded by the stop: left pending, each hook would be called
// again after the restart. The store is held (as by a slow commit) while the
// answers arrive, so that one is being recorded and the other waits.
TEST_P(CallbackDownlinkTest, AnswersReceivedBeforeAStopAreRecordedByIt) {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  LoopbackHttpServer hook([&](const ReceivedRequest&) {
    ++calls;
    WaitFor([&] { return release.load(); }, 10s);
    Answer none;
    none.status = 204;
    return none;
  });
  AddHook(hook.Url("/hook"));
  ASSERT_NO_FATAL_FAILURE(IngestFrame());
  const storage::MessageCursor other{kTime + 60'000, kFrame.device, kFrame.seq_number + 1};
  {
    UplinkReport r;
    r.device.value = other.device;
    r.seq_number = other.seq_number;
    r.data = "0c";
    r.time = other.time;
    r.station = "0A1B";
    r.rssi = -110;
    r.snr = 10;
    r.ack = true;
    storage::IngestPolicy policy;
    policy.now = WallMs();
    policy.downlink_hook_delay_ms = 60'000;
    auto done = store_->IngestUplinks(std::vector<UplinkReport>{r}, policy);
    ASSERT_TRUE(done.ok()) << done.status().message();
  }
  HeldAnswers held;
  DownlinkOptions o = Options();
  o.callback_threads = 1;
  o.callback_timeout = 5s;
  DownlinkArbiter arbiter(*store_, o);
  arbiter.Hold(kFrame, "0A1B", "client", held.Of("first"));
  arbiter.Hold(other, "0A1B", "client", held.Of("second"));
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 2; }, 5s));
  auto blocker = (GetParam() == "sqlite" ? storage::driver::SqliteOpener(location_ + "/roost.db")
                                         : storage::driver::PostgresOpener(location_))();
  ASSERT_TRUE(blocker.ok()) << blocker.status().message();
  ASSERT_TRUE((*blocker)
                  ->Exec(GetParam() == "sqlite"
                             ? "BEGIN IMMEDIATE"
                             : "BEGIN; SELECT 1 FROM deliveries ORDER BY id FOR UPDATE",
                         "test")
                  .ok());
  release = true;
  std::this_thread::sleep_for(500ms);  // both answers arrive; one waits for the store
  std::thread stopper([&] { arbiter.Stop(); });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE((*blocker)->Exec("ROLLBACK", "test").ok());
  stopper.join();
  auto deliveries =
      store_->ListMessageDeliveries(std::vector<storage::MessageCursor>{kFrame, other});
  ASSERT_TRUE(deliveries.ok()) << deliveries.status().message();
  ASSERT_EQ(deliveries->size(), 2u);
  for (const Delivery& d : *deliveries) {
    EXPECT_EQ(d.state, DeliveryState::kDone) << "message " << d.seq_number;
    EXPECT_EQ(d.attempts, 1) << "message " << d.seq_number;
  }
  EXPECT_EQ(calls.load(), 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, CallbackDownlinkTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::pipeline
