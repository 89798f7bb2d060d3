// Rate limit for failed password checks — HTTP Basic, the console login,
// re-entering one's own password, one-time password links — built so that
// someone else's wrong guesses never lock out whoever has the password at their
// own address. Three fixed-window counts (the defaults in Limits):
//
//  - per login and client address, 10 failures in 15 minutes: slows one
//    address guessing one login, and is the only per-login count that guesses
//    from elsewhere cannot raise;
//  - per client address, 50 failures in 15 minutes, whatever the login: one
//    address cannot spray guesses over many logins (or link tokens);
//  - per login from all addresses together, 100 failures an hour: the slow
//    ceiling against guessing from many addresses (at most 2 400 guesses a day
//    at one login). An address from which the login succeeded within the last
//    30 days is exempt from it, so an attack on the admin login (which is the
//    same on every server) from elsewhere does not lock the admin out at their
//    usual address.
// Over a limit, an attempt is refused until the window that holds the failures
// ends; the caller answers 429 with Retry-After and checks nothing.
//
// Checking and counting are one step: Acquire reserves the attempt as a failure
// at once, and the caller takes the reservation back with Succeeded (right
// password) or Abandon (nothing was checked, e.g. the server was too busy). So
// N parallel wrong attempts make at most `limit` real password checks.
//
// A client address is an IPv4 address, or an IPv6 /64 (one subscriber usually
// holds a whole /64, so single IPv6 addresses would make the address counts
// free to evade).
//
// Memory is bounded: at most `max_tracked` windows and `max_trusted` trusted
// addresses. When the windows are full, expired ones go first, then a tenth of
// the table, those with the fewest failures first (so that a flood of new
// windows cannot push out the one counting an attack); when the trusted
// addresses are full, the oldest goes. Thread-safe.
// Time is passed in (epoch ms) so tests need no clock.
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
    int per_login_address = 10;
    int per_address = 50;
    int64_t window_ms = 15 * 60 * 1000;
    int per_login = 100;
    int64_t login_window_ms = 60 * 60 * 1000;
    int64_t trusted_ms = 30LL * 24 * 3600 * 1000;
    size_t max_tracked = 100000;
    size_t max_trusted = 10000;
  };

  // One reserved attempt, or a refusal.
  struct Attempt {
    int64_t retry_after_ms = 0;  // > 0: refused, nothing reserved
    bool allowed() const { return retry_after_ms == 0; }

    std::string login;    // as given to Acquire
    std::string address;  // the client: IPv4 address or IPv6 /64
    int64_t at_ms = 0;
  };

  LoginThrottle();
  explicit LoginThrottle(Limits limits);

  // Reserves an attempt at `login` (e.g. an API login or "email:<normalized>")
  // from `address` ("ip", "ip:port" or "[v6]:port") unless a limit is reached.
  // An empty `login` (a password link token, which names nobody) counts against
  // the address only.
  Attempt Acquire(std::string_view login, std::string_view address, int64_t now_ms);
  // The password was right: the reservation is no failure, the login's failures
  // from this address are forgotten, and the address is trusted for the login.
  void Succeeded(const Attempt& attempt, int64_t now_ms);
  // Nothing was checked: the reservation is given back.
  void Abandon(const Attempt& attempt);
  // For a password known right without a check that could fail (recalled from
  // the verification cache): false when Acquire would refuse; otherwise what
  // Acquire then Succeeded leave behind, without reserving and giving back.
  bool AdmitKnown(std::string_view login, std::string_view address, int64_t now_ms);

  size_t tracked() const;

 private:
  struct Window {
    int64_t start_ms = 0;
    int64_t length_ms = 0;
    int failures = 0;
  };
  int64_t WaitFor(const std::string& key, int limit, int64_t now_ms) const;
  void Count(const std::string& key, int64_t length_ms, int64_t now_ms);
  void Uncount(const std::string& key, int64_t at_ms);
  bool Trusted(const std::string& key, int64_t now_ms) const;
  int64_t WaitForLogin(const std::string& login, const std::string& address_key,
                       const std::string& pair_key, int64_t now_ms) const;
  void Trust(const std::string& pair_key, int64_t now_ms);
  void MakeRoom(int64_t now_ms);

  Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
  std::unordered_map<std::string, int64_t> trusted_;  // login+address key → last success
};

}  // namespace roost::api
