// A background job (bulk registration, bulk edit, series upload) and what it
// reports: persisted, processed in chunks by any instance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/time.h"

namespace roost {

// A background job (bulk create, bulk edit, series upload): a persisted list of
// opaque items (e.g. "id;pac"), processed in chunks by any instance.
struct Job {
  std::string id;
  std::string kind;    // e.g. "devices.bulk_create"
  std::string group;   // owner group
  std::string params;  // opaque (JSON text: prefix, device type, certificate, ...)
  int64_t total = 0;   // number of items
  EpochMillis creation_time = 0;
  bool operator==(const Job&) const = default;
};

struct JobFailure {
  std::string id;  // the item's identifier as the client gave it (a device ID)
  std::string message;
  bool operator==(const JobFailure&) const = default;
};

// {"jobDone", "total", "status": {"success", "failed": [...]}}
struct JobStatus {
  bool done = false;
  int64_t total = 0;
  int64_t processed = 0;  // items whose chunk has completed
  int64_t success = 0;
  std::vector<JobFailure> failed;  // in item order
};

}  // namespace roost
