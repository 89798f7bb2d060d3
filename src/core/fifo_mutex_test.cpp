#include "core/fifo_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace roost {
namespace {

using std::chrono::milliseconds;

TEST(FifoMutex, WaitersGetTheLockInTheOrderTheyAsked) {
  FifoMutex mu;
  mu.lock();
  std::vector<int> order;  // written under mu
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      std::lock_guard held(mu);
      order.push_back(i);
    });
    // Each thread is queued before the next one starts.
    while (mu.Waiting() < static_cast<size_t>(i + 1)) std::this_thread::yield();
  }
  mu.unlock();
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(FifoMutex, AnOwnerThatLocksAgainQueuesBehindTheWaiters) {
  FifoMutex mu;
  mu.lock();
  std::atomic<bool> waiter_in{false};
  std::thread waiter([&] {
    mu.lock();
    waiter_in = true;
    std::this_thread::sleep_for(milliseconds(20));
    mu.unlock();
  });
  while (mu.Waiting() < 1) std::this_thread::yield();
  mu.unlock();
  mu.lock();  // handed to the waiter first: this waits for its turn
  EXPECT_TRUE(waiter_in.load());
  mu.unlock();
  waiter.join();
}

TEST(FifoMutex, ATimedOutWaiterLeavesTheQueueWithoutTheLock) {
  FifoMutex mu;
  mu.lock();
  bool got = true;
  std::thread late([&] { got = mu.try_lock_for(milliseconds(30)); });
  late.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(mu.Waiting(), 0u);
  EXPECT_FALSE(mu.try_lock()) << "still held by its owner";
  mu.unlock();
  // Nobody is left queued: the lock is free, not handed to the gone waiter.
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
  EXPECT_TRUE(mu.try_lock_for(milliseconds(1)));
  mu.unlock();
}

TEST(FifoMutex, ExcludesUnderContention) {
  FifoMutex mu;
  int64_t counter = 0;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (i % 2 == 0) {
          std::lock_guard held(mu);
          ++counter;
        } else if (mu.try_lock_for(milliseconds(10000))) {
          ++counter;
          mu.unlock();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

}  // namespace
}  // namespace roost
