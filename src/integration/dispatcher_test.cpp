// The callback dispatcher over a real store (SQLite and PostgreSQL) and real
// HTTP receivers on loopback.
#include "integration/dispatcher.h"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "integration/http_sender.h"
#include "integration/loopback_http_server.h"
#include "observe/metrics.h"
#include "storage/driver/driver.h"
#include "storage/store_test_fixture.h"

namespace roost::integration {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::LoopbackHttpServer;
using testing::ReceivedRequest;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A port that accepts connections (the kernel completes them) and never answers.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hole"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class DispatcherTest : public storage::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    Station s{"0A1B", "roof", root_.id, 43.6, 1.44, 1};
    ASSERT_TRUE(store_->CreateStation(s).ok());
  }

  Callback UrlCallback(const std::string& id, const std::string& url) {
    Callback cb;
    cb.id = id;
    cb.type = type_.id;
    cb.url = url + "?device={device}";
    cb.content_type = "application/json";
    cb.body_template = "{\"seq\":{seqNumber},\"data\":\"{data}\",\"station\":\"{station}\"}";
    cb.creation_time = 1;
    return cb;
  }

  // Reports of device 2C with sequence numbers first.., each a second apart.
  static std::vector<UplinkReport> Reports(int first, int count) {
    std::vector<UplinkReport> reports;
    for (int i = first; i < first + count; ++i) {
      UplinkReport r;
      r.device.value = 0x2C;
      r.seq_number = i;
      r.data = "0a0b";
      r.time = 1'000'000 + i * 1000;
      r.station = "0A1B";
      r.rssi = -110;
      r.snr = 12;
      reports.push_back(r);
    }
    return reports;
  }

  void Ingest(int first, int count) {
    storage::IngestPolicy policy;
    policy.now = WallMs();
    auto r = store_->IngestUplinks(Reports(first, count), policy);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }

  // Ingests Reports(first, count) handing off up to 10 deliveries, leased for 10 minutes.
  storage::IngestHandoff IngestHandingOff(int first, int count) {
    storage::IngestHandoff handoff;
    handoff.limit = 10;
    handoff.lease_ms = 600'000;
    storage::IngestPolicy policy;
    policy.now = WallMs();
    policy.handoff = &handoff;
    auto r = store_->IngestUplinks(Reports(first, count), policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return handoff;
  }

  DispatcherOptions Options() {
    DispatcherOptions o;
    o.max_in_flight = 4;
    o.per_destination = 2;
    o.idle_poll_ms = 20;
    o.timeout = 2s;
    o.refuse_private_destinations = false;  // the receivers are on loopback
    o.clock = WallMs;
    return o;
  }

  // `n` hosts that never answer, each with a URL callback ("dead-100", …) added to `callbacks`.
  std::vector<std::unique_ptr<BlackHole>> AddDeadHosts(int n, std::vector<Callback>& callbacks) {
    std::vector<std::unique_ptr<BlackHole>> holes;
    for (int i = 0; i < n; ++i) {
      holes.push_back(std::make_unique<BlackHole>());
      callbacks.push_back(UrlCallback("dead-" + std::to_string(100 + i), holes.back()->Url()));
    }
    return holes;
  }

  static bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }

  Group root_;
  DeviceType type_;
};

TEST_P(DispatcherTest, EveryQueuedDeliveryArrivesOnceRenderedOnKeptAliveConnections) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", sink.Url("/in"))}).ok());
  Dispatcher dispatcher(*store_, Options());
  Ingest(1, 40);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return sink.requests().size() >= 40; }, 20s)) << sink.requests().size();
  std::this_thread::sleep_for(200ms);  // nothing more comes
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 40u);
  std::set<std::string> bodies;
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/in?device=2C");
    EXPECT_EQ(r.Header("content-type"), "application/json");
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), 40u);
  EXPECT_TRUE(bodies.count("{\"seq\":7,\"data\":\"0a0b\",\"station\":\"0A1B\"}"));
  // Two senders at most talk to this host, each on its kept-alive connection.
  EXPECT_LE(sink.connections(), 4);
  // Every delivery is recorded on its message as done.
  std::vector<storage::MessageCursor> keys;
  for (int i = 1; i <= 40; ++i) keys.push_back({1'000'000 + i * 1000, 0x2C, i});
  auto deliveries = store_->ListMessageDeliveries(keys);
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 40u);
  for (const Delivery& d : *deliveries) {
    EXPECT_EQ(d.state, DeliveryState::kDone);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.last_status, 200);
  }
}

