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
#include <benchmark/benchmark.h>

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

}  // namespace

BENCHMARK_MAIN();
