// The Store contract for callbacks and their deliveries, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "crypto/seal.h"
#include "storage/driver/driver.h"
#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

class CallbackStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    tenant_ = MakeGroup(2, root_.id);
    type_ = MakeType(1, tenant_.id);
    other_type_ = MakeType(2, tenant_.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2C, type_)).ok());
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x3C, other_type_)).ok());
    Station s{"0A1B", "roof", root_.id, 43.6, 1.44, 1};
    ASSERT_TRUE(store_->CreateStation(s).ok());
    Station t{"0A1C", "mast", root_.id, 43.7, 1.40, 1};
    ASSERT_TRUE(store_->CreateStation(t).ok());
  }

  Callback MakeCallback(const std::string& id, const DeviceType& type,
                        bool send_duplicate = false) {
    Callback cb;
    cb.id = id;
    cb.type = type.id;
    cb.url = "http://127.0.0.1:9/{device}";
    cb.headers = {{"X-Device", "{device}"}, {"Authorization", "Bearer x"}};
    cb.content_type = "application/json";
    cb.body_template = "{\"d\":\"{data}\"}";
    cb.send_duplicate = send_duplicate;
    cb.creation_time = 5;
    return cb;
  }

  static UplinkReport Report(uint32_t device, int64_t seq, EpochMillis time,
                             const std::string& station) {
    UplinkReport r;
    r.device.value = device;
    r.seq_number = seq;
    r.data = "0102";
    r.time = time;
    r.station = station;
    r.rssi = -120;
    r.snr = 9;
    return r;
  }

  // Ingests `reports` handing off up to `limit` deliveries leased for 60 s.
  IngestHandoff IngestHandingOff(const std::vector<UplinkReport>& reports, size_t limit) {
    IngestHandoff handoff;
    handoff.limit = limit;
    handoff.lease_ms = 60'000;
    IngestPolicy policy;
    policy.now = 1'000;
    policy.handoff = &handoff;
    auto r = store_->IngestUplinks(reports, policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return handoff;
  }

  // Callback "cb" on type_, and frames 1..n of device 0x2C, `spacing` ms apart
  // (frame i at i × spacing): one queued delivery each.
  void QueueFrames(int n, EpochMillis spacing) {
    ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
    std::vector<UplinkReport> reports;
    for (int i = 1; i <= n; ++i) reports.push_back(Report(0x2C, i, spacing * i, "0A1B"));
    Ingest(reports);
  }

  void Ingest(std::vector<UplinkReport> reports) {
    IngestPolicy policy;
    policy.now = 1'000;
    auto r = store_->IngestUplinks(reports, policy);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }

  // The entries of `index`'s first page, counted with pageinspect through
  // `admin` (PostgreSQL; a handful of rows fit in that one page); -1 after a
  // failure, which it reports.
  static int64_t IndexEntries(driver::Connection& admin, const std::string& index) {
    if (!admin.Exec("CREATE EXTENSION IF NOT EXISTS pageinspect", "test").ok()) {
      ADD_FAILURE() << "no pageinspect";
      return -1;
    }
    auto q = admin.Prepare("SELECT count(*) FROM bt_page_items('" + index + "', 1)", "test");
    EXPECT_TRUE(q.ok()) << q.status().message();
    if (!q.ok()) return -1;
    auto row = q->Next();
    EXPECT_TRUE(row.ok() && *row);
    return row.ok() && *row ? q->Int(0) : -1;
  }

  // A STATUS report of device 0x2C through 0A1B.
  // A SERVICE STATUS callback "cb-status" on type_.
  void AddStatusCallback() {
    Callback status = MakeCallback("cb-status", type_);
    status.callback_type = CallbackType::kService;
    status.subtype = CallbackSubtype::kStatus;
    ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{status}).ok());
  }

  // The decision on service report `r`, ingested at 1 s.
  IngestResult IngestStatus(const ServiceReport& r) {
    IngestPolicy policy;
    policy.now = 1'000;
    auto d = store_->IngestService(r, policy);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? d->result : IngestResult::kUnknownDevice;
  }

  static ServiceReport StatusReport(EpochMillis time, int64_t seq) {
    ServiceReport r;
    r.device.value = 0x2C;
    r.type = ServiceReportType::kStatus;
    r.time = time;
    r.station = "0A1B";
    r.seq_number = seq;
    return r;
  }

  // A failed attempt at `now` (503), due again at `retry_at`.
  static DeliveryOutcome Unavailable(EpochMillis now, EpochMillis retry_at) {
    DeliveryOutcome o;
    o.now = now;
    o.status = 503;
    o.info = "Service Unavailable";
    o.retry_at = retry_at;
    return o;
  }

  std::vector<DeliveryTask> Claim(EpochMillis now, int limit = 100, int64_t lease = 30'000) {
    auto r = store_->ClaimDeliveries(now, limit, lease);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<DeliveryTask>{};
  }

  // Locks a callback's row FOR UPDATE on `c`, as a move of the downlink hook
  // does (in id order, in the caller's transaction).
  static Status LockCallbackRow(driver::Connection& c, const std::string& id) {
    auto q = c.Prepare("SELECT 1 FROM callbacks WHERE id = $1 FOR UPDATE", "test");
    return q.ok() ? q->Bind(1, id).Run() : q.status();
  }

  // A connection of its own to the test's database, past the store.
  Result<std::unique_ptr<driver::Connection>> RawConnection() {
    return (GetParam() == "sqlite" ? driver::SqliteOpener(location_ + "/roost.db")
                                   : driver::PostgresOpener(location_))();
  }

  // A move of the downlink hook under way: a connection of its own, in a
  // transaction that holds callback `first` locked (it locks in id order).
  Result<std::unique_ptr<driver::Connection>> HookMoveHolding(const std::string& first) {
    auto c = RawConnection();
    if (!c.ok()) return c.status();
    ROOST_RETURN_IF_ERROR((*c)->Exec("BEGIN", "test"));
    ROOST_RETURN_IF_ERROR(LockCallbackRow(**c, first));
    return c;
  }

  Group root_, tenant_;
  DeviceType type_, other_type_;
};

// --- secrets at rest --------------------------------------------------------

crypto::Sealer TestSealer(uint8_t fill) {
  crypto::MasterKey key;
  key.fill(fill);
  return std::move(crypto::Sealer::FromKey(key)).value();
}

class SealedCallbackStoreTest : public CallbackStoreTest {
 protected:
  // A callback whose url and headers hold credentials that contain "secret".
  Callback WithCredentials(const std::string& id) {
    Callback cb = MakeCallback(id, type_);
    cb.url = "https://user:pw-secret@h.example/{device}?key=k-secret";
    cb.headers = {{"Authorization", "Bearer b-secret"}, {"X-Device", "{device}"}};
    return cb;
  }

  // The url and headers columns as stored, read past the store.
  std::pair<std::string, std::string> Stored(const std::string& id) {
    auto c = RawConnection();
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (!c.ok()) return {};
    auto q = (*c)->Prepare("SELECT url, headers FROM callbacks WHERE id = $1", "test");
    EXPECT_TRUE(q.ok()) << q.status().message();
    if (!q.ok()) return {};
    q->Bind(1, id);
    auto row = q->Next();
    EXPECT_TRUE(row.ok() && *row);
    if (!row.ok() || !*row) return {};
    return {q->Text(0), q->Text(1)};
  }

  // `column` is "url" or "headers".
  void SetStored(const std::string& id, const std::string& column, const std::string& value) {
    auto c = RawConnection();
    ASSERT_TRUE(c.ok()) << c.status().message();
    auto q = (*c)->Prepare("UPDATE callbacks SET " + column + " = $2 WHERE id = $1", "test");
    ASSERT_TRUE(q.ok()) << q.status().message();
    ASSERT_TRUE(q->Bind(1, id).Bind(2, value).Run().ok());
  }

  static void ExpectSealed(const std::pair<std::string, std::string>& stored) {
    EXPECT_TRUE(stored.first.starts_with("sealed:")) << stored.first;
    EXPECT_TRUE(stored.second.starts_with("sealed:")) << stored.second;
    EXPECT_EQ(stored.first.find("secret"), std::string::npos);
    EXPECT_EQ(stored.second.find("secret"), std::string::npos);
    EXPECT_EQ(stored.second.find("Authorization"), std::string::npos);
  }

  const crypto::Sealer sealer_ = TestSealer(0x5A);
};

TEST_P(SealedCallbackStoreTest, UrlAndHeadersAreSealedAtRestAndReadInClear) {
  ASSERT_TRUE(store_->SealSecretsWith(&sealer_).ok());
  const Callback cb = WithCredentials("cb");
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  ExpectSealed(Stored("cb"));

  auto got = store_->GetCallback("cb");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, cb);
  auto listed = store_->ListCallbacks(type_.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), cb);

  // An edit is sealed too.
  Callback edited = cb;
  edited.headers = {{"Authorization", "Bearer n-secret"}};
  edited.url = "https://h.example/?key=new-secret";
  ASSERT_TRUE(store_->UpdateCallback(edited, false).ok());
  ExpectSealed(Stored("cb"));

  // The dispatcher's claim and the ingest hand-off read them in clear.
  Ingest({Report(0x2C, 1, 1'000, "0A1B")});
  auto tasks = Claim(2'000);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].callback.url, edited.url);
  EXPECT_EQ(tasks[0].callback.headers, edited.headers);
}

TEST_P(SealedCallbackStoreTest, ValuesWrittenInClearAreSealedOnceASealerIsGiven) {
  const Callback cb = WithCredentials("cb");
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  const auto clear = Stored("cb");
  EXPECT_EQ(clear.first, cb.url);  // a store without a sealer, as the tools open it
  EXPECT_NE(clear.second.find("b-secret"), std::string::npos);

  Open();
  ASSERT_TRUE(store_->SealSecretsWith(&sealer_).ok());
  ExpectSealed(Stored("cb"));
  auto got = store_->GetCallback("cb");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, cb);
  // Sealing again changes nothing.
  const auto sealed = Stored("cb");
  Open();
  ASSERT_TRUE(store_->SealSecretsWith(&sealer_).ok());
  EXPECT_EQ(Stored("cb"), sealed);
}

TEST_P(SealedCallbackStoreTest, ASealedValueThatDoesNotOpenReadsAsEmpty) {
  ASSERT_TRUE(store_->SealSecretsWith(&sealer_).ok());
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{
                      WithCredentials("a"), WithCredentials("b"), WithCredentials("c")})
                  .ok());
  // Another callback's sealed url, copied onto this row, does not open here.
  SetStored("b", "url", Stored("a").first);
  auto b = store_->GetCallback("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->url, "");
  EXPECT_EQ(b->headers, WithCredentials("b").headers);
  // Headers that do not open take the url with them: the callback fails
  // rather than calling its endpoint without its credentials.
  SetStored("c", "headers", Stored("a").second);
  auto c = store_->GetCallback("c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->url, "");
  EXPECT_TRUE(c->headers.empty());

  // Under another master key neither opens; the rest of the callback reads.
  const crypto::Sealer other = TestSealer(0x33);
  Open();
  ASSERT_TRUE(store_->SealSecretsWith(&other).ok());
  auto a = store_->GetCallback("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->url, "");
  EXPECT_TRUE(a->headers.empty());
  EXPECT_EQ(a->body_template, WithCredentials("a").body_template);
  // Nor without one.
  Open();
  a = store_->GetCallback("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->url, "");
}

INSTANTIATE_TEST_SUITE_P(Engines, SealedCallbackStoreTest,
                         ::testing::Values("sqlite", "postgresql"), EngineName);

TEST_P(CallbackStoreTest, CallbacksAreStoredListedEnabledAndDeleted) {
  Callback a = MakeCallback("cb-a", type_);
  a.channel = CallbackChannel::kEmail;
  a.subtype = CallbackSubtype::kBidir;
  a.recipient = "ops@example.com";
  a.subject = "{device}";
  a.message = "data {data}";
  a.payload_config = "t::uint:8";
  Callback b = MakeCallback("cb-b", type_, /*send_duplicate=*/true);
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{a, b}).ok());
  auto listed = store_->ListCallbacks(type_.id);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0], a);
  EXPECT_EQ((*listed)[1], b);
  EXPECT_TRUE(store_->ListCallbacks(other_type_.id)->empty());

  // All or none.
  Callback c = MakeCallback("cb-c", type_);
  EXPECT_EQ(store_->CreateCallbacks(std::vector<Callback>{c, b}).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(store_->GetCallback("cb-c").status().code(), Status::Code::kNotFound);
  Callback orphan = MakeCallback("cb-o", type_);
  orphan.type = Hex24(0xbad);
  EXPECT_EQ(store_->CreateCallbacks(std::vector<Callback>{orphan}).code(),
            Status::Code::kInvalidInput);

  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a", false).ok());
  EXPECT_FALSE(store_->GetCallback("cb-a")->enabled);
  // Only a URL callback of type DATA BIDIR can be the downlinkHook; setting
  // one moves the mark.
  EXPECT_EQ(store_->SetDownlinkHook("cb-a").code(), Status::Code::kInvalidInput);  // EMAIL
  EXPECT_EQ(store_->SetDownlinkHook("cb-b").code(), Status::Code::kInvalidInput);  // UPLINK
  Callback h1 = MakeCallback("cb-h1", type_);
  h1.subtype = CallbackSubtype::kBidir;
  Callback h2 = h1;
  h2.id = "cb-h2";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{h1, h2}).ok());
  ASSERT_TRUE(store_->SetDownlinkHook("cb-h1").ok());
  ASSERT_TRUE(store_->SetDownlinkHook("cb-h2").ok());
  EXPECT_FALSE(store_->GetCallback("cb-h1")->downlink_hook);
  EXPECT_TRUE(store_->GetCallback("cb-h2")->downlink_hook);
  EXPECT_FALSE(store_->GetCallback("cb-b")->downlink_hook);
  EXPECT_EQ(store_->SetDownlinkHook("nope").code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->DeleteCallback("cb-a", 0).ok());
  EXPECT_EQ(store_->DeleteCallback("cb-a", 0).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->ListCallbacks(type_.id)->size(), 3u);
}