TEST_P(DispatcherTest, HttpSendsRunOnTheLoopItIsGiven) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", sink.Url("/in"))}).ok());
  boost::asio::io_context loop;
  auto guard = boost::asio::make_work_guard(loop);
  DispatcherOptions o = Options();
  o.loop = &loop;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 40);
  dispatcher.Wake();
  // Claimed, but not sent while nobody runs the loop.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sink.requests().size(), 0u);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&loop] { loop.run(); });
  EXPECT_TRUE(WaitFor([&] { return sink.requests().size() >= 40; }, 20s)) << sink.requests().size();
  dispatcher.Stop();
  // The dispatcher leaves the loop it was given running.
  EXPECT_FALSE(loop.stopped());
  guard.reset();
  loop.stop();
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sink.requests().size(), 40u);
}

// The dispatcher's queue depths are gauges: sends waiting in host queues and
// HTTP requests in flight, back to 0 once all are sent.
TEST_P(DispatcherTest, QueueDepthsAreGauges) {
  std::atomic<bool> release{false};
  LoopbackHttpServer sink([&](const ReceivedRequest&) {
    while (!release) std::this_thread::sleep_for(10ms);
    return Answer{200, "ok", {}, 0};
  });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", sink.Url("/in"))}).ok());
  observe::MetricsRegistry metrics;
  auto gauge = [&metrics](const std::string& name) {
    const std::string text = metrics.Render();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  // Waits until the gauges read `in_flight` and `waiting`.
  auto depths_become = [&](double in_flight, double waiting) {
    return WaitFor(
        [&] {
          return gauge("roost_callback_sends_in_flight") == in_flight &&
                 gauge("roost_callback_queue_sends") == waiting;
        },
        10s);
  };
  DispatcherOptions o = Options();
  o.metrics = &metrics;
  o.timeout = 10s;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 10);
  dispatcher.Wake();
  // A host not known to be quick gets per_destination (2) sends at once; the rest wait.
  EXPECT_TRUE(depths_become(2, 8)) << metrics.Render();
  release = true;
  EXPECT_TRUE(WaitFor([&] { return sink.requests().size() == 10; }, 10s));
  EXPECT_TRUE(depths_become(0, 0)) << metrics.Render();
}

// A send still in flight when its loop stopped running is abandoned by the
// first Stop, after the send timeout and its grace; a second Stop (the
// destructor's) does not wait for it again.
TEST_P(DispatcherTest, ASecondStopDoesNotWaitForAnAbandonedSendAgain) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  LoopbackHttpServer sink([&](const ReceivedRequest&) {
    entered = true;
    while (!release) std::this_thread::sleep_for(10ms);
    return Answer{200, "ok", {}, 0};
  });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", sink.Url("/in"))}).ok());
  boost::asio::io_context loop;
  auto guard = boost::asio::make_work_guard(loop);
  std::thread runner([&loop] { loop.run(); });
  DispatcherOptions o = Options();
  o.loop = &loop;
  o.timeout = 200ms;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 1);
  dispatcher.Wake();
  EXPECT_TRUE(WaitFor([&] { return entered.load(); }, 10s));
  // The loop stops with the send in flight: its timeout can no longer fire.
  guard.reset();
  loop.stop();
  runner.join();
  auto started = std::chrono::steady_clock::now();
  dispatcher.Stop();
  const auto first = std::chrono::steady_clock::now() - started;
  EXPECT_GE(first, 5s);   // the timeout and the grace: it waited for the send
  EXPECT_LT(first, 15s);  // ... and then gave it up
  started = std::chrono::steady_clock::now();
  dispatcher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  release = true;
}

TEST_P(DispatcherTest, HandedOffDeliveriesAreSentAndRecordedWithoutAClaim) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  Callback batch = UrlCallback("cb-batch", sink.Url("/batch"));
  batch.channel = CallbackChannel::kBatchUrl;
  batch.line_pattern = "{seqNumber}";
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", sink.Url("/in")), batch})
          .ok());
  DispatcherOptions o = Options();
  o.idle_poll_ms = 60'000;  // the claimer finds nothing by itself during the test
  Dispatcher dispatcher(*store_, o);
  ASSERT_GE(dispatcher.HandoffRoom(), 10u);

  storage::IngestHandoff handoff = IngestHandingOff(1, 3);
  ASSERT_EQ(handoff.tasks.size(), 3u);  // the URL callback's; the batch is the claimer's
  EXPECT_EQ(handoff.others, 3u);

  // A BATCH_URL task offered anyway is refused, not sent.
  storage::DeliveryTask stray = handoff.tasks.front();
  stray.callback = batch;
  stray.delivery.id = 999'999;
  std::vector<storage::DeliveryTask> offered = handoff.tasks;
  offered.push_back(stray);
  EXPECT_EQ(dispatcher.Offer(std::move(offered)), std::vector<int64_t>{999'999});

  ASSERT_TRUE(WaitFor([&] { return sink.requests().size() >= 3; }, 10s)) << sink.requests().size();
  std::set<std::string> bodies;
  for (const auto& r : sink.requests()) {
    EXPECT_EQ(r.target, "/in?device=2C");
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), 3u);
  EXPECT_TRUE(bodies.count("{\"seq\":2,\"data\":\"0a0b\",\"station\":\"0A1B\"}"));
  // Each attempt is recorded on its delivery, which is done.
  std::vector<storage::MessageCursor> keys;
  for (const auto& t : handoff.tasks) {
    keys.push_back({t.message.time, t.message.device.value, t.message.seq_number});
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto listed = store_->ListMessageDeliveries(keys);
        if (!listed.ok()) return false;
        int done = 0;
        for (const Delivery& d : *listed) {
          done += d.callback == "cb" && d.state == DeliveryState::kDone && d.attempts == 1;
        }
        return done == 3;
      },
      10s));
}

