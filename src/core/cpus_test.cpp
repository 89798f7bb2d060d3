#include "core/cpus.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <thread>

namespace roost {
namespace {

TEST(UsableCpus, IsTheAffinityMaskBoundedByTheOnlineCpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const unsigned expected = std::min(std::max(1u, std::thread::hardware_concurrency()),
                                     static_cast<unsigned>(CPU_COUNT(&set)));
  EXPECT_EQ(UsableCpus(), expected);
  EXPECT_GE(UsableCpus(), 1u);
}

TEST(UsableCpus, FollowsAThreadPinnedToOneCpu) {
  cpu_set_t saved;
  CPU_ZERO(&saved);
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  int first = -1;
  for (int i = 0; i < CPU_SETSIZE && first < 0; ++i) {
    if (CPU_ISSET(i, &saved)) first = i;
  }
  ASSERT_GE(first, 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const unsigned pinned = UsableCpus();
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(pinned, 1u);
}

}  // namespace
}  // namespace roost
