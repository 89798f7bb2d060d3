// The store's half of uplink ingest, without HTTP: Store::IngestUplinks with the
// reports of many devices, as the ingest writer commits them. It tells what a
// change of the schema or of the ingest transaction costs or saves per message
// (the HTTP benchmark, bench/run_ingest_bench.py, measures the whole path and
// gives the targets' figures beside their baselines; on a shared machine its
// spread hides changes of a few per cent).
//
//   bench/ingest_store_bench                      20 000 devices, 200 000 messages per case
//   ROOST_BENCH_SMOKE=1 bench/ingest_store_bench  quick check (2 000 devices, 10 000 messages)
//   ROOST_BENCH_ENGINE=postgresql bench/ingest_store_bench   the same on PostgreSQL (a
//       throwaway server, or the one named by $ROOST_TEST_PG_STATE)
//
// Cases: BM_IngestUplinks/<reports per transaction>: 40 (what one report per
// request commits together under load) and 500 (a batch). The devices' type has
// one URL callback, so each message also queues a delivery. Every report is a
// new frame (each device's sequence number goes up by one per report), and each
// case checks that every one was accepted.
// Baseline (SQLite only): BM_MessageRowsOnly/500, the same message rows (same
// values, sizes and keys) written with one prepared INSERT into the same store's
// messages table, 500 per transaction, through SQLite's own API: what ingest
// would cost if nothing but the message row were written (no device update,
// statistics or delivery, no decisions). Each line's items_per_second is the
// figure; the ratio of the two 500 lines is ingest's share of that floor.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include "bench_support.h"
#include "store_bench_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/store.h"

namespace {

using namespace roost;
using namespace roost::storage;
namespace fs = std::filesystem;

bool Smoke() {
  return roost::bench::SmokeMode();
}
size_t DeviceCount() {
  return Smoke() ? 2000 : 20000;
}
size_t MessagesPerCase() {
  return Smoke() ? 10000 : 200000;
}

using bench::Die;
using bench::Hex24;

// A fresh store with one group, a device type with a URL callback, a station
// and DeviceCount() devices.
struct Fleet {
  std::string dir;
  std::unique_ptr<Store> store;
  std::vector<uint32_t> devices;

  Fleet() {
    dir = bench::TempDir("roost-ingest-store-bench");
    auto s = bench::OpenBenchStore(dir, "ingest");
    if (!s.ok()) Die("open", s.status());
    store = std::move(*s);
    Group group;
    group.id = Hex24(1);
    group.name = "fleet";
    auto g = store->CreateGroup(group);
    if (!g.ok()) Die("group", g.status());
    DeviceType type;
    type.id = Hex24(0x100);
    type.name = "meters";
    type.group = group.id;
    if (Status st = store->CreateDeviceType(type); !st.ok()) Die("type", st);
    Callback cb;
    cb.id = Hex24(0x200);
    cb.type = type.id;
    cb.url = "http://127.0.0.1:9/{device}";
    cb.content_type = "application/json";
    cb.body_template = "{\"device\":\"{device}\",\"data\":\"{data}\"}";
    cb.creation_time = 1;
    if (Status st = store->CreateCallbacks(std::vector<Callback>{cb}); !st.ok())
      Die("callback", st);
    if (Status st = store->CreateStation(Station{"0A1B", "roof", group.id, 43.6, 1.44, 1});
        !st.ok()) {
      Die("station", st);
    }
    std::vector<Device> fleet(DeviceCount());
    for (size_t i = 0; i < fleet.size(); ++i) {
      Device& d = fleet[i];
      d.id.value = static_cast<uint32_t>(0x10000000u + i * 7u);
      d.name = "meter-" + d.id.ToFile();
      d.type = type.id;
      d.group = group.id;
      char pac[17];
      std::snprintf(pac, sizeof pac, "%016llX",
                    static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ull));
      d.pac = pac;
      d.creation_time = 1;
      devices.push_back(d.id.value);
    }
    auto inserted = store->InsertDevices(fleet);
    if (!inserted.ok()) Die("devices", inserted.status());
  }
  ~Fleet() {
    store.reset();
    fs::remove_all(dir);
  }
};

