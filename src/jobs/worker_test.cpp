// The worker thread on a real SQLite store: it runs every chunk and counts them.
#include "jobs/worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
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

// Several threads: every chunk runs exactly once, and more than one thread takes
// chunks (a chunk takes long enough that one thread cannot take them all).
TEST(WorkerTest, ThreadsShareTheChunksAndRunEachOnce) {
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
    job.kind = "test.slow";
    job.group = g.id;
    std::vector<std::string> items;
    for (int i = 0; i < 16; ++i) items.push_back("item-" + std::to_string(i));
    job.total = static_cast<int64_t>(items.size());
    ASSERT_TRUE(store->CreateJob(job, items, 2).ok());

    std::mutex mu;
    std::multiset<std::string> seen;
    std::set<std::thread::id> threads;
    Runner runner(*store, [] { return EpochMillis{1'700'000'000'000}; });
    ASSERT_TRUE(runner
                    .AddHandler("test.slow",
                                [&](const storage::JobClaim& claim) {
                                  std::this_thread::sleep_for(std::chrono::milliseconds(40));
                                  std::lock_guard lock(mu);
                                  threads.insert(std::this_thread::get_id());
                                  seen.insert(claim.items.begin(), claim.items.end());
                                  return storage::ChunkOutcome{};
                                })
                    .ok());
    WorkerOptions opts;
    opts.name = "worker-test";
    opts.threads = 3;
    Worker worker(runner, opts);
    for (int i = 0; i < 1000 && !store->GetJobStatus(job.id).value().done; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    worker.Stop();
    JobStatus status = store->GetJobStatus(job.id).value();
    EXPECT_TRUE(status.done);
    EXPECT_EQ(status.success, 16);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen, std::multiset<std::string>(items.begin(), items.end()));
    EXPECT_GE(threads.size(), 2u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace roost::jobs
