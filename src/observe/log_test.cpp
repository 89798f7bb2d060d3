#include "observe/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roost::observe {
namespace {

TEST(LoggerTest, FormatsOneJsonLine) {
  std::string line = Logger::Format(
      Logger::Level::kInfo, "request",
      {{"method", "GET"}, {"status", 200}, {"duration_ms", 1.5}, {"ok", true}, {"path", "/a\"b"}},
      false);
  EXPECT_EQ(line,
            "{\"level\":\"info\",\"msg\":\"request\",\"method\":\"GET\",\"status\":200,"
            "\"duration_ms\":1.500000,\"ok\":true,\"path\":\"/a\\\"b\"}\n");
  std::string timed = Logger::Format(Logger::Level::kError, "x", {});
  EXPECT_EQ(timed.rfind("{\"ts\":\"20", 0), 0u) << timed;
  EXPECT_NE(timed.find("Z\",\"level\":\"error\",\"msg\":\"x\"}\n"), std::string::npos) << timed;
}

TEST(LoggerTest, FiltersByLevel) {
  std::vector<std::string> lines;
  Logger log([&](std::string_view l) { lines.emplace_back(l); }, Logger::Level::kWarn);
  log.Info("hidden");
  log.Warn("shown", {{"n", 1}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"msg\":\"shown\",\"n\":1}"), std::string::npos);
}

}  // namespace
}  // namespace roost::observe
