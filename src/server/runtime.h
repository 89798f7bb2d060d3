// The Roost server process (`roost serve`): its runtime from a loaded
// configuration to a graceful stop.
//
// Start: prepares the data directory, loads (or creates) the master key, opens
// the store (SQLite in the data directory, "sqlite:PATH", or postgresql://...),
// bootstraps an empty store (root group + admin user; a generated admin password
// is printed once on stdout, never logged), registers the routes (the registry
// API, api/routes.h, and /healthz, /readyz, /metrics), binds the listener on the
// one event loop, logs {"msg":"listening","address":"HOST:PORT",...} (the first
// line once serving), becomes ready and starts the job worker.
//
// Stop: /readyz answers 503, the listener stops accepting, requests in flight
// finish (at most 10 s), the job worker ends (a chunk in progress finishes or
// its lease lets another instance redo it), the loop stops, "stopped" is logged.
#pragma once

#include <memory>

#include "config/config.h"
#include "core/status.h"

namespace roost::server {

class Runtime {
 public:
  // Starts the server as configured. SIGTERM and SIGINT are blocked in the
  // calling thread (and so in every thread it starts) for WaitForStopSignal.
  // Fails with the line to print: a data directory, key file or database that
  // cannot be used, an address that cannot be bound, ...
  static Result<std::unique_ptr<Runtime>> Start(const config::ServeConfig& config);
  ~Runtime();  // Stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Blocks until SIGTERM or SIGINT and logs "shutting down". From then on, a
  // second signal exits the process at once (status 1), and so does the end
  // of http.stop_timeout_s while the stop is still under way.
  void WaitForStopSignal();
  // The graceful stop above. Returns true when every connection finished within
  // the drain time. Later calls return at once.
  bool Stop();

 private:
  struct Parts;
  explicit Runtime(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace roost::server
