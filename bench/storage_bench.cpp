// Storage benchmarks (spec targets: bulk registration of 200 000 devices on SQLite
// in <= 2 s, compared with the raw sqlite3 CLI inserting the same rows; device
// list pages at 1 M devices with p99 <= 20 ms).
//
//   bench/storage_bench                       full run (200 000 devices; 1 M for pages)
//   ROOST_BENCH_SMOKE=1 bench/storage_bench   quick check (20 000 devices, 50 000 for pages)
//   ROOST_BENCH_PAGE_DEVICES=N bench/storage_bench   pages at N devices
//   ROOST_BENCH_ENGINE=postgresql bench/storage_bench   the same on PostgreSQL (a throwaway
//       server, or the one named by $ROOST_TEST_PG_STATE; BM_Sqlite3Cli is skipped)
//
// Google Benchmark cases (one iteration each for the one-shot inserts):
//   BM_InsertDevices      Store::InsertDevices, the whole batch in one transaction
//   BM_BulkJob            the storage side of a bulk job: CreateJob with the items, then
//                         ClaimChunk + CompleteChunk (inserting the devices) per 1000
//   BM_Sqlite3Cli         `sqlite3 FILE < x.sql`: the same rows, one transaction, same schema
//   BM_Page/<filter>/<position>   one ListDevices page of 1000 at 1 M devices
// followed by summary lines: both insert times and their ratio, and p50/p99 of the pages.
#include <benchmark/benchmark.h>

#include "bench_support.h"
#include "store_bench_support.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "storage/store.h"
#include "storage/testing/pg_fixture.h"

namespace {

using namespace roost;
using namespace roost::storage;
namespace fs = std::filesystem;

bool Smoke() {
  return roost::bench::SmokeMode();
}
size_t InsertCount() {
  return Smoke() ? 20000 : 200000;
}
// $ROOST_BENCH_PAGE_DEVICES overrides the size of the page database.
size_t PageDbCount() {
  if (const char* n = std::getenv("ROOST_BENCH_PAGE_DEVICES")) return std::stoul(n);
  return Smoke() ? 50000 : 1000000;
}

using bench::Die;
using bench::Hex24;

// A store with a root group, two subgroups and one device type in each.
struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  std::vector<DeviceType> types;
  std::vector<Group> groups;

  Fixture() : dir(bench::TempDir("roost-storage-bench")) {
    auto s = bench::OpenBenchStore(dir, "bench");
    if (!s.ok()) Die("open", s.status());
    store = std::move(*s);
    for (int g = 0; g < 3; ++g) {
      Group group;
      group.id = Hex24(g + 1);
      group.name = "g" + std::to_string(g);
      group.parent = g == 0 ? "" : Hex24(1);
      auto r = store->CreateGroup(group);
      if (!r.ok()) Die("group", r.status());
      groups.push_back(*r);
      DeviceType t;
      t.id = Hex24(0x100 + g);
      t.name = "t" + std::to_string(g);
      t.group = group.id;
      Status st = store->CreateDeviceType(t);
      if (!st.ok()) Die("type", st);
      types.push_back(t);
    }
  }
  ~Fixture() {
    store.reset();
    fs::remove_all(dir);
  }
};

// The devices of a bulk registration: 8-digit IDs, "test-device-" names, fresh PACs.
std::vector<Device> MakeDevices(size_t n, const std::vector<DeviceType>& types) {
  std::vector<Device> out(n);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < n; ++i) {
    Device& d = out[i];
    d.id.value = static_cast<uint32_t>(0x10000000u + i * 7u);
    d.name = "test-device-" + d.id.ToFile();
    const DeviceType& t = types[i % types.size()];
    d.type = t.id;
    d.group = t.group;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char pac[17];
    std::snprintf(pac, sizeof pac, "%016llX", static_cast<unsigned long long>(x));
    d.pac = pac;
    d.product_certificate = "P_0004_D356_03";
    d.creation_time = 1700000000000;
  }
  return out;
}

std::map<std::string, double> g_seconds;

