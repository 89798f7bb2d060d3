// A mutex that is handed to its waiters in the order they came.
//
// std::mutex lets a thread that unlocks and at once locks again take the lock
// back before a waiter it woke has run; a writer that commits back to back can
// so keep the others waiting far longer than its own transactions last. Here
// unlock() hands the lock straight to the longest waiter, if any, and a thread
// that asks while others wait queues behind them. A waiter that times out
// leaves the queue without having held the lock.
//
// Meets Lockable and the timed part of TimedLockable that Roost uses
// (try_lock_for), so std::lock_guard and std::unique_lock work with it.
#ifndef ROOST_CORE_FIFO_MUTEX_H_
#define ROOST_CORE_FIFO_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>

namespace roost {

class FifoMutex {
 public:
  FifoMutex() = default;
  FifoMutex(const FifoMutex&) = delete;
  FifoMutex& operator=(const FifoMutex&) = delete;

  void lock();
  bool try_lock();
  // False if the lock was not handed over within `timeout`.
  bool try_lock_for(std::chrono::milliseconds timeout);
  void unlock();

  // How many threads wait for the lock now.
  size_t Waiting();

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  // Queues the caller and waits until granted or `deadline`; mu_ held.
  bool Wait(std::unique_lock<std::mutex>& held,
            const std::chrono::steady_clock::time_point* deadline);

  std::mutex mu_;
  bool held_ = false;
  std::list<Waiter*> waiters_;  // oldest first
};

}  // namespace roost

#endif  // ROOST_CORE_FIFO_MUTEX_H_
