// The addresses of host names looked up by the plain HTTP client, kept for a
// while (libcurl's DNS cache does the same). Bounded: when full, a new name
// takes the place of the names whose time is up, else of the one that would
// have expired first (the oldest answer). An operator who hosts several
// customers may send callbacks to thousands of hosts; clearing the whole cache
// when it filled would have sent every one of them back to its name server at
// once.
//
// Not thread-safe: its owner locks.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace roost::integration {

class ResolvedNames {
 public:
  using Clock = std::chrono::steady_clock;
  using Addresses = std::vector<boost::asio::ip::address>;

  ResolvedNames(size_t capacity, Clock::duration lifetime);

  // The name's addresses if an answer for it is kept and its time is not up.
  std::optional<Addresses> Find(const std::string& host, Clock::time_point now) const;
  // Keeps `addresses` for `host` until now + lifetime, replacing what was kept.
  void Put(const std::string& host, Addresses addresses, Clock::time_point now);
  size_t size() const { return names_.size(); }

 private:
  struct Name {
    Clock::time_point expires;
    Addresses addresses;
  };
  const size_t capacity_;
  const Clock::duration lifetime_;
  std::map<std::string, Name> names_;
  // The same names by when they expire, for the eviction.
  std::multimap<Clock::time_point, std::string> by_expiry_;
};

}  // namespace roost::integration
