// Bulk registration through the registry service on SQLite: StartBulkCreate
// (validation + job with its items stored) and the chunks run to jobDone, for
// N devices whose credentials were imported beforehand (not timed).
//
//   build/bench/bulk_register_bench            200 000 devices (the spec's bulk target: <= 2 s)
//   ROOST_BENCH_SMOKE=1 ...                     2 000 devices, one iteration
//
// The HTTP layer (JSON parse of the ~9 MB body) comes on top of this figure;
// the raw-sqlite3 baseline is in bench/run_bulk_register_bench.sh.
#include <benchmark/benchmark.h>

#include "bench_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "model/object_id.h"
#include "registry/devices.h"

namespace {

using namespace roost;

int64_t DeviceCount() {
  return bench::SmokeMode() ? 2000 : 200000;
}

void BM_BulkCreateToJobDone(benchmark::State& state) {
  const int64_t n = DeviceCount();
  for (auto _ : state) {
    state.PauseTiming();
    char tmpl[] = "/tmp/roost-bulk-bench-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto store = storage::OpenSqliteStore(dir).value();
    EpochMillis now = 1700000000000;
    registry::DeviceRegistry reg(*store, [&] { return ++now; });
    Group root;
    root.id = NewObjectId();
    root.name = "root";
    (void)store->CreateGroup(root);
    DeviceType type;
    type.id = NewObjectId();
    type.name = "bench";
    type.group = root.id;
    (void)store->CreateDeviceType(type);
    std::vector<Credential> creds;
    registry::BulkCreateRequest bulk;
    bulk.type = type.id;
    bulk.prefix = "bench-";
    bulk.product_certificate = "P_0004_D356_03";
    for (int64_t i = 0; i < n; ++i) {
      SigfoxId id{static_cast<uint32_t>(0x10000000 + i)};
      std::string pac = registry::DeviceRegistry::NewPac();
      creds.push_back({id, std::vector<uint8_t>(45, 7), pac, now});
      bulk.ids.push_back({id.ToApi(), pac});
    }
    if (!store->UpsertCredentials(creds).ok()) state.SkipWithError("credential import failed");
    state.ResumeTiming();

    auto job = reg.StartBulkCreate(root.id, bulk);
    if (!job.ok()) state.SkipWithError(job.status().message().c_str());
    while (reg.RunOneChunk("bench").value()) {
    }

    state.PauseTiming();
    auto status = reg.BulkStatus(root.id, job->id).value();
    if (!status.done || status.success != n)
      state.SkipWithError("job did not register every device");
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["devices"] = static_cast<double>(n);
  state.counters["devices_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BulkCreateToJobDone)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
