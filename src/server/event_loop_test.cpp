#include "server/event_loop.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace roost::server {
namespace {

TEST(EventLoopTest, RunsPostedWorkUntilStopped) {
  EventLoop loop(2);
  EXPECT_EQ(loop.threads(), 2u);
  loop.Start();
  // Idle for a moment: the threads keep running without work.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::promise<void> ran;
  boost::asio::post(loop.context(), [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  loop.Stop();
  loop.Stop();  // later calls return at once
}

TEST(EventLoopTest, DefaultsToOneThreadPerCpu) {
  EventLoop loop(0);
  EXPECT_GE(loop.threads(), 1u);
}

TEST(EventLoopTest, LogsAThrowingHandlerAndKeepsRunning) {
  std::vector<std::string> lines;
  std::mutex mu;
  observe::Logger logger([&](std::string_view l) {
    std::lock_guard lock(mu);
    lines.emplace_back(l);
  });
  EventLoop loop(1, &logger);
  loop.Start();
  boost::asio::post(loop.context(), [] { throw std::runtime_error("boom"); });
  std::promise<void> ran;
  boost::asio::post(loop.context(), [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  loop.Stop();
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"msg\":\"event loop error\",\"error\":\"boom\""), std::string::npos)
      << lines[0];
}

}  // namespace
}  // namespace roost::server