void BM_InsertDevices(benchmark::State& state) {
  for (auto _ : state) {
    Fixture f;
    auto devices = MakeDevices(InsertCount(), f.types);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = f.store->InsertDevices(devices);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok()) Die("insert", r.status());
    if (r->inserted != static_cast<int64_t>(devices.size())) {
      Die("insert", Status::Internal("not every device was inserted"));
    }
    g_seconds["insert"] = s;
    state.SetIterationTime(s);
  }
  state.counters["devices"] = static_cast<double>(InsertCount());
}
BENCHMARK(BM_InsertDevices)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_BulkJob(benchmark::State& state) {
  for (auto _ : state) {
    Fixture f;
    auto devices = MakeDevices(InsertCount(), f.types);
    std::vector<std::string> items;
    items.reserve(devices.size());
    for (const auto& d : devices) items.push_back(d.id.ToFile() + ";" + d.pac);
    const auto t0 = std::chrono::steady_clock::now();
    Job job;
    job.id = Hex24(0x7000);
    job.kind = "devices.bulk_create";
    job.group = f.groups[0].id;
    Status st = f.store->CreateJob(job, items, 1000);
    if (!st.ok()) Die("create job", st);
    for (;;) {
      auto c = f.store->ClaimChunk("bench", 1, 60000);
      if (!c.ok()) Die("claim", c.status());
      if (!c->has_value()) break;
      ChunkOutcome out;
      const auto first = static_cast<size_t>((*c)->first_item);
      out.insert.assign(devices.begin() + static_cast<std::ptrdiff_t>(first),
                        devices.begin() + static_cast<std::ptrdiff_t>(first + (*c)->items.size()));
      st = f.store->CompleteChunk(**c, out);
      if (!st.ok()) Die("complete", st);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto status = f.store->GetJobStatus(job.id);
    if (!status.ok() || !status->done || status->success != static_cast<int64_t>(devices.size())) {
      Die("bulk job", Status::Internal("job not complete"));
    }
    g_seconds["job"] = s;
    state.SetIterationTime(s);
  }
}
BENCHMARK(BM_BulkJob)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

std::string SqlText(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

void BM_Sqlite3Cli(benchmark::State& state) {
  if (bench::OnPostgres()) {
    state.SkipWithError("SQLite only");
    return;
  }
  for (auto _ : state) {
    Fixture f;  // the same schema, created by the store's migrations
    auto devices = MakeDevices(InsertCount(), f.types);
    f.store.reset();
    const std::string sql_file = f.dir + "/insert.sql";
    {
      std::ofstream out(sql_file);
      out << "PRAGMA foreign_keys=ON;\nPRAGMA synchronous=NORMAL;\nBEGIN;\n";
      for (const auto& d : devices) {
        // Columns named: later migrations add columns with defaults.
        out << "INSERT INTO devices (id, name, type_id, group_id, pac, product_certificate, lat, "
               "lng, activation_time, state, token_renew_forbidden, last_time, average_snr, "
               "average_rssi, sequence_number, creation_time, dev_eui, join_eui, provision_id, "
               "serial_number, model) VALUES ("
            << d.id.value << "," << SqlText(d.name) << "," << SqlText(d.type) << ","
            << SqlText(d.group) << "," << SqlText(d.pac) << "," << SqlText(d.product_certificate)
            << ",NULL,NULL,NULL,0,0,NULL,NULL,NULL,NULL," << d.creation_time
            << ",'','','','','');\n";
      }
      out << "COMMIT;\n";
    }
    const std::string cmd = "sqlite3 '" + f.dir + "/roost.db' < '" + sql_file + "'";
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = std::system(cmd.c_str());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) Die("sqlite3 CLI", Status::IoError("exit status " + std::to_string(rc)));
    g_seconds["sqlite3"] = s;
    state.SetIterationTime(s);
  }
}
BENCHMARK(BM_Sqlite3Cli)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// --- pages at 1 M devices -------------------------------------------------

struct PageDb {
  Fixture f;
  std::vector<uint32_t> ids;  // sorted
  PageDb() {
    auto devices = MakeDevices(PageDbCount(), f.types);
    auto r = f.store->InsertDevices(devices);
    if (!r.ok()) Die("insert", r.status());
    for (const auto& d : devices) ids.push_back(d.id.value);
    std::sort(ids.begin(), ids.end());
  }
};
PageDb& Db() {
  static PageDb db;
  return db;
}

DeviceQuery PageQuery(int filter, int position) {
  PageDb& db = Db();
  DeviceQuery q;
  q.limit = kMaxPageSize;
  if (filter == 1) q.group_subtree = db.f.groups[0].id;  // root: the whole tree
  if (filter == 2) q.group_subtree = db.f.groups[2].id;  // a third of the devices
  if (filter == 3) q.type = db.f.types[1].id;
  const size_t n = db.ids.size();
  const size_t at = position == 0 ? 0 : position == 1 ? n / 2 : n - 500;
  if (at > 0) q.after = db.ids[at - 1];
  return q;
}

const char* const kFilters[] = {"all", "subtree_root", "subtree_leaf", "type"};
const char* const kPositions[] = {"first", "middle", "last"};

void BM_Page(benchmark::State& state) {
  const DeviceQuery q =
      PageQuery(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    auto page = Db().f.store->ListDevices(q);
    if (!page.ok()) Die("list", page.status());
    benchmark::DoNotOptimize(page->devices.data());
  }
  state.SetLabel(std::string(kFilters[state.range(0)]) + "/" + kPositions[state.range(1)]);
}
BENCHMARK(BM_Page)->ArgsProduct({{0, 1, 2, 3}, {0, 1, 2}})->Unit(benchmark::kMillisecond);

void PrintPagePercentiles() {
  const int samples = Smoke() ? 20 : 200;
  std::printf("storage pages: %zu devices, page size %d, %d samples each\n", Db().ids.size(),
              kMaxPageSize, samples);
  double worst_p99 = 0;
  for (int f = 0; f < 4; ++f) {
    for (int p = 0; p < 3; ++p) {
      const DeviceQuery q = PageQuery(f, p);
      std::vector<double> ms;
      size_t rows = 0;
      for (int i = 0; i < samples; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto page = Db().f.store->ListDevices(q);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        if (!page.ok()) Die("list", page.status());
        rows = page->devices.size();
      }
      std::sort(ms.begin(), ms.end());
      const double p50 = ms[ms.size() / 2];
      const double p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
      worst_p99 = std::max(worst_p99, p99);
      std::printf("  %-13s %-6s rows=%4zu p50=%6.2f ms p99=%6.2f ms\n", kFilters[f], kPositions[p],
                  rows, p50, p99);
    }
  }
  std::printf("storage pages summary: worst p99=%.2f ms (target <= 20 ms)\n", worst_p99);
}

}  // namespace

int main(int argc, char** argv) {
  // Smoke: pages get a few iterations each.
  if (!roost::bench::InitBenchmarks(argc, argv, "0.01")) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (bench::OnPostgres() && g_seconds.count("insert")) {
    std::printf(
        "storage insert summary (postgresql): devices=%zu store_batch=%.3f s bulk_job=%.3f s\n",
        InsertCount(), g_seconds["insert"], g_seconds["job"]);
  }
  if (g_seconds.count("insert") && g_seconds.count("sqlite3")) {
    const double n = static_cast<double>(InsertCount());
    std::printf(
        "storage insert summary: devices=%zu store_batch=%.3f s (%.0f/s) bulk_job=%.3f s "
        "sqlite3_cli=%.3f s (%.0f/s) ratio_batch_vs_cli=%.2f ratio_job_vs_cli=%.2f "
        "(target: job <= 2 s)\n",
        InsertCount(), g_seconds["insert"], n / g_seconds["insert"], g_seconds["job"],
        g_seconds["sqlite3"], n / g_seconds["sqlite3"], g_seconds["sqlite3"] / g_seconds["insert"],
        g_seconds["sqlite3"] / g_seconds["job"]);
  }
  PrintPagePercentiles();
  return 0;
}
