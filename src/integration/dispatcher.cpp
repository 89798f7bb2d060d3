#include "integration/dispatcher.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <limits>

#include "core/thread_name.h"
#include "integration/email.h"
#include "integration/http_sender.h"

namespace roost::integration {

namespace {

// A delivery whose destination is busy in this process is due again this soon
// at least.
constexpr int64_t kBusyDestinationDelayMs = 200;
// A host whose last send took this long (most likely its whole timeout) has
// its backlog put back for as long as its queue here takes to drain.
constexpr int64_t kHangingSendMs = 1'000;
constexpr size_t kMaxKnownHosts = 10'000;
// Deliveries sent but not recorded yet, past which senders wait for the recorder.
constexpr size_t kMaxUnrecorded = 8'192;
// The recorder waits this long, or for this many deliveries, before recording
// what finished (an attempt stays leased meanwhile).
constexpr std::chrono::milliseconds kRecordGather{5};
constexpr size_t kRecordGroup = 512;
// How long past the send timeout Stop waits for the sends in flight.
constexpr std::chrono::seconds kStopGrace{5};
// A failed record (the store busy or unreachable: a restart, a failover) is
// tried again, waiting from 50 ms doubling up to this, until the earliest
// lease of its deliveries ends: dropped, they would be sent again once their
// leases end, those delivered included. Senders wait meanwhile once
// kMaxUnrecorded are waiting.
constexpr int64_t kRecordRetryMaxWaitMs = 2'000;
// ... but only this many times in all once the dispatcher is stopping.
constexpr int kRecordTriesStopping = 3;

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

std::string DestinationOf(const Callback& callback) {
  if (callback.channel == CallbackChannel::kEmail) return std::string(kEmailDestination);
  return DestinationOf(callback.url);
}

struct Dispatcher::OwnLoop {
  boost::asio::io_context context{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{
      context.get_executor()};
  std::thread thread;
};

struct Dispatcher::Gate {
  std::mutex mu;
  bool open = true;  // guarded by mu
};

Dispatcher::Dispatcher(storage::Store& store, DispatcherOptions options)
    : store_(store), options_(std::move(options)), gate_(std::make_shared<Gate>()) {
  if (options_.metrics != nullptr) {
    auto family = options_.metrics->AddCounter(
        "roost_callback_deliveries_total", "Callback delivery attempts, by outcome", {"outcome"});
    if (family.ok()) {
      delivered_ = &(*family)->WithLabels({"delivered"});
      failed_ = &(*family)->WithLabels({"failed"});
      dead_ = &(*family)->WithLabels({"dead"});
    }
    auto expired = options_.metrics->AddCounter(
        "roost_callback_leases_expired_total",
        "Callback deliveries dropped unsent because their lease was about to end (due again for "
        "a claim once it has)",
        {});
    if (expired.ok()) expired_ = &(*expired)->Get();
    auto waiting = options_.metrics->AddGauge("roost_callback_queue_sends",
                                              "Callback sends (a delivery, or a BATCH_URL batch) "
                                              "waiting in the dispatcher's host queues");
    if (waiting.ok()) waiting_gauge_ = &(*waiting)->Get();
    auto in_flight = options_.metrics->AddGauge("roost_callback_sends_in_flight",
                                                "Callback HTTP requests in flight");
    if (in_flight.ok()) in_flight_gauge_ = &(*in_flight)->Get();
  }
  const unsigned n = std::max(1u, options_.max_in_flight);
  // Room for a claim beyond slow hosts' full queues, so that a few slow hosts
  // never stop the claimer.
  high_water_ = std::max<size_t>({8 * options_.per_destination_queue, 4 * size_t{n},
                                  2 * static_cast<size_t>(std::max(1, options_.claim_batch))});
  slow_high_water_ = high_water_ - static_cast<size_t>(std::max(1, options_.claim_batch));
  // Half the senders at most for hosts that hang (dead ones among them).
  slow_sends_ = std::max(1u, n / 2);
  if (options_.loop != nullptr) {
    loop_ = options_.loop;
  } else {
    own_loop_ = std::make_unique<OwnLoop>();
    loop_ = &own_loop_->context;
    own_loop_->thread = std::thread([loop = loop_] {
      NameThisThread("callback-loop");
      loop->run();
    });
  }
  HttpSenderOptions sender_options;
  sender_options.refuse_private_destinations = options_.refuse_private_destinations;
  sender_ = std::make_unique<AsyncHttpSender>(*loop_, sender_options);
  const unsigned email_threads = std::max(1u, options_.per_destination);
  for (unsigned i = 0; i < email_threads; ++i) threads_.emplace_back([this] { SendEmails(); });
  recorder_ = std::thread([this] { Record(); });
  if (options_.on_dead) alerter_ = std::thread([this] { SendAlerts(); });
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

size_t Dispatcher::HandoffRoom() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return 0;
  return queued_ < high_water_ ? high_water_ - queued_ : 0;
}

std::vector<int64_t> Dispatcher::Offer(std::vector<storage::DeliveryTask> tasks) {
  std::vector<int64_t> refused;
  if (tasks.empty()) return refused;
  bool email = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Busy busy;
    for (storage::DeliveryTask& task : tasks) {
      // Batches are the claimer's alone; a stopped dispatcher sends nothing more.
      if (stop_ || task.callback.channel == CallbackChannel::kBatchUrl) {
        refused.push_back(task.delivery.id);
        continue;
      }
      // A hand-off's lease is its due time until its attempt is recorded.
      const int64_t lease_end = task.delivery.next_attempt;
      Job job;
      job.push_back(std::move(task));
      email = Enqueue(std::move(job), lease_end, busy) || email;
    }
    // Refused ones are left to claims, which defer them as they find them.
    for (auto& [delay, ids] : busy) refused.insert(refused.end(), ids.begin(), ids.end());
  }
  if (email) work_.notify_all();
  SchedulePump();
  return refused;
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
  bool open = false;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    open = gate_->open;
  }
  if (open) {
    // HTTP sends in flight end on the loop (or time out there). A second
    // Stop has nothing to wait for: what was abandoned stays abandoned.
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait_for(lock, options_.timeout + kStopGrace, [&] { return sending_ == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->open = false;
  }
  if (sender_ != nullptr) {
    sender_->Close();  // what is still in flight stays leased
    // Now, while the loop its timer and sockets belong to still exists: a
    // dispatcher may be destroyed after the loop it was given.
    sender_.reset();
  }
  if (own_loop_ != nullptr && own_loop_->thread.joinable()) {
    own_loop_->guard.reset();
    own_loop_->context.stop();
    own_loop_->thread.join();
  }
  // Senders are done: the recorder records what they finished, then ends.
  {
    std::lock_guard<std::mutex> lock(record_mu_);
    record_stop_ = true;
  }
  record_cv_.notify_all();
  if (recorder_.joinable()) recorder_.join();
  // The alert thread ends after the try under way; alerts still queued stay
  // in the store for the next dispatcher.
  {
    std::lock_guard<std::mutex> lock(alert_mu_);
    alert_stop_ = true;
  }
  alert_cv_.notify_all();
  if (alerter_.joinable()) alerter_.join();
  // What was leased here and never sent (waiting in a host queue or a batch)
  // is due again at once for the next dispatcher, rather than at its lease's end.
  std::vector<int64_t> unsent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, host] : hosts_) {
      for (const Queued& queued : host.waiting) {
        for (const auto& task : queued.job) unsent.push_back(task.delivery.id);
      }
      host.waiting.clear();
    }
    queued_ = 0;
    slow_queued_ = 0;
    for (auto& [name, host] : hosts_) host.waiting_slow = 0;
    unsent.insert(unsent.end(), put_back_.begin(), put_back_.end());
    put_back_.clear();
    PublishDepths();
  }
  for (auto& [id, batch] : batches_) {
    for (const auto& task : batch.tasks) unsent.push_back(task.delivery.id);
  }
  batches_.clear();
  if (!unsent.empty()) (void)store_.DeferDeliveries(unsent, options_.clock());
}

