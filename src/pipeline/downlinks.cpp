#include "pipeline/downlinks.h"

#include <algorithm>

#include "core/hex.h"
#include "core/thread_name.h"
#include "integration/callback_request.h"
#include "integration/downlink_answer.h"

namespace roost::pipeline {

namespace {

// A call that never ends (a bug) must not hold a frame's answers for ever.
constexpr int64_t kCallGraceMs = 2'000;
// How often a frame whose hook another instance calls looks for its decision.
constexpr int64_t kAwaitPollMs = 50;
// Frames started (their mode looked up, their hook's call queued), and frames
// decided, by turns of at most this many each.
constexpr size_t kBatch = 64;

// Why a refused frame got no downlink, as recorded on its message.
constexpr std::string_view kFullReason =
    "no room: pipeline.downlink_max_frames frames were awaiting their downlink";
constexpr std::string_view kShareReason =
    "no room: the reporting client held its share of the frames awaiting their downlink "
    "(pipeline.downlink_max_frames_per_client)";

storage::DeliveryOutcome OutcomeOf(const integration::HttpOutcome& sent, EpochMillis now) {
  storage::DeliveryOutcome out;
  out.delivered = sent.status >= 200 && sent.status < 300;
  out.status = sent.status;
  out.info = sent.info.empty() ? "HTTP " + std::to_string(sent.status) : sent.info;
  out.now = now;
  // The dispatcher retries it from here with its own back-off.
  out.retry_at = now + 1'000;
  return out;
}

// Not called: its delivery goes out later through the dispatcher.
std::string TooManyCalls(std::chrono::milliseconds timeout) {
  return "no answer: the downlinkHook callback could not be called within " +
         std::to_string(timeout.count()) + " ms (too many calls waiting)";
}

}  // namespace

struct DownlinkArbiter::Gate {
  std::mutex mu;
  bool open = true;  // guarded by mu
};

DownlinkArbiter::DownlinkArbiter(storage::Store& store, DownlinkOptions options)
    : store_(store), options_(std::move(options)), gate_(std::make_shared<Gate>()) {
  if (options_.loop != nullptr) {
    integration::HttpSenderOptions sender_options;
    sender_options.refuse_private_destinations = options_.refuse_private_destinations;
    sender_options.max_answer_bytes = integration::kMaxDownlinkAnswerBytes + 1;
    sender_ = std::make_unique<integration::AsyncHttpSender>(*options_.loop, sender_options);
  }
  const unsigned callers = std::max(1u, options_.callback_threads);
  for (unsigned i = 0; i < callers; ++i) callers_.emplace_back([this] { CallHooks(); });
  thread_ = std::thread([this] { Run(); });
}

DownlinkArbiter::~DownlinkArbiter() {
  Stop();
}

void DownlinkArbiter::Hold(const storage::MessageCursor& key, std::string station,
                           const std::string& client, Answer answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Key k{key.device, key.time, key.seq_number};
    const auto share = client_frames_.find(client);
    const bool over_share =
        share != client_frames_.end() && share->second >= options_.max_frames_per_client;
    if (!stop_ && !frames_.contains(k) &&
        (frames_.size() >= options_.max_frames || over_share || refused_.contains(k))) {
      if (options_.refused != nullptr) options_.refused->Inc();
      if (refused_.insert(k).second) {
        refused_order_.push_back(k);
        if (refused_order_.size() > options_.max_frames) {
          refused_.erase(refused_order_.front());
          refused_order_.pop_front();
        }
        // Recorded on the message by the arbiter's thread, so that no instance
        // decides the frame for a station already told "no downlink". Past
        // max_frames waiting, the oldest go unrecorded.
        unrecorded_.emplace_back(k, frames_.size() < options_.max_frames);
        if (unrecorded_.size() > options_.max_frames) unrecorded_.pop_front();
        cv_.notify_all();
      }
    } else if (auto held = frames_.find(k);
               !stop_ && held != frames_.end() &&
               held->second.held.size() >= options_.max_held_per_frame) {
      if (options_.refused != nullptr) options_.refused->Inc();  // answered below
    } else if (!stop_) {
      Frame& f = frames_[k];
      if (f.held.empty() && !f.started) {
        f.first_seen = options_.clock();
        f.deadline = f.first_seen + options_.hold_ms;
        f.client = client;
        ++client_frames_[client];
        unstarted_.push_back(k);
      }
      f.held.emplace_back(std::move(station), std::move(answer));
      cv_.notify_all();
      return;
    }
  }
  answer(std::nullopt);
}

