#include "api/login_throttle.h"

#include <algorithm>

namespace roost::api {
namespace {
// Principals and addresses share one map; a prefix keeps them apart.
std::string PrincipalKey(std::string_view p) {
  return "p:" + std::string(p);
}
std::string AddressKey(std::string_view a) {
  // "ip:port" → "ip": the port changes with every connection.
  size_t colon = a.rfind(':');
  if (colon != std::string_view::npos && a.find(']') == std::string_view::npos &&
      a.find(':') != colon) {
    colon = std::string_view::npos;  // bare IPv6 without port
  }
  return "a:" + std::string(colon == std::string_view::npos ? a : a.substr(0, colon));
}
}  // namespace

LoginThrottle::LoginThrottle() : LoginThrottle(Limits{}) {}
LoginThrottle::LoginThrottle(Limits limits) : limits_(limits) {}

int64_t LoginThrottle::WaitFor(const std::string& key, int limit, int64_t now_ms) const {
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  const Window& w = it->second;
  int64_t end = w.start_ms + limits_.window_ms;
  if (now_ms >= end || w.failures < limit) return 0;
  return end - now_ms;
}

int64_t LoginThrottle::RetryAfterMs(std::string_view principal, std::string_view address,
                                    int64_t now_ms) {
  std::lock_guard lock(mu_);
  return std::max(WaitFor(PrincipalKey(principal), limits_.per_principal, now_ms),
                  WaitFor(AddressKey(address), limits_.per_address, now_ms));
}

void LoginThrottle::Count(const std::string& key, int64_t now_ms) {
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    MakeRoom(now_ms);
    windows_.emplace(key, Window{now_ms, 1});
    return;
  }
  Window& w = it->second;
  if (now_ms >= w.start_ms + limits_.window_ms) {
    w = Window{now_ms, 1};
  } else {
    ++w.failures;
  }
}

void LoginThrottle::RecordFailure(std::string_view principal, std::string_view address,
                                  int64_t now_ms) {
  std::lock_guard lock(mu_);
  Count(PrincipalKey(principal), now_ms);
  Count(AddressKey(address), now_ms);
}

void LoginThrottle::RecordSuccess(std::string_view principal) {
  std::lock_guard lock(mu_);
  windows_.erase(PrincipalKey(principal));
}

void LoginThrottle::MakeRoom(int64_t now_ms) {
  if (windows_.size() < limits_.max_tracked) return;
  std::erase_if(windows_,
                [&](const auto& kv) { return now_ms >= kv.second.start_ms + limits_.window_ms; });
  if (windows_.size() < limits_.max_tracked) return;
  auto oldest = std::min_element(
      windows_.begin(), windows_.end(),
      [](const auto& a, const auto& b) { return a.second.start_ms < b.second.start_ms; });
  windows_.erase(oldest);
}

size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace roost::api