std::optional<HttpRequest> Dispatcher::RequestFor(const Job& job, Attempt& failed) {
  const storage::DeliveryTask& first = job.front();
  auto compiled = compiled_.Get(first.callback);
  if (!compiled.ok()) {
    failed.status = kStatusOther;
    failed.info = "the callback does not compile: " + compiled.status().message();
    return std::nullopt;
  }
  if ((*compiled)->channel() == CallbackChannel::kBatchUrl) {
    std::vector<std::string> lines;
    lines.reserve(job.size());
    for (const auto& task : job) {
      lines.push_back((*compiled)->RenderLine(task.message, task.delivery));
    }
    return (*compiled)->RenderBatch(lines);
  }
  return (*compiled)->Render(first.message, first.delivery);
}

Dispatcher::Attempt Dispatcher::DeliverEmail(const Job& job) {
  Attempt out;
  const storage::DeliveryTask& first = job.front();
  auto compiled = compiled_.Get(first.callback);
  out.status = kStatusOther;
  if (!compiled.ok()) {
    out.info = "the callback does not compile: " + compiled.status().message();
    return out;
  }
  EmailParts email = (*compiled)->RenderEmail(first.message, first.delivery);
  if (!options_.send_email) {
    out.info = "no email configured (smtp.host)";
    return out;
  }
  auto address = ValidateAddress(email.recipient);
  if (!address.ok()) {
    out.info = "recipient: " + address.status().message();
    return out;
  }
  Status sent = options_.send_email(*address, email.subject, email.body);
  if (!sent.ok()) {
    out.info = "email not sent: " + sent.message().substr(0, 200);
    return out;
  }
  out.delivered = true;
  out.status = 250;
  out.info = "email sent";
  return out;
}

