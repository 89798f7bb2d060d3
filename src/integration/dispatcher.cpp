#include "integration/dispatcher.h"

#include <algorithm>
#include <cctype>

#include "integration/http_sender.h"

namespace roost::integration {

namespace {

// A delivery whose destination is busy in this process is due again this soon.
constexpr int64_t kBusyDestinationDelayMs = 200;
constexpr size_t kMaxCompiled = 10'000;

}  // namespace

std::string DestinationOf(std::string_view url) {
  const size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string out(authority);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Dispatcher::Dispatcher(storage::Store& store, DispatcherOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    auto family = options_.metrics->AddCounter(
        "roost_callback_deliveries_total", "Callback delivery attempts, by outcome", {"outcome"});
    if (family.ok()) {
      delivered_ = &(*family)->WithLabels({"delivered"});
      failed_ = &(*family)->WithLabels({"failed"});
      dead_ = &(*family)->WithLabels({"dead"});
    }
  }
  const unsigned n = std::max(1u, options_.threads);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { Send(); });
  claimer_ = std::thread([this] { Claim(); });
}

Dispatcher::~Dispatcher() {
  Stop();
}

void Dispatcher::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void Dispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  work_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::shared_ptr<const CompiledCallback> Dispatcher::Compiled(const Callback& callback,
                                                             Status& error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = compiled_.find(callback.id);
    // Callbacks are never edited in place (only enabled, disabled, deleted),
    // so a compiled one stays right for its id.
    if (it != compiled_.end()) return it->second;
  }
  auto compiled = CompileCallback(callback);
  if (!compiled.ok()) {
    error = compiled.status();
    return nullptr;
  }
  auto shared = std::make_shared<const CompiledCallback>(std::move(*compiled));
  std::lock_guard<std::mutex> lock(mu_);
  if (compiled_.size() >= kMaxCompiled) compiled_.clear();
  compiled_.emplace(callback.id, shared);
  return shared;
}

storage::DeliveryOutcome Dispatcher::Deliver(const storage::DeliveryTask& task,
                                             HttpSender& sender) {
  storage::DeliveryOutcome out;
  Status error;
  auto compiled = Compiled(task.callback, error);
  if (compiled == nullptr) {
    out.status = kStatusOther;
    out.info = "the callback does not compile: " + error.message();
  } else {
    HttpOutcome sent = sender.Send(compiled->Render(task.message, task.delivery), options_.timeout);
    out.status = sent.status;
    out.info = sent.info;
    out.delivered = sent.status >= 200 && sent.status < 300;
    if (out.info.empty()) out.info = "HTTP " + std::to_string(sent.status);
  }
  out.now = options_.clock();
  if (out.delivered) return out;
  const Delivery& d = task.delivery;
  const int64_t first_failure = d.first_failure != 0 ? d.first_failure : out.now;
  if (out.now - first_failure >= options_.dead_after_ms) {
    out.give_up = true;
    return out;
  }
  int64_t wait = options_.first_retry_ms;
  for (int32_t i = 0; i < d.attempts && wait < options_.max_retry_ms; ++i) wait *= 2;
  out.retry_at = out.now + std::min(wait, options_.max_retry_ms);
  return out;
}

Dispatcher::Host* Dispatcher::ReadyHost(std::string& name) {
  const unsigned limit = std::max(1u, options_.per_destination);
  for (auto& [host, h] : hosts_) {
    if (!h.waiting.empty() && h.in_flight < limit) {
      name = host;
      return &h;
    }
  }
  return nullptr;
}

void Dispatcher::Claim() {
  const size_t high_water = std::max<size_t>(4 * threads_.size(), 16);
  for (;;) {
    uint64_t wakes = 0;
    bool room = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      wakes = wakes_;
      room = queued_ < high_water;
    }
    size_t taken = 0;
    if (room) {
      auto tasks =
          store_.ClaimDeliveries(options_.clock(), options_.claim_batch, options_.lease_ms);
      if (tasks.ok()) {
        std::vector<int64_t> busy;
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (storage::DeliveryTask& task : *tasks) {
            Host& h = hosts_[DestinationOf(task.callback.url)];
            if (h.waiting.size() >= options_.per_destination_queue) {
              busy.push_back(task.delivery.id);
              continue;
            }
            h.waiting.push_back(std::move(task));
            ++queued_;
            ++taken;
          }
        }
        work_.notify_all();
        for (int64_t id : busy) {
          (void)store_.DeferDelivery(id, options_.clock() + kBusyDestinationDelayMs);
        }
        if (tasks->size() == static_cast<size_t>(options_.claim_batch)) continue;  // more due
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_poll_ms),
                 [&] { return stop_ || wakes_ != wakes; });
  }
}

void Dispatcher::Send() {
  HttpSenderOptions sender_options;
  sender_options.refuse_private_destinations = options_.refuse_private_destinations;
  HttpSender sender(sender_options);
  for (;;) {
    storage::DeliveryTask task;
    std::string host;
    {
      std::unique_lock<std::mutex> lock(mu_);
      Host* h = nullptr;
      work_.wait(lock, [&] { return stop_ || (h = ReadyHost(host)) != nullptr; });
      if (stop_) return;  // tasks still waiting stay leased, then due again for anyone
      task = std::move(h->waiting.front());
      h->waiting.pop_front();
      ++h->in_flight;
      --queued_;
    }
    cv_.notify_all();  // the claimer may have room again
    storage::DeliveryOutcome outcome = Deliver(task, sender);
    auto died = store_.CompleteDelivery(task.delivery.id, outcome);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = hosts_.find(host);
      if (it != hosts_.end()) {
        --it->second.in_flight;
        if (it->second.in_flight == 0 && it->second.waiting.empty()) hosts_.erase(it);
      }
    }
    work_.notify_all();
    if (outcome.delivered) {
      if (delivered_) delivered_->Inc();
    } else if (outcome.give_up) {
      if (dead_) dead_->Inc();
    } else if (failed_) {
      failed_->Inc();
    }
    if (died.ok() && *died && options_.on_dead) options_.on_dead(task.callback, outcome);
  }
}

}  // namespace roost::integration