void DownlinkArbiter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  calls_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& t : callers_) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->open = false;
  }
  if (sender_ != nullptr) {
    // Calls still in flight are abandoned: their deliveries stay leased, and
    // the dispatcher sends them once the lease ends.
    sender_->Close();
    sender_.reset();
  }
  // Calls answered but not recorded yet are recorded now: left pending, each
  // hook would be called again, by the dispatcher, after the restart.
  std::deque<Answered> answered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    answered.swap(answered_);
  }
  for (const Answered& a : answered) (void)Record(a);
}

void DownlinkArbiter::Start(const Key& key, EpochMillis first_seen) {
  std::optional<HookResult> decided;  // set when no call is made for a CALLBACK-mode frame
  std::optional<Call> call;
  auto m = store_.GetMessage(storage::MessageCursor{key.time, key.device, key.seq});
  if (m.ok() && m->downlink_station.empty() && m->downlink_info.empty()) {
    auto type = store_.GetDeviceType(m->type);
    if (type.ok() && type->downlink_mode == DownlinkMode::kCallback) {
      auto callbacks = store_.ListCallbacks(type->id);
      const Callback* hook = nullptr;
      if (callbacks.ok()) {
        for (const Callback& cb : *callbacks) {
          if (cb.downlink_hook) hook = &cb;
        }
      }
      if (!callbacks.ok()) {
        decided = HookResult{std::nullopt, "the downlinkHook callback could not be read"};
      } else if (hook == nullptr) {
        decided = HookResult{std::nullopt, "the device type has no downlinkHook callback"};
      } else if (!hook->enabled || hook->dead) {
        decided = HookResult{std::nullopt, std::string("the downlinkHook callback is ") +
                                               (hook->dead ? "dead" : "disabled")};
      } else {
        call = Call{key, first_seen + options_.callback_timeout.count(), std::move(*m), *hook};
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = frames_.find(key);
  if (it == frames_.end()) return;
  if (decided) it->second.hook = std::move(decided);
  if (call) {
    it->second.call_pending = true;
    calls_.push_back(std::move(*call));
    calls_cv_.notify_one();
  }
}

std::optional<HookResult> DownlinkArbiter::SendCall(const Call& call) {
  const int64_t remaining = call.deadline - options_.clock();
  if (remaining <= 0) return HookResult{std::nullopt, TooManyCalls(options_.callback_timeout)};
  if (sender_ == nullptr) {
    return HookResult{std::nullopt, "the downlinkHook callback could not be called: no event loop"};
  }
  // The frame's delivery to the hook, queued with the message: the call is its attempt.
  const storage::MessageCursor cursor{call.key.time, call.key.device, call.key.seq};
  std::optional<Delivery> delivery;
  if (auto listed = store_.ListMessageDeliveries(std::span(&cursor, 1)); listed.ok()) {
    for (const Delivery& d : *listed) {
      if (d.callback == call.callback.id && !d.duplicate) delivery = d;
    }
  }
  if (delivery && (delivery->state != DeliveryState::kPending || delivery->attempts > 0)) {
    return HookResult{std::nullopt, "the downlinkHook callback was called for this frame already",
                      true};
  }
  if (delivery) {
    // Leased past the call's deadline: should this instance die before
    // recording the attempt, the dispatcher sends the data to the hook then.
    auto claimed =
        store_.ClaimHookDelivery(delivery->id, options_.clock(), call.deadline + kCallGraceMs);
    if (!claimed.ok()) {
      return HookResult{std::nullopt,
                        "the downlinkHook callback's delivery could not be claimed: " +
                            claimed.status().message()};
    }
    if (*claimed == storage::Store::HookClaim::kClaimedElsewhere) {
      return HookResult{std::nullopt, "the downlinkHook callback is called by another instance",
                        true};
    }
    if (*claimed == storage::Store::HookClaim::kDispatchers) {
      // Its callback became the hook after ingest (the delivery was queued as
      // an ordinary one), or the delivery came due before this call (the
      // arbiter was held up past the hook's delay): the frame's data goes to
      // it as a callback, with no downlink asked of it.
      return HookResult{std::nullopt,
                        "the frame's delivery to the downlinkHook callback was already the "
                        "dispatcher's (the hook changed after the frame arrived, or the call "
                        "came too late)"};
    }
  }
  Delivery rendered;
  if (delivery) {
    rendered = *delivery;
  } else {
    rendered.callback = call.callback.id;
    rendered.device = call.key.device;
    rendered.message_time = call.key.time;
    rendered.seq_number = call.key.seq;
    rendered.station = call.message.rinfos.empty()
                           ? ""
                           : ReceptionKey(call.message.rinfos.front().station,
                                          call.message.rinfos.front().public_network);
  }
  auto compiled = hooks_.Get(call.callback);
  if (!compiled.ok()) {
    return HookResult{std::nullopt,
                      "the downlinkHook callback does not compile: " + compiled.status().message()};
  }
  if ((*compiled)->channel() != CallbackChannel::kUrl) {
    return HookResult{std::nullopt, "the downlinkHook callback is not a URL callback"};
  }
  integration::HttpRequest request = (*compiled)->Render(call.message, rendered);
  Answered pending{call.key,
                   call.callback.id,
                   delivery ? std::optional<int64_t>(delivery->id) : std::nullopt,
                   {}};
  // The deadline counts from when the frame was first seen, not from now.
  const auto timeout = std::chrono::milliseconds(call.deadline - options_.clock());
  sender_->Send(std::move(request), std::max(timeout, std::chrono::milliseconds(1)),
                [this, gate = gate_, pending = std::move(pending)](integration::HttpOutcome sent) {
                  std::lock_guard<std::mutex> open(gate->mu);
                  if (!gate->open) return;
                  Answered answered = pending;
                  answered.outcome = std::move(sent);
                  {
                    std::lock_guard<std::mutex> lock(mu_);
                    answered_.push_back(std::move(answered));
                  }
                  calls_cv_.notify_one();
                });
  return std::nullopt;
}

HookResult DownlinkArbiter::Record(const Answered& answered) {
  const integration::HttpOutcome& sent = answered.outcome;
  if (answered.delivery) {
    // Recorded only on a delivery still of the hook's callback: SQLite may give
    // the id of a delivery deleted meanwhile (its callback deleted) to another.
    const storage::DeliveryCompletion done{*answered.delivery, OutcomeOf(sent, options_.clock()),
                                           answered.hook};
    (void)store_.CompleteDeliveries(std::span(&done, 1));
  }
  if (sent.status == integration::kStatusTimeout) {
    return {std::nullopt, "no answer from the downlinkHook callback within " +
                              std::to_string(options_.callback_timeout.count()) + " ms"};
  }
  if (sent.status >= 600) {
    // The kind of failure, not the sender's text: that names the host, port
    // and address it reached, and the reason is stored on the message, which
    // the device's next owner reads after a transfer. The hook's delivery
    // keeps the text (shown to those who see the callback).
    static constexpr const char* kWhy[] = {
        "its host name did not resolve", "no connection could be made",
        "no complete answer in time",    "the TLS handshake or certificate was refused",
        "the exchange failed",           "its destination is not allowed"};
    const int i = sent.status - integration::kStatusCannotResolve;
    return {std::nullopt, std::string("the downlinkHook callback could not be called: ") +
                              (i >= 0 && i < 6 ? kWhy[i] : "the exchange failed") + " (" +
                              std::to_string(sent.status) + ")"};
  }
  if (sent.status < 200 || sent.status >= 300) {
    return {std::nullopt, "the downlinkHook callback answered HTTP " + std::to_string(sent.status)};
  }
  // The Sigfox Cloud's other way of saying noData: 204 No Content, no body.
  if (sent.status == 204) {
    return {std::nullopt, "noData: the downlinkHook callback answered HTTP 204 (no downlink)"};
  }
  auto answer = integration::ParseDownlinkAnswer(sent.body, SigfoxId{answered.key.device});
  if (!answer.ok()) return {std::nullopt, "malformed answer: " + answer.status().message()};
  if (!answer->data) return {std::nullopt, "noData: the downlinkHook callback sent no downlink"};
  return {answer->data, ""};
}

void DownlinkArbiter::Finish(const Key& key, HookResult result) {
  auto it = frames_.find(key);
  if (it == frames_.end()) return;
  if (result.elsewhere) {
    // The other instance decides at the end of its own hold, which may
    // have started later than this one's.
    it->second.await_until =
        it->second.deadline + options_.hold_ms + options_.callback_timeout.count();
  }
  it->second.hook = std::move(result);
  it->second.call_pending = false;
  cv_.notify_all();
}

void DownlinkArbiter::CallHooks() {
  NameThisThread("downlink-hooks");
  const unsigned max_in_flight = std::max(1u, options_.calls_in_flight);
  const unsigned max_per_hook = std::max(1u, options_.calls_per_hook);
  std::unique_lock<std::mutex> lock(mu_);
  auto has_room = [&](const std::string& hook) {
    auto it = hook_in_flight_.find(hook);
    return in_flight_ < max_in_flight && (it == hook_in_flight_.end() || it->second < max_per_hook);
  };
  auto give_back = [&](const std::string& hook) {
    --in_flight_;
    auto it = hook_in_flight_.find(hook);
    if (it != hook_in_flight_.end() && --it->second == 0) hook_in_flight_.erase(it);
  };
  for (;;) {
    if (stop_) return;
    if (!answered_.empty()) {
      Answered answered = std::move(answered_.front());
      answered_.pop_front();
      give_back(answered.hook);
      lock.unlock();
      HookResult result = Record(answered);
      lock.lock();
      Finish(answered.key, std::move(result));
      continue;
    }
    // The first queued call that may go (a hook at its limit holds back only
    // its own calls), or whose deadline passed while it waited for room.
    const EpochMillis now = options_.clock();
    auto next = std::find_if(calls_.begin(), calls_.end(), [&](const Call& c) {
      return c.deadline <= now || has_room(c.callback.id);
    });
    if (next == calls_.end()) {
      if (calls_.empty()) {
        calls_cv_.wait(lock);
      } else {
        EpochMillis soonest = calls_.front().deadline;
        for (const Call& c : calls_) soonest = std::min(soonest, c.deadline);
        calls_cv_.wait_for(lock,
                           std::chrono::milliseconds(std::max<EpochMillis>(1, soonest - now)));
      }
      continue;
    }
    Call call = std::move(*next);
    calls_.erase(next);
    if (call.deadline <= now) {
      Finish(call.key, HookResult{std::nullopt, TooManyCalls(options_.callback_timeout)});
      continue;
    }
    ++in_flight_;
    ++hook_in_flight_[call.callback.id];
    lock.unlock();
    std::optional<HookResult> result = SendCall(call);
    lock.lock();
    if (result) {
      give_back(call.callback.id);
      Finish(call.key, std::move(*result));
    }
  }
}

Result<std::optional<std::pair<std::string, std::string>>> DownlinkArbiter::Decide(
    const storage::MessageCursor& key, const HookResult* hook) {
  using Decision = std::optional<std::pair<std::string, std::string>>;
  auto m = store_.GetMessage(key);
  if (!m.ok()) return m.status();
  if (!m->downlink_station.empty()) {
    return Decision(std::make_pair(m->downlink_data, m->downlink_station));
  }
  if (!m->downlink_info.empty() || m->rinfos.empty()) return Decision();
  auto type = store_.GetDeviceType(m->type);
  if (!type.ok()) return type.status();
  const Reception& best =
      *std::max_element(m->rinfos.begin(), m->rinfos.end(),
                        [](const Reception& a, const Reception& b) { return a.rssi < b.rssi; });
  // No downlink, with the reason recorded on the message for its owner.
  auto none = [&](const std::string& reason) -> Result<Decision> {
    auto stored = store_.SetMessageNoDownlink(key, reason);
    if (!stored.ok()) return stored.status();
    if (stored->downlink_station.empty()) return Decision();
    return Decision(std::make_pair(stored->downlink_data, stored->downlink_station));
  };
  std::string data;
  if (type->downlink_mode == DownlinkMode::kCallback) {
    if (hook == nullptr || !hook->data) {
      std::string reason = hook == nullptr   ? "no answer from the downlinkHook callback"
                           : hook->elsewhere ? hook->reason + ", which recorded no decision in time"
                                             : hook->reason;
      return none(reason);
    }
    data = *hook->data;
  } else if (type->downlink_mode == DownlinkMode::kDirect) {
    auto cached = templates_.find(type->downlink_data_string);
    if (cached == templates_.end()) {
      if (templates_.size() > 1000) templates_.clear();
      auto compiled = codec::CompileDownlinkTemplate(type->downlink_data_string);
      cached = templates_
                   .emplace(type->downlink_data_string,
                            compiled.ok() ? std::optional(*compiled) : std::nullopt)
                   .first;
    }
    if (!cached->second) {
      // None saved (DIRECT is the default mode), or one saved before checks existed.
      return none(type->downlink_data_string.empty()
                      ? "the device type has no downlinkDataString"
                      : "the device type's downlinkDataString is not a valid template");
    }
    uint16_t tap = 0;
    for (char c : best.station) tap = static_cast<uint16_t>(tap * 16 + HexValue(c));
    data = ToHex(codec::Expand(*cached->second, m->time / 1000, best.rssi, tap));
  } else {
    return none("the device type's downlinkMode is NONE");
  }
  auto stored =
      store_.SetMessageDownlink(key, data, ReceptionKey(best.station, best.public_network));
  if (!stored.ok()) return stored.status();
  if (stored->downlink_station.empty()) return Decision();  // another instance: none
  return Decision(std::make_pair(stored->downlink_data, stored->downlink_station));
}

void DownlinkArbiter::Forget(const Frame& frame) {
  auto it = client_frames_.find(frame.client);
  if (it != client_frames_.end() && --it->second == 0) client_frames_.erase(it);
}

bool DownlinkArbiter::DecideOneDue(std::unique_lock<std::mutex>& lock) {
  const EpochMillis now = options_.clock();
  const int64_t grace = options_.callback_timeout.count() + kCallGraceMs;
  auto due = frames_.end();
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    const Frame& f = it->second;
    if (f.deadline <= now && (!f.call_pending || f.first_seen + grace <= now) &&
        (due == frames_.end() || f.deadline < due->second.deadline)) {
      due = it;
    }
  }
  if (due == frames_.end()) return false;
  const Key key = due->first;
  if (due->second.hook && due->second.hook->elsewhere && now < due->second.await_until) {
    lock.unlock();
    auto m = store_.GetMessage(storage::MessageCursor{key.time, key.device, key.seq});
    const bool recorded = !m.ok() || !m->downlink_station.empty() || !m->downlink_info.empty();
    lock.lock();
    due = frames_.find(key);
    if (due == frames_.end()) return true;
    if (!recorded) {
      due->second.deadline = std::min(now + kAwaitPollMs, due->second.await_until);
      return true;
    }
  }
  Frame frame = std::move(due->second);
  frames_.erase(due);
  Forget(frame);
  lock.unlock();
  auto decided = Decide(storage::MessageCursor{key.time, key.device, key.seq},
                        frame.hook ? &*frame.hook : nullptr);
  // Only one copy held of the chosen station's report carries the downlink,
  // so that a station that sent the report twice does not transmit it twice:
  // the latest, since a station sends again when it stopped waiting for the
  // first answer (a timeout, a connection reset).
  std::optional<size_t> chosen;
  for (size_t i = 0; i < frame.held.size(); ++i) {
    if (decided.ok() && *decided && (*decided)->second == frame.held[i].first) chosen = i;
  }
  for (size_t i = 0; i < frame.held.size(); ++i) {
    frame.held[i].second(chosen == i ? std::optional<std::string>((*decided)->first)
                                     : std::nullopt);
  }
  lock.lock();
  return true;
}

void DownlinkArbiter::Run() {
  NameThisThread("downlink-arbitr");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // New frames are started (their mode looked up, their hook's call
    // queued) in the order they came, a batch at a time, between batches of
    // decisions of the frames whose hold is over, the longest waiting first:
    // under a burst neither waits behind all of the other.
    std::vector<std::pair<Key, EpochMillis>> starting;
    while (!unstarted_.empty() && starting.size() < kBatch) {
      const Key key = unstarted_.front();
      unstarted_.pop_front();
      auto it = frames_.find(key);
      if (it == frames_.end() || it->second.started) continue;  // decided meanwhile
      it->second.started = true;
      starting.emplace_back(key, it->second.first_seen);
    }
    if (!starting.empty()) {
      lock.unlock();
      for (const auto& [key, first_seen] : starting) Start(key, first_seen);
      lock.lock();
    }
    std::vector<storage::MessageCursor> full, share;
    while (!unrecorded_.empty() && full.size() + share.size() < kBatch) {
      const auto& [key, for_share] = unrecorded_.front();
      (for_share ? share : full).push_back({key.time, key.device, key.seq});
      unrecorded_.pop_front();
    }
    if (!full.empty() || !share.empty()) {
      lock.unlock();
      // Best effort: a frame left unrecorded only risks what it did before.
      (void)store_.SetMessagesNoDownlink(full, kFullReason);
      (void)store_.SetMessagesNoDownlink(share, kShareReason);
      lock.lock();
    }
    size_t decided = 0;
    while (!stop_ && decided < kBatch && DecideOneDue(lock)) ++decided;
    if (stop_ || !starting.empty() || decided > 0 || !unstarted_.empty() || !unrecorded_.empty()) {
      continue;
    }
    const EpochMillis now = options_.clock();
    EpochMillis next = now + 1000;
    for (const auto& [k, f] : frames_) {
      if (!f.call_pending) next = std::min(next, f.deadline);
    }
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<EpochMillis>(1, next - now)));
  }
  std::map<Key, Frame> left = std::move(frames_);
  frames_.clear();
  client_frames_.clear();
  lock.unlock();
  for (auto& [key, frame] : left) {
    for (auto& [station, answer] : frame.held) answer(std::nullopt);
  }
}

}  // namespace roost::pipeline