TEST_P(DispatcherTest, DeliveriesLeasedButNotSentAreDueAgainOnceStopped) {
  BlackHole hole;  // the sends in flight hang until their timeout
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", hole.Url())}).ok());
  DispatcherOptions o = Options();
  o.idle_poll_ms = 60'000;
  o.timeout = 500ms;
  storage::IngestHandoff handoff = IngestHandingOff(1, 6);
  ASSERT_EQ(handoff.tasks.size(), 6u);
  {
    Dispatcher dispatcher(*store_, o);
    EXPECT_TRUE(dispatcher.Offer(std::move(handoff.tasks)).empty());
    std::this_thread::sleep_for(100ms);  // two sends under way, four waiting
  }
  // The four never sent are due now, without an attempt; the two sent failed
  // and wait for their retry.
  auto due = store_->ClaimDeliveries(WallMs(), 100, 60'000);
  ASSERT_TRUE(due.ok()) << due.status().message();
  EXPECT_EQ(due->size(), 4u);
  for (const auto& t : *due) EXPECT_EQ(t.delivery.attempts, 0);
}

TEST_P(DispatcherTest, ADeadEndpointNeverDelaysAHealthyOne) {
  BlackHole hole;  // every send to it waits for the whole timeout
  LoopbackHttpServer healthy([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  ASSERT_TRUE(
      store_
          ->CreateCallbacks(std::vector<Callback>{UrlCallback("a-dead", hole.Url()),
                                                  UrlCallback("b-healthy", healthy.Url("/in"))})
          .ok());
  DispatcherOptions o = Options();
  o.timeout = 5s;
  Dispatcher dispatcher(*store_, o);
  const auto start = std::chrono::steady_clock::now();
  Ingest(1, 20);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return healthy.requests().size() >= 20; }, 10s));
  const auto took = std::chrono::steady_clock::now() - start;
  // Well inside one timeout of the dead endpoint, although its 20 deliveries
  // were queued first (their callback id sorts first) and are still waiting.
  EXPECT_LT(took, 2500ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

// Twelve dead hosts, more than there are senders and more than the queues
// hold: the healthy host is still served (hosts take turns, slow ones share
// half the senders) and the claimer never stops claiming (the deliveries of
// slow hosts fill at most a part of the queue, the rest are put back).
TEST_P(DispatcherTest, ManyDeadEndpointsNeverStopAHealthyOne) {
  std::vector<Callback> callbacks;
  const auto holes = AddDeadHosts(12, callbacks);
  LoopbackHttpServer healthy([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  // As "localhost" its host sorts after every "127.0.0.1:…" one: served in a
  // fixed order, it would wait behind all the dead hosts' backlogs.
  callbacks.push_back(
      UrlCallback("healthy", "http://localhost:" + std::to_string(healthy.port()) + "/in"));
  ASSERT_TRUE(store_->CreateCallbacks(callbacks).ok());
  DispatcherOptions o = Options();  // 4 senders, 2 s timeout
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 40);  // 480 deliveries to dead hosts, 40 to the healthy one
  dispatcher.Wake();
  // Each dead host is found dead by one send that waits for the timeout; until
  // then it looks like any other. Three rounds of that at most here.
  ASSERT_TRUE(WaitFor([&] { return healthy.requests().size() >= 40; }, 12s))
      << healthy.requests().size();
  // Known now: 40 more messages reach the healthy host within one timeout,
  // behind a backlog of dead hosts' deliveries larger than the queues.
  const auto start = std::chrono::steady_clock::now();
  Ingest(41, 40);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return healthy.requests().size() >= 80; }, 10s))
      << healthy.requests().size();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 2000ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

// A host that hangs holds few sends here (as many as it gets through within
// half a lease), and the rest of its backlog is put back for about as long as
// those take, not claimed and put back again every 200 ms.
TEST_P(DispatcherTest, AHangingHostsBacklogIsPutBackForAsLongAsItsQueueTakes) {
  BlackHole hole;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{UrlCallback("slow", hole.Url())}).ok());
  DispatcherOptions o = Options();
  o.timeout = 1s;
  o.lease_ms = 6'000;         // 2 senders × 3 s / 1 s: 6 sends wait here at most, 3 s
  o.first_retry_ms = 60'000;  // a failed delivery is out of the way
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 100);
  dispatcher.Wake();
  std::vector<storage::MessageCursor> messages;
  for (const auto& r : Reports(1, 100)) messages.push_back({r.time, 0x2C, r.seq_number});
  size_t most_put_back = 0;  // unattempted deliveries due over 600 ms later, at one look
  const auto end = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < end) {
    auto listed = store_->ListMessageDeliveries(messages);
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    const int64_t now = WallMs();
    size_t put_back = 0;
    for (const auto& d : *listed) {
      if (d.attempts == 0 && d.next_attempt > now + 600) ++put_back;
    }
    most_put_back = std::max(most_put_back, put_back);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(most_put_back, 50u) << "the backlog was put back for 200 ms at a time";
}

