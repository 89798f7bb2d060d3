#include "api/json/job_json.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::api {
namespace {

using nlohmann::json;

TEST(JobStatusJson, Shape) {
  JobStatus s;
  s.done = true;
  s.total = 3;
  s.success = 2;
  s.failed.push_back({"C031", "PAC does not match"});
  json j = JobStatusJson(s);
  EXPECT_EQ(j["jobDone"], true);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["status"]["success"], 2);
  EXPECT_EQ(j["status"]["failed"][0]["id"], "C031");
  EXPECT_EQ(j["status"]["failed"][0]["message"], "PAC does not match");
}

}  // namespace
}  // namespace roost::api
