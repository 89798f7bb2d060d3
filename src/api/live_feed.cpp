#include "api/live_feed.h"

#include <algorithm>
#include <deque>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/message_json.h"
#include "core/thread_name.h"

namespace roost::api {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Key = std::tuple<EpochMillis, uint32_t, int64_t>;

Key KeyOf(const storage::MessageCursor& c) {
  return {c.time, c.device, c.seq_number};
}
storage::MessageCursor CursorOf(const Message& m) {
  return {m.time, m.device.value, m.seq_number};
}

// Messages a stream remembers having sent, so that one the hub brought is not
// sent again by the next store read (and the other way round).
constexpr size_t kRemembered = 512;
// Messages from the hub waiting for the feed's thread, per stream; past it the
// stream reads the store instead.
constexpr size_t kMaxInbox = 1000;
// The rights of a stream whose entries show callback credentials are checked
// again before it sends, when the last check is older than this (at most two
// store reads a second per such stream that sends).
constexpr auto kRecheckBeforeSending = std::chrono::seconds(1);

}  // namespace

struct LiveFeed::Stream {
  std::string principal;
  // What authenticated it, checked again every keep-alive interval: the
  // session's stored hash (a person), or the API user's login.
  std::string session_hash;
  std::string api_login;
  Principal reader;  // whoever opened it: what its entries show
  std::optional<uint32_t> device;
  std::string type;
  std::shared_ptr<http::ResponseStream> out;
  uint64_t subscription = 0;
  // Guarded by the feed's mu_.
  bool ready = false;  // Open has finished setting it up
  std::vector<Message> inbox;
  bool read_store = false;
  // The feed's thread only (and Open before `ready`).
  storage::MessageCursor cursor;
  std::set<Key> sent;
  std::deque<Key> sent_order;
  SteadyClock::time_point next_poll;
  SteadyClock::time_point next_keepalive;
  SteadyClock::time_point next_recheck;
  SteadyClock::time_point checked;  // when its rights were last checked
};

LiveFeed::LiveFeed(ApiContext& ctx, pipeline::MessageHub& hub, LiveFeedOptions options)
    : ctx_(ctx), hub_(hub), options_(options), thread_([this] { Run(); }) {}

LiveFeed::~LiveFeed() {
  Stop();
}

Status LiveFeed::Init() {
  if (options_.metrics == nullptr) return Status::Ok();
  auto gauge = options_.metrics->AddGauge(
      "roost_live_streams_open", "Live message streams (server-sent events) open on this instance");
  if (!gauge.ok()) return gauge.status();
  open_gauge_ = &(*gauge)->Get();
  return Status::Ok();
}

size_t LiveFeed::open_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

http::Response LiveFeed::Open(const Principal& principal, std::optional<uint32_t> device,
                              std::string type, std::optional<storage::MessageCursor> resume) {
  auto s = std::make_shared<Stream>();
  s->principal = principal.login.empty() ? "user " + principal.user_id : "api " + principal.login;
  s->reader = principal;
  s->session_hash = principal.session_hash;
  s->api_login = principal.login;
  s->device = device;
  s->type = std::move(type);
  s->out = std::make_shared<http::ResponseStream>(options_.max_queued_bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return http::Response::Error(503, "the server is shutting down");
    if (streams_.size() >= options_.max_streams) {
      http::Response r = http::Response::Error(
          503, "too many live message streams are open on this server; retry later");
      r.headers.emplace_back("Retry-After", "10");
      return r;
    }
    size_t& mine = per_principal_[s->principal];
    if (mine >= options_.max_streams_per_principal) {
      return http::Response::Error(
          429, "at most " + std::to_string(options_.max_streams_per_principal) +
                   " live message streams may be open at once per user; close one first");
    }
    ++mine;
    streams_.push_back(s);
    if (open_gauge_) open_gauge_->Set(static_cast<double>(streams_.size()));
  }
  // Listen first, then find where the stream starts: a message stored in
  // between is sent by the hub rather than lost.
  std::weak_ptr<Stream> weak = s;
  s->subscription = hub_.Subscribe(device, s->type, [this, weak](const Message& m) {
    std::shared_ptr<Stream> target = weak.lock();
    if (!target) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (target->inbox.size() < kMaxInbox) {
      target->inbox.push_back(m);
    } else {
      target->read_store = true;
    }
    wake_ = true;
    cv_.notify_one();
  });
  bool read_now = false;
  if (resume) {
    s->cursor = *resume;
    read_now = true;
  } else {
    storage::MessageQuery newest;
    newest.device = device;
    newest.type = s->type;
    newest.limit = 1;
    auto page = ctx_.messages->ListMessages(newest);
    if (!page.ok()) {
      s->out->Finish(http::ResponseStream::End::kShutdown);  // the feed's thread drops it
      {
        std::lock_guard<std::mutex> lock(mu_);
        s->ready = true;
        wake_ = true;
      }
      cv_.notify_one();
      return FromStatus(page.status()).ToResponse();
    }
    if (!page->messages.empty()) s->cursor = CursorOf(page->messages.front());
  }
  const auto now = SteadyClock::now();
  s->next_poll = now + options_.poll_interval;
  s->next_keepalive = now + options_.keepalive_interval;
  s->next_recheck = now + options_.keepalive_interval;
  s->checked = now;
  // How long an EventSource waits before it reconnects.
  s->out->Write("retry: 3000\n\n");
  s->out->OnEnd([this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake_ = true;
    }
    cv_.notify_one();
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    s->ready = true;
    s->read_store = s->read_store || read_now;
    wake_ = true;
  }
  cv_.notify_one();
  http::Response r = http::Response::Stream(s->out);
  return r;
}

