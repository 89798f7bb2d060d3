#include "core/cpus.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace roost {

unsigned UsableCpus() {
  const unsigned online = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return online;
  const int allowed = CPU_COUNT(&set);
  if (allowed <= 0) return online;
  return std::min(online, static_cast<unsigned>(allowed));
}

}  // namespace roost
