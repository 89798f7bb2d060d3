// The job runner on a real SQLite store: dispatch by kind, unknown kinds, the
// outcome recorded, and a lost lease that records nothing.
#include "jobs/runner.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/object_id.h"

namespace roost::jobs {
namespace {

namespace fs = std::filesystem;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roost-jobs-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = storage::OpenSqliteStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    Group g;
    g.id = NewObjectId();
    g.name = "root";
    ASSERT_TRUE(store_->CreateGroup(g).ok());
    group_ = g.id;
    runner_ = std::make_unique<Runner>(*store_, [this] { return now_; });
  }
  void TearDown() override {
    runner_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // A job of `kind` with `items`, two items per chunk.
  std::string StartJob(const std::string& kind, const std::vector<std::string>& items) {
    Job job;
    job.id = NewObjectId();
    job.kind = kind;
    job.group = group_;
    job.total = static_cast<int64_t>(items.size());
    job.creation_time = now_;
    EXPECT_TRUE(store_->CreateJob(job, items, 2).ok());
    return job.id;
  }
  JobStatus Status(const std::string& job_id) { return store_->GetJobStatus(job_id).value(); }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::string group_;
  EpochMillis now_ = 1'700'000'000'000;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, NoWork) {
  auto worked = runner_->RunOneChunk("w");
  ASSERT_TRUE(worked.ok()) << worked.status().message();
  EXPECT_FALSE(*worked);
}

TEST_F(RunnerTest, HandlerOfTheKindRunsAndItsOutcomeIsRecorded) {
  std::vector<std::string> seen;
  ASSERT_TRUE(runner_
                  ->AddHandler("test.echo",
                               [&](const storage::JobClaim& claim) {
                                 storage::ChunkOutcome outcome;
                                 for (const auto& item : claim.items) {
                                   seen.push_back(item);
                                   if (item == "bad") outcome.failed.push_back({item, "refused"});
                                 }
                                 return outcome;
                               })
                  .ok());
  std::string job = StartJob("test.echo", {"a", "bad", "c"});
  EXPECT_TRUE(runner_->RunOneChunk("w").value());
  EXPECT_FALSE(Status(job).done);
  EXPECT_TRUE(runner_->RunOneChunk("w").value());
  EXPECT_FALSE(runner_->RunOneChunk("w").value());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "bad", "c"}));
  JobStatus status = Status(job);
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.total, 3);
  EXPECT_EQ(status.success, 2);
  EXPECT_EQ(status.failed, (std::vector<JobFailure>{{"bad", "refused"}}));
}

TEST_F(RunnerTest, SecondHandlerForAKindIsRefused) {
  auto none = [](const storage::JobClaim&) { return storage::ChunkOutcome{}; };
  ASSERT_TRUE(runner_->AddHandler("test.kind", none).ok());
  EXPECT_EQ(runner_->AddHandler("test.kind", none).code(), Status::Code::kAlreadyExists);
}

TEST_F(RunnerTest, UnknownKindFailsEveryItem) {
  std::string job = StartJob("test.nobody", {"x", "y", "z"});
  while (runner_->RunOneChunk("w").value()) {
  }
  JobStatus status = Status(job);
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.success, 0);
  EXPECT_EQ(status.failed, (std::vector<JobFailure>{{"x", "unknown job kind test.nobody"},
                                                    {"y", "unknown job kind test.nobody"},
                                                    {"z", "unknown job kind test.nobody"}}));
}

TEST_F(RunnerTest, LostLeaseWritesNothing) {
  // While this worker processes its chunk, the lease runs out and another
  // instance claims the same chunk: the late outcome must not be recorded.
  std::optional<storage::JobClaim> stolen;
  ASSERT_TRUE(runner_
                  ->AddHandler("test.slow",
                               [&](const storage::JobClaim&) {
                                 auto other = store_->ClaimChunk("other", now_ + 10'000, 1000);
                                 EXPECT_TRUE(other.ok() && other->has_value());
                                 if (other.ok()) stolen = *other;
                                 storage::ChunkOutcome outcome;
                                 outcome.failed.push_back({"a", "late"});
                                 return outcome;
                               })
                  .ok());
  std::string job = StartJob("test.slow", {"a", "b"});
  auto worked = runner_->RunOneChunk("w", 1000);
  ASSERT_TRUE(worked.ok()) << worked.status().message();
  EXPECT_TRUE(*worked);
  JobStatus status = Status(job);
  EXPECT_EQ(status.processed, 0);
  EXPECT_TRUE(status.failed.empty());
  ASSERT_TRUE(stolen.has_value());
  ASSERT_TRUE(store_->CompleteChunk(*stolen, {}).ok());
  status = Status(job);
  EXPECT_TRUE(status.done);
  EXPECT_EQ(status.success, 2);
}

}  // namespace
}  // namespace roost::jobs
