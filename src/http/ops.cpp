#include "http/ops.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#ifndef ROOST_VERSION
#define ROOST_VERSION "unknown"
#endif

namespace roost::http {
namespace {

double ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  int count = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor of the directory being read
}

}  // namespace

std::string_view BuildVersion() {
  return ROOST_VERSION;
}

Status AddOperationalRoutes(Router& router, const observe::MetricsRegistry& metrics,
                            const Readiness& readiness) {
  ROOST_RETURN_IF_ERROR(router.Add("GET", "/healthz", [](const Request&) {
    return Response::Json(200, "{\"status\":\"ok\"}");
  }));
  ROOST_RETURN_IF_ERROR(router.Add("GET", "/readyz", [&readiness](const Request&) {
    switch (readiness.Get()) {
      case Readiness::State::kReady:
        return Response::Json(200, "{\"status\":\"ready\"}");
      case Readiness::State::kStarting:
        return Response::Error(503, "not ready: starting");
      case Readiness::State::kDraining:
        break;
    }
    return Response::Error(503, "not ready: draining");
  }));
  ROOST_RETURN_IF_ERROR(router.Add("GET", "/metrics", [&metrics](const Request&) {
    return Response::Text(200, metrics.Render(),
                          std::string(observe::MetricsRegistry::kContentType));
  }));
  return Status::Ok();
}

Status RegisterProcessMetrics(observe::MetricsRegistry& metrics) {
  auto start = metrics.AddGauge("process_start_time_seconds",
                                "Start time of the process since the Unix epoch, in seconds");
  if (!start.ok()) return start.status();
  (*start)->Get().Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  ROOST_RETURN_IF_ERROR(metrics.AddGaugeCallback("process_resident_memory_bytes",
                                                 "Resident memory size in bytes", ResidentBytes));
  ROOST_RETURN_IF_ERROR(
      metrics.AddGaugeCallback("process_open_fds", "Open file descriptors", OpenFds));
  auto info =
      metrics.AddGauge("roost_build_info", "Always 1; the labels describe the build", {"version"});
  if (!info.ok()) return info.status();
  (*info)->WithLabels({BuildVersion()}).Set(1);
  return Status::Ok();
}

}  // namespace roost::http
