#include "core/fifo_mutex.h"

namespace roost {

void FifoMutex::lock() {
  std::unique_lock held(mu_);
  if (!held_ && waiters_.empty()) {
    held_ = true;
    return;
  }
  Wait(held, nullptr);
}

bool FifoMutex::try_lock() {
  std::lock_guard held(mu_);
  if (held_ || !waiters_.empty()) return false;
  held_ = true;
  return true;
}

bool FifoMutex::try_lock_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock held(mu_);
  if (!held_ && waiters_.empty()) {
    held_ = true;
    return true;
  }
  return Wait(held, &deadline);
}

bool FifoMutex::Wait(std::unique_lock<std::mutex>& held,
                     const std::chrono::steady_clock::time_point* deadline) {
  Waiter me;
  auto place = waiters_.insert(waiters_.end(), &me);
  if (deadline == nullptr) {
    me.cv.wait(held, [&] { return me.granted; });
    return true;
  }
  if (me.cv.wait_until(held, *deadline, [&] { return me.granted; })) return true;
  waiters_.erase(place);  // not granted: unlock() has not taken it off the queue
  return false;
}

void FifoMutex::unlock() {
  std::lock_guard held(mu_);
  if (waiters_.empty()) {
    held_ = false;
    return;
  }
  // Handed over: held_ stays true, now for the waiter.
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;
  next->cv.notify_one();
}

size_t FifoMutex::Waiting() {
  std::lock_guard held(mu_);
  return waiters_.size();
}

}  // namespace roost