// A healthy host that answers in 80 ms (not quick) is not held to the share
// of senders that hosts which hang must split: it was, and behind three dead
// hosts it got a send every second or so.
TEST_P(DispatcherTest, DeadHostsNeverHoldUpAHealthyHostThatIsNotQuick) {
  std::vector<Callback> callbacks;
  const auto holes = AddDeadHosts(3, callbacks);
  LoopbackHttpServer healthy([](const ReceivedRequest&) {
    std::this_thread::sleep_for(80ms);
    return Answer{200, "ok", {}, 0};
  });
  callbacks.push_back(
      UrlCallback("healthy", "http://localhost:" + std::to_string(healthy.port()) + "/in"));
  ASSERT_TRUE(store_->CreateCallbacks(callbacks).ok());
  DispatcherOptions o = Options();  // 4 senders, 2 s timeout: hosts that hang share 2
  o.first_retry_ms = 60'000;        // a dead host's failed delivery is out of the way
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 30);
  dispatcher.Wake();
  // Until each dead host's first send times out (2 s), they look like any host.
  ASSERT_TRUE(WaitFor([&] { return healthy.requests().size() >= 30; }, 15s))
      << healthy.requests().size();
  const auto start = std::chrono::steady_clock::now();
  Ingest(31, 30);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return healthy.requests().size() >= 60; }, 15s))
      << healthy.requests().size();
  const auto took = std::chrono::steady_clock::now() - start;
  // 30 sends of 80 ms on two connections: about 1.2 s.
  EXPECT_LT(took, 4000ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

// A host that answers at once has a long queue here (its bound is the whole
// queue's). When it turns slow, it keeps what a slow host may have waiting and
// the rest is put back; and no job starts on a lease about to end. Otherwise
// its backlog waited here past its leases, a second dispatcher claimed the
// same deliveries, and both sent them.
TEST_P(DispatcherTest, AQuickHostThatTurnsSlowNeverHasADeliverySentTwice) {
  std::atomic<int> answered{0};
  LoopbackHttpServer host([&](const ReceivedRequest&) {
    if (answered.fetch_add(1) >= 30) std::this_thread::sleep_for(400ms);
    return Answer{200, "ok", {}, 0};
  });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("turning", host.Url("/in"))}).ok());
  DispatcherOptions o = Options();
  o.timeout = 5s;  // far past a 400 ms answer, even on a loaded machine: no retries
  o.lease_ms = 6'000;
  Dispatcher one(*store_, o);
  Ingest(1, 300);
  one.Wake();
  ASSERT_TRUE(WaitFor([&] { return answered.load() > 30; }, 10s));
  Dispatcher two(*store_, o);  // another instance: claims whatever comes due
  two.Wake();
  std::this_thread::sleep_for(10s);  // well past the first leases' end
  std::map<std::string, int> sent;   // by body (its seqNumber)
  for (const auto& r : host.requests()) ++sent[r.body];
  for (const auto& [body, times] : sent) EXPECT_EQ(times, 1) << body;
  EXPECT_GT(sent.size(), 45u) << "the slow host was still served";
}

