#include "pipeline/event_watcher.h"

#include <algorithm>
#include <cstdio>

#include "core/thread_name.h"
#include "model/calendar.h"

namespace roost::pipeline {
namespace {

std::string DeviceText(uint32_t device) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", device);
  return buf;
}

}  // namespace

EventWatcher::EventWatcher(storage::Store& store, EventWatcherOptions options)
    : store_(store), options_(std::move(options)) {}

EventWatcher::~EventWatcher() {
  Stop();
}

void EventWatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (watch_thread_.joinable() || stopping_) return;
  watch_thread_ = std::thread([this] { WatchLoop(); });
  mail_thread_ = std::thread([this] { MailLoop(); });
}

void EventWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  if (mail_thread_.joinable()) mail_thread_.join();
}

bool EventWatcher::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

Result<storage::SilenceOutcome> EventWatcher::WatchOnce() {
  auto types = store_.ListDeviceTypes("");
  if (!types.ok()) return types.status();
  // Types no longer watched (keepAlive 0) still end the losses recorded while
  // they were: those with a flagged device that spoke get a restore-only pass.
  auto to_restore = store_.ListTypesToRestore();
  if (!to_restore.ok()) return to_restore.status();
  storage::SilenceOutcome total;
  for (const DeviceType& type : *types) {
    if (type.keep_alive <= 0 &&
        !std::binary_search(to_restore->begin(), to_restore->end(), type.id)) {
      continue;
    }
    for (;;) {
      storage::SilenceWatch watch;
      watch.type = type.id;
      watch.keep_alive_ms = std::max<int64_t>(0, type.keep_alive) * 1000;
      watch.now = options_.clock();
      watch.limit = options_.batch;
      auto pass = store_.WatchSilence(watch);
      if (!pass.ok()) return pass.status();
      total.lost += pass->lost;
      total.restored += pass->restored;
      // A batch of changes that all went to another instance flips nothing
      // here; stop rather than spin on it.
      if (!pass->more || pass->lost + pass->restored == 0) break;
    }
  }
  return total;
}

std::pair<std::string, std::string> EventWatcher::EmailText(const Event& event) {
  const std::string device = DeviceText(event.device);
  const bool lost = event.kind == EventKind::kCommunicationLoss;
  std::string subject = lost ? "Roost: communication lost with device " + device
                             : "Roost: communication restored with device " + device;
  std::string body =
      "Device " + device + " of device type " + event.type + ":\n\n" + event.text +
      "\n\nEvent: " + std::string(EnumByValue(kEventKinds, event.kind).name) +
      "\nSeverity: " + std::string(EnumByValue(kEventSeverities, event.severity).name) +
      "\nTime: " + UtcText(event.time) +
      "\n\nYou receive this email because an event configuration of Roost names "
      "this address for such events.\n";
  return {std::move(subject), std::move(body)};
}

Result<int> EventWatcher::SendDueEmails() {
  const EpochMillis now = options_.clock();
  // Without SMTP, only emails that have been due for the whole grace and that
  // no instance claimed meanwhile: an instance of the database with SMTP would
  // have taken them within a pass, so none can send them, and they are given
  // up (a lone instance's outbox does not grow for good). Younger ones are not
  // touched: a claim here used to record an attempt, spending the retry budget
  // of the instances that send, and gave up emails they were still retrying.
  // The claim is made as of `now - grace` with a lease that still ends at
  // `now + lease` (ClaimEventEmails leases from the time it is given).
  const bool smtp = static_cast<bool>(options_.send_email);
  const EpochMillis claim_time = smtp ? now : now - options_.no_smtp_grace_ms;
  const int64_t lease_ms = options_.email_lease_ms + (now - claim_time);
  auto tasks = store_.ClaimEventEmails(claim_time, 50, lease_ms);
  if (!tasks.ok()) return tasks.status();
  int sent = 0;
  for (const storage::EventEmailTask& task : *tasks) {
    {
      // Stopping: the rest come due again when their lease ends.
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    // Its lease ran out while the emails before it were sent: another instance
    // may be sending it now, so it is left to the next claim.
    if (options_.clock() >= task.email.next_attempt) continue;
    Status st = Status::Unavailable("SMTP is not configured");
    if (options_.send_email) {
      auto [subject, body] = EmailText(task.event);
      st = options_.send_email(task.email.recipient, subject, body);
    }
    const int attempts = task.email.attempts + 1;
    const bool give_up =
        !st.ok() && (!options_.send_email || attempts >= options_.email_max_attempts);
    int64_t delay = options_.email_retry_ms;
    for (int i = 1; i < attempts && delay < options_.email_retry_max_ms; ++i) delay *= 2;
    delay = std::min(delay, options_.email_retry_max_ms);
    const EpochMillis done = options_.clock();
    auto recorded = store_.CompleteEventEmail(task.email, st.ok(), st.ok() ? "" : st.message(),
                                              st.ok() ? done : done + delay, give_up);
    if (st.ok()) {
      ++sent;
    } else if (options_.logger != nullptr) {
      // The recipient is not logged: addresses are personal data; the event id finds it.
      options_.logger->Warn("event email not sent", {{"event", task.event.id},
                                                     {"attempts", static_cast<int64_t>(attempts)},
                                                     {"given_up", give_up},
                                                     {"error", st.message()}});
    }
    if (options_.logger == nullptr) continue;
    if (!recorded.ok()) {
      options_.logger->Warn("event email outcome not recorded",
                            {{"error", recorded.status().message()}});
    } else if (!*recorded) {
      options_.logger->Warn(
          "event email outcome not recorded: its lease ran out and it was "
          "claimed again",
          {{"event", task.event.id}});
    }
  }
  return sent;
}

void EventWatcher::WatchLoop() {
  NameThisThread("event-watcher");
  do {
    auto pass = WatchOnce();
    if (!pass.ok()) {
      if (options_.logger != nullptr) {
        options_.logger->Warn("silence watch failed", {{"error", pass.status().message()}});
      }
      continue;
    }
    if (pass->lost + pass->restored == 0) continue;
    if (options_.logger != nullptr) {
      options_.logger->Info("device events", {{"communication_lost", pass->lost},
                                              {"communication_restored", pass->restored}});
    }
    if (options_.after_events) options_.after_events();
    {
      std::lock_guard<std::mutex> lock(mu_);
      mail_due_ = true;
    }
    cv_.notify_all();
  } while (Sleep(options_.period_ms));
}

void EventWatcher::MailLoop() {
  NameThisThread("event-mailer");
  // Emails queued by other instances' passes are found by polling.
  const int64_t poll_ms = std::clamp<int64_t>(options_.period_ms, 200, 5'000);
  for (;;) {
    auto sent = SendDueEmails();
    if (!sent.ok() && options_.logger != nullptr) {
      options_.logger->Warn("event emails failed", {{"error", sent.status().message()}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(poll_ms),
                 [this] { return stopping_ || mail_due_; });
    if (stopping_) return;
    mail_due_ = false;
  }
}

}  // namespace roost::pipeline
