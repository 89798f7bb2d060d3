#include "integration/resolved_names.h"

#include <utility>

namespace roost::integration {

ResolvedNames::ResolvedNames(size_t capacity, Clock::duration lifetime)
    : capacity_(capacity < 1 ? 1 : capacity), lifetime_(lifetime) {}

std::optional<ResolvedNames::Addresses> ResolvedNames::Find(const std::string& host,
                                                            Clock::time_point now) const {
  auto it = names_.find(host);
  if (it == names_.end() || now >= it->second.expires) return std::nullopt;
  return it->second.addresses;
}

void ResolvedNames::Put(const std::string& host, Addresses addresses, Clock::time_point now) {
  auto forget = [&](std::multimap<Clock::time_point, std::string>::iterator e) {
    names_.erase(e->second);
    by_expiry_.erase(e);
  };
  auto kept = names_.find(host);
  if (kept != names_.end()) {
    auto range = by_expiry_.equal_range(kept->second.expires);
    for (auto e = range.first; e != range.second; ++e) {
      if (e->second == host) {
        forget(e);
        break;
      }
    }
  }
  // Names whose time is up go first; then, while still full, the oldest answer.
  while (!by_expiry_.empty() && (by_expiry_.begin()->first <= now || names_.size() >= capacity_)) {
    forget(by_expiry_.begin());
  }
  const Clock::time_point expires = now + lifetime_;
  names_[host] = Name{expires, std::move(addresses)};
  by_expiry_.emplace(expires, host);
}

}  // namespace roost::integration