// The database goes away for a moment while sends finish (a restart, a
// failover): the recorder keeps trying, and what it then records is not sent
// again. It used to give up after 150 ms, and every delivered one went out
// again once its lease ended.
TEST_P(DispatcherTest, AttemptsRecordedOnceTheDatabaseIsBackAreNotSentAgain) {
  if (GetParam() != std::string("postgresql")) {
    GTEST_SKIP() << "takes a table away from a running store's connections";
  }
  auto other = storage::driver::PostgresOpener(location_)();
  ASSERT_TRUE(other.ok()) << other.status().message();
  std::atomic<bool> taken{false};
  std::thread restore;
  LoopbackHttpServer receiver([&](const ReceivedRequest&) {
    if (!taken.exchange(true)) {
      // The first send's answer waits until the table is gone.
      Status st = (*other)->Exec("ALTER TABLE deliveries RENAME TO deliveries_away", "away");
      EXPECT_TRUE(st.ok()) << st.message();
      restore = std::thread([&] {
        std::this_thread::sleep_for(800ms);
        Status back = (*other)->Exec("ALTER TABLE deliveries_away RENAME TO deliveries", "back");
        EXPECT_TRUE(back.ok()) << back.message();
      });
    }
    return Answer{200, "ok", {}, 0};
  });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", receiver.Url("/in"))}).ok());
  DispatcherOptions o = Options();
  o.lease_ms = 4'000;
  Ingest(1, 20);
  {
    Dispatcher dispatcher(*store_, o);
    dispatcher.Wake();
    ASSERT_TRUE(WaitFor([&] { return receiver.requests().size() >= 20; }, 10s));
    std::this_thread::sleep_for(6s);  // past the leases' end
  }
  if (restore.joinable()) restore.join();
  std::map<std::string, int> sent;  // by body (its seqNumber)
  for (const auto& r : receiver.requests()) ++sent[r.body];
  EXPECT_EQ(sent.size(), 20u);
  for (const auto& [body, times] : sent) EXPECT_EQ(times, 1) << body;
  std::vector<storage::MessageCursor> messages;
  for (const auto& r : Reports(1, 20)) messages.push_back({r.time, 0x2C, r.seq_number});
  auto listed = store_->ListMessageDeliveries(messages);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 20u);
  for (const auto& d : *listed) EXPECT_EQ(d.state, DeliveryState::kDone) << d.id;
}

// Counts the requests a handler is in at once.
struct ConcurrencyProbe {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  Answer Hold(std::chrono::milliseconds hold) {
    const int in = ++now;
    for (int m = most.load(); in > m && !most.compare_exchange_weak(m, in);) {
    }
    std::this_thread::sleep_for(hold);
    --now;
    return Answer{200, "ok", {}, 0};
  }
};

TEST_P(DispatcherTest, AQuickHostGetsMoreSendsAtOnceThanASlowOne) {
  ConcurrencyProbe quick_probe, slow_probe;
  LoopbackHttpServer quick([&](const ReceivedRequest&) { return quick_probe.Hold(5ms); });
  LoopbackHttpServer slow([&](const ReceivedRequest&) { return slow_probe.Hold(120ms); });
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{UrlCallback("a-quick", quick.Url("/in")),
                                                          UrlCallback("b-slow", slow.Url("/in"))})
                  .ok());
  DispatcherOptions o = Options();
  o.max_in_flight = 8;
  o.per_destination = 2;
  o.quick_destination = 4;
  o.quick_answer_ms = 60;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 60);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return quick.requests().size() >= 60; }, 20s));
  ASSERT_TRUE(WaitFor([&] { return slow.requests().size() >= 60; }, 20s));
  // The quick host was given more than two senders once it had answered
  // quickly; the slow one never more than two, although senders were free.
  EXPECT_GT(quick_probe.most.load(), 2);
  EXPECT_LE(quick_probe.most.load(), 4);
  EXPECT_LE(slow_probe.most.load(), 2);
}

TEST_P(DispatcherTest, FailuresAreRetriedWithBackOffThenTheCallbackDiesWithOneAlert) {
  std::atomic<int> hits{0};
  LoopbackHttpServer failing([&](const ReceivedRequest&) {
    ++hits;
    return Answer{500, "database down", {}, 0};
  });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", failing.Url("/in"))}).ok());
  std::atomic<int> alerts{0};
  DispatcherOptions o = Options();
  o.first_retry_ms = 50;
  o.max_retry_ms = 100;
  o.dead_after_ms = 400;
  o.on_dead = [&](const Callback& cb, const storage::DeliveryOutcome& last) {
    EXPECT_EQ(cb.id, "cb");
    EXPECT_EQ(last.status, 500);
    ++alerts;
    return Status::Ok();
  };
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 3);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return store_->GetCallback("cb")->dead; }, 10s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(alerts.load(), 1);
  EXPECT_GE(hits.load(), 6) << "each delivery was tried more than once";
  const int settled = hits.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(hits.load(), settled) << "a dead callback is not tried any more";
  auto failed = store_->ListFailedDeliveries(root_.id, 100, 0, std::nullopt, {});
  ASSERT_TRUE(failed.ok());
  ASSERT_FALSE(failed->empty());
  for (const Delivery& d : *failed) {
    EXPECT_GE(d.attempts, 2);
    EXPECT_EQ(d.last_status, 500);
  }
  // Enabled again, it is alive, and its waiting deliveries go out once the endpoint heals.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb", true).ok());
  EXPECT_FALSE(store_->GetCallback("cb")->dead);
}