// Two calls that each make another callback of one type its downlinkHook:
// each locked its own callback, then waited for the other's (PostgreSQL:
// "deadlock detected"). Both succeed now and exactly one holds the mark.
TEST_P(CallbackStoreTest, TwoCallsMovingTheDownlinkHookAtOnceBothLandAndLeaveOne) {
  Callback h1 = MakeCallback("cb-h1", type_);
  h1.subtype = CallbackSubtype::kBidir;
  Callback h2 = h1;
  h2.id = "cb-h2";
  Callback h3 = h1;
  h3.id = "cb-h3";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{h1, h2, h3}).ok());
  for (int round = 0; round < 30; ++round) {
    Status one, two;
    std::thread a([&] { one = store_->SetDownlinkHook("cb-h1"); });
    std::thread b([&] { two = store_->SetDownlinkHook("cb-h3"); });
    a.join();
    b.join();
    EXPECT_TRUE(one.ok()) << "round " << round << ": " << one.message();
    EXPECT_TRUE(two.ok()) << "round " << round << ": " << two.message();
    auto listed = store_->ListCallbacks(type_.id);
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    int marked = 0;
    for (const auto& cb : *listed) marked += cb.downlink_hook ? 1 : 0;
    EXPECT_EQ(marked, 1) << "round " << round;
  }
}

