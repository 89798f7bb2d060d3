#include "core/thread_name.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace roost {
namespace {

TEST(ThreadName, NamesTheCallingThreadOnly) {
  const std::string before = ThisThreadName();
  std::string inside;
  std::thread t([&] {
    NameThisThread("ingest-writer");
    inside = ThisThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "ingest-writer");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadName, CutsALongNameToWhatLinuxKeeps) {
  std::string inside;
  std::thread t([&] {
    NameThisThread("a-name-much-longer-than-fifteen-bytes");
    inside = ThisThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "a-name-much-lon");
}

}  // namespace
}  // namespace roost