storage::DeliveryOutcome Dispatcher::OutcomeFor(const Delivery& d, const Attempt& attempt,
                                                int64_t now) const {
  storage::DeliveryOutcome out;
  out.delivered = attempt.delivered;
  out.status = attempt.status;
  out.info = attempt.info;
  out.now = now;
  if (out.delivered) return out;
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

size_t Dispatcher::SlowQueueLimit(const std::string& name) const {
  // Each waiting send is taken to last as long as the host's last one did, or
  // its whole timeout for a host not met yet (one that never answers).
  auto known = speed_.find(name);
  const int64_t per_send = std::max<int64_t>(
      1, known != speed_.end()
             ? known->second.took_ms
             : (name == kEmailDestination ? options_.email_timeout : options_.timeout).count());
  const auto rounds = static_cast<size_t>(std::max<int64_t>(1, options_.lease_ms / 2 / per_send));
  return std::min(options_.per_destination_queue, rounds * std::max(1u, options_.per_destination));
}

bool Dispatcher::Enqueue(Job job, int64_t lease_end, Busy& busy) {
  const std::string name = DestinationOf(job.front().callback);
  Host& h = hosts_[name];
  const bool quick = IsQuick(name);
  const bool host_full = !quick && h.waiting.size() >= SlowQueueLimit(name);
  const bool full =
      quick ? queued_ >= high_water_
            : host_full || (name != kEmailDestination && slow_queued_ >= slow_high_water_);
  if (full) {
    int64_t delay = kBusyDestinationDelayMs;
    auto known = speed_.find(name);
    const int64_t took = known != speed_.end() ? known->second.took_ms : 0;
    if (host_full && took >= kHangingSendMs) {
      // A host that hangs: about as long as the sends queued for it will take
      // at the pace of its last send, within half a lease. Others are looked
      // at again soon: a host slow once may well be quick at its next answer.
      const auto rounds =
          static_cast<int64_t>(h.waiting.size() / std::max(1u, options_.per_destination));
      delay = std::clamp(rounds * took, kBusyDestinationDelayMs,
                         std::max(kBusyDestinationDelayMs, options_.lease_ms / 2));
    }
    auto& ids = busy[delay];
    for (const auto& task : job) ids.push_back(task.delivery.id);
    if (h.waiting.empty() && h.in_flight == 0) hosts_.erase(name);
    return false;
  }
  h.waiting.push_back(Queued{std::move(job), lease_end});
  ++queued_;
  if (!quick && name != kEmailDestination) {
    ++h.waiting_slow;
    ++slow_queued_;
  }
  PublishDepths();
  return name == kEmailDestination;
}

void Dispatcher::PublishDepths() {
  if (waiting_gauge_ != nullptr) waiting_gauge_->Set(static_cast<double>(queued_));
  if (in_flight_gauge_ != nullptr) in_flight_gauge_->Set(sending_);
}

bool Dispatcher::IsQuick(const std::string& host) const {
  auto it = speed_.find(host);
  return it != speed_.end() && it->second.quick;
}

bool Dispatcher::IsHanging(const std::string& host) const {
  auto it = speed_.find(host);
  return it != speed_.end() && it->second.hanging;
}

Dispatcher::Host* Dispatcher::ReadyHost(std::string& name, bool email) {
  if (email) {
    auto it = hosts_.find(std::string(kEmailDestination));
    if (it == hosts_.end() || it->second.waiting.empty() ||
        it->second.in_flight >= std::max(1u, options_.per_destination)) {
      return nullptr;
    }
    name = it->first;
    return &it->second;
  }
  const unsigned slow = std::max(1u, options_.per_destination);
  const unsigned quick = std::max(slow, options_.quick_destination);
  // Each host in turn, from the one after the host served last: a fixed order
  // would give every free sender to the hosts whose names sort first.
  auto start = hosts_.upper_bound(last_served_);
  for (size_t i = 0, n = hosts_.size(); i < n; ++i, ++start) {
    if (start == hosts_.end()) start = hosts_.begin();
    auto& [host, h] = *start;
    if (host == kEmailDestination || h.waiting.empty()) continue;
    if (h.in_flight >= (IsQuick(host) ? quick : slow)) continue;
    if (IsHanging(host) && slow_sending_ >= slow_sends_) continue;
    name = host;
    last_served_ = host;
    return &h;
  }
  return nullptr;
}

Dispatcher::Queued Dispatcher::StartSend(Host& h, const std::string& name, bool& hanging) {
  Queued job = std::move(h.waiting.front());
  h.waiting.pop_front();
  --queued_;
  if (h.waiting_slow > 0) {
    --h.waiting_slow;
    --slow_queued_;
  }
  ++h.in_flight;
  hanging = name != kEmailDestination && IsHanging(name);
  if (hanging) {
    ++h.in_flight_slow;
    ++slow_sending_;
  }
  return job;
}

int64_t Dispatcher::LeaseNeededMs(std::chrono::milliseconds timeout) const {
  return std::min<int64_t>(timeout.count() + 1'000, options_.lease_ms / 2);
}

bool Dispatcher::DropExpiring(Host& h, const std::string& name, std::chrono::milliseconds timeout,
                              int64_t now) {
  const int64_t needed = LeaseNeededMs(timeout);
  bool dropped = false;
  while (!h.waiting.empty() && h.waiting.front().lease_end - now < needed) {
    if (expired_ != nullptr) expired_->Inc(h.waiting.front().job.size());
    h.waiting.pop_front();
    --queued_;
    if (h.waiting_slow > 0) {
      --h.waiting_slow;
      --slow_queued_;
    }
    dropped = true;
  }
  if (dropped) {
    PublishDepths();
    ++wakes_;  // room for the claimer
    cv_.notify_all();
  }
  if (!h.waiting.empty() || h.in_flight > 0) return true;
  hosts_.erase(name);
  return false;
}

void Dispatcher::TrimTurnedSlow(const std::string& name) {
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return;
  Host& h = it->second;
  const size_t keep = SlowQueueLimit(name);
  while (h.waiting.size() > keep) {
    for (const auto& task : h.waiting.back().job) put_back_.push_back(task.delivery.id);
    h.waiting.pop_back();
    --queued_;
  }
  if (name != kEmailDestination) {
    slow_queued_ += h.waiting.size() - std::min(h.waiting_slow, h.waiting.size());
    slow_queued_ -= h.waiting_slow - std::min(h.waiting_slow, h.waiting.size());
    h.waiting_slow = h.waiting.size();
  }
}

void Dispatcher::Claim() {
  NameThisThread("callback-claim");
  const size_t batch_lines = std::max<size_t>(1, options_.batch_lines);
  for (;;) {
    uint64_t wakes = 0;
    bool room = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      wakes = wakes_;
      room = queued_ + static_cast<size_t>(std::max(1, options_.claim_batch)) <= high_water_;
    }
    bool more = false;
    Busy busy;
    {
      // Deliveries taken off a queue that turned slow: due again soon.
      std::vector<int64_t> put_back;
      {
        std::lock_guard<std::mutex> lock(mu_);
        put_back.swap(put_back_);
      }
      if (!put_back.empty()) {
        (void)store_.DeferDeliveries(put_back, options_.clock() + kBusyDestinationDelayMs);
      }
    }
    if (room) {
      const int64_t claimed_at = options_.clock();
      const int64_t lease_end = claimed_at + options_.lease_ms;
      auto tasks = store_.ClaimDeliveries(claimed_at, options_.claim_batch, options_.lease_ms);
      if (tasks.ok()) {
        const int64_t now = options_.clock();
        std::vector<Queued> ready;
        for (storage::DeliveryTask& task : *tasks) {
          if (task.callback.channel != CallbackChannel::kBatchUrl) {
            ready.push_back(Queued{Job{}, lease_end});
            ready.back().job.push_back(std::move(task));
            continue;
          }
          Batch& b = batches_[task.callback.id];
          if (b.tasks.empty()) {
            b.lease_end = lease_end;  // its first delivery's lease ends first
            // Sent early enough for its lease, whatever the interval: at its
            // lease's end less twice what a send needs, the batch was dropped
            // unsent, claimed again, and so on for good.
            b.due = std::max(now, std::min(now + options_.batch_interval_ms,
                                           lease_end - 2 * LeaseNeededMs(options_.timeout)));
          }
          b.tasks.push_back(std::move(task));
          if (b.tasks.size() >= batch_lines) {
            ready.push_back(Queued{std::move(b.tasks), b.lease_end});
            batches_.erase(ready.back().job.front().callback.id);
          }
        }
        bool email = false;
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (Queued& q : ready) email = Enqueue(std::move(q.job), q.lease_end, busy) || email;
        }
        if (email) work_.notify_all();
        SchedulePump();
        more = tasks->size() == static_cast<size_t>(options_.claim_batch);
      }
    }
    // Batches whose time is up go even when not full.
    const int64_t now = options_.clock();
    int64_t next_due = now + options_.idle_poll_ms;
    {
      std::vector<Queued> due;
      for (auto it = batches_.begin(); it != batches_.end();) {
        if (it->second.due <= now) {
          due.push_back(Queued{std::move(it->second.tasks), it->second.lease_end});
          it = batches_.erase(it);
        } else {
          next_due = std::min(next_due, it->second.due);
          ++it;
        }
      }
      if (!due.empty()) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (Queued& q : due) Enqueue(std::move(q.job), q.lease_end, busy);
        }
        SchedulePump();
      }
    }
    for (const auto& [delay, ids] : busy) {
      (void)store_.DeferDeliveries(ids, options_.clock() + delay);
    }
    if (more) continue;  // more due
    std::unique_lock<std::mutex> lock(mu_);
    // A claimer that found the queues full also wakes once senders made room:
    // waiting for the next poll instead stalled delivery (64 per 200 ms).
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, next_due - now)), [&] {
      return stop_ || wakes_ != wakes ||
             (!room &&
              queued_ + static_cast<size_t>(std::max(1, options_.claim_batch)) <= high_water_);
    });
  }
}

