#include "http/ops.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

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

// Time depends on the lengths only, so a wrong guess learns nothing about how
// much of it was right.
bool SameToken(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

bool HasBearerToken(const Request& req, std::string_view token) {
  auto header = req.Header("Authorization");
  if (!header) return false;
  constexpr std::string_view kScheme = "Bearer ";
  std::string_view value = *header;
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i + 1 < kScheme.size(); ++i) {  // the scheme is case-insensitive
    if ((value[i] | 0x20) != (kScheme[i] | 0x20)) return false;
  }
  if (value[kScheme.size() - 1] != ' ') return false;
  return SameToken(value.substr(kScheme.size()), token);
}

}  // namespace

bool IsLoopbackClient(std::string_view remote) {
  std::string host;
  if (!remote.empty() && remote.front() == '[') {
    size_t close = remote.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(remote.substr(1, close - 1));
  } else if (size_t colon = remote.find(':');
             colon != std::string_view::npos &&
             remote.find(':', colon + 1) == std::string_view::npos) {
    host = std::string(remote.substr(0, colon));  // "ip:port"
  } else {
    host = std::string(remote);  // an address alone, IPv6 without brackets included
  }
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) return bytes[0] == 127;
  if (::inet_pton(AF_INET6, host.c_str(), bytes.data()) != 1) return false;
  static constexpr std::array<unsigned char, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0,
                                                               0, 0, 0, 0, 0, 0, 0, 1};
  if (bytes == kLoopback6) return true;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0 && bytes[12] == 127;
}

std::string_view BuildVersion() {
  return ROOST_VERSION;
}

Status AddOperationalRoutes(Router& router, const observe::MetricsRegistry& metrics,
                            const Readiness& readiness, MetricsAccess access) {
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
  // Checked as the route's admission, on the head: nobody gets past it
  // without the token (or, without one, from another host).
  RouteOptions metrics_options;
  metrics_options.admit = [token =
                               std::move(access.token)](Request& req) -> std::optional<Response> {
    if (!token.empty()) {
      if (HasBearerToken(req, token)) return std::nullopt;
      Response r = Response::Error(401, "metrics need the bearer token of metrics.token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"roost-metrics\"");
      return r;
    }
    if (IsLoopbackClient(req.remote)) return std::nullopt;
    return Response::Error(
        403, "metrics are served to loopback clients only unless metrics.token is set");
  };
  ROOST_RETURN_IF_ERROR(router.Add(
      "GET", "/metrics",
      [&metrics](const Request&) {
        return Response::Text(200, metrics.Render(),
                              std::string(observe::MetricsRegistry::kContentType));
      },
      std::move(metrics_options)));
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
