// Downlinks (pipeline.md, "Downlinks"): a device that asks for one (`ack` on
// its uplink) gets it through one station, the one that heard it best.
//
// The ingest answer of every report with `ack` is held here for `hold_ms`
// after this instance first saw the frame, so that the other stations' reports
// join the message first. Then the frame is decided from the message as
// stored (every station's report, whichever instance took it): the best RSSI
// wins; for a device type in DIRECT mode the downlink is its
// downlinkDataString expanded with the message's time, that RSSI and that
// station's id. The decision is recorded on the message (the first one stays,
// also across instances) and each held report is answered: with the downlink
// for the chosen station's report, without one for the others.
//
// For a device type in CALLBACK mode the type's downlinkHook callback (a DATA
// BIDIR URL callback) is called as soon as the frame is first seen and must
// answer within `callback_timeout` (which fits inside the hold, so the answer
// is in when the hold ends). The call is sent on the event loop
// (AsyncHttpSender): `callback_threads` threads do only its store work (the
// claim before, the attempt's record after), and no thread waits for an
// answer. At most `calls_in_flight` calls await their answers at once, and at
// most `calls_per_hook` of them are to one device type's hook, so that a slow
// or dead hook holds only that many while other types' calls go out at once;
// a call that finds no room by its deadline is not made (a reason, as below). Its
// answer is read with ParseDownlinkAnswer: downlinkData is the downlink; noData,
// a malformed answer, an error status, no answer or a late one (the timeout)
// is no downlink, and the reason is recorded on the message (downlink_info).
// A hook that is missing, disabled or dead is not called (also a reason).
//
// The call is the hook's delivery for that frame: ingest queued that delivery
// due only later (IngestPolicy::downlink_hook_delay_ms), and the arbiter
// records the call on it as its first attempt — done on a 2xx, otherwise
// retried by the dispatcher as any delivery (the data still reaches the hook;
// the downlink is lost). So the hook is called once per frame, not twice, and
// still at least once should this instance stop before calling it. Before
// calling, the arbiter claims that delivery (Store::ClaimHookDelivery), so of
// several instances holding reports of one frame only the one whose claim
// wins calls the hook; the others make no call and await the decision it
// records on the message (up to hold_ms + callback_timeout past their own
// hold), answering their held reports from it — the chosen station's report
// may be held by any of them. With no decision by then they record none.
// Device types in NONE mode get no downlink.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec/downlink_template.h"
#include "integration/callback_request.h"
#include "integration/http_sender.h"
#include "model/time.h"
#include "observe/metrics.h"
#include "storage/store.h"

namespace boost::asio {
class io_context;
}

namespace roost::pipeline {

struct DownlinkOptions {
  int64_t hold_ms = 1'000;
  // CALLBACK mode: the downlinkHook's deadline from when the frame was first
  // seen here. At most hold_ms (a later answer could not be used anyway).
  std::chrono::milliseconds callback_timeout{800};
  // Required: the loop downlinkHook calls are sent on. It must keep running
  // until Stop() returned.
  boost::asio::io_context* loop = nullptr;
  unsigned callback_threads = 8;  // threads doing the calls' store work
  unsigned calls_in_flight = 256;
  unsigned calls_per_hook = 32;
  bool refuse_private_destinations = true;  // integration::HttpSenderOptions
  std::function<EpochMillis()> clock;       // required
  // Frames held at once. A report of another frame past it is answered at
  // once without a downlink (and counted in `refused`): one client sending
  // many reports with `ack` must not push everyone's decisions past their
  // hold, and held answers must not grow without bound. The refused frame's
  // message records why (downlink_info, soon after, by the arbiter's thread),
  // so that another instance holding a report of it decides "no downlink" too.
  size_t max_frames = 4096;
  // Frames one client (the principal whose report first held the frame) may
  // hold at once: past it, that client's reports of new frames are refused
  // the same way while the other clients still find room.
  size_t max_frames_per_client = 1024;
  // Reports held per frame: a message lists at most 64 stations, so past that
  // a report is another copy from a station already held, answered at once
  // without a downlink (the latest copy held gets the station's answer).
  size_t max_held_per_frame = 64;
  observe::Counter* refused = nullptr;  // optional
};

// What a downlinkHook call gave: the downlink (16 hex digits), or why none.
struct HookResult {
  std::optional<std::string> data;
  std::string reason;  // when `data` is nullopt
  // Another instance claimed the call: its decision, recorded on the message,
  // is awaited instead.
  bool elsewhere = false;
};

class DownlinkArbiter {
 public:
  // Runs once, on the arbiter's thread: with the downlink's 16 hex digits when
  // this report's station sends it, nullopt otherwise.
  using Answer = std::function<void(std::optional<std::string> downlink)>;

