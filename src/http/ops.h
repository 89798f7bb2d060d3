// The operational endpoints every Roost server offers, for load balancers and
// monitoring:
//   GET /healthz  200 {"status":"ok"} while the process serves HTTP at all
//   GET /readyz   200 {"status":"ready"} when ready; 503 with a JSON error body
//                 while starting or draining (after SIGTERM)
//   GET /metrics  the registry in Prometheus text format 0.0.4
#pragma once

#include <string_view>

#include "core/status.h"
#include "http/router.h"
#include "http/server.h"
#include "observe/metrics.h"

namespace roost::http {

// `metrics` and `readiness` must outlive the router.
Status AddOperationalRoutes(Router& router, const observe::MetricsRegistry& metrics,
                            const Readiness& readiness);

// Registers process_start_time_seconds (set now), process_resident_memory_bytes,
// process_open_fds (read from /proc at each scrape) and roost_build_info{version} 1.
Status RegisterProcessMetrics(observe::MetricsRegistry& metrics);

// The version of this build, e.g. "0.1.0".
std::string_view BuildVersion();

}  // namespace roost::http
