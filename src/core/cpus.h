// How many CPUs this process may run on, for sizing thread pools and the
// number of concurrent Argon2id hashes.
//
// Contract: the number of CPUs in the process's affinity mask (what taskset or
// a container's cpuset allow), never more than the machine's online CPUs and
// never less than 1. std::thread::hardware_concurrency counts every online CPU
// of the machine, which inside a container pinned to 2 of 64 CPUs sizes pools
// (and their memory) for 64.
#pragma once

namespace roost {

unsigned UsableCpus();

}  // namespace roost