void Dispatcher::SchedulePump() {
  if (pump_posted_.exchange(true)) return;
  boost::asio::post(*loop_, [this, gate = gate_] {
    std::lock_guard<std::mutex> open(gate->mu);
    if (!gate->open) return;
    pump_posted_ = false;
    Pump();
  });
}

void Dispatcher::Pump() {
  const unsigned most = std::max(1u, options_.max_in_flight);
  for (;;) {
    {
      // Past this many unrecorded deliveries the recorder is behind: it
      // schedules a pump once it caught up.
      std::lock_guard<std::mutex> lock(record_mu_);
      if (finished_deliveries_ >= kMaxUnrecorded) return;
    }
    Queued job;
    std::string host;
    bool hanging = false;  // counted in slow_sending_
    bool room = false;     // the claimer may claim again
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ || sending_ >= most) return;  // stopping: waiting tasks stay leased
      Host* h = ReadyHost(host, /*email=*/false);
      if (h == nullptr) return;
      if (!DropExpiring(*h, host, options_.timeout, options_.clock()) || h->waiting.empty()) {
        continue;
      }
      job = StartSend(*h, host, hanging);
      ++sending_;
      PublishDepths();
      room = queued_ + static_cast<size_t>(std::max(1, options_.claim_batch)) == high_water_;
    }
    // Only when room just came: a wake-up per send would make the claimer
    // thread, and the loop, switch in and out for nothing.
    if (room) cv_.notify_all();
    Attempt failed;
    std::optional<HttpRequest> request = RequestFor(job.job, failed);
    if (!request) {
      Finish(std::move(job), host, std::move(failed), /*took_ms=*/-1, /*http=*/true, hanging);
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    auto shared = std::make_shared<Queued>(std::move(job));
    sender_->Send(std::move(*request), options_.timeout,
                  [this, gate = gate_, shared, host, started, hanging](HttpOutcome sent) {
                    std::lock_guard<std::mutex> open(gate->mu);
                    if (!gate->open) return;
                    Attempt attempt;
                    attempt.status = sent.status;
                    attempt.info = std::move(sent.info);
                    attempt.delivered = attempt.status >= 200 && attempt.status < 300;
                    if (attempt.info.empty()) {
                      attempt.info = "HTTP " + std::to_string(attempt.status);
                    }
                    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started)
                                          .count();
                    Finish(std::move(*shared), host, std::move(attempt), took, /*http=*/true,
                           hanging);
                    Pump();
                  });
  }
}

