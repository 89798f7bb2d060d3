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
#include <string_view>
#include <thread>
#include <vector>

#include "model/object_id.h"

namespace roost::jobs {
namespace {

// A fresh SQLite store with one group, for jobs to belong to.
class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roost-worker-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = storage::OpenSqliteStore(dir_).value();
    group_.id = NewObjectId();
    group_.name = "root";
    ASSERT_TRUE(store_->CreateGroup(group_).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Stores a job of `kind` over `items`, in chunks of `chunk_size`.
  Job StartJob(std::string_view kind, const std::vector<std::string>& items, int64_t chunk_size) {
    Job job;
    job.id = NewObjectId();
    job.kind = std::string(kind);
    job.group = group_.id;
    job.total = static_cast<int64_t>(items.size());
    EXPECT_TRUE(store_->CreateJob(job, items, chunk_size).ok());
    return job;
  }

  // Waits up to 10 s for the job to be done; its status then.
  JobStatus WaitDone(const Job& job) {
    for (int i = 0; i < 1000 && !store_->GetJobStatus(job.id).value().done; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return store_->GetJobStatus(job.id).value();
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  Group group_;
};

TEST_F(WorkerTest, RunsEveryChunkAndCountsThem) {
  const Job job = StartJob("test.count", {"a", "b", "c", "d", "e"}, 2);
  Runner runner(*store_, [] { return EpochMillis{1'700'000'000'000}; });
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
  const JobStatus status = WaitDone(job);
  worker.Stop();
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.success, 5);
  EXPECT_EQ(chunks.Value(), 3u);
}

// Several threads: every chunk runs exactly once, and more than one thread takes
// chunks (a chunk takes long enough that one thread cannot take them all).
TEST_F(WorkerTest, ThreadsShareTheChunksAndRunEachOnce) {
  std::vector<std::string> items;
  for (int i = 0; i < 16; ++i) items.push_back("item-" + std::to_string(i));
  const Job job = StartJob("test.slow", items, 2);
  std::mutex mu;
  std::multiset<std::string> seen;
  std::set<std::thread::id> threads;
  Runner runner(*store_, [] { return EpochMillis{1'700'000'000'000}; });
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
  const JobStatus status = WaitDone(job);
  worker.Stop();
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.success, 16);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, std::multiset<std::string>(items.begin(), items.end()));
  EXPECT_GE(threads.size(), 2u);
}

}  // namespace
}  // namespace roost::jobs
