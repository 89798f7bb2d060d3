// The operational endpoints every Roost server offers, for load balancers and
// monitoring:
//   GET /healthz  200 {"status":"ok"} while the process serves HTTP at all
//   GET /readyz   200 {"status":"ready"} when ready; 503 with a JSON error body
//                 while starting or draining (after SIGTERM)
//   GET /metrics  the registry in Prometheus text format 0.0.4, for the clients
//                 MetricsAccess allows: 401 (with WWW-Authenticate: Bearer) without
//                 the right token, 403 from a non-loopback address when there is none
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "http/router.h"
#include "http/server.h"
#include "observe/metrics.h"

namespace roost::http {

// Who may scrape GET /metrics. The figures say how busy the server is and
// which routes fail, which is not for everyone who can reach the API.
struct MetricsAccess {
  // Non-empty: the request needs "Authorization: Bearer <token>" (compared in
  // constant time), from any address. Empty: only loopback clients (a scraper
  // on the same host, or a local proxy that decides for itself).
  std::string token;
};

// True when `remote` ("ip:port", "[v6]:port", or an address alone) is a
// loopback address: 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6
// (::ffff:127.x.y.z). Anything unparsable is not.
bool IsLoopbackClient(std::string_view remote);

// `metrics` and `readiness` must outlive the router.
Status AddOperationalRoutes(Router& router, const observe::MetricsRegistry& metrics,
                            const Readiness& readiness, MetricsAccess access = {});

// Registers process_start_time_seconds (set now), process_resident_memory_bytes,
// process_open_fds (read from /proc at each scrape) and roost_build_info{version} 1.
Status RegisterProcessMetrics(observe::MetricsRegistry& metrics);

// The version of this build, e.g. "0.1.0".
std::string_view BuildVersion();

}  // namespace roost::http