  // Starts the thread. `store` must outlive the arbiter.
  DownlinkArbiter(storage::Store& store, DownlinkOptions options);
  ~DownlinkArbiter();  // Stop()
  DownlinkArbiter(const DownlinkArbiter&) = delete;
  DownlinkArbiter& operator=(const DownlinkArbiter&) = delete;

  // Holds the answer to `station`'s report (a ReceptionKey) of the frame `key`, sent by
  // `client`, until it is decided; answers it at once without a downlink when
  // the frame is new and `max_frames` other frames are held, or
  // `max_frames_per_client` frames first held by `client`.
  void Hold(const storage::MessageCursor& key, std::string station, const std::string& client,
            Answer answer);

  // Answers everything still held without a downlink, then ends the thread.
  void Stop();

  // The decision for a stored frame: (downlink hex, station as a ReceptionKey)
  // or nullopt. For a
  // CALLBACK-mode type, `hook` is what its downlinkHook call gave (nullptr: it
  // was not called, "no answer"). Public for tests.
  Result<std::optional<std::pair<std::string, std::string>>> Decide(
      const storage::MessageCursor& key, const HookResult* hook = nullptr);

 private:
  struct Key {
    uint32_t device;
    EpochMillis time;
    int64_t seq;
    auto operator<=>(const Key&) const = default;
  };
  struct Frame {
    EpochMillis first_seen = 0;
    EpochMillis deadline = 0;
    std::string client;                                // whose report first held it
    std::vector<std::pair<std::string, Answer>> held;  // (station, answer)
    bool started = false;       // its mode looked up (and its hook called, if any)
    bool call_pending = false;  // a downlinkHook call is under way
    std::optional<HookResult> hook;
    EpochMillis await_until = 0;  // hook->elsewhere: how long its decision is awaited
  };
  struct Call {
    Key key;
    EpochMillis deadline = 0;
    Message message;
    Callback callback;
  };
  // A call's answer (or failure), back from the loop, to be recorded.
  struct Answered {
    Key key;
    std::string hook;                 // the callback's id
    std::optional<int64_t> delivery;  // the frame's delivery to the hook, when queued
    integration::HttpOutcome outcome;
  };
  struct Gate;  // closed by Stop: answers coming from the loop after it are dropped
  void Run();
  // Decides the frame whose hold ended first, if any is due (or looks again
  // whether another instance recorded its decision). False when none is due.
  // Arbiter thread, mu_ held through `lock` (released while deciding).
  bool DecideOneDue(std::unique_lock<std::mutex>& lock);
  // Looks up the frame's mode; for CALLBACK mode queues the hook's call, or
  // notes why there is none. Arbiter thread, mu_ not held.
  void Start(const Key& key, EpochMillis first_seen);
  void CallHooks();  // a hook caller thread
  // Claims the call's delivery and sends the call; a result when there is
  // nothing to send (then the call's room is given back). mu_ not held.
  std::optional<HookResult> SendCall(const Call& call);
  // Records the attempt on the delivery and reads the answer. mu_ not held.
  HookResult Record(const Answered& answered);
  // The frame's hook result is in. mu_ held.
  void Finish(const Key& key, HookResult result);
  storage::Store& store_;
  DownlinkOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<Key, Frame> frames_;  // guarded by mu_
  // Frames held per client (Frame::client); guarded by mu_.
  std::map<std::string, size_t, std::less<>> client_frames_;
  void Forget(const Frame& frame);  // its client's count; mu_ held
  std::deque<Key> unstarted_;       // frames in the order they came, to be started; guarded by mu_
  // Frames refused for want of room, the latest max_frames of them: their
  // later reports are refused too, so that this instance never holds a
  // frame one of whose stations it already told "no downlink" (the best
  // station could be that one). Guarded by mu_.
  std::set<Key> refused_;
  std::deque<Key> refused_order_;
  // Refused frames whose messages are still to record why (true: for the
  // client's share, false: for max_frames); guarded by mu_.
  std::deque<std::pair<Key, bool>> unrecorded_;
  std::map<std::string, std::optional<codec::DownlinkTemplate>> templates_;  // thread only
  integration::CompiledCallbacks hooks_;            // the downlinkHook callbacks, compiled once
  std::deque<Call> calls_;                          // guarded by mu_
  std::deque<Answered> answered_;                   // guarded by mu_
  unsigned in_flight_ = 0;                          // calls sent or being sent; guarded by mu_
  std::map<std::string, unsigned> hook_in_flight_;  // the same per hook; guarded by mu_
  std::condition_variable calls_cv_;  // hook callers: a call was queued or answered, or stop
  std::shared_ptr<Gate> gate_;
  std::unique_ptr<integration::AsyncHttpSender> sender_;
  std::vector<std::thread> callers_;
  std::thread thread_;  // last
};

}  // namespace roost::pipeline
