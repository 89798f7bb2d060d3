#include "server/event_loop.h"

#include <algorithm>
#include <exception>

#include "core/cpus.h"
#include "core/thread_name.h"

namespace roost::server {
namespace {

unsigned ThreadCount(unsigned threads) {
  return threads != 0 ? threads : UsableCpus();
}

}  // namespace

EventLoop::EventLoop(unsigned threads, observe::Logger* logger)
    : threads_(ThreadCount(threads)), logger_(logger), context_(static_cast<int>(threads_)) {}

EventLoop::~EventLoop() {
  Stop();
}

void EventLoop::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  work_.emplace(context_.get_executor());
  for (unsigned i = 0; i < threads_; ++i) {
    pool_.emplace_back([this] {
      NameThisThread("event-loop");
      for (;;) {
        try {
          context_.run();
          return;
        } catch (const std::exception& e) {
          if (logger_) logger_->Error("event loop error", {{"error", e.what()}});
        }
      }
    });
  }
}

void EventLoop::Stop() {
  std::lock_guard lock(mu_);
  work_.reset();
  context_.stop();
  for (auto& t : pool_) t.join();
  pool_.clear();
}

}  // namespace roost::server
