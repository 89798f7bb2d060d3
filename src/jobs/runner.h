// Runs the chunks of persisted jobs (storage/store.h: CreateJob, ClaimChunk,
// CompleteChunk), whatever domain created them.
//
// A job has a kind ("devices.bulk_create", "devices.bulk_edit", ...); the domain
// that starts jobs of a kind registers a handler for it. RunOneChunk claims one
// leased chunk of any pending job of any instance sharing the store, hands it to
// the handler of its kind and records the handler's outcome. Every item of a
// chunk whose kind has no handler fails with "unknown job kind <kind>", so a job
// never stays pending forever.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/time.h"
#include "storage/store.h"

namespace roost::jobs {

// Processes one claimed chunk: decides, per item, what to insert, patch or
// report as failed. It must not write to the store itself: the runner records
// the outcome in one transaction, and only while the lease is still held.
using ChunkHandler = std::function<storage::ChunkOutcome(const storage::JobClaim& claim)>;

class Runner {
 public:
  using Clock = std::function<EpochMillis()>;
  // `store` must outlive the runner.
  Runner(storage::Store& store, Clock clock);

  // Registers the handler of `kind`. AlreadyExists when the kind has one.
  // Handlers are registered before the first RunOneChunk.
  Status AddHandler(std::string_view kind, ChunkHandler handler);

  // Claims one chunk (leased to `worker` for `lease_ms`), processes it and
  // records the outcome. Returns false when there was no work. A lease lost
  // meanwhile (another worker took the chunk over after it expired) writes
  // nothing and is not an error; other store failures are returned.
  Result<bool> RunOneChunk(std::string_view worker, int64_t lease_ms = 60000);

 private:
  storage::Store& store_;
  Clock clock_;
  std::map<std::string, ChunkHandler, std::less<>> handlers_;
};

}  // namespace roost::jobs