// The alert email of a dead callback goes out on a thread of its own: a mail
// server that hangs never holds up the recording of other deliveries, and a
// failed alert is tried again after each of the waits, then given up.
TEST_P(DispatcherTest, ADeadCallbacksAlertNeverHoldsUpRecordingAndIsTriedAgain) {
  LoopbackHttpServer failing([](const ReceivedRequest&) { return Answer{500, "down", {}, 0}; });
  LoopbackHttpServer healthy([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", failing.Url("/in")),
                                                          UrlCallback("ok", healthy.Url("/in"))})
                  .ok());
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> tries{0};
  DispatcherOptions o = Options();
  o.first_retry_ms = 50;
  o.max_retry_ms = 100;
  o.dead_after_ms = 300;
  o.alert_retry_waits = {50ms, 100ms};
  o.on_dead = [&](const Callback& cb, const storage::DeliveryOutcome&) {
    EXPECT_EQ(cb.id, "cb");
    if (++tries == 1) {
      // The mail server hangs, then refuses.
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, 20s, [&] { return release; });
    }
    return Status::Unavailable("smtp: connection refused");
  };
  {
    Dispatcher dispatcher(*store_, o);
    Ingest(1, 2);
    dispatcher.Wake();
    ASSERT_TRUE(WaitFor([&] { return tries.load() == 1; }, 10s)) << "the callback died";
    // While the alert hangs, new messages' healthy deliveries are sent and recorded.
    Ingest(3, 2);
    dispatcher.Wake();
    const std::vector<storage::MessageCursor> keys{{1'003'000, 0x2C, 3}, {1'004'000, 0x2C, 4}};
    auto recorded = [&] {
      auto listed = store_->ListMessageDeliveries(keys);
      if (!listed.ok()) return false;
      int done = 0;
      for (const Delivery& d : *listed)
        done += d.callback == "ok" && d.state == DeliveryState::kDone;
      return done == 2;
    };
    EXPECT_TRUE(WaitFor(recorded, 10s)) << "recording waited for the alert";
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
    // Refused, so tried again after each wait, then given up.
    EXPECT_TRUE(WaitFor([&] { return tries.load() == 3; }, 5s));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(tries.load(), 3);
  }
  EXPECT_EQ(tries.load(), 3) << "an alert given up is not tried again at Stop";
}

// The alert is queued in the store with the callback's death: an instance
// that stops (or crashes) before mailing it leaves it to the next dispatcher,
// and of two dispatchers on one store only one sends it.
TEST_P(DispatcherTest, ADeadCallbacksAlertOutlivesTheInstanceThatSawItDieAndGoesOutOnce) {
  LoopbackHttpServer failing([](const ReceivedRequest&) { return Answer{503, "down", {}, 0}; });
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{UrlCallback("cb", failing.Url("/in"))}).ok());
  DispatcherOptions o = Options();
  o.first_retry_ms = 50;
  o.max_retry_ms = 100;
  o.dead_after_ms = 300;
  {
    Dispatcher without_mail(*store_, o);  // as an instance that dies before mailing
    Ingest(1, 1);
    without_mail.Wake();
    ASSERT_TRUE(WaitFor([&] { return store_->GetCallback("cb")->dead; }, 10s));
  }
  std::mutex mu;
  std::vector<std::pair<std::string, int32_t>> sent;  // (callback, status) per alert
  o.alert_poll_ms = 50;
  o.on_dead = [&](const Callback& cb, const storage::DeliveryOutcome& last) {
    std::lock_guard lock(mu);
    sent.emplace_back(cb.id, last.status);
    EXPECT_NE(last.info.find("503"), std::string::npos) << last.info;
    return Status::Ok();
  };
  {
    Dispatcher first(*store_, o);
    Dispatcher second(*store_, o);
    ASSERT_TRUE(WaitFor(
        [&] {
          std::lock_guard lock(mu);
          return !sent.empty();
        },
        10s));
    std::this_thread::sleep_for(300ms);  // six looks of each
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(sent, (std::vector<std::pair<std::string, int32_t>>{{"cb", 503}}));
}