void Dispatcher::Finish(Queued job, const std::string& host, Attempt attempt, int64_t took_ms,
                        bool http, bool counted_hanging) {
  // An answer, even a refusal, that came quickly; no answer (6xx) is slow.
  const bool quick =
      attempt.status > 0 && attempt.status < 600 && took_ms <= options_.quick_answer_ms;
  const int64_t now = options_.clock();
  bool first = false;  // the recorder may be asleep
  size_t finished_deliveries_now = 0;
  {
    std::lock_guard<std::mutex> lock(record_mu_);
    first = finished_.empty();
    finished_deliveries_ += job.job.size();
    finished_deliveries_now = finished_deliveries_;
    finished_.push_back(Finished{std::move(job.job), std::move(attempt), now, job.lease_end});
  }
  if (first || finished_deliveries_now >= kRecordGroup) record_cv_.notify_all();
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (speed_.size() >= kMaxKnownHosts && !speed_.count(host)) speed_.clear();
    const bool was_quick = IsQuick(host);
    // Hanging: the send held its sender long (no answer within the timeout,
    // or a slow one). A host that refuses at once holds nobody up.
    const int64_t hang_ms = std::min<int64_t>(
        kHangingSendMs, (http ? options_.timeout : options_.email_timeout).count() / 2);
    const bool hanging = took_ms >= hang_ms;
    const bool sent = took_ms >= 0;  // else the host was not even asked
    if (sent) speed_[host] = HostSpeed{quick, hanging, took_ms};
    if (sent && was_quick && !quick) {
      TrimTurnedSlow(host);
      if (!put_back_.empty()) {
        ++wakes_;  // the claimer puts them back
        cv_.notify_all();
      }
    }
    auto it = hosts_.find(host);
    if (it != hosts_.end()) {
      --it->second.in_flight;
      // Only a send counted when it started: one that started before its
      // host was found hanging never was, and uncounting it for a later one
      // let hanging hosts take every sender.
      if (counted_hanging && it->second.in_flight_slow > 0) {
        --it->second.in_flight_slow;
        --slow_sending_;
      }
      if (it->second.in_flight == 0 && it->second.waiting.empty()) hosts_.erase(it);
    }
    if (http) --sending_;
    PublishDepths();
    stopping = stop_;
  }
  if (!http) work_.notify_all();  // the email host has room again
  if (stopping) idle_.notify_all();
}

