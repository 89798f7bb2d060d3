// The server's one event loop: a Boost.Asio io_context run by a pool of
// threads. The HTTP server (and every other network listener of the process)
// runs its sockets on it; blocking work belongs elsewhere (the HTTP server's
// handler pool, the job worker).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "observe/log.h"

namespace roost::server {

class EventLoop {
 public:
  // `threads` 0 = one per CPU. `logger` (optional) gets "event loop error" when
  // a handler throws; the thread then goes on running the loop.
  explicit EventLoop(unsigned threads, observe::Logger* logger = nullptr);
  ~EventLoop();  // Stop()
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& context() { return context_; }
  unsigned threads() const { return threads_; }

  // Runs the loop on `threads` background threads. It keeps running, with or
  // without work, until Stop(). Only the first call does anything.
  void Start();
  // Stops the loop and joins its threads; handlers not yet run are dropped.
  // Listeners on the loop shut down first (their sockets are not served after
  // this). Later calls return at once.
  void Stop();

 private:
  unsigned threads_;
  observe::Logger* logger_;
  boost::asio::io_context context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::mutex mu_;
  bool started_ = false;  // guarded by mu_
  std::vector<std::thread> pool_;
};

}  // namespace roost::server
