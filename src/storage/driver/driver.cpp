#include "storage/driver/driver.h"

namespace roost::storage::driver {

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || opened_ < size_; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (Status st = c->Revive(); !st.ok()) {
      c.reset();
      Forget();
      return st;
    }
    return Lease(this, std::move(c));
  }
  ++opened_;
  lock.unlock();
  auto c = open_();
  if (!c.ok()) {
    Forget();
    return c.status();
  }
  return Lease(this, std::move(*c));
}

void Pool::Release(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(c));
  cv_.notify_one();
}

void Pool::Forget() {
  std::lock_guard lock(mu_);
  --opened_;
  cv_.notify_one();
}

}  // namespace roost::storage::driver