void Dispatcher::SendEmails() {
  NameThisThread("callback-email");
  for (;;) {
    Queued job;
    std::string host;
    {
      std::unique_lock<std::mutex> lock(mu_);
      Host* h = nullptr;
      work_.wait(lock, [&] { return stop_ || (h = ReadyHost(host, /*email=*/true)) != nullptr; });
      if (stop_) return;  // tasks still waiting stay leased, then due again for anyone
      if (!DropExpiring(*h, host, options_.email_timeout, options_.clock()) || h->waiting.empty()) {
        continue;
      }
      bool counted = false;  // never for email
      job = StartSend(*h, host, counted);
      PublishDepths();
    }
    cv_.notify_all();  // the claimer may have room again
    const auto started = std::chrono::steady_clock::now();
    Attempt attempt = DeliverEmail(job.job);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    {
      std::unique_lock<std::mutex> lock(record_mu_);
      record_cv_.wait(lock, [&] { return finished_deliveries_ < kMaxUnrecorded; });
    }
    Finish(std::move(job), host, std::move(attempt), took, /*http=*/false,
           /*counted_hanging=*/false);
  }
}

void Dispatcher::Record() {
  NameThisThread("callback-record");
  std::vector<Finished> finished;
  std::vector<storage::DeliveryCompletion> completions;
  std::vector<const storage::DeliveryTask*> tasks;
  for (;;) {
    finished.clear();
    {
      std::unique_lock<std::mutex> lock(record_mu_);
      record_cv_.wait(lock, [&] { return record_stop_ || !finished_.empty(); });
      // A moment for more to finish: each record is a transaction of its
      // own, and a few deliveries each made recording cost as much as ingest.
      record_cv_.wait_for(lock, kRecordGather,
                          [&] { return record_stop_ || finished_deliveries_ >= kRecordGroup; });
      if (finished_.empty()) return;  // stopped and drained
      finished.swap(finished_);
      finished_deliveries_ = 0;
    }
    record_cv_.notify_all();  // email threads waiting for room
    SchedulePump();           // the loop, should it have stopped for room
    completions.clear();
    tasks.clear();
    int64_t lease_end = std::numeric_limits<int64_t>::max();  // the group's earliest
    for (const Finished& f : finished) {
      lease_end = std::min(lease_end, f.lease_end);
      for (const storage::DeliveryTask& task : f.job) {
        completions.push_back({task.delivery.id, OutcomeFor(task.delivery, f.attempt, f.now),
                               task.callback.id, task.lease_until});
        tasks.push_back(&task);
      }
    }
    auto died = store_.CompleteDeliveries(completions);
    int64_t wait_ms = 50;
    for (int tries = 1; !died.ok(); ++tries) {
      // Only what may pass: the store unreachable or busy a moment. And not
      // past the earliest lease of the group: by then those deliveries may
      // be another sender's, and this record would overwrite its outcome.
      const Status::Code code = died.status().code();
      if (code != Status::Code::kIoError && code != Status::Code::kUnavailable) break;
      bool stopping = false;
      {
        std::lock_guard<std::mutex> lock(record_mu_);
        stopping = record_stop_;
      }
      if ((stopping && tries >= kRecordTriesStopping) || options_.clock() + wait_ms >= lease_end) {
        break;
      }
      const auto wait = std::chrono::milliseconds(wait_ms);
      std::this_thread::sleep_for(wait);
      wait_ms = std::min(wait_ms * 2, kRecordRetryMaxWaitMs);
      died = store_.CompleteDeliveries(completions);
    }
    for (size_t i = 0; i < completions.size(); ++i) {
      const storage::DeliveryOutcome& outcome = completions[i].outcome;
      if (outcome.delivered) {
        if (delivered_) delivered_->Inc();
      } else if (outcome.give_up) {
        if (dead_) dead_->Inc();
      } else if (failed_) {
        failed_->Inc();
      }
      if (!died.ok() || !(*died)[i]) continue;
      if (options_.on_died) options_.on_died(tasks[i]->callback, outcome);
      if (options_.on_dead) {
        {
          std::lock_guard<std::mutex> lock(alert_mu_);
          alert_wake_ = true;  // its alert is queued: no need to wait for the next look
        }
        alert_cv_.notify_all();
      }
    }
  }
}

