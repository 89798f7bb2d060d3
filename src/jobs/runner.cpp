#include "jobs/runner.h"

#include <utility>

namespace roost::jobs {

Runner::Runner(storage::Store& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

Status Runner::AddHandler(std::string_view kind, ChunkHandler handler) {
  auto [it, fresh] = handlers_.emplace(std::string(kind), std::move(handler));
  if (!fresh) return Status::AlreadyExists("job kind " + std::string(kind) + " has a handler");
  return Status::Ok();
}

Result<bool> Runner::RunOneChunk(std::string_view worker, int64_t lease_ms) {
  auto claim = store_.ClaimChunk(worker, clock_(), lease_ms);
  if (!claim.ok()) return claim.status();
  if (!claim->has_value()) return false;
  const storage::JobClaim& c = **claim;
  storage::ChunkOutcome outcome;
  auto handler = handlers_.find(c.job.kind);
  if (handler != handlers_.end()) {
    outcome = handler->second(c);
  } else {
    for (const auto& item : c.items) {
      outcome.failed.push_back({item, "unknown job kind " + c.job.kind});
    }
  }
  Status done = store_.CompleteChunk(c, outcome);
  // A lost lease means another worker took the chunk over: not an error here.
  if (!done.ok() && done.code() != Status::Code::kNotFound) return done;
  return true;
}

}  // namespace roost::jobs