void LiveFeed::Run() {
  NameThisThread("live-feed");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const auto now = SteadyClock::now();
    std::vector<std::shared_ptr<Stream>> ended, due;
    auto next = now + std::chrono::hours(1);
    for (auto it = streams_.begin(); it != streams_.end();) {
      const std::shared_ptr<Stream>& s = *it;
      if (!s->ready) {
        ++it;
        continue;
      }
      if (s->out->end() != http::ResponseStream::End::kOpen) {
        if (--per_principal_[s->principal] == 0) per_principal_.erase(s->principal);
        ended.push_back(s);
        it = streams_.erase(it);
        continue;
      }
      if (!s->inbox.empty() || s->read_store || now >= s->next_poll || now >= s->next_keepalive) {
        due.push_back(s);
      } else {
        next = std::min({next, s->next_poll, s->next_keepalive});
      }
      ++it;
    }
    if (open_gauge_) open_gauge_->Set(static_cast<double>(streams_.size()));
    if (ended.empty() && due.empty()) {
      wake_ = false;
      cv_.wait_until(lock, next, [this] { return stop_ || wake_; });
      continue;
    }
    lock.unlock();
    for (const auto& s : ended) hub_.Unsubscribe(s->subscription);
    for (const auto& s : due) Serve(*s, now);
    lock.lock();
  }
}

void LiveFeed::Serve(Stream& s, SteadyClock::time_point now) {
  // Every keep-alive interval, and before sending entries that show callback
  // credentials when the last check is older than kRecheckBeforeSending: such
  // rights taken away a moment ago show nothing more.
  auto recheck = [&] {
    s.checked = now;
    s.next_recheck = now + options_.keepalive_interval;
    if (StillAuthorised(s)) return true;
    s.out->Close();  // an EventSource reconnects, and is refused or sees what it may
    return false;
  };
  if (now >= s.next_recheck && !recheck()) return;
  std::vector<Message> messages;
  bool read_store = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    messages.swap(s.inbox);
    read_store = std::exchange(s.read_store, false);
  }
  if (read_store || now >= s.next_poll) {
    s.next_poll = now + options_.poll_interval;
    // Newest first from the cursor's time, down to the cursor.
    storage::MessageQuery query;
    query.device = s.device;
    query.type = s.type;
    query.since = s.cursor.time;
    query.limit = 100;
    std::vector<Message> newer;
    const Key cursor = KeyOf(s.cursor);
    bool reached = false;
    while (!reached && static_cast<int>(newer.size()) < kMaxCatchUp) {
      auto page = ctx_.messages->ListMessages(query);
      if (!page.ok()) break;  // read again at the next poll
      for (Message& m : page->messages) {
        if (KeyOf(CursorOf(m)) <= cursor) {
          reached = true;
          break;
        }
        newer.push_back(std::move(m));
      }
      if (!page->next) break;
      query.after = page->next;
    }
    if (static_cast<int>(newer.size()) > kMaxCatchUp) newer.resize(kMaxCatchUp);
    for (Message& m : newer) messages.push_back(std::move(m));
  }
  if (!messages.empty() && SeesCallbackSecrets(s.reader) &&
      now - s.checked >= kRecheckBeforeSending && !recheck()) {
    return;
  }
  if (!messages.empty() && !Send(s, std::move(messages))) return;
  if (now >= s.next_keepalive) {
    s.out->Write(": keep-alive\n\n");
    s.next_keepalive = now + options_.keepalive_interval;
  }
}

