#include "model/object_id.h"

#include <gtest/gtest.h>

#include <set>

namespace roost {
namespace {

TEST(ObjectIdTest, IsLowercaseHexOfTheIdLength) {
  std::string id = NewObjectId();
  ASSERT_EQ(id.size(), kObjectIdLength);
  for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
}

TEST(ObjectIdTest, FreshEachTime) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(NewObjectId());
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace roost
