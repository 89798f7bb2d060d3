// The worker thread on a real SQLite store: it runs every chunk and counts them.
#include "jobs/worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "model/object_id.h"

namespace roost::jobs {
namespace {

TEST(WorkerTest, RunsEveryChunkAndCountsThem) {
  char tmpl[] = "/tmp/roost-worker-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    auto store = storage::OpenSqliteStore(dir).value();
    Group g;
    g.id = NewObjectId();
    g.name = "root";
    ASSERT_TRUE(store->CreateGroup(g).ok());
    Job job;
    job.id = NewObjectId();
    job.kind = "test.count";
    job.group = g.id;
    job.total = 5;
    std::vector<std::string> items = {"a", "b", "c", "d", "e"};
    ASSERT_TRUE(store->CreateJob(job, items, 2).ok());

    Runner runner(*store, [] { return EpochMillis{1'700'000'000'000}; });
    ASSERT_TRUE(runner
                    .AddHandler("test.count",
                                [](const storage::JobClaim&) { return storage::ChunkOutcome{}; })
                    .ok());
    observe::MetricsRegistry metrics;
    observe::Counter& chunks = metrics.AddCounter("chunks_total", "chunks").value()->Get();
    WorkerOptions opts;
    opts.name = "worker-test";
    opts.chunks = &chunks;
    Worker worker(runner, opts);
    for (int i = 0; i < 500 && !store->GetJobStatus(job.id).value().done; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    worker.Stop();
    JobStatus status = store->GetJobStatus(job.id).value();
    EXPECT_TRUE(status.done);
    EXPECT_EQ(status.success, 5);
    EXPECT_EQ(chunks.Value(), 3u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace roost::jobs
