// The silence watcher and the sender of event emails (pipeline.md, "Events
// and alerts"), two threads of `roost serve`.
//
// Watching: every `period_ms` the watcher takes each device type whose
// keepAlive is above 0 and asks the store for one pass over it
// (Store::WatchSilence, repeated while a pass meets its batch limit): devices
// silent for longer than keepAlive get a COMMUNICATION_LOSS event (ERROR), and
// flagged devices that spoke again get COMMUNICATION_RESTORED (WARN). A type
// whose keepAlive went to 0 gets restorations only, so that a loss recorded
// while it was watched still ends (Store::ListTypesToRestore finds them). A
// restoration is therefore seen within one period after the message, not at
// ingest: ingest pays nothing for it. The store records each change once, so
// any number of instances may watch the same database.
//
// Mailing: the outbox emails that events queued (one per recipient) are
// claimed by one instance at a time, sent over SMTP with a generic text, and
// retried with exponential back-off; an email still failing after
// `email_max_attempts` is given up. Without an SMTP sender an instance leaves
// emails to the instances of the database that have one, and gives up only
// those due for EventWatcherOptions::no_smtp_grace_ms with none claiming them
// ("SMTP is not configured"), so configuring SMTP later sends at most that
// much backlog of stale alerts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "model/event.h"
#include "observe/log.h"
#include "storage/store.h"

namespace roost::pipeline {

// Sends one email (to, subject, body): registry::SendEmail's shape.
using SendEventEmail =
    std::function<Status(const std::string&, const std::string&, const std::string&)>;

struct EventWatcherOptions {
  int64_t period_ms = 60'000;          // pipeline.event_watch_ms
  int batch = 500;                     // devices per store pass and direction
  std::function<EpochMillis()> clock;  // required
  SendEventEmail send_email;           // empty: SMTP is not configured
  int64_t email_retry_ms = 30'000;     // first retry; doubled per attempt
  int64_t email_retry_max_ms = 3'600'000;
  int email_max_attempts = 12;
  int64_t email_lease_ms = 120'000;  // a claimed email is another instance's again after this
  // Without SMTP, an email is given up once it has been due this long with no
  // instance claiming it (left meanwhile to the instances of the same database
  // that have SMTP, and never touched while they retry it), not at once.
  int64_t no_smtp_grace_ms = 3'600'000;
  observe::Logger* logger = nullptr;
  std::function<void()> after_events;  // a pass recorded events (wake the callback dispatcher)
};

class EventWatcher {
 public:
  // `store` must outlive the watcher. Threads start with Start().
  EventWatcher(storage::Store& store, EventWatcherOptions options);
  ~EventWatcher();  // Stop()
  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

  void Start();
  // Ends both threads; a send in progress finishes, claimed emails come due
  // again when their lease ends.
  void Stop();

  // One pass over every watched device type. Public for tests.
  Result<storage::SilenceOutcome> WatchOnce();
  // Claims and sends the due outbox emails once; returns how many were sent.
  Result<int> SendDueEmails();

  // The generic email of an event: subject and body. Pure.
  static std::pair<std::string, std::string> EmailText(const Event& event);

 private:
  void WatchLoop();
  void MailLoop();
  // Waits up to `ms` or until Stop(); false when stopping.
  bool Sleep(int64_t ms);

  storage::Store& store_;
  EventWatcherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool mail_due_ = false;
  std::thread watch_thread_;
  std::thread mail_thread_;
};

}  // namespace roost::pipeline
