// Rate limit for failed logins, per principal (login or email) and per client
// address, so that password guessing is slow whichever of the two an attacker
// varies. Fixed windows: after `per_principal` failures for one login within
// `window_ms`, further attempts for that login are refused until the window
// that started with the first failure ends; likewise per address.
//
// Memory is bounded: at most `max_tracked` keys are kept; when full, expired
// entries are dropped first, then the oldest window. Thread-safe. Time is
// passed in (milliseconds) so tests need no clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roost::api {

class LoginThrottle {
 public:
  struct Limits {
    int per_principal = 10;
    int per_address = 50;
    int64_t window_ms = 15 * 60 * 1000;
    size_t max_tracked = 100000;
  };

  LoginThrottle();
  explicit LoginThrottle(Limits limits);

  // 0 when an attempt may be checked now; otherwise how long to wait (ms) —
  // the caller answers 429 with Retry-After and does not check the password.
  int64_t RetryAfterMs(std::string_view principal, std::string_view address, int64_t now_ms);
  void RecordFailure(std::string_view principal, std::string_view address, int64_t now_ms);
  // A successful login forgets the principal's failures (not the address's).
  void RecordSuccess(std::string_view principal);

  size_t tracked() const;

 private:
  struct Window {
    int64_t start_ms = 0;
    int failures = 0;
  };
  int64_t WaitFor(const std::string& key, int limit, int64_t now_ms) const;
  void Count(const std::string& key, int64_t now_ms);
  void MakeRoom(int64_t now_ms);

  Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace roost::api
