// Jobs: a persisted work queue. A job's items are stored in chunks that workers
// lease (ClaimChunk) and complete with their outcome (CompleteChunk); a lease
// that runs out lets another worker take the chunk over.
#include <algorithm>

#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

using namespace internal;

Status SqlStore::CreateJob(const Job& job, std::span<const std::string> items, int64_t chunk_size) {
  if (chunk_size < 1) return Status::InvalidInput("job chunk size must be at least 1");
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("create job"));
  const auto total = static_cast<int64_t>(items.size());
  const int64_t chunks = (total + chunk_size - 1) / chunk_size;
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO jobs (id, kind, group_id, params, total, processed, success, "
                    "chunks_left, creation_time) VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7)",
                    "create job");
    q.Bind(1, job.id).Bind(2, job.kind).Bind(3, job.group).Bind(4, job.params);
    q.Bind(5, total).Bind(6, chunks).Bind(7, job.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  ROOST_SQL_QUERY(q, c,
                  "INSERT INTO job_chunks (job_id, chunk, first_item, items, state, job_created) "
                  "VALUES ($1, $2, $3, $4, 0, $5)",
                  "create job");
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t first = k * chunk_size;
    const int64_t n = std::min(chunk_size, total - first);
    q.Bind(1, job.id).Bind(2, k).Bind(3, first);
    q.BindBlob(4, PackItems(items.subspan(static_cast<size_t>(first), static_cast<size_t>(n))));
    q.Bind(5, job.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
    q.Reset();
  }
  return tx.Commit("create job");
}

Result<Job> SqlStore::GetJob(std::string_view id) {
  ROOST_SQL_LEASE(c);
  return GetJobOn(c, id);
}

Result<Job> SqlStore::GetJobOn(Connection& c, std::string_view id) {
  ROOST_SQL_QUERY(q, c,
                  "SELECT id, kind, group_id, params, total, creation_time FROM jobs WHERE id = $1",
                  "get job");
  q.Bind(1, id);
  return ReadOne(
      q,
      [](const Query& r) {
        Job j;
        j.id = r.Text(0);
        j.kind = r.Text(1);
        j.group = r.Text(2);
        j.params = r.Text(3);
        j.total = r.Int(4);
        j.creation_time = r.Int(5);
        return j;
      },
      "job " + std::string(id) + " not found");
}

Result<std::optional<JobClaim>> SqlStore::ClaimChunk(std::string_view worker, EpochMillis now,
                                                     int64_t lease_ms) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  // SQLite: BEGIN IMMEDIATE takes the write lock first, so no other claimer reads
  // the same chunk. PostgreSQL: the row lock of the sub-SELECT makes concurrent
  // claimers skip this chunk.
  ROOST_RETURN_IF_ERROR(tx.Begin("claim job chunk"));
  JobClaim claim;
  claim.token = NewLeaseToken(worker);
  claim.lease_until = now + lease_ms;
  std::string job_id, packed;
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE job_chunks SET state = 1, worker = $1, token = $2, lease_until = $3 "
                    "WHERE (job_id, chunk) = (SELECT job_id, chunk FROM job_chunks "
                    "WHERE state < 2 AND (state = 0 OR lease_until < $4) "
                    "ORDER BY job_created, job_id, chunk LIMIT 1" +
                        std::string(c.dialect().skip_locked) +
                        ") RETURNING job_id, chunk, first_item, items",
                    "claim job chunk");
    q.Bind(1, worker).Bind(2, claim.token).Bind(3, claim.lease_until).Bind(4, now);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<JobClaim>();
    job_id = q.Text(0);
    claim.chunk = q.Int(1);
    claim.first_item = q.Int(2);
    packed = q.Blob(3);
    ROOST_RETURN_IF_ERROR(q.Run());  // to the end of the statement
  }
  auto job = GetJobOn(c, job_id);
  if (!job.ok()) return job.status();
  claim.job = std::move(*job);
  auto items = UnpackItems(packed);
  if (!items.ok()) return items.status();
  claim.items = std::move(*items);
  ROOST_RETURN_IF_ERROR(tx.Commit("claim job chunk"));
  return std::optional<JobClaim>(std::move(claim));
}