bool LiveFeed::StillAuthorised(const Stream& s) {
  // A failing store ends nothing. Entries are rendered for the rights the
  // stream opened with (a callback's URL credentials, say), so new ones end it:
  // the client reconnects with what it may now see.
  auto same_rights = [&](const std::string& group, const Roles& roles) {
    return group == s.reader.group && RoleSetOf(roles) == s.reader.roles;
  };
  if (!s.session_hash.empty()) {
    auto active = ctx_.accounts.SessionActive(s.session_hash);
    if (!active.ok()) return true;
    if (!*active) return false;
    auto user = ctx_.accounts.GetUser(s.reader.user_id);
    if (!user.ok()) return user.status().code() != Status::Code::kNotFound;
    if (!same_rights(user->group, user->roles)) return false;
  } else if (!s.api_login.empty()) {
    auto user = ctx_.accounts.GetApiUser(s.api_login);
    if (!user.ok()) return user.status().code() != Status::Code::kNotFound;
    if (!same_rights(user->group, user->roles)) return false;
  }
  auto visible = TargetVisible(s);
  return !visible.ok() || *visible;
}

Result<bool> LiveFeed::TargetVisible(const Stream& s) {
  std::string group;
  if (s.device) {
    auto device = ctx_.devices.GetDevice(*s.device);
    if (!device.ok()) {
      if (device.status().code() == Status::Code::kNotFound) return false;
      return device.status();
    }
    group = device->group;
  } else {
    auto type = ctx_.devices.GetDeviceType(s.type);
    if (!type.ok()) {
      if (type.status().code() == Status::Code::kNotFound) return false;
      return type.status();
    }
    group = type->group;
  }
  auto visible = ctx_.accounts.IsInSubtree(group, s.reader.group);
  if (!visible.ok() && visible.status().code() == Status::Code::kNotFound) return false;
  return visible;
}

bool LiveFeed::Send(Stream& s, std::vector<Message> messages) {
  // Oldest first, each once.
  std::sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
    return KeyOf(CursorOf(a)) < KeyOf(CursorOf(b));
  });
  std::vector<Message> fresh;
  for (Message& m : messages) {
    const Key key = KeyOf(CursorOf(m));
    if (s.sent.count(key) > 0) continue;
    if (!fresh.empty() && KeyOf(CursorOf(fresh.back())) == key) continue;
    fresh.push_back(std::move(m));
  }
  if (fresh.empty()) return true;
  // A message of a group the reader does not see (the device's when it was
  // received) means the device moved: a device transferred to another group
  // goes on sending under its new one. The device (or type) is then looked
  // at, as its list would: no longer the reader's, the stream ends before
  // sending (the reconnect is 404); still the reader's (it came back), the
  // messages are the list's and go out.
  std::set<std::string> groups;
  for (const Message& m : fresh) groups.insert(m.group);
  for (const std::string& group : groups) {
    auto in = ctx_.accounts.IsInSubtree(group, s.reader.group);
    if (in.ok() && *in) continue;
    Result<bool> target = in.ok() || in.status().code() == Status::Code::kNotFound
                              ? TargetVisible(s)
                              : Result<bool>(in.status());
    if (!target.ok()) {
      // Not sent now: the next store read finds those after the cursor again.
      std::lock_guard<std::mutex> lock(mu_);
      s.read_store = true;
      return true;
    }
    if (!*target) {
      s.out->Close();
      return false;
    }
    break;
  }
  auto entries = MessageEntries(ctx_, fresh, s.reader);
  if (!entries.ok()) {
    // Not sent: the next store read finds those after the cursor again.
    std::lock_guard<std::mutex> lock(mu_);
    s.read_store = true;
    return true;
  }
  std::string text;
  for (size_t i = 0; i < fresh.size(); ++i) {
    const storage::MessageCursor c = CursorOf(fresh[i]);
    text += "id: ";
    text += MessageCursorText(c);
    text += "\nevent: message\ndata: ";
    text += (*entries)[i];
    text += "\n\n";
    const Key key = KeyOf(c);
    if (key > KeyOf(s.cursor)) s.cursor = c;
    s.sent.insert(key);
    s.sent_order.push_back(key);
    if (s.sent_order.size() > kRemembered) {
      s.sent.erase(s.sent_order.front());
      s.sent_order.pop_front();
    }
  }
  s.next_keepalive = SteadyClock::now() + options_.keepalive_interval;
  return s.out->Write(text);
}

void LiveFeed::Stop() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    streams.swap(streams_);
    per_principal_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (const auto& s : streams) {
    hub_.Unsubscribe(s->subscription);
    s->out->Close();
  }
  if (open_gauge_) open_gauge_->Set(0);
}

}  // namespace roost::api