TEST_P(DispatcherTest, BatchUrlDeliveriesGoOutAsOneRequestPerNLines) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  Callback cb = UrlCallback("batch", sink.Url("/batch"));
  cb.channel = CallbackChannel::kBatchUrl;
  cb.url = sink.Url("/batch");
  cb.content_type = "";
  cb.line_pattern = "{device};{seqNumber};{data}";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  DispatcherOptions o = Options();
  o.batch_lines = 5;
  o.batch_interval_ms = 60'000;  // only a full batch goes
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 10);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return sink.requests().size() >= 2; }, 10s));
  std::this_thread::sleep_for(300ms);  // nothing more comes
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::multiset<std::string> lines;
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/batch");
    EXPECT_EQ(r.Header("content-type"), "text/plain");
    size_t count = 0;
    for (size_t start = 0; start <= r.body.size();) {
      size_t end = r.body.find('\n', start);
      if (end == std::string::npos) end = r.body.size();
      lines.insert(r.body.substr(start, end - start));
      ++count;
      start = end + 1;
    }
    EXPECT_EQ(count, 5u) << r.body;
  }
  std::multiset<std::string> expected;
  for (int i = 1; i <= 10; ++i) expected.insert("2C;" + std::to_string(i) + ";0a0b");
  EXPECT_EQ(lines, expected);
  std::vector<storage::MessageCursor> keys;
  for (int i = 1; i <= 10; ++i) keys.push_back({1'000'000 + i * 1000, 0x2C, i});
  auto deliveries = store_->ListMessageDeliveries(keys);
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 10u);
  for (const Delivery& d : *deliveries) {
    EXPECT_EQ(d.state, DeliveryState::kDone);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.last_status, 200);
  }
}

TEST_P(DispatcherTest, ABatchNotFullGoesOnceItsIntervalIsUp) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  Callback cb = UrlCallback("batch", sink.Url("/batch"));
  cb.channel = CallbackChannel::kBatchUrl;
  cb.url = sink.Url("/batch");
  cb.content_type = "application/json";
  cb.line_pattern = "{\"seq\":{seqNumber}}";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  DispatcherOptions o = Options();
  o.batch_lines = 100;
  o.batch_interval_ms = 300;
  Dispatcher dispatcher(*store_, o);
  const auto start = std::chrono::steady_clock::now();
  Ingest(1, 3);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return !sink.requests().empty(); }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms) << "the batch waited for more lines";
  std::this_thread::sleep_for(300ms);
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("content-type"), "application/json");
  EXPECT_EQ(requests[0].body, "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}");
}

// A batch interval longer than the lease allows: the batch goes early enough
// for its lease. Waiting the whole interval, it had too little lease left to
// be sent, was dropped, claimed again, and so on: never sent.
TEST_P(DispatcherTest, ABatchGoesWithinItsLeaseWhateverItsInterval) {
  LoopbackHttpServer sink([](const ReceivedRequest&) { return Answer{200, "ok", {}, 0}; });
  Callback cb = UrlCallback("batch", sink.Url("/batch"));
  cb.channel = CallbackChannel::kBatchUrl;
  cb.url = sink.Url("/batch");
  cb.line_pattern = "{\"seq\":{seqNumber}}";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  DispatcherOptions o = Options();  // 2 s timeout: a send needs 2.5 s of a 5 s lease
  o.lease_ms = 5'000;
  o.batch_lines = 100;
  o.batch_interval_ms = 4'000;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 3);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return !sink.requests().empty(); }, 8s));
  std::this_thread::sleep_for(300ms);
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}");
}