void BM_IngestUplinks(benchmark::State& state) {
  const size_t per_transaction = static_cast<size_t>(state.range(0));
  Fleet fleet;
  size_t next = 0;  // reports made so far; report k is device k % n's frame k / n + 1
  size_t accepted = 0;
  std::vector<UplinkReport> reports(per_transaction);
  IngestPolicy policy;
  policy.dedup_window_ms = 30'000;
  for (auto _ : state) {
    state.PauseTiming();
    for (UplinkReport& r : reports) {
      const size_t n = fleet.devices.size();
      r.device.value = fleet.devices[next % n];
      r.seq_number = static_cast<int64_t>((next / n + 1) % 4096);
      r.time = 1'800'000'000'000 + static_cast<EpochMillis>(next) * 5;
      r.data = "0a1b2c3d4e5f";
      r.station = "0A1B";
      r.rssi = -120.5;
      r.snr = 12.25;
      r.freq = 868'130'000;
      ++next;
    }
    policy.now = reports.back().time;
    state.ResumeTiming();
    auto decided = fleet.store->IngestUplinks(reports, policy);
    if (!decided.ok()) Die("ingest", decided.status());
    for (const IngestDecision& d : *decided) accepted += d.result == IngestResult::kAccepted;
  }
  if (accepted != next) {
    Die("ingest", Status::Internal(std::to_string(next - accepted) + " of " + std::to_string(next) +
                                   " reports were not accepted"));
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));
  state.counters["devices"] = static_cast<double>(fleet.devices.size());
}
BENCHMARK(BM_IngestUplinks)
    ->Arg(40)
    ->Iterations(static_cast<benchmark::IterationCount>(MessagesPerCase() / 40))
    ->UseRealTime()  // PostgreSQL's work is in its own processes
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IngestUplinks)
    ->Arg(500)
    ->Iterations(static_cast<benchmark::IterationCount>(MessagesPerCase() / 500))
    ->UseRealTime()  // PostgreSQL's work is in its own processes
    ->Unit(benchmark::kMillisecond);

void BM_MessageRowsOnly(benchmark::State& state) {
  if (bench::OnPostgres()) {
    state.SkipWithError("SQLite only: the baseline of SQLite's batched-ingest target");
    return;
  }
  const size_t per_transaction = static_cast<size_t>(state.range(0));
  Fleet fleet;
  sqlite3* db = nullptr;
  const std::string file = (fs::path(fleet.dir) / "roost.db").string();
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Die("open", Status::IoError(sqlite3_errmsg(db)));
  }
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Die("sqlite", Status::Internal(std::string(sql) + ": " + sqlite3_errmsg(db)));
    }
  };
  // As the store configures its connections (WAL, commits without fsync).
  exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32000");
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v3(db,
                         "INSERT INTO messages (device_id, time, seq_number, type_id, group_id, "
                         "data, decoded, rinfos, nb_frames, ack, location_lat, location_lng, "
                         "location_radius, link_quality, undecoded) VALUES "
                         "(?, ?, ?, ?, ?, ?, '', ?, 1, 0, NULL, NULL, NULL, ?, '')",
                         -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr) != SQLITE_OK) {
    Die("prepare", Status::Internal(sqlite3_errmsg(db)));
  }
  // What ingest stores for the benchmark's reports: one station, its position.
  const std::string rinfos =
      "[{\"station\":\"0A1B\",\"rssi\":-120.5,\"snr\":12.25,\"freq\":868130000,"
      "\"lat\":43.6,\"lng\":1.44,\"delay\":0}]";
  const std::string type = Hex24(0x100), group = Hex24(1);
  size_t next = 0;
  for (auto _ : state) {
    exec("BEGIN");
    for (size_t i = 0; i < per_transaction; ++i, ++next) {
      const size_t n = fleet.devices.size();
      sqlite3_bind_int64(insert, 1, fleet.devices[next % n]);
      sqlite3_bind_int64(insert, 2, 1'800'000'000'000 + static_cast<int64_t>(next) * 5);
      sqlite3_bind_int64(insert, 3, static_cast<int64_t>((next / n + 1) % 4096));
      sqlite3_bind_text(insert, 4, type.data(), static_cast<int>(type.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 5, group.data(), static_cast<int>(group.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 6, "0a1b2c3d4e5f", 12, SQLITE_STATIC);
      sqlite3_bind_text(insert, 7, rinfos.data(), static_cast<int>(rinfos.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 8, 0);
      if (sqlite3_step(insert) != SQLITE_DONE) Die("insert", Status::Internal(sqlite3_errmsg(db)));
      sqlite3_reset(insert);
    }
    exec("COMMIT");
  }
  sqlite3_finalize(insert);
  sqlite3_int64 rows = 0;
  sqlite3_stmt* count = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM messages", -1, &count, nullptr) == SQLITE_OK &&
      sqlite3_step(count) == SQLITE_ROW) {
    rows = sqlite3_column_int64(count, 0);
  }
  sqlite3_finalize(count);
  sqlite3_close_v2(db);
  if (static_cast<size_t>(rows) != next) {
    Die("insert",
        Status::Internal(std::to_string(rows) + " rows stored of " + std::to_string(next)));
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));
}
BENCHMARK(BM_MessageRowsOnly)
    ->Arg(500)
    ->Iterations(static_cast<benchmark::IterationCount>(MessagesPerCase() / 500))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