Status SqlStore::CompleteChunk(const JobClaim& claim, const ChunkOutcome& outcome) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("complete job chunk"));
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE job_chunks SET state = 2, token = NULL, items = $4 "
                    "WHERE job_id = $1 AND chunk = $2 AND state = 1 AND token = $3",
                    "complete job chunk");
    q.Bind(1, claim.job.id).Bind(2, claim.chunk).Bind(3, claim.token).BindBlob(4, "");
    ROOST_RETURN_IF_ERROR(q.Run());
    if (q.Affected() == 0) {
      return Status::NotFound("job " + claim.job.id + " chunk " + std::to_string(claim.chunk) +
                              ": lease lost to another worker");
    }
  }
  auto inserted = InsertDevicesOn(c, outcome.insert);
  if (!inserted.ok()) return inserted.status();
  std::vector<JobFailure> failures = outcome.failed;
  for (size_t i : inserted->conflicts) {
    failures.push_back({outcome.insert[i].id.ToApi(), "already registered"});
  }
  auto mismatched = PatchDevicesOn(c, outcome.patch);
  if (!mismatched.ok()) return mismatched.status();
  for (size_t i : *mismatched) {
    failures.push_back({SigfoxId{outcome.patch[i].id}.ToApi(), outcome.patch_mismatch});
  }
  {
    using driver::ColumnType;
    static constexpr driver::Column kColumns[] = {{"job_id", ColumnType::kText},
                                                  {"chunk", ColumnType::kInt},
                                                  {"seq", ColumnType::kInt},
                                                  {"item_id", ColumnType::kText},
                                                  {"message", ColumnType::kText}};
    driver::BulkInsertSpec spec;
    spec.table = "job_failures";
    spec.columns = kColumns;
    spec.op = "complete job chunk";
    auto r = c.BulkInsert(spec, failures.size(), [&](size_t i, driver::RowWriter& out) {
      out.Text(claim.job.id);
      out.Int(claim.chunk);
      out.Int(static_cast<int64_t>(i));
      out.Text(failures[i].id);
      out.Text(failures[i].message);
    });
    if (!r.ok()) return r.status();
  }
  const auto n = static_cast<int64_t>(claim.items.size());
  const int64_t success = std::max<int64_t>(0, n - static_cast<int64_t>(failures.size()));
  {
    ROOST_SQL_QUERY(q, c,
                    "UPDATE jobs SET processed = processed + $1, success = success + $2, "
                    "chunks_left = chunks_left - 1 WHERE id = $3",
                    "complete job chunk");
    ROOST_RETURN_IF_ERROR(q.Bind(1, n).Bind(2, success).Bind(3, claim.job.id).Run());
  }
  return tx.Commit("complete job chunk");
}

Result<JobStatus> SqlStore::GetJobStatus(std::string_view id) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("read job status", /*write=*/false));
  JobStatus st;
  {
    ROOST_SQL_QUERY(q, c, "SELECT total, processed, success, chunks_left FROM jobs WHERE id = $1",
                    "read job status");
    auto row = q.Bind(1, id).Next();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("job " + std::string(id) + " not found");
    st.total = q.Int(0);
    st.processed = q.Int(1);
    st.success = q.Int(2);
    st.done = q.Int(3) == 0;
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT item_id, message FROM job_failures WHERE job_id = $1 "
                    "ORDER BY chunk, seq",
                    "read job status");
    q.Bind(1, id);
    auto failed = ReadAll<JobFailure>(q, [](const Query& r) {
      return JobFailure{r.Text(0), r.Text(1)};
    });
    if (!failed.ok()) return failed.status();
    st.failed = std::move(*failed);
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("read job status"));
  return st;
}

}  // namespace roost::storage::sql
