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

}  // namespace

DownlinkArbiter::DownlinkArbiter(storage::Store& store, DownlinkOptions options)
    : store_(store), options_(std::move(options)) {
  const unsigned callers = std::max(1u, options_.callback_threads);
  for (unsigned i = 0; i < callers; ++i) callers_.emplace_back([this] { CallHooks(); });
  thread_ = std::thread([this] { Run(); });
}

DownlinkArbiter::~DownlinkArbiter() {
  Stop();
}

void DownlinkArbiter::Hold(const storage::MessageCursor& key, std::string station, Answer answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) {
      Frame& f = frames_[Key{key.device, key.time, key.seq_number}];
      if (f.held.empty() && !f.started) {
        f.first_seen = options_.clock();
        f.deadline = f.first_seen + options_.hold_ms;
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

HookResult DownlinkArbiter::CallHook(const Call& call, integration::HttpSender& sender) {
  const int64_t remaining = call.deadline - options_.clock();
  const std::string within = std::to_string(options_.callback_timeout.count()) + " ms";
  if (remaining <= 0) {
    // Not called: its delivery goes out later through the dispatcher.
    return {std::nullopt, "no answer: the downlinkHook callback could not be called within " +
                              within + " (too many calls waiting)"};
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
    return {std::nullopt, "the downlinkHook callback was called for this frame already", true};
  }
  if (delivery) {
    // Leased past the call's deadline: should this instance die before
    // recording the attempt, the dispatcher sends the data to the hook then.
    auto claimed =
        store_.ClaimHookDelivery(delivery->id, options_.clock(), call.deadline + kCallGraceMs);
    if (!claimed.ok()) {
      return {std::nullopt, "the downlinkHook callback's delivery could not be claimed: " +
                                claimed.status().message()};
    }
    if (!*claimed) {
      return {std::nullopt, "the downlinkHook callback is called by another instance", true};
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
    rendered.station = call.message.rinfos.empty() ? "" : call.message.rinfos.front().station;
  }
  auto request = integration::BuildCallbackRequest(call.callback, call.message, rendered);
  if (!request.ok()) {
    return {std::nullopt,
            "the downlinkHook callback does not compile: " + request.status().message()};
  }
  integration::HttpOutcome sent = sender.Send(*request, std::chrono::milliseconds(remaining));
  if (delivery) (void)store_.CompleteDelivery(delivery->id, OutcomeOf(sent, options_.clock()));
  if (sent.status == integration::kStatusTimeout) {
    return {std::nullopt, "no answer from the downlinkHook callback within " + within};
  }
  if (sent.status >= 600) {
    return {std::nullopt, "the downlinkHook callback could not be called: " + sent.info};
  }
  if (sent.status < 200 || sent.status >= 300) {
    return {std::nullopt, "the downlinkHook callback answered HTTP " + std::to_string(sent.status)};
  }
  auto answer = integration::ParseDownlinkAnswer(sent.body, SigfoxId{call.key.device});
  if (!answer.ok()) return {std::nullopt, "malformed answer: " + answer.status().message()};
  if (!answer->data) return {std::nullopt, "noData: the downlinkHook callback sent no downlink"};
  return {answer->data, ""};
}

void DownlinkArbiter::CallHooks() {
  NameThisThread("downlink-hooks");
  integration::HttpSenderOptions sender_options;
  sender_options.refuse_private_destinations = options_.refuse_private_destinations;
  sender_options.max_answer_bytes = integration::kMaxDownlinkAnswerBytes + 1;
  integration::HttpSender sender(sender_options);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    calls_cv_.wait(lock, [&] { return stop_ || !calls_.empty(); });
    if (stop_) return;
    Call call = std::move(calls_.front());
    calls_.pop_front();
    lock.unlock();
    HookResult result = CallHook(call, sender);
    lock.lock();
    auto it = frames_.find(call.key);
    if (it != frames_.end()) {
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
  auto stored = store_.SetMessageDownlink(key, data, best.station);
  if (!stored.ok()) return stored.status();
  if (stored->downlink_station.empty()) return Decision();  // another instance: none
  return Decision(std::make_pair(stored->downlink_data, stored->downlink_station));
}

void DownlinkArbiter::Run() {
  NameThisThread("downlink-arbitr");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stop_) break;
    std::vector<std::pair<Key, EpochMillis>> starting;
    for (auto& [key, f] : frames_) {
      if (!f.started) {
        f.started = true;
        starting.emplace_back(key, f.first_seen);
      }
    }
    if (!starting.empty()) {
      lock.unlock();
      for (const auto& [key, first_seen] : starting) Start(key, first_seen);
      lock.lock();
      continue;
    }
    const EpochMillis now = options_.clock();
    const int64_t grace = options_.callback_timeout.count() + kCallGraceMs;
    auto due = std::find_if(frames_.begin(), frames_.end(), [&](const auto& f) {
      return f.second.deadline <= now &&
             (!f.second.call_pending || f.second.first_seen + grace <= now);
    });
    if (due == frames_.end()) {
      EpochMillis next = now + 1000;
      for (const auto& [k, f] : frames_) {
        if (!f.call_pending) next = std::min(next, f.deadline);
      }
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<EpochMillis>(1, next - now)));
      continue;
    }
    const Key key = due->first;
    if (due->second.hook && due->second.hook->elsewhere && now < due->second.await_until) {
      lock.unlock();
      auto m = store_.GetMessage(storage::MessageCursor{key.time, key.device, key.seq});
      const bool recorded = !m.ok() || !m->downlink_station.empty() || !m->downlink_info.empty();
      lock.lock();
      due = frames_.find(key);
      if (due == frames_.end()) continue;
      if (!recorded) {
        due->second.deadline = std::min(now + kAwaitPollMs, due->second.await_until);
        continue;
      }
    }
    Frame frame = std::move(due->second);
    frames_.erase(due);
    lock.unlock();
    auto decided = Decide(storage::MessageCursor{key.time, key.device, key.seq},
                          frame.hook ? &*frame.hook : nullptr);
    for (auto& [station, answer] : frame.held) {
      const bool mine = decided.ok() && *decided && (*decided)->second == station;
      answer(mine ? std::optional<std::string>((*decided)->first) : std::nullopt);
    }
    lock.lock();
  }
  std::map<Key, Frame> left = std::move(frames_);
  frames_.clear();
  lock.unlock();
  for (auto& [key, frame] : left) {
    for (auto& [station, answer] : frame.held) answer(std::nullopt);
  }
}

}  // namespace roost::pipeline