TEST_P(DispatcherTest, AFailedBatchIsRetriedWhole) {
  std::atomic<int> hits{0};
  LoopbackHttpServer flaky([&](const ReceivedRequest&) {
    return ++hits == 1 ? Answer{503, "busy", {}, 0} : Answer{200, "ok", {}, 0};
  });
  Callback cb = UrlCallback("batch", flaky.Url("/batch"));
  cb.channel = CallbackChannel::kBatchUrl;
  cb.url = flaky.Url("/batch");
  cb.line_pattern = "{seqNumber}";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  DispatcherOptions o = Options();
  o.batch_lines = 4;
  o.batch_interval_ms = 60'000;
  o.first_retry_ms = 50;
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 4);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor([&] { return flaky.requests().size() >= 2; }, 10s));
  std::this_thread::sleep_for(300ms);
  auto requests = flaky.requests();
  ASSERT_EQ(requests.size(), 2u);
  auto sorted_lines = [](std::string body) {
    std::multiset<std::string> out;
    for (size_t start = 0; start <= body.size();) {
      size_t end = body.find('\n', start);
      if (end == std::string::npos) end = body.size();
      out.insert(body.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  EXPECT_EQ(sorted_lines(requests[0].body), (std::multiset<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(sorted_lines(requests[1].body), sorted_lines(requests[0].body));
  std::vector<storage::MessageCursor> keys;
  for (int i = 1; i <= 4; ++i) keys.push_back({1'000'000 + i * 1000, 0x2C, i});
  ASSERT_TRUE(WaitFor(
      [&] {
        auto d = store_->ListMessageDeliveries(keys);
        return d.ok() && std::all_of(d->begin(), d->end(), [](const Delivery& x) {
                 return x.state == DeliveryState::kDone;
               });
      },
      5s));
  auto delivered = store_->ListMessageDeliveries(keys);
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  for (const Delivery& d : *delivered) {
    EXPECT_EQ(d.attempts, 2);
    EXPECT_EQ(d.last_status, 200);
  }
}

TEST_P(DispatcherTest, EmailDeliveriesAreSentRenderedThroughSendEmail) {
  Callback cb;
  cb.id = "mail";
  cb.type = type_.id;
  cb.channel = CallbackChannel::kEmail;
  cb.recipient = "ops+{device}@example.com";
  cb.subject = "Message {seqNumber} of {device}";
  cb.message = "data={data}\nstation={station}";
  cb.creation_time = 1;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  struct Sent {
    std::string to, subject, body;
  };
  std::mutex mu;
  std::vector<Sent> sent;
  DispatcherOptions o = Options();
  o.send_email = [&](const std::string& to, const std::string& subject, const std::string& body) {
    std::lock_guard lock(mu);
    sent.push_back({to, subject, body});
    return Status::Ok();
  };
  Dispatcher dispatcher(*store_, o);
  Ingest(1, 2);
  dispatcher.Wake();
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return sent.size() >= 2;
      },
      10s));
  std::this_thread::sleep_for(200ms);
  std::lock_guard lock(mu);
  ASSERT_EQ(sent.size(), 2u);
  std::sort(sent.begin(), sent.end(),
            [](const Sent& a, const Sent& b) { return a.subject < b.subject; });
  EXPECT_EQ(sent[0].to, "ops+2C@example.com");
  EXPECT_EQ(sent[0].subject, "Message 1 of 2C");
  EXPECT_EQ(sent[0].body, "data=0a0b\nstation=0A1B");
  EXPECT_EQ(sent[1].subject, "Message 2 of 2C");
  auto deliveries =
      store_->ListMessageDeliveries(std::vector<storage::MessageCursor>{{1'001'000, 0x2C, 1}});
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  ASSERT_TRUE(WaitFor(
      [&] {
        return store_
                   ->ListMessageDeliveries(
                       std::vector<storage::MessageCursor>{{1'001'000, 0x2C, 1}})
                   ->front()
                   .state == DeliveryState::kDone;
      },
      5s));
}

TEST_P(DispatcherTest, EmailWithoutSmtpFailsAndIsRetriedLikeAnyDelivery) {
  Callback cb;
  cb.id = "mail";
  cb.type = type_.id;
  cb.channel = CallbackChannel::kEmail;
  cb.recipient = "ops@example.com";
  cb.subject = "s";
  cb.message = "m";
  cb.creation_time = 1;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  Dispatcher dispatcher(*store_, Options());  // no send_email
  Ingest(1, 1);
  dispatcher.Wake();
  const std::vector<storage::MessageCursor> key{{1'001'000, 0x2C, 1}};
  ASSERT_TRUE(
      WaitFor([&] { return store_->ListMessageDeliveries(key)->front().attempts >= 1; }, 5s));
  const Delivery d = store_->ListMessageDeliveries(key)->front();
  EXPECT_EQ(d.state, DeliveryState::kPending);
  EXPECT_EQ(d.last_status, kStatusOther);
  EXPECT_EQ(d.last_info, "no email configured (smtp.host)");
  EXPECT_GT(d.first_failure, 0);
}

TEST(DestinationOf, IsTheLowercasedAuthorityWithoutCredentials) {
  EXPECT_EQ(DestinationOf("http://Example.COM:8080/a?b"), "example.com:8080");
  EXPECT_EQ(DestinationOf("https://user:pw@host/x"), "host");
  EXPECT_EQ(DestinationOf("http://[::1]:9/"), "[::1]:9");
  Callback mail;
  mail.channel = CallbackChannel::kEmail;
  mail.url = "http://ignored.example/";
  EXPECT_EQ(DestinationOf(mail), "SMTP");
  // A URL callback to a host named like it is not taken for an email.
  EXPECT_EQ(DestinationOf("http://SMTP/in"), "smtp");
  EXPECT_NE(DestinationOf("http://SMTP/in"), DestinationOf(mail));
}

INSTANTIATE_TEST_SUITE_P(Engines, DispatcherTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::integration