void Dispatcher::SendAlerts() {
  NameThisThread("callback-alert");
  // The lease of an alert being sent: longer than a mail server's timeout, so
  // no other instance sends it meanwhile.
  constexpr int64_t kAlertLeaseMs = 120'000;
  std::optional<int64_t> soonest_retry;  // of the alerts this thread tried again
  std::optional<std::chrono::steady_clock::time_point> last_error;  // told on_alert_error
  auto store_error = [&](const Status& error) {
    const auto now = std::chrono::steady_clock::now();
    if (error.ok() || !options_.on_alert_error ||
        (last_error && now - *last_error < std::chrono::minutes(1))) {
      return;
    }
    last_error = now;
    options_.on_alert_error(error);
  };
  std::unique_lock<std::mutex> lock(alert_mu_);
  while (!alert_stop_) {
    alert_wake_ = false;
    lock.unlock();
    // One at a time: an alert is claimed only when it can be tried at once,
    // so that none waits out a lease behind a slow mail server here.
    const int64_t now = options_.clock();
    if (soonest_retry && *soonest_retry <= now) soonest_retry.reset();
    auto claimed = store_.ClaimDeadAlerts(now, 1, kAlertLeaseMs);
    if (!claimed.ok()) store_error(claimed.status());
    const bool tried = claimed.ok() && !claimed->empty();
    if (tried) {
      const storage::DeadAlertTask& alert = claimed->front();
      storage::DeliveryOutcome last;
      last.status = alert.status;
      last.info = alert.info;
      last.give_up = true;
      const Status sent = options_.on_dead(alert.callback, last);
      const auto& waits = options_.alert_retry_waits;
      std::optional<int64_t> retry_at;
      if (!sent.ok() && alert.tries < static_cast<int32_t>(waits.size())) {
        retry_at = options_.clock() + waits[static_cast<size_t>(alert.tries)].count();
        soonest_retry = soonest_retry ? std::min(*soonest_retry, *retry_at) : *retry_at;
      }
      // A stale claim (the callback enabled again meanwhile) records nothing;
      // an error leaves the alert to be claimed again once its lease ends.
      auto recorded = store_.CompleteDeadAlert(alert, retry_at);
      if (!recorded.ok()) store_error(recorded.status());
    }
    lock.lock();
    if (tried) continue;  // another may be due
    int64_t wait = options_.alert_poll_ms;
    if (soonest_retry) wait = std::min(wait, *soonest_retry - now);
    alert_cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wait)),
                       [&] { return alert_stop_ || alert_wake_; });
  }
}

}  // namespace roost::integration
