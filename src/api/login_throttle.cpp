#include "api/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace roost::api {
namespace {

// "ip:port" → "ip": the port changes with every connection.
std::string WithoutPort(std::string_view a) {
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    if (close != std::string_view::npos) return std::string(a.substr(1, close - 1));
  }
  size_t colon = a.rfind(':');
  if (colon != std::string_view::npos && a.find(':') == colon) {
    return std::string(a.substr(0, colon));
  }
  return std::string(a);  // IPv4 without port, or bare IPv6
}

// The client an address stands for: an IPv6 address by its /64, since one
// subscriber usually has a whole /64 to pick addresses from; an IPv4-mapped
// IPv6 address by its IPv4 address; anything else as given.
std::string ClientOf(std::string_view remote) {
  std::string ip = WithoutPort(remote);
  in6_addr v6;
  if (ip.find(':') == std::string::npos || inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return ip;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN];
  if (std::memcmp(v6.s6_addr, kMapped, sizeof kMapped) == 0) {
    in_addr v4;
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    if (inet_ntop(AF_INET, &v4, text, sizeof text) != nullptr) return text;
    return ip;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  if (inet_ntop(AF_INET6, &v6, text, sizeof text) == nullptr) return ip;
  return std::string(text) + "/64";
}

// The three kinds of window share one map; a prefix keeps them apart, and the
// login's length keeps "a"+"bc" apart from "ab"+"c".
std::string AddressKey(const std::string& address) {
  return "a:" + address;
}
std::string LoginKey(const std::string& login) {
  return "l:" + login;
}
std::string LoginAddressKey(const std::string& login, const std::string& address) {
  return "la:" + std::to_string(login.size()) + ":" + login + address;
}

}  // namespace

LoginThrottle::LoginThrottle() : LoginThrottle(Limits{}) {}
LoginThrottle::LoginThrottle(Limits limits) : limits_(limits) {}

int64_t LoginThrottle::WaitFor(const std::string& key, int limit, int64_t now_ms) const {
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  const Window& w = it->second;
  int64_t end = w.start_ms + w.length_ms;
  if (now_ms >= end || w.failures < limit) return 0;
  return end - now_ms;
}

bool LoginThrottle::Trusted(const std::string& key, int64_t now_ms) const {
  auto it = trusted_.find(key);
  return it != trusted_.end() && now_ms < it->second + limits_.trusted_ms;
}

LoginThrottle::Attempt LoginThrottle::Acquire(std::string_view login, std::string_view address,
                                              int64_t now_ms) {
  Attempt a;
  a.login = std::string(login);
  a.address = ClientOf(address);
  a.at_ms = now_ms;
  const std::string address_key = AddressKey(a.address);
  const std::string pair_key = login.empty() ? "" : LoginAddressKey(a.login, a.address);
  std::lock_guard lock(mu_);
  int64_t wait = WaitForLogin(a.login, address_key, pair_key, now_ms);
  if (!login.empty()) {
    if (wait == 0) {
      Count(pair_key, limits_.window_ms, now_ms);
      Count(LoginKey(a.login), limits_.login_window_ms, now_ms);
    }
  }
  if (wait > 0) {
    a.retry_after_ms = wait;
    return a;
  }
  Count(address_key, limits_.window_ms, now_ms);
  return a;
}

int64_t LoginThrottle::WaitForLogin(const std::string& login, const std::string& address_key,
                                    const std::string& pair_key, int64_t now_ms) const {
  int64_t wait = WaitFor(address_key, limits_.per_address, now_ms);
  if (login.empty()) return wait;
  wait = std::max(wait, WaitFor(pair_key, limits_.per_login_address, now_ms));
  if (!Trusted(pair_key, now_ms)) {
    wait = std::max(wait, WaitFor(LoginKey(login), limits_.per_login, now_ms));
  }
  return wait;
}

void LoginThrottle::Succeeded(const Attempt& a, int64_t now_ms) {
  if (!a.allowed()) return;
  std::lock_guard lock(mu_);
  Uncount(AddressKey(a.address), a.at_ms);
  if (a.login.empty()) return;
  const std::string pair_key = LoginAddressKey(a.login, a.address);
  windows_.erase(pair_key);
  Uncount(LoginKey(a.login), a.at_ms);
  Trust(pair_key, now_ms);
}

