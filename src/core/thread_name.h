// Names the calling thread, as `top -H`, `ps -L`, perf and gdb show it.
//
// Contract: the name is cut to the 15 bytes Linux keeps; a failure is
// ignored (a name is a diagnostic, never needed for correctness). Called first
// thing by each long-lived thread of `roost serve`, so that a busy thread can
// be told apart from the others without a debugger.
#pragma once

#include <string>
#include <string_view>

namespace roost {

void NameThisThread(std::string_view name);

// The calling thread's name ("" when it cannot be read).
std::string ThisThreadName();

}  // namespace roost