// Deleting a callback keeps what it did on the messages: attempted deliveries
// stay (dead if still pending), and so does a first attempt in flight across
// the delete, with its outcome; never-attempted ones go.
TEST_P(CallbackStoreTest, ADeletedCallbacksAttemptsStayOnTheirMessages) {
  QueueFrames(5, 1'000);
  auto first = Claim(10'000, 3);
  ASSERT_EQ(first.size(), 3u);             // frames 1..3; frames 4 and 5 wait
  std::map<int64_t, int64_t> delivery_of;  // frame -> delivery id
  for (const auto& t : first) delivery_of[t.delivery.seq_number] = t.delivery.id;
  DeliveryOutcome done;
  done.now = 10'000;
  done.delivered = true;
  done.status = 200;
  done.info = "HTTP 200";
  ASSERT_TRUE(store_->CompleteDelivery(delivery_of[1], done).ok());
  DeliveryOutcome failed;
  failed.now = 10'000;
  failed.status = 500;
  failed.info = "HTTP 500";
  failed.retry_at = 20'000;
  ASSERT_TRUE(store_->CompleteDelivery(delivery_of[2], failed).ok());
  // Frame 3's first send stays in flight; frame 2 is claimed again, with
  // frame 4 (whose send never comes back); frame 5 is never claimed.
  auto second = Claim(20'000, 2);
  ASSERT_EQ(second.size(), 2u);
  ASSERT_TRUE(store_->DeleteCallback("cb", 20'100).ok());
  // Frame 2's second send comes back failed after the delete, and frame 3's
  // first one delivered: both are recorded, and frame 2 does not revive.
  failed.now = 20'500;
  failed.retry_at = 30'000;
  done.now = 20'500;
  const std::vector<DeliveryCompletion> late{{delivery_of[2], failed, "cb"},
                                             {delivery_of[3], done, "cb"}};
  ASSERT_TRUE(store_->CompleteDeliveries(late).ok());
  EXPECT_TRUE(Claim(30'000).empty());
  EXPECT_TRUE(Claim(60'000).empty()) << "frame 4's lease ran out: nothing sends it";
  std::vector<MessageCursor> frames;
  for (int i = 1; i <= 5; ++i) frames.push_back({1'000 * i, 0x2C, i});
  auto kept = store_->ListMessageDeliveries(frames);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->size(), 3u) << "frames 4 and 5 were never attempted";
  EXPECT_EQ((*kept)[0].seq_number, 1);
  EXPECT_EQ((*kept)[0].state, DeliveryState::kDone);
  EXPECT_EQ((*kept)[0].last_status, 200);
  EXPECT_EQ((*kept)[1].seq_number, 2);
  EXPECT_EQ((*kept)[1].state, DeliveryState::kDead);
  EXPECT_EQ((*kept)[1].attempts, 2);
  EXPECT_EQ((*kept)[1].last_status, 500);
  EXPECT_EQ((*kept)[2].seq_number, 3);
  EXPECT_EQ((*kept)[2].state, DeliveryState::kDone);
  EXPECT_EQ((*kept)[2].attempts, 1);
  EXPECT_EQ((*kept)[2].last_status, 200);
}

// The downlinkHook mark is only ever seen on a callback that can answer
// downlinks, however an edit of its kind and the setting of the mark interleave.
TEST_P(CallbackStoreTest, AnEditRacingTheDownlinkHookNeverLeavesTheMarkOnAnotherKind) {
  Callback cb = MakeCallback("cb-r", type_);
  cb.subtype = CallbackSubtype::kBidir;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{cb}).ok());
  std::atomic<bool> done{false};
  std::atomic<int> marked{0}, refused{0}, violations{0}, failures{0};
  std::thread editor([&] {
    Callback edit = cb;
    for (int i = 0; i < 60; ++i) {
      edit.subtype = i % 2 == 0 ? CallbackSubtype::kUplink : CallbackSubtype::kBidir;
      if (!store_->UpdateCallback(edit, false).ok()) ++failures;
    }
  });
  std::thread marker([&] {
    for (int i = 0; i < 60; ++i) {
      Status s = store_->SetDownlinkHook("cb-r");
      if (s.ok()) {
        ++marked;
      } else if (s.code() == Status::Code::kInvalidInput) {
        ++refused;
      } else {
        ++failures;
      }
    }
  });
  std::thread reader([&] {
    while (!done) {
      auto seen = store_->GetCallback("cb-r");
      if (seen.ok() && seen->downlink_hook && seen->subtype != CallbackSubtype::kBidir) {
        ++violations;
      }
    }
  });
  editor.join();
  marker.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(violations, 0);
  EXPECT_EQ(marked + refused, 60);
  auto last = store_->GetCallback("cb-r");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->subtype, CallbackSubtype::kBidir);  // the editor's last edit
  if (last->downlink_hook) {
    EXPECT_GT(marked, 0);
  }
  // Once the kind can no longer answer downlinks, the mark is refused outright.
  cb.subtype = CallbackSubtype::kUplink;
  ASSERT_TRUE(store_->UpdateCallback(cb, false).ok());
  EXPECT_EQ(store_->SetDownlinkHook("cb-r").code(), Status::Code::kInvalidInput);
  EXPECT_FALSE(store_->GetCallback("cb-r")->downlink_hook);
}

// An edit that does not name `enabled` keeps what is stored when it lands, not
// what its caller read before: a callback disabled meanwhile stays disabled.
TEST_P(CallbackStoreTest, AnEditThatDoesNotNameEnabledKeepsTheStoredState) {
  Callback read_before = MakeCallback("cb-k", type_);
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{read_before}).ok());
  ASSERT_TRUE(read_before.enabled);
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-k", false).ok());
  Callback edit = read_before;
  edit.url = "http://127.0.0.1:9/kept/{device}";
  auto edited = store_->UpdateCallback(edit, /*keep_enabled=*/true);
  ASSERT_TRUE(edited.ok()) << edited.status().message();
  EXPECT_FALSE(edited->enabled);
  EXPECT_FALSE(store_->GetCallback("cb-k")->enabled);
  EXPECT_EQ(store_->GetCallback("cb-k")->url, "http://127.0.0.1:9/kept/{device}");
  // And the other way round: enabled meanwhile, an edit read while disabled.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-k", true).ok());
  edit.enabled = false;
  EXPECT_TRUE(store_->UpdateCallback(edit, /*keep_enabled=*/true)->enabled);
  // Named, it is set.
  EXPECT_FALSE(store_->UpdateCallback(edit, /*keep_enabled=*/false)->enabled);
  EXPECT_FALSE(store_->GetCallback("cb-k")->enabled);
}

TEST_P(CallbackStoreTest, AnEditReplacesTheDefinitionAndKeepsIdStateAndQueuedDeliveries) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-e", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});

  // The same kind of callback: the queued delivery is sent with the new
  // definition.
  Callback edit = MakeCallback("cb-e", type_);
  edit.url = "http://127.0.0.1:9/edited/{device}";
  edit.creation_time = 99;  // not the caller's to change
  auto edited = store_->UpdateCallback(edit, false);
  ASSERT_TRUE(edited.ok()) << edited.status().message();
  EXPECT_EQ(edited->creation_time, 5);
  EXPECT_EQ(*store_->GetCallback("cb-e"), *edited);
  auto tasks = Claim(20'000, 100, 1);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].callback.url, "http://127.0.0.1:9/edited/{device}");

  // Another subtype: its pending delivery (queued for an UPLINK message) is dropped.
  edit.subtype = CallbackSubtype::kBidir;
  ASSERT_TRUE(store_->UpdateCallback(edit, false).ok());
  EXPECT_TRUE(Claim(40'000).empty());

  // The downlinkHook mark stays while it applies, and goes when it does not.
  ASSERT_TRUE(store_->SetDownlinkHook("cb-e").ok());
  edit.url = "http://127.0.0.1:9/again/{device}";
  EXPECT_TRUE(store_->UpdateCallback(edit, false)->downlink_hook);
  edit.subtype = CallbackSubtype::kUplink;
  EXPECT_FALSE(store_->UpdateCallback(edit, false)->downlink_hook);
  EXPECT_FALSE(store_->GetCallback("cb-e")->downlink_hook);

  Callback unknown = MakeCallback("cb-none", type_);
  EXPECT_EQ(store_->UpdateCallback(unknown, false).status().code(), Status::Code::kNotFound);
}

// A disabled callback's deliveries are parked by the claim that meets them:
// the claim still fills its limit with living ones, and later claims never
// meet them again until the callback is enabled (by its switch or an edit).
TEST_P(CallbackStoreTest, DeliveriesOfADisabledCallbackWaitUntilItIsEnabledAgain) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-a-off", type_),
                                                          MakeCallback("cb-b-on", type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 11'000, "0A1B"),
          Report(0x2C, 3, 12'000, "0A1B")});
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a-off", false).ok());
  std::vector<int64_t> sent;
  for (const auto& t : Claim(20'000, 2)) {
    EXPECT_EQ(t.callback.id, "cb-b-on");
    sent.push_back(t.delivery.id);
  }
  EXPECT_EQ(sent.size(), 2u);
  // All of the disabled callback's deliveries were parked by that claim, not only those it met.
  std::vector<MessageCursor> messages{{10'000, 0x2C, 1}, {11'000, 0x2C, 2}, {12'000, 0x2C, 3}};
  auto listed = store_->ListMessageDeliveries(messages);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 6u);
  for (const Delivery& d : *listed) {
    if (d.callback == "cb-a-off") {
      EXPECT_GT(d.next_attempt, int64_t{100'000'000'000'000});
    }
  }
  auto rest = Claim(20'000, 2);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].callback.id, "cb-b-on");
  // Parked: no later claim meets them, though they were due at 1 000.
  EXPECT_TRUE(Claim(40'000).empty());  // cb-b-on's leases last until 50 000
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a-off", true).ok());
  auto revived = Claim(20'000, 100, 1);
  ASSERT_EQ(revived.size(), 3u);
  std::set<int64_t> seqs;
  for (const auto& t : revived) {
    EXPECT_EQ(t.callback.id, "cb-a-off");
    seqs.insert(t.message.seq_number);
  }
  EXPECT_EQ(seqs, (std::set<int64_t>{1, 2, 3}));

  // Disabled again once their lease ended, parked; an edit that enables it makes them due.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a-off", false).ok());
  EXPECT_TRUE(Claim(30'000).empty());
  Callback edit = MakeCallback("cb-a-off", type_);
  edit.enabled = true;
  ASSERT_TRUE(store_->UpdateCallback(edit, false).ok());
  EXPECT_EQ(Claim(30'000).size(), 3u);
  EXPECT_EQ(store_->SetCallbackEnabled("cb-none", true).code(), Status::Code::kNotFound);
}

TEST_P(CallbackStoreTest, IngestQueuesOneDeliveryPerCallbackAndDuplicatesOnlyWhereAsked) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-1", type_),
                                                          MakeCallback("cb-dup", type_, true),
                                                          MakeCallback("cb-other", other_type_)})
                  .ok());
  Callback disabled = MakeCallback("cb-off", type_);
  disabled.enabled = false;
  Callback service = MakeCallback("cb-svc", type_);
  service.callback_type = CallbackType::kService;
  service.subtype = CallbackSubtype::kStatus;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{disabled, service}).ok());

  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 1, 10'100, "0A1C")});
  Ingest({Report(0x2C, 1, 10'200, "0A1C")});  // the same station again: nothing new

  auto tasks = Claim(20'000);
  std::multiset<std::pair<std::string, bool>> queued;
  for (const auto& t : tasks) {
    queued.emplace(t.callback.id, t.delivery.duplicate);
    EXPECT_EQ(t.delivery.device, 0x2Cu);
    EXPECT_EQ(t.message.seq_number, 1);
    EXPECT_EQ(t.delivery.creation_time, 1'000);
    if (t.delivery.duplicate) {
      EXPECT_EQ(t.delivery.station, "0A1C");
    } else {
      EXPECT_EQ(t.delivery.station, "0A1B");
    }
  }
  EXPECT_EQ(queued, (std::multiset<std::pair<std::string, bool>>{
                        {"cb-1", false}, {"cb-dup", false}, {"cb-dup", true}}));
  // Leased: not handed out again until the lease ends.
  EXPECT_TRUE(Claim(20'001).empty());
  EXPECT_EQ(Claim(50'001).size(), 3u);
}

TEST_P(CallbackStoreTest, AttemptsAreRecordedAndGivingUpKillsTheCallbackOnce) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-ok", type_),
                                                          MakeCallback("cb-bad", type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  auto tasks = Claim(30'000);
  ASSERT_EQ(tasks.size(), 4u);
  int64_t bad_id = 0, bad_id2 = 0;
  for (const auto& t : tasks) {
    DeliveryOutcome o;
    o.now = 30'000;
    if (t.callback.id == "cb-ok") {
      o.delivered = true;
      o.status = 200;
      o.info = "OK";
      EXPECT_FALSE(*store_->CompleteDelivery(t.delivery.id, o));
    } else {
      o.status = 601;
      o.info = "could not connect";
      o.retry_at = 31'000;
      EXPECT_FALSE(*store_->CompleteDelivery(t.delivery.id, o));
      (bad_id == 0 ? bad_id : bad_id2) = t.delivery.id;
    }
  }
  // The failed ones come back when due, with their history.
  auto again = Claim(31'000);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].delivery.attempts, 1);
  EXPECT_EQ(again[0].delivery.last_status, 601);
  EXPECT_EQ(again[0].delivery.first_failure, 30'000);
  // Giving up: the first give-up kills the callback (one alert), the second finds it dead.
  DeliveryOutcome dead;
  dead.now = 90'000;
  dead.status = 602;
  dead.info = "timed out";
  dead.give_up = true;
  EXPECT_TRUE(*store_->CompleteDelivery(bad_id, dead));
  EXPECT_FALSE(*store_->CompleteDelivery(bad_id2, dead));
  EXPECT_TRUE(store_->GetCallback("cb-bad")->dead);
  EXPECT_EQ(store_->CompleteDelivery(999'999, dead).status().code(), Status::Code::kNotFound);

  // The message lists its deliveries; failures are listed for the tenant, not elsewhere.
  std::vector<MessageCursor> first{{10'000, 0x2C, 1}};
  auto delivered = store_->ListMessageDeliveries(first);
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  ASSERT_EQ(delivered->size(), 2u);
  std::set<DeliveryState> states{(*delivered)[0].state, (*delivered)[1].state};
  EXPECT_EQ(states, (std::set<DeliveryState>{DeliveryState::kDone, DeliveryState::kDead}));
  auto failed = store_->ListFailedDeliveries(tenant_.id, 100, 0, std::nullopt, {});
  ASSERT_TRUE(failed.ok()) << failed.status().message();
  EXPECT_EQ(failed->size(), 2u);
  Group elsewhere = MakeGroup(9, root_.id);
  EXPECT_TRUE(store_->ListFailedDeliveries(elsewhere.id, 100, 0, std::nullopt, {})->empty());

  // A dead callback queues nothing more and its pending rows wait; enabling revives it.
  Ingest({Report(0x2C, 3, 40'000, "0A1B")});
  for (const auto& t : Claim(100'000)) EXPECT_EQ(t.callback.id, "cb-ok");
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-bad", true).ok());
  EXPECT_FALSE(store_->GetCallback("cb-bad")->dead);
}

// One message its endpoint keeps refusing is given up alone when the callback
// delivered others since that message first failed; the callback dies only
// when it has delivered nothing since (it has failed all along).
TEST_P(CallbackStoreTest, GivingUpOneDeliveryKillsItsCallbackOnlyIfNothingWasDeliveredSince) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  for (int32_t seq = 1; seq <= 4; ++seq) Ingest({Report(0x2C, seq, seq * 10'000, "0A1B")});
  auto tasks = Claim(50'000);
  ASSERT_EQ(tasks.size(), 4u);
  std::map<int64_t, int64_t> id_of;  // by sequence number
  for (const auto& t : tasks) id_of[t.delivery.seq_number] = t.delivery.id;
  auto outcome = [](EpochMillis now, bool delivered, bool give_up) {
    DeliveryOutcome o;
    o.now = now;
    o.delivered = delivered;
    o.status = delivered ? 200 : 400;
    o.info = delivered ? "OK" : "Bad Request";
    o.retry_at = now + 1'000;
    o.give_up = give_up;
    return o;
  };
  // Message 1 is refused at 50 s; message 2 is taken at 51 s.
  EXPECT_FALSE(*store_->CompleteDelivery(id_of[1], outcome(50'000, false, false)));
  EXPECT_FALSE(*store_->CompleteDelivery(id_of[2], outcome(51'000, true, false)));
  // Given up a day later: the callback delivered since, so only message 1 is dead.
  EXPECT_FALSE(*store_->CompleteDelivery(id_of[1], outcome(90'000, false, true)));
  EXPECT_FALSE(store_->GetCallback("cb")->dead);
  EXPECT_TRUE(store_->ClaimDeadAlerts(1'000'000, 10, 1000)->empty()) << "no alert";
  std::vector<MessageCursor> first{{10'000, 0x2C, 1}};
  EXPECT_EQ(store_->ListMessageDeliveries(first)->at(0).state, DeliveryState::kDead);

  // In one group, a delivery at or after the given-up one's first failure keeps it alive too.
  EXPECT_FALSE(*store_->CompleteDelivery(id_of[3], outcome(95'000, false, false)));
  const std::vector<DeliveryCompletion> group{{id_of[3], outcome(99'000, false, true), ""},
                                              {id_of[4], outcome(99'000, true, false), ""}};
  EXPECT_EQ(*store_->CompleteDeliveries(group), (std::vector<bool>{false, false}));
  EXPECT_FALSE(store_->GetCallback("cb")->dead);

  // Nothing delivered since message 5 first failed: its giving up kills the callback.
  Ingest({Report(0x2C, 5, 60'000, "0A1B")});
  auto fifth = Claim(100'000);
  ASSERT_EQ(fifth.size(), 1u);
  EXPECT_FALSE(*store_->CompleteDelivery(fifth[0].delivery.id, outcome(100'000, false, false)));
  EXPECT_TRUE(*store_->CompleteDelivery(fifth[0].delivery.id, outcome(200'000, false, true)));
  EXPECT_TRUE(store_->GetCallback("cb")->dead);
  EXPECT_EQ(store_->ClaimDeadAlerts(1'000'000, 10, 1000)->size(), 1u);
}

// Enabled again, a callback's waiting deliveries start their failure clocks
// afresh: one that had failed for a day before is not given up (killing the
// callback again) at its first new failure.
TEST_P(CallbackStoreTest, EnablingACallbackAgainStartsItsDeliveriesFailureClocksAfresh) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 11'000, "0A1B")});
  auto tasks = Claim(50'000);
  ASSERT_EQ(tasks.size(), 2u);
  const DeliveryOutcome failed = Unavailable(50'000, 60'000);
  for (const auto& t : tasks) EXPECT_FALSE(*store_->CompleteDelivery(t.delivery.id, failed));
  DeliveryOutcome dead = failed;
  dead.now = 200'000;
  dead.give_up = true;
  EXPECT_TRUE(*store_->CompleteDelivery(tasks[0].delivery.id, dead));
  ASSERT_TRUE(store_->GetCallback("cb")->dead);
  EXPECT_TRUE(Claim(300'000).empty()) << "parked while dead";
  ASSERT_TRUE(store_->SetCallbackEnabled("cb", true).ok());
  auto again = Claim(300'000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery.id, tasks[1].delivery.id);
  EXPECT_EQ(again[0].delivery.attempts, 1) << "its history stays";
  EXPECT_EQ(again[0].delivery.first_failure, 0) << "its failure clock starts afresh";
}

// The recorder locks deliveries and then (to mark it dead) their callback; an
// enable or edit locks the callback and then (to start their failure clocks
// afresh) its deliveries. Recorded in any order while the callback is enabled
// and edited again and again, neither ever fails (PostgreSQL found deadlocks).
TEST_P(CallbackStoreTest, RecordingAttemptsWhileTheCallbackIsEditedNeverDeadlocks) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  std::vector<UplinkReport> reports;
  for (int i = 1; i <= 300; ++i) reports.push_back(Report(0x2C, i, 10'000 + i * 10, "0A1B"));
  Ingest(reports);
  auto tasks = Claim(50'000, 1000, 3'600'000);
  ASSERT_EQ(tasks.size(), 300u);
  std::atomic<bool> done{false};
  std::atomic<int> edits{0};
  std::thread editor([&] {
    Callback cb = MakeCallback("cb", type_);
    while (!done.load()) {
      Status st = store_->SetCallbackEnabled("cb", true);
      EXPECT_TRUE(st.ok()) << st.message();
      auto edited = store_->UpdateCallback(cb, /*keep_enabled=*/true);
      EXPECT_TRUE(edited.ok()) << edited.status().message();
      ++edits;
    }
  });
  std::mt19937 shuffle(7);
  for (int round = 0; round < 12; ++round) {
    std::vector<DeliveryCompletion> group;
    for (const auto& t : tasks) {
      // Due again long after: still leased meanwhile, never claimed here.
      group.push_back({t.delivery.id, Unavailable(50'000 + round, 4'000'000), ""});
    }
    std::shuffle(group.begin(), group.end(), shuffle);
    auto r = store_->CompleteDeliveries(group);
    EXPECT_TRUE(r.ok()) << "round " << round << ": " << r.status().message();
  }
  while (edits.load() < 5) std::this_thread::yield();
  done = true;
  editor.join();
  EXPECT_FALSE(store_->GetCallback("cb")->dead);
}

// A record that comes after its lease ended (the store was unreachable), when
// another sender has claimed the delivery since, records nothing: it would end
// that sender's lease and make the delivery due again while it is being sent.
TEST_P(CallbackStoreTest, ALateRecordLeavesTheNextSendersLeaseAlone) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto first = Claim(10'000, 100, 30'000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].lease_until, 40'000);
  auto second = Claim(40'001, 100, 30'000);  // the first lease ended: another sender takes it
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].lease_until, 70'001);
  const DeliveryCompletion late{first[0].delivery.id, Unavailable(40'002, 41'000), "cb",
                                first[0].lease_until};
  ASSERT_TRUE(store_->CompleteDeliveries(std::span(&late, 1)).ok());
  EXPECT_TRUE(Claim(41'500).empty()) << "the second sender's lease was ended";
  DeliveryOutcome delivered;
  delivered.delivered = true;
  delivered.now = 45'000;
  delivered.status = 200;
  delivered.info = "OK";
  const DeliveryCompletion own{second[0].delivery.id, delivered, "cb", second[0].lease_until};
  ASSERT_TRUE(store_->CompleteDeliveries(std::span(&own, 1)).ok());
  auto listed =
      store_->ListMessageDeliveries(std::vector<storage::MessageCursor>{{10'000, 0x2C, 1}});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().state, DeliveryState::kDone);
  EXPECT_EQ(listed->front().attempts, 1);
}

// A change of a callback's kind deletes its pending deliveries in the edit's
// own transaction. Deleted after the commit, they included what an ingest
// queued for the new kind in between: answered, and never sent.
TEST_P(CallbackStoreTest, AReportIngestedJustAfterAKindChangeKeepsItsDelivery) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "ordered here by SQLite's queue of writers";
  Callback kind = MakeCallback("cb-k", type_);
  kind.callback_type = CallbackType::kService;
  kind.subtype = CallbackSubtype::kAcknowledge;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{kind}).ok());
  auto holder = RawConnection();
  ASSERT_TRUE(holder.ok()) << holder.status().message();
  ASSERT_TRUE((*holder)->Exec("BEGIN IMMEDIATE", "test").ok());
  Callback edit = kind;
  edit.subtype = CallbackSubtype::kStatus;
  Status edited;
  std::thread editor([&] { edited = store_->UpdateCallback(edit, false).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the edit waits its turn
  Status ingested;
  bool accepted = false;
  std::thread reporter([&] {
    IngestPolicy policy;
    policy.now = 1'000;
    auto done = store_->IngestService(StatusReport(50'000, 12), policy);
    ingested = done.status();
    accepted = done.ok() && done->result == IngestResult::kAccepted;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the report waits behind it
  ASSERT_TRUE((*holder)->Exec("ROLLBACK", "test").ok());
  editor.join();
  reporter.join();
  ASSERT_TRUE(edited.ok()) << edited.message();
  ASSERT_TRUE(ingested.ok()) << ingested.message();
  EXPECT_TRUE(accepted);
  int kept = 0;
  for (const DeliveryTask& t : Claim(100'000)) kept += t.callback.id == "cb-k" ? 1 : 0;
  EXPECT_EQ(kept, 1);
}

// A claim locks the callbacks it parks in id order, as a move of the downlink
// hook does: taken in the order of their deliveries, each waited for the other.
TEST_P(CallbackStoreTest, AClaimParkingCallbacksNeverDeadlocksWithAMoveOfTheHook) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-b", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});  // cb-b's delivery is due first
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-a", type_)}).ok());
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a", false).ok());
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-b", false).ok());
  auto mover = HookMoveHolding("cb-a");
  ASSERT_TRUE(mover.ok()) << mover.status().message();
  driver::Connection& m = **mover;
  auto lock = [&](const char* id) { return LockCallbackRow(m, id); };
  std::vector<DeliveryTask> claimed;
  std::thread claimer([&] { claimed = Claim(100'000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the claim waits for cb-a
  const Status second = lock("cb-b");
  const Status committed = m.Exec(second.ok() ? "COMMIT" : "ROLLBACK", "test");
  claimer.join();
  EXPECT_TRUE(second.ok()) << second.message();
  EXPECT_TRUE(committed.ok()) << committed.message();
  EXPECT_TRUE(claimed.empty());  // both parked
}

// Across its rounds too, a claim locks the callbacks it parks in id order: a
// later round that met a callback sorting before one an earlier round locked
// leaves it to the next claim. Locked then, it deadlocked with a move of the
// downlink hook, which locks the type's callbacks in id order.
TEST_P(CallbackStoreTest, AClaimsLaterRoundNeverLocksACallbackBeforeOneItLocked) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-d", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 20'000, "0A1B")});  // two of cb-d
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-a", type_)}).ok());
  Ingest({Report(0x2C, 3, 30'000, "0A1B")});  // one of each
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-a", false).ok());
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-d", false).ok());
  auto mover = HookMoveHolding("cb-a");
  ASSERT_TRUE(mover.ok()) << mover.status().message();
  driver::Connection& m = **mover;
  auto lock = [&](const char* id) { return LockCallbackRow(m, id); };
  // Its first round (of 2) meets cb-d's two deliveries only, and parks cb-d.
  std::vector<DeliveryTask> claimed;
  std::thread claimer([&] { claimed = Claim(100'000, 2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Status second = lock("cb-d");
  const Status committed = m.Exec(second.ok() ? "COMMIT" : "ROLLBACK", "test");
  claimer.join();
  EXPECT_TRUE(second.ok()) << second.message();
  EXPECT_TRUE(committed.ok()) << committed.message();
  EXPECT_TRUE(claimed.empty());
  EXPECT_TRUE(Claim(100'000).empty()) << "the next claim parks cb-a's";
}

// An edit decides from a first read whether it changes the kind (and so must
// lock the callback's deliveries before its row). When another edit changes
// the kind between that read and the row's lock, the edit starts again: it
// locked deliveries while holding the callback before, and deadlocked with a
// recorder that held a delivery and waited for the callback.
TEST_P(CallbackStoreTest, AnEditThatFindsTheKindChangedMeanwhileStartsAgainWithoutDeadlock) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto kind_changer = RawConnection();
  auto recorder = RawConnection();
  ASSERT_TRUE(kind_changer.ok()) << kind_changer.status().message();
  ASSERT_TRUE(recorder.ok()) << recorder.status().message();
  driver::Connection& k = **kind_changer;
  driver::Connection& r = **recorder;
  ASSERT_TRUE(k.Exec("BEGIN", "test").ok());
  ASSERT_TRUE(k.Exec("UPDATE callbacks SET subtype = 3 WHERE id = 'cb'", "test").ok());
  Callback edit = MakeCallback("cb", type_);  // UPLINK, as it was before the other edit
  edit.url = "http://127.0.0.1:9/edited/{device}";
  Status edited;
  std::thread editor([&] { edited = store_->UpdateCallback(edit, false).status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // it waits for the row
  // A recorder holds the delivery and waits for the callback, behind the edit.
  ASSERT_TRUE(r.Exec("BEGIN", "test").ok());
  ASSERT_TRUE(r.Exec("SELECT 1 FROM deliveries WHERE callback_id = 'cb' FOR UPDATE", "test").ok());
  Status recorded, committed;
  std::thread record([&] {
    recorded = r.Exec("SELECT 1 FROM callbacks WHERE id = 'cb' FOR UPDATE", "test");
    committed = r.Exec(recorded.ok() ? "COMMIT" : "ROLLBACK", "test");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(k.Exec("COMMIT", "test").ok());
  record.join();
  editor.join();
  EXPECT_TRUE(edited.ok()) << edited.message();
  EXPECT_TRUE(recorded.ok()) << recorded.message();
  EXPECT_TRUE(committed.ok()) << committed.message();
  auto after = store_->GetCallback("cb");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->subtype, CallbackSubtype::kUplink);
  EXPECT_EQ(after->url, edit.url);
  // Queued for the kind in between (BIDIR), the pending delivery went.
  EXPECT_TRUE(Claim(100'000).empty());
}

// Retention deletes deliveries in id order, the order the recorder locks them
// in. Taken in the order of their messages' times, a purge and a recorder
// each held a delivery the other waited for (PostgreSQL: deadlock).
TEST_P(CallbackStoreTest, APurgeAndARecorderNeverDeadlockOverTheSameDeliveries) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  // The first delivery by id is of the later message.
  Ingest({Report(0x2C, 1, 20'000, "0A1B")});
  Ingest({Report(0x2C, 2, 10'000, "0A1B")});
  auto recorder = RawConnection();
  ASSERT_TRUE(recorder.ok()) << recorder.status().message();
  driver::Connection& r = **recorder;
  // An attempt recorded on the first: its new row version is stored after the
  // second's, so a scan of the table meets the second first.
  ASSERT_TRUE(r.Exec("UPDATE deliveries SET attempts = 1 WHERE id = (SELECT min(id) FROM "
                     "deliveries)",
                     "test")
                  .ok());
  auto lock = [&](const char* order) {
    return r.Exec(std::string("SELECT 1 FROM deliveries WHERE id = (SELECT id FROM deliveries "
                              "ORDER BY id ") +
                      order + " LIMIT 1) FOR UPDATE",
                  "test");
  };
  ASSERT_TRUE(r.Exec("BEGIN", "test").ok());
  ASSERT_TRUE(lock("ASC").ok());
  Result<Store::PurgeResult> purged = Status::Internal("not run");
  constexpr EpochMillis kFebruary1970 = 31LL * 24 * 3600 * 1000;
  std::thread purge([&] { purged = store_->PurgeMessagesBefore(kFebruary1970 + 1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the purge waits for the first
  const Status second = lock("DESC");
  const Status committed = r.Exec(second.ok() ? "COMMIT" : "ROLLBACK", "test");
  purge.join();
  EXPECT_TRUE(second.ok()) << second.message();
  EXPECT_TRUE(committed.ok()) << committed.message();
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  auto listed = store_->ListMessageDeliveries(
      std::vector<storage::MessageCursor>{{20'000, 0x2C, 1}, {10'000, 0x2C, 2}});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_TRUE(listed->empty());
}

// A delivery whose message is gone (retention kept a month's deliveries and
// deleted some of its messages, or a parked delivery outlived its message) has
// nothing to send: a claim gives it up with the reason, once, instead of
// leasing it again at each lease's end for good.
TEST_P(CallbackStoreTest, ADeliveryWhoseMessageIsGoneIsGivenUpByTheClaimThatFindsIt) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 20'000, "0A1B")});
  {
    auto raw = RawConnection();
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    ASSERT_TRUE((*raw)->Exec("DELETE FROM messages WHERE seq_number = 1", "test").ok());
  }
  auto tasks = Claim(30'000, 100, 1'000);
  ASSERT_EQ(tasks.size(), 1u) << "only the delivery whose message is there";
  EXPECT_EQ(tasks[0].message.seq_number, 2);
  // Past the lease: only the other one comes back.
  auto again = Claim(40'000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message.seq_number, 2);
  std::vector<MessageCursor> first{{10'000, 0x2C, 1}};
  auto listed = store_->ListMessageDeliveries(first);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, DeliveryState::kDead);
  EXPECT_EQ((*listed)[0].last_info, "its message was deleted before it could be sent");
  EXPECT_EQ((*listed)[0].attempts, 0);
}

// A sender judged a delivery past its give-up time on the failure clock it
// read before the callback was edited or enabled again (which starts the
// clocks afresh): the give-up does not land, so the callback just fixed is not
// killed by a stale clock; the delivery stays pending, its clock starting now.
TEST_P(CallbackStoreTest, AGiveUpJudgedOnAClockStartedAfreshMeanwhileDoesNotLand) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto tasks = Claim(50'000);
  ASSERT_EQ(tasks.size(), 1u);
  const DeliveryOutcome failed = Unavailable(50'000, 60'000);
  EXPECT_FALSE(*store_->CompleteDelivery(tasks[0].delivery.id, failed));
  // The callback is enabled again (its url fixed, say): clocks start afresh.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb", true).ok());
  // A send that read the old clock (50 000) gives up a day later.
  DeliveryOutcome stale = failed;
  stale.now = 50'000 + 86'400'000;
  stale.give_up = true;
  stale.retry_at = 0;
  EXPECT_FALSE(*store_->CompleteDelivery(tasks[0].delivery.id, stale));
  EXPECT_FALSE(store_->GetCallback("cb")->dead);
  auto again = Claim(stale.now);
  ASSERT_EQ(again.size(), 1u) << "still pending, due at once";
  EXPECT_EQ(again[0].delivery.first_failure, stale.now);
  EXPECT_EQ(again[0].delivery.attempts, 2);
  // On its own clock it is given up when its time comes.
  DeliveryOutcome late = stale;
  late.now = stale.now + 86'400'000;
  EXPECT_TRUE(*store_->CompleteDelivery(again[0].delivery.id, late));
  EXPECT_TRUE(store_->GetCallback("cb")->dead);
}

TEST_P(CallbackStoreTest, ACallbacksDeathQueuesOneAlertClaimedByOneAndTriedAgainWhenAsked) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-bad", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 11'000, "0A1B")});
  auto tasks = Claim(30'000);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_TRUE(store_->ClaimDeadAlerts(1'000'000, 10, 1000)->empty()) << "nothing died yet";
  DeliveryOutcome dead;
  dead.now = 90'000;
  dead.status = 502;
  dead.info = "bad gateway";
  dead.give_up = true;
  EXPECT_TRUE(*store_->CompleteDelivery(tasks[0].delivery.id, dead));
  EXPECT_FALSE(*store_->CompleteDelivery(tasks[1].delivery.id, dead)) << "dead already";
  EXPECT_TRUE(store_->ClaimDeadAlerts(89'999, 10, 1000)->empty()) << "due at the death";
  auto claimed = store_->ClaimDeadAlerts(90'000, 10, 1000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 1u) << "one alert for the one death";
  const DeadAlertTask first = claimed->front();
  EXPECT_EQ(first.callback.id, "cb-bad");
  EXPECT_TRUE(first.callback.dead);
  EXPECT_EQ(first.status, 502);
  EXPECT_EQ(first.info, "bad gateway");
  EXPECT_EQ(first.tries, 0);
  EXPECT_EQ(first.lease_until, 91'000);
  // Leased: nobody else gets it until the lease ends; then the late claim is stale.
  EXPECT_TRUE(store_->ClaimDeadAlerts(90'999, 10, 1000)->empty());
  auto second = store_->ClaimDeadAlerts(91'000, 10, 1000);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_GT(second->front().lease_until, first.lease_until);
  EXPECT_FALSE(*store_->CompleteDeadAlert(first, std::nullopt));
  // Failed: due again when asked, one try counted.
  EXPECT_TRUE(*store_->CompleteDeadAlert(second->front(), 95'000));
  EXPECT_TRUE(store_->ClaimDeadAlerts(94'999, 10, 1000)->empty());
  auto third = store_->ClaimDeadAlerts(95'000, 10, 1000);
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ(third->front().tries, 1);
  // Sent: gone for good.
  EXPECT_TRUE(*store_->CompleteDeadAlert(third->front(), std::nullopt));
  EXPECT_TRUE(store_->ClaimDeadAlerts(10'000'000, 10, 1000)->empty());
  // Enabled again before its alert went: the alert is dropped, and a later
  // death queues a new one.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-bad", true).ok());
  Ingest({Report(0x2C, 3, 12'000, "0A1B")});
  auto more = Claim(200'000);
  ASSERT_EQ(more.size(), 1u);
  dead.now = 200'000;
  EXPECT_TRUE(*store_->CompleteDelivery(more[0].delivery.id, dead));
  auto pending = store_->ClaimDeadAlerts(200'000, 10, 1000);
  ASSERT_EQ(pending->size(), 1u);
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-bad", true).ok());
  EXPECT_FALSE(*store_->CompleteDeadAlert(pending->front(), 300'000)) << "stale once enabled";
  EXPECT_TRUE(store_->ClaimDeadAlerts(10'000'000, 10, 1000)->empty());
}

TEST_P(CallbackStoreTest, StoredQueuesAreMeasuredByWhatTheyWaitFor) {
  auto measure = [&](EpochMillis now, int64_t cap = 1000) {
    auto m = store_->MeasureStoredQueues(now, cap);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? *m : StoredQueueDepths{};
  };
  EXPECT_EQ(measure(1'000), StoredQueueDepths{});
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-bad", type_),
                                                          MakeCallback("cb-off", type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 11'000, "0A1B"),
          Report(0x2C, 3, 12'000, "0A1B")});
  EXPECT_EQ(measure(1'000), (StoredQueueDepths{.deliveries_due = 6}));
  // A cap bounds each count.
  EXPECT_EQ(measure(1'000, 4).deliveries_due, 4);
  // Claimed by a dispatcher: leased. A disabled callback's are parked once a claim meets one.
  ASSERT_TRUE(store_->SetCallbackEnabled("cb-off", false).ok());
  auto tasks = Claim(20'000, 2);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].callback.id, "cb-bad");
  EXPECT_EQ(
      measure(20'000),
      (StoredQueueDepths{.deliveries_due = 1, .deliveries_leased = 2, .deliveries_parked = 3}));
  // One fails and is retried later; the other is given up: its callback dies (its alert
  // waits) and its last due delivery is parked when the next claim meets it.
  DeliveryOutcome retry;
  retry.now = 20'000;
  retry.status = 503;
  retry.info = "busy";
  retry.retry_at = 80'000;
  EXPECT_FALSE(*store_->CompleteDelivery(tasks[1].delivery.id, retry));
  DeliveryOutcome dead = retry;
  dead.status = 502;
  dead.info = "bad gateway";
  dead.give_up = true;
  EXPECT_TRUE(*store_->CompleteDelivery(tasks[0].delivery.id, dead));
  EXPECT_TRUE(Claim(20'000).empty());
  EXPECT_EQ(measure(20'000),
            (StoredQueueDepths{.deliveries_later = 1, .deliveries_parked = 4, .dead_alerts = 1}));
  auto alerts = store_->ClaimDeadAlerts(20'000, 10, 1000);
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_TRUE(*store_->CompleteDeadAlert(alerts->front(), std::nullopt));
  EXPECT_EQ(measure(20'000).dead_alerts, 0);
}

TEST_P(CallbackStoreTest, AttemptsRecordedInOneGroupSkipGoneDeliveriesAndKillACallbackOnce) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-ok", type_),
                                                          MakeCallback("cb-bad", type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  auto tasks = Claim(30'000);
  ASSERT_EQ(tasks.size(), 4u);
  std::vector<DeliveryCompletion> group;
  for (const auto& t : tasks) {
    DeliveryCompletion c{t.delivery.id, {}, t.callback.id};
    c.outcome.now = 30'000;
    if (t.callback.id == "cb-ok") {
      c.outcome.delivered = true;
      c.outcome.status = 200;
    } else {
      c.outcome.status = 602;
      c.outcome.info = "timed out";
      c.outcome.give_up = true;
    }
    group.push_back(c);
  }
  group.push_back({999'999, group.front().outcome, ""});  // gone: skipped, not an error
  auto died = store_->CompleteDeliveries(group);
  ASSERT_TRUE(died.ok()) << died.status().message();
  ASSERT_EQ(died->size(), 5u);
  int deaths = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].callback.id == "cb-ok") {
      EXPECT_FALSE((*died)[i]);
    }
    deaths += (*died)[i] ? 1 : 0;
  }
  EXPECT_EQ(deaths, 1);  // two deliveries of cb-bad gave up: one alert
  EXPECT_FALSE(died->back());
  EXPECT_TRUE(store_->GetCallback("cb-bad")->dead);
  std::vector<MessageCursor> both{{10'000, 0x2C, 1}, {20'000, 0x2C, 2}};
  auto recorded = store_->ListMessageDeliveries(both);
  ASSERT_TRUE(recorded.ok()) << recorded.status().message();
  ASSERT_EQ(recorded->size(), 4u);
  for (const Delivery& d : *recorded) {
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.state, d.callback == "cb-ok" ? DeliveryState::kDone : DeliveryState::kDead);
  }
  EXPECT_TRUE(store_->CompleteDeliveries({}).ok());
}

TEST_P(CallbackStoreTest, EachAttemptIsLoggedOnItsOwnLineUnlessTheFirstDelivered) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-ok", type_),
                                                          MakeCallback("cb-flaky", type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto attempt = [&](int64_t id, EpochMillis now, int status, const std::string& info,
                     bool delivered) {
    DeliveryOutcome o;
    o.now = now;
    o.status = status;
    o.info = info;
    o.delivered = delivered;
    o.retry_at = now + 1'000;
    auto r = store_->CompleteDelivery(id, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
  };
  int64_t flaky = 0;
  for (const auto& t : Claim(30'000)) {
    if (t.callback.id == "cb-ok") {
      attempt(t.delivery.id, 30'000, 200, "OK", true);
    } else {
      flaky = t.delivery.id;
    }
  }
  ASSERT_NE(flaky, 0);
  attempt(flaky, 30'000, 601, "could not\nconnect", false);
  attempt(flaky, 31'000, 500, "HTTP 500", false);
  attempt(flaky, 32'000, 200, "OK", true);
  auto listed = store_->ListMessageDeliveries(std::vector<MessageCursor>{{10'000, 0x2C, 1}});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  for (const Delivery& d : *listed) {
    if (d.callback == "cb-ok") {
      EXPECT_EQ(d.attempts, 1);
      EXPECT_EQ(d.attempt_log, "");
      EXPECT_EQ(d.next_attempt, 30'000);
    } else {
      EXPECT_EQ(d.attempts, 3);
      EXPECT_EQ(d.state, DeliveryState::kDone);
      EXPECT_EQ(d.attempt_log, "30000 601 could not connect\n31000 500 HTTP 500\n32000 200 OK\n");
    }
  }

  // The log stops growing at kMaxAttemptLog characters, counted alike on both
  // engines (each "é" is one character of two bytes); `attempts` counts on.
  std::string long_info;
  for (int i = 0; i < 300; ++i) long_info += "\xC3\xA9";
  for (int i = 0; i < 10; ++i) attempt(flaky, 40'000 + i, 503, long_info, false);
  listed = store_->ListMessageDeliveries(std::vector<MessageCursor>{{10'000, 0x2C, 1}});
  ASSERT_TRUE(listed.ok());
  for (const Delivery& d : *listed) {
    if (d.callback != "cb-flaky") continue;
    EXPECT_EQ(d.attempts, 13);
    size_t characters = 0;
    for (char ch : d.attempt_log) characters += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    // The three short lines (60 characters) and three of 311: a fourth would
    // pass the bound.
    EXPECT_EQ(characters, 60u + 3 * 311u) << d.attempt_log.substr(0, 120);
    EXPECT_LE(characters, kMaxAttemptLog);
    EXPECT_GT(d.attempt_log.size(), kMaxAttemptLog);  // in bytes it may
    EXPECT_TRUE(d.attempt_log.starts_with("30000 601 could not connect\n"));
    EXPECT_EQ(d.last_status, 503);
    // Delivered at 32 s: later attempts (a late answer of a send that outlived
    // its lease) are logged but leave it done.
    EXPECT_EQ(d.state, DeliveryState::kDone);
    EXPECT_EQ(d.next_attempt, 32'000);
  }
}

TEST_P(CallbackStoreTest, FailedDeliveriesArePagedNewestFirstFailureThenId) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-bad", type_)}).ok());
  for (int64_t seq = 1; seq <= 5; ++seq) Ingest({Report(0x2C, seq, seq * 10'000, "0A1B")});
  auto tasks = Claim(100'000);
  ASSERT_EQ(tasks.size(), 5u);
  // Two share a first failure, so the id breaks the tie.
  const EpochMillis failed_at[] = {100'000, 100'000, 101'000, 102'000, 103'000};
  for (size_t i = 0; i < tasks.size(); ++i) {
    DeliveryOutcome o;
    o.now = failed_at[i];
    o.status = 601;
    o.info = "could not connect";
    o.retry_at = 200'000;
    ASSERT_TRUE(store_->CompleteDelivery(tasks[i].delivery.id, o).ok());
  }
  auto all = store_->ListFailedDeliveries(tenant_.id, 100, 0, std::nullopt, {});
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 1; i < all->size(); ++i) {
    const Delivery& a = (*all)[i - 1];
    const Delivery& b = (*all)[i];
    EXPECT_TRUE(a.first_failure > b.first_failure ||
                (a.first_failure == b.first_failure && a.id > b.id));
  }
  std::vector<int64_t> paged;
  std::optional<FailedDeliveryCursor> after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListFailedDeliveries(tenant_.id, 2, 0, after, {});
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const Delivery& d : *page) paged.push_back(d.id);
    if (page->size() < 2) break;
    after = FailedDeliveryCursor{page->back().first_failure, page->back().id};
  }
  std::vector<int64_t> expected;
  for (const Delivery& d : *all) expected.push_back(d.id);
  EXPECT_EQ(paged, expected);
  // An offset skips that many rows before the page, after the cursor when given.
  auto skipped = store_->ListFailedDeliveries(tenant_.id, 2, 1, std::nullopt, {});
  ASSERT_TRUE(skipped.ok()) << skipped.status().message();
  ASSERT_EQ(skipped->size(), 2u);
  EXPECT_EQ((*skipped)[0].id, expected[1]);
  EXPECT_EQ((*skipped)[1].id, expected[2]);
  const Delivery& second = (*all)[1];
  auto after_and_skipped = store_->ListFailedDeliveries(
      tenant_.id, 100, 2, FailedDeliveryCursor{second.first_failure, second.id}, {});
  ASSERT_TRUE(after_and_skipped.ok());
  ASSERT_EQ(after_and_skipped->size(), 1u);
  EXPECT_EQ((*after_and_skipped)[0].id, expected[4]);
  EXPECT_EQ(store_->ListFailedDeliveries(tenant_.id, 2, kMaxListOffset + 1, std::nullopt, {})
                .status()
                .code(),
            Status::Code::kInvalidInput);
}

// The Sigfox API v1 filters of the list (hexId, deviceTypeId, since) are
// applied by the query, so that a page is full when more rows pass them.
TEST_P(CallbackStoreTest, FailedDeliveriesAreFilteredByDeviceTypeAndFirstFailure) {
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x2D, type_)).ok());
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-one", type_),
                                                          MakeCallback("cb-two", other_type_)})
                  .ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B"), Report(0x2D, 1, 10'000, "0A1B"),
          Report(0x3C, 1, 10'000, "0A1B")});
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  auto tasks = Claim(100'000);
  ASSERT_EQ(tasks.size(), 4u);
  for (size_t i = 0; i < tasks.size(); ++i) {
    DeliveryOutcome o;
    o.now = 100'000 + static_cast<EpochMillis>(i) * 1000;
    o.status = 500;
    o.info = "server error";
    o.retry_at = 200'000;
    ASSERT_TRUE(store_->CompleteDelivery(tasks[i].delivery.id, o).ok());
  }
  auto list = [&](const FailedDeliveryFilter& filter, int limit = 100) {
    std::vector<std::pair<uint32_t, std::string>> out;
    auto page = store_->ListFailedDeliveries(tenant_.id, limit, 0, std::nullopt, filter);
    EXPECT_TRUE(page.ok()) << page.status().message();
    if (page.ok()) {
      for (const Delivery& d : *page) out.emplace_back(d.device, d.callback);
    }
    return out;
  };
  using Rows = std::vector<std::pair<uint32_t, std::string>>;
  EXPECT_EQ(list({}).size(), 4u);
  FailedDeliveryFilter by_device;
  by_device.device = 0x2C;
  EXPECT_EQ(list(by_device), (Rows{{0x2C, "cb-one"}, {0x2C, "cb-one"}}));
  // A page of one is full with a row that passes, not cut short by one that does not.
  EXPECT_EQ(list(by_device, 1).size(), 1u);
  // The highest device ID (PostgreSQL must take it as a BIGINT, not an integer).
  by_device.device = 0xFFFFFFFF;
  EXPECT_TRUE(list(by_device).empty());
  FailedDeliveryFilter by_type;
  by_type.type = other_type_.id;
  EXPECT_EQ(list(by_type), (Rows{{0x3C, "cb-two"}}));
  FailedDeliveryFilter both;
  both.device = 0x3C;
  both.type = type_.id;
  EXPECT_TRUE(list(both).empty());
  FailedDeliveryFilter since;
  since.since = 102'000;  // the last two failures
  EXPECT_EQ(list(since).size(), 2u);
  since.since = 104'000;
  EXPECT_TRUE(list(since).empty());
}

TEST_P(CallbackStoreTest, AClaimCarriesEachDeliverysOwnMessageWhetherCloseInTimeOrFarApart) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-a", type_),
                                                          MakeCallback("cb-b", type_)})
                  .ok());
  // Close together (one query for all) ...
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  Ingest({Report(0x2C, 2, 10'500, "0A1B")});
  auto close = Claim(20'000);
  ASSERT_EQ(close.size(), 4u);
  for (const auto& t : close) {
    EXPECT_EQ(t.message.time, t.delivery.message_time);
    EXPECT_EQ(t.message.seq_number, t.delivery.seq_number);
    EXPECT_EQ(t.message.time, t.message.seq_number == 1 ? 10'000 : 10'500);
  }
  // ... and hours apart (by their keys; the first two are due again too, their
  // lease over).
  Ingest({Report(0x2C, 3, 4'000'000, "0A1B")});
  Ingest({Report(0x2C, 4, 9'000'000, "0A1B")});
  auto apart = Claim(10'000'000);
  ASSERT_EQ(apart.size(), 8u);
  const std::map<int64_t, EpochMillis> time_of{
      {1, 10'000}, {2, 10'500}, {3, 4'000'000}, {4, 9'000'000}};
  for (const auto& t : apart) {
    EXPECT_EQ(t.message.seq_number, t.delivery.seq_number);
    EXPECT_EQ(t.message.time, time_of.at(t.message.seq_number));
  }
}

TEST_P(CallbackStoreTest, DeferredDeliveriesComeDueAgainWithoutAnAttempt) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  auto tasks = Claim(30'000);
  ASSERT_EQ(tasks.size(), 2u);
  std::vector<int64_t> ids{tasks[0].delivery.id, tasks[1].delivery.id, 999'999};
  ASSERT_TRUE(store_->DeferDeliveries(ids, 30'200).ok());
  EXPECT_TRUE(Claim(30'199).empty());
  auto again = Claim(30'200);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].delivery.attempts, 0);
  EXPECT_EQ(again[1].delivery.attempts, 0);
}

// The message sequence numbers of claimed deliveries.
std::set<int64_t> Seqs(const std::vector<DeliveryTask>& tasks) {
  std::set<int64_t> out;
  for (const auto& t : tasks) out.insert(t.message.seq_number);
  return out;
}

// Claims go on from where the last one stopped, past the deliveries still
// leased at the head of the queue; what came due behind that place (here:
// leases that ran out) is found by the next look from the head, which comes
// when the deliveries beyond the place run short or a second has passed.
TEST_P(CallbackStoreTest, AClaimGoesOnFromTheLastOneAndStillFindsWhatCameDueBehindIt) {
  QueueFrames(10, 1'000);
  // Leased for 100 ms only.
  EXPECT_EQ(Seqs(Claim(20'000, 3, 100)), (std::set<int64_t>{1, 2, 3}));
  // Their leases ran out, but this claim goes on from its place.
  EXPECT_EQ(Seqs(Claim(20'200, 3, 100'000)), (std::set<int64_t>{4, 5, 6}));
  // A second after the last look from the head: the earliest due first again.
  EXPECT_EQ(Seqs(Claim(21'000, 3, 100'000)), (std::set<int64_t>{1, 2, 3}));
  // From the place again, past 4 .. 6, which are still leased.
  EXPECT_EQ(Seqs(Claim(21'100, 4, 100)), (std::set<int64_t>{7, 8, 9, 10}));
  // Nothing beyond the place: from the head, where 7 .. 10's leases ran out.
  EXPECT_EQ(Seqs(Claim(21'300, 10, 100'000)), (std::set<int64_t>{7, 8, 9, 10}));
  EXPECT_TRUE(Claim(21'400).empty());
}

// The place is a (due time, id) pair: a claim goes on through the rest of its
// due time and then into later ones.
TEST_P(CallbackStoreTest, AClaimGoesOnFromItsPlaceIntoLaterDueTimes) {
  QueueFrames(6, 1'000);
  std::map<int64_t, int64_t> id_of;  // by sequence number
  std::vector<MessageCursor> keys;
  for (int i = 1; i <= 6; ++i) keys.push_back({1'000 * i, 0x2C, i});
  auto listed = store_->ListMessageDeliveries(keys);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  for (const Delivery& d : *listed) id_of[d.seq_number] = d.id;
  ASSERT_EQ(id_of.size(), 6u);
  // 1 and 2 due at 500, 3 at 700; 4, 5 and 6 were due at once (0).
  ASSERT_TRUE(store_->DeferDeliveries(std::vector<int64_t>{id_of[1], id_of[2]}, 500).ok());
  ASSERT_TRUE(store_->DeferDeliveries(std::vector<int64_t>{id_of[3]}, 700).ok());
  // Leased for 50 ms: due again, behind the place, for the next two claims.
  EXPECT_EQ(Seqs(Claim(20'000, 2, 50)), (std::set<int64_t>{4, 5}));
  EXPECT_EQ(Seqs(Claim(20'100, 2)), (std::set<int64_t>{6, 1}));  // the rest of 0, then 500
  EXPECT_EQ(Seqs(Claim(20'200, 2)), (std::set<int64_t>{2, 3}));  // the rest of 500, then 700
  // A second after the last look from the head.
  EXPECT_EQ(Seqs(Claim(21'000)), (std::set<int64_t>{4, 5}));
}

// A recorded attempt that ends a delivery cannot be a heap-only update on
// PostgreSQL (its state leaves the queue's predicate), so its new row version
// goes into every index that holds it: the callback's index holds pending
// deliveries alone, and gets no entry from it (migration 0026).
TEST_P(CallbackStoreTest, ADeliveryDoneWritesNoEntryIntoItsCallbacksIndex) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "heap-only updates are PostgreSQL's";
  QueueFrames(20, 1'000);
  auto admin = driver::PostgresOpener(location_)();
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  auto entries = [&](const char* index) { return IndexEntries(**admin, index); };
  ASSERT_EQ(entries("deliveries_callback"), 20);
  ASSERT_EQ(entries("deliveries_message"), 20);
  auto tasks = Claim(30'000, 20);
  ASSERT_EQ(tasks.size(), 20u);
  std::vector<DeliveryCompletion> done;
  for (const auto& t : tasks) {
    DeliveryCompletion c{t.delivery.id, {}, t.callback.id};
    c.outcome.now = 30'000;
    c.outcome.delivered = true;
    c.outcome.status = 200;
    done.push_back(c);
  }
  ASSERT_TRUE(store_->CompleteDeliveries(done).ok());
  EXPECT_EQ(entries("deliveries_callback"), 20) << "the done deliveries wrote new entries";
  EXPECT_EQ(entries("deliveries_message"), 40) << "the other indexes do get the new versions";
  EXPECT_TRUE(Claim(30'001).empty());
}

// On PostgreSQL a lease is a heap-only update: it writes no entry into the
// queue's indexes (the row's page has room for its new version). Counted in
// the due index's one page with pageinspect.
TEST_P(CallbackStoreTest, ALeaseWritesNoIndexEntryOnPostgresql) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "heap-only updates are PostgreSQL's";
  QueueFrames(20, 1'000);
  auto admin = driver::PostgresOpener(location_)();
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  auto entries = [&] { return IndexEntries(**admin, "deliveries_due"); };
  ASSERT_EQ(entries(), 20);
  ASSERT_EQ(Claim(30'000, 20).size(), 20u);
  EXPECT_EQ(entries(), 20) << "the lease wrote new index entries";
  EXPECT_TRUE(Claim(30'001).empty());
}

TEST_P(CallbackStoreTest, ConcurrentDispatchersNeverHoldOneDeliveryTogether) {
  QueueFrames(60, 10'000);
  std::vector<std::unique_ptr<Store>> instances;
  for (int i = 0; i < 3; ++i) {
    auto s = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    instances.push_back(std::move(*s));
  }
  std::mutex mu;
  std::multiset<int64_t> seen;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 10; ++round) {
        auto tasks = instances[i]->ClaimDeliveries(10'000'000, 7, 60'000);
        ASSERT_TRUE(tasks.ok()) << tasks.status().message();
        std::lock_guard lock(mu);
        for (const auto& t : *tasks) seen.insert(t.delivery.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 60u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 60u) << "a delivery leased twice";
}

TEST_P(CallbackStoreTest, MessageDeliveriesAreListedForExactlyTheGivenMessages) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-1", type_),
                                                          MakeCallback("cb-2", type_),
                                                          MakeCallback("cb-3", other_type_)})
                  .ok());
  for (int seq = 1; seq <= 4; ++seq) Ingest({Report(0x2C, seq, seq * 10'000, "0A1B")});
  Ingest({Report(0x3C, 1, 25'000, "0A1B")});  // another device, inside the time span
  // Messages 1 and 3 of 0x2C, and 0x3C's: not message 2, though it lies between them.
  std::vector<MessageCursor> page{{30'000, 0x2C, 3}, {25'000, 0x3C, 1}, {10'000, 0x2C, 1}};
  auto listed = store_->ListMessageDeliveries(page);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::multiset<std::tuple<uint32_t, int64_t, std::string>> got;
  for (const Delivery& d : *listed) got.emplace(d.device, d.seq_number, d.callback);
  EXPECT_EQ(got, (std::multiset<std::tuple<uint32_t, int64_t, std::string>>{{0x2Cu, 1, "cb-1"},
                                                                            {0x2Cu, 1, "cb-2"},
                                                                            {0x2Cu, 3, "cb-1"},
                                                                            {0x2Cu, 3, "cb-2"},
                                                                            {0x3Cu, 1, "cb-3"}}));
  for (size_t i = 1; i < listed->size(); ++i) EXPECT_LT((*listed)[i - 1].id, (*listed)[i].id);
}

// A page of more messages than one statement looks up (32): each delivery
// once and in id order, whatever the order of the keys, their repeats and keys
// of nothing. The device queued last sorts first among the keys, so the id
// order is not the order the statements read them in.
TEST_P(CallbackStoreTest, MessageDeliveriesOfALongPageAreListedOnceInIdOrder) {
  ASSERT_TRUE(store_
                  ->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-1", type_),
                                                          MakeCallback("cb-2", type_),
                                                          MakeCallback("cb-3", other_type_)})
                  .ok());
  for (uint32_t device : {0x3Cu, 0x2Cu}) {
    std::vector<UplinkReport> reports;
    for (int seq = 1; seq <= 40; ++seq) reports.push_back(Report(device, seq, seq * 1'000, "0A1B"));
    Ingest(reports);
  }
  std::vector<MessageCursor> page;
  for (int seq = 40; seq >= 2; --seq) page.push_back({seq * 1'000, 0x2C, seq});  // not 1
  for (int seq = 1; seq <= 40; ++seq) page.push_back({seq * 1'000, 0x3C, seq});
  page.push_back({5'000, 0x2C, 5});  // again
  page.push_back({5'000, 0x2C, 6});  // a sequence number of another time
  page.push_back({1'000, 0x4C, 1});  // no such device
  auto listed = store_->ListMessageDeliveries(page);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::multiset<std::tuple<uint32_t, int64_t, EpochMillis, std::string>> got;
  for (const Delivery& d : *listed) got.emplace(d.device, d.seq_number, d.message_time, d.callback);
  std::multiset<std::tuple<uint32_t, int64_t, EpochMillis, std::string>> want;
  for (int seq = 1; seq <= 40; ++seq) {
    if (seq > 1) {
      want.emplace(0x2Cu, seq, seq * 1'000, "cb-1");
      want.emplace(0x2Cu, seq, seq * 1'000, "cb-2");
    }
    want.emplace(0x3Cu, seq, seq * 1'000, "cb-3");
  }
  EXPECT_EQ(got, want);
  for (size_t i = 1; i < listed->size(); ++i) EXPECT_LT((*listed)[i - 1].id, (*listed)[i].id);
  auto none = store_->ListMessageDeliveries({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// A service report without a sequence number queues its deliveries with none
// ({seqNumber} empty, null in JSON), not 0; and it is the same report as one
// of its kind with a number heard by another station within the window, in
// either order.
TEST_P(CallbackStoreTest, AServiceReportWithoutASequenceNumberHasNoneAndMatchesOneWithIt) {
  AddStatusCallback();
  ServiceReport bare = StatusReport(50'000, 0);
  bare.seq_number.reset();
  EXPECT_EQ(IngestStatus(bare), IngestResult::kAccepted);
  ServiceReport numbered = StatusReport(50'200, 12);
  numbered.station = "0A1C";
  EXPECT_EQ(IngestStatus(numbered), IngestResult::kDuplicate) << "a number, after one without";
  // The next report of the kind, with a number; then its copy without one.
  numbered.time = 90'000;
  EXPECT_EQ(IngestStatus(numbered), IngestResult::kAccepted);
  bare.time = 90'300;
  EXPECT_EQ(IngestStatus(bare), IngestResult::kDuplicate) << "none, after one with a number";
  std::map<EpochMillis, int64_t> seq_by_time;
  for (const DeliveryTask& t : Claim(100'000)) seq_by_time[t.message.time] = t.delivery.seq_number;
  // None is -2: -1 keys an event's deliveries, which this one must not join.
  EXPECT_EQ(seq_by_time, (std::map<EpochMillis, int64_t>{{50'000, -2}, {90'000, 12}}));
  auto as_event = store_->ListMessageDeliveries(std::vector<MessageCursor>{{50'000, 0x2C, -1}});
  ASSERT_TRUE(as_event.ok()) << as_event.status().message();
  EXPECT_TRUE(as_event->empty()) << "listed as an event's delivery";
}

// A late report of a kind (a station's backlog) is taken but does not
// replace the latest one: a copy of the latest heard after it is still the
// same report, not counted and delivered twice.
TEST_P(CallbackStoreTest, ALateServiceReportLeavesTheLatestOneToMatchItsCopies) {
  AddStatusCallback();
  EXPECT_EQ(IngestStatus(StatusReport(1'000'000, 9)), IngestResult::kAccepted);
  ServiceReport late = StatusReport(400'000, 8);
  late.station = "0A1C";
  EXPECT_EQ(IngestStatus(late), IngestResult::kAccepted);
  ServiceReport copy = StatusReport(1'000'200, 9);
  copy.station = "0A1C";
  EXPECT_EQ(IngestStatus(copy), IngestResult::kDuplicate);
  std::multiset<int64_t> delivered;
  for (const DeliveryTask& t : Claim(100'000'000)) delivered.insert(t.delivery.seq_number);
  EXPECT_EQ(delivered, (std::multiset<int64_t>{8, 9}));
}

TEST_P(CallbackStoreTest, ALateServiceReportsCopyIsADuplicateToo) {
  AddStatusCallback();
  EXPECT_EQ(IngestStatus(StatusReport(1'000'000, 9)), IngestResult::kAccepted);
  // A station's backlog: report 8, older than the latest, then its copy from
  // another station. Counted and delivered once.
  EXPECT_EQ(IngestStatus(StatusReport(400'000, 8)), IngestResult::kAccepted);
  ServiceReport copy = StatusReport(400'300, 8);
  copy.station = "0A1C";
  EXPECT_EQ(IngestStatus(copy), IngestResult::kDuplicate);
  std::multiset<int64_t> delivered;
  for (const DeliveryTask& t : Claim(100'000'000)) delivered.insert(t.delivery.seq_number);
  EXPECT_EQ(delivered, (std::multiset<int64_t>{8, 9}));
  // Ten more reports: only the last 8 of the kind are kept to match against,
  // so the oldest one's copy is no longer found (it is taken again).
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(IngestStatus(StatusReport(2'000'000 + i * 100'000, 10 + i)), IngestResult::kAccepted);
  }
  ServiceReport newest = StatusReport(2'900'100, 19);
  newest.station = "0A1C";
  EXPECT_EQ(IngestStatus(newest), IngestResult::kDuplicate);
  ServiceReport oldest = StatusReport(2'000'100, 10);
  oldest.station = "0A1C";
  EXPECT_EQ(IngestStatus(oldest), IngestResult::kAccepted);
}

TEST_P(CallbackStoreTest, ServiceReportsQueueServiceCallbacksWithTheirValuesOnce) {
  Callback status = MakeCallback("cb-status", type_);
  status.callback_type = CallbackType::kService;
  status.subtype = CallbackSubtype::kStatus;
  Callback ack = MakeCallback("cb-ack", type_);
  ack.callback_type = CallbackType::kService;
  ack.subtype = CallbackSubtype::kAcknowledge;
  ASSERT_TRUE(
      store_->CreateCallbacks(std::vector<Callback>{status, ack, MakeCallback("cb-data", type_)})
          .ok());
  IngestPolicy policy;
  policy.now = 1'000;
  ServiceReport r;
  r.device.value = 0x2C;
  r.type = ServiceReportType::kStatus;
  r.time = 50'000;
  r.station = "0A1B";
  r.seq_number = 12;
  r.temp = 21.5;
  r.batt = 3.1;
  auto first = store_->IngestService(r, policy);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->result, IngestResult::kAccepted);
  // The same report through another station: counted once, no second delivery.
  r.station = "0A1C";
  r.time = 50'400;
  auto again = store_->IngestService(r, policy);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->result, IngestResult::kDuplicate);

  // A downlink to confirm, then the device's ACKNOWLEDGE.
  Ingest({Report(0x2C, 13, 60'000, "0A1B")});
  ASSERT_TRUE(store_->SetMessageDownlink({60'000, 0x2C, 13}, "00112233aabbccdd", "0A1B").ok());
  ServiceReport a;
  a.device.value = 0x2C;
  a.type = ServiceReportType::kAcknowledge;
  a.time = 70'000;
  a.station = "0A1C";
  a.downlink_ack = true;
  auto acked = store_->IngestService(a, policy);
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ(acked->result, IngestResult::kAccepted);
  ASSERT_TRUE(acked->message.has_value());
  EXPECT_EQ(acked->message->seq_number, 13);
  auto stored = store_->GetMessage({60'000, 0x2C, 13});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->downlink_ack, std::optional<bool>(true));
  // Its copy through another station, 40 ms later by that station's clock: a
  // report without a sequence number is the same as the last of its kind
  // within the window, so no second ACKNOWLEDGE callback.
  a.station = "0A1B";
  a.time = 70'040;
  auto ack_again = store_->IngestService(a, policy);
  ASSERT_TRUE(ack_again.ok()) << ack_again.status().message();
  EXPECT_EQ(ack_again->result, IngestResult::kDuplicate);

  std::map<std::string, DeliveryTask> by_callback;
  size_t service_deliveries = 0;
  for (auto& t : Claim(100'000)) {
    if (t.callback.id == "cb-data") continue;
    by_callback.emplace(t.callback.id, t);
    ++service_deliveries;
  }
  ASSERT_EQ(by_callback.size(), 2u);
  EXPECT_EQ(service_deliveries, 2u);
  const DeliveryTask& st = by_callback.at("cb-status");
  EXPECT_EQ(st.delivery.station, "0A1B");
  EXPECT_EQ(st.delivery.seq_number, 12);
  EXPECT_EQ(st.message.time, 50'000);
  EXPECT_EQ(nlohmann::json::parse(st.delivery.variables),
            (nlohmann::json{{"temp", "21.50"}, {"batt", "3.10"}}));
  EXPECT_EQ(nlohmann::json::parse(by_callback.at("cb-ack").delivery.variables),
            (nlohmann::json{{"downlinkAck", "true"}}));

  // Refused like uplinks: unknown device, unknown station.
  r.device.value = 0x99;
  auto unknown = store_->IngestService(r, policy);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->result, IngestResult::kUnknownDevice);
  r.device.value = 0x2C;
  r.station = "0FFF";
  auto no_station = store_->IngestService(r, policy);
  ASSERT_TRUE(no_station.ok());
  EXPECT_EQ(no_station->result, IngestResult::kUnknownStation);
  // A station listed outside the sender's subtree is unknown to it: the store
  // checks again what the API's cache said.
  r.station = "0A1C";
  r.time = 90'000;
  r.seq_number = 14;
  r.caller_group = tenant_.id;
  auto foreign = store_->IngestService(r, policy);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(foreign->result, IngestResult::kUnknownStation);
  r.caller_group = root_.id;
  auto own = store_->IngestService(r, policy);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->result, IngestResult::kAccepted);
}

TEST_P(CallbackStoreTest, AnAttemptNamingAnotherCallbackIsNotRecorded) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-a", type_)}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto tasks = Claim(30'000);
  ASSERT_EQ(tasks.size(), 1u);
  DeliveryOutcome delivered;
  delivered.delivered = true;
  delivered.status = 200;
  delivered.now = 30'000;
  // Sent for a delivery of "cb-gone", whose id the store has since given to this one.
  std::vector<DeliveryCompletion> stale{{tasks[0].delivery.id, delivered, "cb-gone"}};
  ASSERT_TRUE(store_->CompleteDeliveries(stale).ok());
  auto listed = store_->ListMessageDeliveries(std::vector<MessageCursor>{{10'000, 0x2C, 1}});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, DeliveryState::kPending);
  EXPECT_EQ((*listed)[0].attempts, 0);
  // Its own attempt is.
  std::vector<DeliveryCompletion> own{{tasks[0].delivery.id, delivered, "cb-a"}};
  ASSERT_TRUE(store_->CompleteDeliveries(own).ok());
  listed = store_->ListMessageDeliveries(std::vector<MessageCursor>{{10'000, 0x2C, 1}});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].state, DeliveryState::kDone);
  EXPECT_EQ((*listed)[0].attempts, 1);
}

// An edit that changes a callback's kind deletes its pending deliveries, even
// one whose send is in flight. The newest delivery's id is never given again
// (SQLite's own next rowid would be it), so that send's late outcome is not
// recorded on a delivery queued since, by ingest or by a service report.
TEST_P(CallbackStoreTest, AnIdOfADeletedDeliveryIsNotGivenAgain) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-k", type_)}).ok());
  Callback status = MakeCallback("cb-s", type_);
  status.callback_type = CallbackType::kService;
  status.subtype = CallbackSubtype::kStatus;
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{status}).ok());
  Ingest({Report(0x2C, 1, 10'000, "0A1B")});
  auto in_flight = Claim(30'000);
  ASSERT_EQ(in_flight.size(), 1u);
  const int64_t gone = in_flight[0].delivery.id;

  Callback edit = MakeCallback("cb-k", type_);
  edit.subtype = CallbackSubtype::kBidir;
  ASSERT_TRUE(store_->UpdateCallback(edit, false).ok());  // deletes the delivery in flight
  edit.subtype = CallbackSubtype::kUplink;
  ASSERT_TRUE(store_->UpdateCallback(edit, false).ok());

  // A service report's delivery (queued without an id of its own), then a
  // message's.
  IngestPolicy policy;
  policy.now = 1'000;
  ASSERT_TRUE(store_->IngestService(StatusReport(15'000, 12), policy).ok());
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  std::set<int64_t> ids;
  for (const DeliveryTask& t : Claim(60'000, 100, 1)) ids.insert(t.delivery.id);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_FALSE(ids.contains(gone));

  // The send in flight ends: what was queued since is still to be sent.
  DeliveryOutcome delivered;
  delivered.delivered = true;
  delivered.status = 200;
  delivered.now = 61'000;
  std::vector<DeliveryCompletion> late{{gone, delivered, "cb-k"}};
  ASSERT_TRUE(store_->CompleteDeliveries(late).ok());
  std::set<int64_t> still;
  for (const DeliveryTask& t : Claim(70'000)) still.insert(t.delivery.id);
  EXPECT_EQ(still, ids);
}

TEST_P(CallbackStoreTest, HandedOffDeliveriesAreStoredLeasedWithWhatTheySend) {
  Callback url = MakeCallback("cb-url", type_, /*send_duplicate=*/true);
  Callback batch = MakeCallback("cb-batch", type_);
  batch.channel = CallbackChannel::kBatchUrl;
  batch.line_pattern = "{device}";
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{url, batch}).ok());

  // A frame and a second station's report of it, in one batch.
  IngestHandoff handoff = IngestHandingOff(
      {Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 1, 10'500, "0A1C")}, /*limit=*/10);

  // The URL callback's two deliveries (the message, then the duplicate) are
  // handed off; the BATCH_URL one is left for the claimer.
  ASSERT_EQ(handoff.tasks.size(), 2u);
  EXPECT_EQ(handoff.others, 1u);
  std::set<int64_t> ids;
  for (const DeliveryTask& t : handoff.tasks) {
    EXPECT_NE(t.delivery.id, 0);
    ids.insert(t.delivery.id);
    EXPECT_EQ(t.callback, url);
    EXPECT_EQ(t.delivery.next_attempt, 61'000);
    EXPECT_EQ(t.lease_until, 61'000);  // its sender's token when the attempt is recorded
    EXPECT_EQ(t.message.device.value, 0x2Cu);
    EXPECT_EQ(t.message.rinfos.size(), 2u);  // as committed: both stations
  }
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_FALSE(handoff.tasks[0].delivery.duplicate);
  EXPECT_TRUE(handoff.tasks[1].delivery.duplicate);
  EXPECT_EQ(handoff.tasks[1].delivery.station, "0A1C");

  // Leased: only the batch delivery can be claimed now; the handed-off ones
  // come due when their lease ends (the instance that had them is gone).
  constexpr int64_t kLong = 1'000'000;  // the claims below outlast the test
  auto now = Claim(2'000, 100, kLong);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].callback.id, "cb-batch");
  EXPECT_TRUE(Claim(60'999).empty());
  auto later = Claim(61'000, 100, kLong);
  ASSERT_EQ(later.size(), 2u);
  for (const DeliveryTask& t : later) EXPECT_TRUE(ids.count(t.delivery.id)) << t.delivery.id;

  // Made due again at once (a dispatcher whose queue was full).
  ASSERT_TRUE(store_->DeferDeliveries(std::vector<int64_t>(ids.begin(), ids.end()), 70'000).ok());
  EXPECT_EQ(Claim(70'000, 100, kLong).size(), 2u);

  // Ids given by the hand-off and ids the store gives itself never meet.
  Ingest({Report(0x2C, 2, 20'000, "0A1B")});
  auto fresh = Claim(100'000);
  ASSERT_EQ(fresh.size(), 2u);
  for (const DeliveryTask& t : fresh) EXPECT_FALSE(ids.count(t.delivery.id)) << t.delivery.id;
}

// A delivery handed to a sender at ingest is in flight from the start, as one
// a claim leased: deleting its callback leaves it to its send, whose outcome
// is recorded on it (it used to be deleted as never attempted, the attempt
// then recorded nowhere).
TEST_P(CallbackStoreTest, AHandedOffDeliveryIsLeftToItsSendWhenItsCallbackIsDeleted) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-url", type_)}).ok());
  IngestHandoff handoff = IngestHandingOff({Report(0x2C, 1, 10'000, "0A1B")}, /*limit=*/10);
  ASSERT_EQ(handoff.tasks.size(), 1u);
  const int64_t id = handoff.tasks[0].delivery.id;
  ASSERT_TRUE(store_->DeleteCallback("cb-url", 2'000).ok());
  std::vector<MessageCursor> frame{{10'000, 0x2C, 1}};
  auto kept = store_->ListMessageDeliveries(frame);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->size(), 1u) << "the delivery in flight was deleted";
  DeliveryOutcome sent;
  sent.delivered = true;
  sent.status = 200;
  sent.now = 2'500;
  ASSERT_TRUE(store_->CompleteDelivery(id, sent).ok());
  auto recorded = store_->ListMessageDeliveries(frame);
  ASSERT_TRUE(recorded.ok() && recorded->size() == 1u);
  EXPECT_EQ(recorded->at(0).state, DeliveryState::kDone);
  EXPECT_EQ(recorded->at(0).attempts, 1);
}

// Should a type's downlinkHook move to a callback between the ingest that
// handed one of its deliveries to a sender and the downlink arbiter's call,
// the arbiter may not claim that delivery: it would go out twice.
TEST_P(CallbackStoreTest, TheDownlinkArbiterNeverClaimsAHandedOffDelivery) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-url", type_)}).ok());
  IngestHandoff handoff = IngestHandingOff({Report(0x2C, 1, 10'000, "0A1B")}, /*limit=*/10);
  ASSERT_EQ(handoff.tasks.size(), 1u);
  auto claimed = store_->ClaimHookDelivery(handoff.tasks[0].delivery.id, 2'000, 7'000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  EXPECT_EQ(*claimed, Store::HookClaim::kDispatchers)
      << "the arbiter claimed a delivery handed to a sender";
}

TEST_P(CallbackStoreTest, TheHandOffTakesNoMoreThanItsLimit) {
  ASSERT_TRUE(store_->CreateCallbacks(std::vector<Callback>{MakeCallback("cb-url", type_)}).ok());
  IngestHandoff handoff = IngestHandingOff(
      {Report(0x2C, 1, 10'000, "0A1B"), Report(0x2C, 2, 20'000, "0A1B")}, /*limit=*/1);
  ASSERT_EQ(handoff.tasks.size(), 1u);
  EXPECT_EQ(handoff.tasks[0].message.seq_number, 1);
  EXPECT_EQ(handoff.others, 1u);
  auto claimed = Claim(2'000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].message.seq_number, 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, CallbackStoreTest, ::testing::Values("sqlite", "postgresql"),
                         EngineName);

}  // namespace
}  // namespace roost::storage