bool LoginThrottle::AdmitKnown(std::string_view login, std::string_view address, int64_t now_ms) {
  // Acquire's reservations would be given back at once: only its refusal and
  // Succeeded's lasting effects (the pair's failures forgotten, the trust
  // renewed) are kept, which spares the hot path three insertions and erasures.
  const std::string client = ClientOf(address);
  const std::string login_text(login);
  const std::string address_key = AddressKey(client);
  const std::string pair_key = login.empty() ? "" : LoginAddressKey(login_text, client);
  std::lock_guard lock(mu_);
  if (WaitForLogin(login_text, address_key, pair_key, now_ms) > 0) return false;
  if (login.empty()) return true;
  windows_.erase(pair_key);
  Trust(pair_key, now_ms);
  return true;
}

void LoginThrottle::Trust(const std::string& pair_key, int64_t now_ms) {
  if (!trusted_.contains(pair_key) && trusted_.size() >= limits_.max_trusted) {
    std::erase_if(trusted_,
                  [&](const auto& kv) { return now_ms >= kv.second + limits_.trusted_ms; });
    if (trusted_.size() >= limits_.max_trusted) {
      trusted_.erase(
          std::min_element(trusted_.begin(), trusted_.end(),
                           [](const auto& x, const auto& y) { return x.second < y.second; }));
    }
  }
  trusted_[pair_key] = now_ms;
}

void LoginThrottle::Abandon(const Attempt& a) {
  if (!a.allowed()) return;
  std::lock_guard lock(mu_);
  Uncount(AddressKey(a.address), a.at_ms);
  if (a.login.empty()) return;
  Uncount(LoginAddressKey(a.login, a.address), a.at_ms);
  Uncount(LoginKey(a.login), a.at_ms);
}

void LoginThrottle::Count(const std::string& key, int64_t length_ms, int64_t now_ms) {
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    MakeRoom(now_ms);
    windows_.emplace(key, Window{now_ms, length_ms, 1});
    return;
  }
  Window& w = it->second;
  if (now_ms >= w.start_ms + w.length_ms) {
    w = Window{now_ms, length_ms, 1};
  } else {
    ++w.failures;
  }
}

void LoginThrottle::Uncount(const std::string& key, int64_t at_ms) {
  auto it = windows_.find(key);
  // A window that started after the attempt does not hold its reservation.
  if (it == windows_.end() || it->second.start_ms > at_ms || it->second.failures == 0) return;
  if (--it->second.failures == 0) windows_.erase(it);
}

void LoginThrottle::MakeRoom(int64_t now_ms) {
  if (windows_.size() < limits_.max_tracked) return;
  std::erase_if(windows_,
                [&](const auto& kv) { return now_ms >= kv.second.start_ms + kv.second.length_ms; });
  // Still full: a tenth of the windows go at once, so that the scan is paid once
  // per tenth of the table rather than per new window, and those with the
  // fewest failures go first (the oldest among equals). A flood of guesses
  // from many addresses, each window holding a few, then pushes out its own
  // windows rather than the one that counts the guesses at a login it attacks.
  const size_t keep = limits_.max_tracked - std::max<size_t>(1, limits_.max_tracked / 10);
  if (windows_.size() <= keep) return;
  std::vector<std::unordered_map<std::string, Window>::iterator> all;
  all.reserve(windows_.size());
  for (auto it = windows_.begin(); it != windows_.end(); ++it) all.push_back(it);
  const size_t drop = all.size() - keep;
  std::nth_element(all.begin(), all.begin() + static_cast<ptrdiff_t>(drop), all.end(),
                   [](const auto& a, const auto& b) {
                     return std::pair(a->second.failures, a->second.start_ms) <
                            std::pair(b->second.failures, b->second.start_ms);
                   });
  for (size_t i = 0; i < drop; ++i) windows_.erase(all[i]);
}

size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace roost::api
