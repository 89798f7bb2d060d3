#include "provisioning/service.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "crypto/aes.h"
#include "crypto/random.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "provisioning/frames.h"
#include "provisioning/server.h"

namespace roost::provisioning {
namespace {

// Indexed like the alternatives of Message.
constexpr std::array<std::string_view, 5> kFrameTypes = {"hello", "hello_response", "auth",
                                                         "auth_accepted", "auth_rejected"};

enum DropReason : size_t {
  kTooShort,
  kWrongMhdr,
  kUnknownType,
  kBadLength,
  kBadMic,
  kDownlinkType,
  kBadVersion,
  kBadPublicKey,
  kRateLimitedGateway,
  kRateLimited,
  kNoSession,
  kStorageError,
  kDropReasonCount,
};
// The first five are FrameErrorName's names.
constexpr std::array<std::string_view, kDropReasonCount> kDropReasons = {
    "too_short",     "wrong_mhdr",   "unknown_type",   "bad_length",           "bad_mic",
    "downlink_type", "bad_version",  "bad_public_key", "rate_limited_gateway", "rate_limited",
    "no_session",    "storage_error"};

enum AuthOutcome : size_t {
  kAccepted,
  kUnknownId,
  kDisabled,
  kBadVerifyCode,
  kNoDevEui,
  kAuthOutcomeCount,
};
constexpr std::array<std::string_view, kAuthOutcomeCount> kAuthOutcomes = {
    "accepted", "unknown_id", "disabled", "bad_verify_code", "no_dev_eui"};

DropReason DropReasonOf(FrameError e) {
  switch (e) {
    case FrameError::kTooShort:
      return kTooShort;
    case FrameError::kWrongMhdr:
      return kWrongMhdr;
    case FrameError::kUnknownType:
      return kUnknownType;
    case FrameError::kBadLength:
      return kBadLength;
    case FrameError::kBadMic:
    case FrameError::kNone:
      break;
  }
  return kBadMic;
}

template <size_t N>
uint64_t CountOf(const std::array<std::string_view, N>& names,
                 const std::array<std::atomic<uint64_t>, N>& counts, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return counts[i].load(std::memory_order_relaxed);
  }
  return 0;
}

ProvisioningService::HelloSecrets FreshHelloSecrets() {
  ProvisioningService::HelloSecrets secrets;
  secrets.key_pair = crypto::K233GenerateKeyPair();
  crypto::RandomBytes(secrets.nonce);
  return secrets;
}

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using EuiBytes = std::array<uint8_t, 8>;

// rDevEUIs and gateway EUIs arrive from the air, so the tables' hash is keyed
// with a per-process secret: a sender cannot choose EUIs that all land in one
// bucket and turn every lookup into a scan.
class KeyedEuiHash {
 public:
  explicit KeyedEuiHash(uint64_t key) : key_(key) {}
  size_t operator()(const EuiBytes& eui) const {
    uint64_t z = 0;
    std::memcpy(&z, eui.data(), sizeof z);
    z ^= key_;  // then splitmix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<size_t>(z ^ (z >> 31));
  }

 private:
  uint64_t key_;
};

uint64_t RandomKey() {
  std::array<uint8_t, 8> bytes{};
  crypto::RandomBytes(bytes);
  uint64_t key = 0;
  std::memcpy(&key, bytes.data(), sizeof key);
  return key;
}

// A token bucket: `tokens` as of `refilled_ms`. Refills add fractions of a
// token, so comparisons allow for rounding: ten refills of 0.1 make a token.
struct Bucket {
  static constexpr double kRounding = 1e-9;
  double tokens = 0;
  int64_t refilled_ms = 0;

  bool HasToken() const { return tokens >= 1 - kRounding; }
  bool Full(double burst) const { return tokens >= burst - kRounding; }

  void Refill(int64_t now_ms, double per_second, double burst) {
    // A clock that steps back refills nothing rather than stalling the bucket.
    const int64_t elapsed = std::max<int64_t>(0, now_ms - refilled_ms);
    tokens = std::min(burst, tokens + static_cast<double>(elapsed) * per_second / 1000.0);
    refilled_ms = now_ms;
  }
};

// Wipes a string that held a Provision ID when the scope ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() { crypto::Cleanse(s_.data(), s_.size()); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

}  // namespace

struct ProvisioningService::Impl {
  struct Session {
    ServerSession server;
    int64_t created_ms = 0;
    std::list<RDevEui>::iterator order;
  };
  struct Gateway {
    Bucket bucket;
    std::list<EuiBytes>::iterator order;
  };

  Impl(Options o, ProvisionDirectory& d, Clock c, HelloSecretsSource s,
       observe::MetricsRegistry* metrics, observe::Logger* l)
      : options(o),
        directory(d),
        clock(c ? std::move(c) : Clock(SystemClockMs)),
        hello_secrets(s ? std::move(s) : HelloSecretsSource(FreshHelloSecrets)),
        log(l),
        sessions(16, KeyedEuiHash(RandomKey())),
        gateways(16, KeyedEuiHash(RandomKey())) {
    global.tokens = options.hello_burst;
    global.refilled_ms = clock();
    if (metrics != nullptr) RegisterMetrics(*metrics);
  }

  void RegisterMetrics(observe::MetricsRegistry& metrics);
  std::optional<Bytes> OnHello(const Hello& hello, const Reception& reception);
  std::optional<Bytes> OnAuth(const Auth& auth, const Reception& reception);
  std::optional<DropReason> TakeHelloTokens(const Eui64& gateway, int64_t now_ms);
  void StoreSession(ServerSession session);
  std::optional<ServerSession> TakeSession(const RDevEui& rdev_eui, int64_t now_ms);
  bool Expired(const Session& session, int64_t now_ms) const {
    return now_ms - session.created_ms >= options.session_ttl.count();
  }
  void EraseSession(std::unordered_map<RDevEui, Session, KeyedEuiHash>::iterator it) {
    session_order.erase(it->second.order);
    sessions.erase(it);
  }
  void SessionsChanged() {
    if (sessions_gauge != nullptr) sessions_gauge->Set(static_cast<double>(sessions.size()));
  }

  std::nullopt_t Drop(DropReason reason) {
    dropped[reason].fetch_add(1, std::memory_order_relaxed);
    if (dropped_metrics[reason] != nullptr) dropped_metrics[reason]->Inc();
    return std::nullopt;
  }
  // Counts and logs an answered Auth; `dev_eui` only when accepted.
  void Answered(AuthOutcome outcome, const RDevEui& rdev_eui, const Reception& reception,
                const crypto::Sha256Digest& hash, const Eui64* dev_eui);

  const Options options;
  ProvisionDirectory& directory;
  const Clock clock;
  const HelloSecretsSource hello_secrets;
  observe::Logger* const log;

  std::array<std::atomic<uint64_t>, kFrameTypes.size()> frames{};
  std::array<std::atomic<uint64_t>, kDropReasonCount> dropped{};
  std::array<std::atomic<uint64_t>, kAuthOutcomeCount> auths{};
  std::array<observe::Counter*, kFrameTypes.size()> frame_metrics{};
  std::array<observe::Counter*, kDropReasonCount> dropped_metrics{};
  std::array<observe::Counter*, kAuthOutcomeCount> auth_metrics{};
  observe::Gauge* sessions_gauge = nullptr;
  observe::Histogram* hello_seconds = nullptr;

  mutable std::mutex mu;  // guards everything below
  std::unordered_map<RDevEui, Session, KeyedEuiHash> sessions;
  std::list<RDevEui> session_order;  // by creation, oldest first
  std::unordered_map<EuiBytes, Gateway, KeyedEuiHash> gateways;
  std::list<EuiBytes> gateway_order;  // least recently used first
  Bucket global;
};

void ProvisioningService::Impl::RegisterMetrics(observe::MetricsRegistry& metrics) {
  auto frames_family = metrics.AddCounter(
      "roost_provisioning_frames_total", "Provisioning uplinks decoded, by message type", {"type"});
  auto dropped_family =
      metrics.AddCounter("roost_provisioning_dropped_total",
                         "Provisioning uplinks dropped without an answer, by reason", {"reason"});
  auto auth_family = metrics.AddCounter("roost_provisioning_auth_total",
                                        "Provisioning Auths answered, by outcome", {"outcome"});
  auto sessions_family =
      metrics.AddGauge("roost_provisioning_sessions", "Provisioning sessions waiting for an Auth");
  auto hello_family =
      metrics.AddHistogram("roost_provisioning_hello_duration_seconds",
                           "Time to answer an admitted Hello (key pair, ECDH, key derivation)", {},
                           {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1});
  if (!frames_family.ok() || !dropped_family.ok() || !auth_family.ok() || !sessions_family.ok() ||
      !hello_family.ok()) {
    if (log != nullptr) log->Warn("provisioning metrics not registered: a name is taken");
    return;
  }
  for (size_t i = 0; i < kFrameTypes.size(); ++i) {
    frame_metrics[i] = &(*frames_family)->WithLabels({kFrameTypes[i]});
  }
  for (size_t i = 0; i < kDropReasons.size(); ++i) {
    dropped_metrics[i] = &(*dropped_family)->WithLabels({kDropReasons[i]});
  }
  for (size_t i = 0; i < kAuthOutcomes.size(); ++i) {
    auth_metrics[i] = &(*auth_family)->WithLabels({kAuthOutcomes[i]});
  }
  sessions_gauge = &(*sessions_family)->Get();
  hello_seconds = &(*hello_family)->Get();
}

std::optional<DropReason> ProvisioningService::Impl::TakeHelloTokens(const Eui64& gateway_eui,
                                                                     int64_t now_ms) {
  global.Refill(now_ms, options.hellos_per_second, options.hello_burst);
  auto it = gateways.find(gateway_eui.bytes);
  if (it == gateways.end()) {
    if (gateways.size() >= options.max_gateways_tracked && !gateway_order.empty()) {
      // Only a bucket that has refilled completely may go: forgetting it is
      // lossless, as a new bucket starts full. Otherwise a sender inventing
      // gateway EUIs could reset the buckets of the gateways it floods through.
      auto lru = gateways.find(gateway_order.front());
      lru->second.bucket.Refill(now_ms, options.hellos_per_second_per_gateway,
                                options.hello_burst_per_gateway);
      if (!lru->second.bucket.Full(options.hello_burst_per_gateway)) return kRateLimitedGateway;
      gateway_order.pop_front();
      gateways.erase(lru);
    }
    if (gateways.size() >= options.max_gateways_tracked) return kRateLimitedGateway;
    Gateway fresh;
    fresh.bucket.tokens = options.hello_burst_per_gateway;
    fresh.bucket.refilled_ms = now_ms;
    fresh.order = gateway_order.insert(gateway_order.end(), gateway_eui.bytes);
    it = gateways.emplace(gateway_eui.bytes, fresh).first;
  } else {
    gateway_order.splice(gateway_order.end(), gateway_order, it->second.order);
  }
  Bucket& bucket = it->second.bucket;
  bucket.Refill(now_ms, options.hellos_per_second_per_gateway, options.hello_burst_per_gateway);
  if (!bucket.HasToken()) return kRateLimitedGateway;
  if (!global.HasToken()) return kRateLimited;
  bucket.tokens -= 1;
  global.tokens -= 1;
  return std::nullopt;
}

// Eviction cannot lock a legitimate device out while the rate limits hold:
// admitted Hellos create at most hello_burst + hellos_per_second * ttl sessions
// in one ttl, so with max_sessions at least that (Options says so, and the
// defaults keep it) the oldest session is always already expired when the
// table is full — a device's session lives its whole ttl whatever else
// arrives. With a smaller table a flood can evict it early; the device then
// gets no answer to its Auth and starts again from its Hello, so the outcome
// is a retry, never a wrong answer. A flood through one gateway meanwhile
// spends only that gateway's bucket, so Hellos through others are admitted.
void ProvisioningService::Impl::StoreSession(ServerSession session) {
  std::lock_guard lock(mu);
  // Read under the lock, so that creation times follow the table's order.
  const int64_t now_ms = clock();
  if (auto it = sessions.find(session.rdev_eui); it != sessions.end()) EraseSession(it);
  while (!session_order.empty()) {
    auto oldest = sessions.find(session_order.front());
    if (sessions.size() < options.max_sessions && !Expired(oldest->second, now_ms)) break;
    EraseSession(oldest);
  }
  if (options.max_sessions > 0) {
    const RDevEui rdev_eui = session.rdev_eui;
    Session entry;
    entry.server = std::move(session);
    entry.created_ms = now_ms;
    entry.order = session_order.insert(session_order.end(), rdev_eui);
    sessions.emplace(rdev_eui, std::move(entry));
  }
  SessionsChanged();
}

std::optional<ServerSession> ProvisioningService::Impl::TakeSession(const RDevEui& rdev_eui,
                                                                    int64_t now_ms) {
  std::lock_guard lock(mu);
  auto it = sessions.find(rdev_eui);
  if (it == sessions.end()) return std::nullopt;
  std::optional<ServerSession> live;
  if (!Expired(it->second, now_ms)) live = std::move(it->second.server);
  EraseSession(it);
  SessionsChanged();
  return live;
}

std::optional<Bytes> ProvisioningService::Impl::OnHello(const Hello& hello,
                                                        const Reception& reception) {
  if (hello.version != 0x01) return Drop(kBadVersion);
  // Checked before spending a token, so invalid Hellos cannot use up the
  // budget of valid ones; the check costs far less than the ECDH.
  if (!crypto::K233IsValidPublicKey(hello.dev_public_key)) return Drop(kBadPublicKey);
  const int64_t now_ms = clock();
  {
    std::lock_guard lock(mu);
    if (auto refused = TakeHelloTokens(reception.gateway_eui, now_ms)) return Drop(*refused);
  }
  const auto started = std::chrono::steady_clock::now();
  const HelloSecrets secrets = hello_secrets();
  auto outcome = HandleHello(hello, secrets.key_pair, secrets.nonce);
  // A valid point can still give no shared point (e.g. one of small order).
  if (!outcome.ok()) return Drop(kBadPublicKey);
  Bytes response = EncodeFrame(outcome->response);
  StoreSession(std::move(outcome->session));
  if (hello_seconds != nullptr) {
    hello_seconds->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return response;
}

void ProvisioningService::Impl::Answered(AuthOutcome outcome, const RDevEui& rdev_eui,
                                         const Reception& reception,
                                         const crypto::Sha256Digest& hash, const Eui64* dev_eui) {
  auths[outcome].fetch_add(1, std::memory_order_relaxed);
  if (auth_metrics[outcome] != nullptr) auth_metrics[outcome]->Inc();
  if (log == nullptr) return;
  const std::string rdev = ToHex(rdev_eui);
  const std::string gateway = reception.gateway_eui.ToString();
  const std::string hash_prefix = ToHex(std::span(hash).first(4));
  if (dev_eui != nullptr) {
    const std::string dev = dev_eui->ToString();
    log->Info("provisioning accepted", {{"rdev_eui", rdev},
                                        {"gateway", gateway},
                                        {"provision_id_hash", hash_prefix},
                                        {"dev_eui", dev}});
  } else {
    log->Info("provisioning rejected", {{"reason", kAuthOutcomes[outcome]},
                                        {"rdev_eui", rdev},
                                        {"gateway", gateway},
                                        {"provision_id_hash", hash_prefix}});
  }
}

std::optional<Bytes> ProvisioningService::Impl::OnAuth(const Auth& auth,
                                                       const Reception& reception) {
  const int64_t now_ms = clock();
  std::optional<ServerSession> session = TakeSession(auth.rdev_eui, now_ms);
  if (!session) return Drop(kNoSession);
  auto content = OpenAuth(auth, *session);
  // Sessions are found by the Auth's rDevEUI, so this cannot fail.
  if (!content.ok()) return Drop(kNoSession);
  struct WipeContent {
    AuthContent& c;
    ~WipeContent() { crypto::Cleanse(&c, sizeof c); }
  } wipe_content{*content};
  const crypto::Sha256Digest hash = content->provision_id_hash;
  const Bytes rejected = EncodeFrame(BuildAuthRejected(auth.rdev_eui));
  auto reject = [&](AuthOutcome outcome) {
    Answered(outcome, auth.rdev_eui, reception, hash, nullptr);
    return rejected;
  };
  auto warn = [&](std::string_view what, const Status& status) {
    if (log == nullptr) return;
    const std::string rdev = ToHex(auth.rdev_eui);
    log->Warn(what, {{"rdev_eui", rdev},
                     {"provision_id_hash", ToHex(std::span(hash).first(4))},
                     {"error", status.message()}});
  };

  auto found = directory.FindByHash(hash);
  if (!found.ok()) {
    warn("provisioning directory failed", found.status());
    return Drop(kStorageError);
  }
  if (!found->has_value()) return reject(kUnknownId);
  ProvisionIdEntry& entry = **found;
  WipeOnExit wipe_entry(entry.provision_id);
  if (entry.state == ProvisionIdState::kDisabled) return reject(kDisabled);
  if (!AuthVerifyCodeMatches(*content, entry.provision_id, *session)) {
    return reject(kBadVerifyCode);
  }

  ProvisioningRecord record;
  record.provision_id = entry.provision_id;
  WipeOnExit wipe_record(record.provision_id);
  record.rdev_eui = session->rdev_eui;
  record.network_flag = session->network_flag;
  record.keys = session->keys;
  record.reception = reception;
  record.at_ms = now_ms;
  auto assigned = directory.RecordProvisioned(record);
  if (!assigned.ok()) {
    switch (assigned.status().code()) {
      case Status::Code::kNotFound: {
        // Disabled or removed since FindByHash; ask again to say which (an
        // ID that was there a moment ago and cannot be read now: disabled).
        auto again = directory.FindByHash(hash);
        const bool gone = again.ok() && !again->has_value();
        if (again.ok() && again->has_value()) {
          crypto::Cleanse((*again)->provision_id.data(), (*again)->provision_id.size());
        }
        return reject(gone ? kUnknownId : kDisabled);
      }
      case Status::Code::kUnavailable:
        warn("provisioning has no devEUI to assign", assigned.status());
        return reject(kNoDevEui);
      default:
        warn("provisioning directory failed", assigned.status());
        return Drop(kStorageError);
    }
  }
  Bytes accepted = EncodeFrame(BuildAuthAccepted(*session, assigned->dev_eui, assigned->join_eui,
                                                 entry.provision_id, content->dev_nonce));
  Answered(kAccepted, auth.rdev_eui, reception, hash, &assigned->dev_eui);
  return accepted;
}

ProvisioningService::ProvisioningService(Options options, ProvisionDirectory& directory,
                                         Clock clock, HelloSecretsSource hello_secrets,
                                         observe::MetricsRegistry* metrics, observe::Logger* log)
    : impl_(std::make_unique<Impl>(options, directory, std::move(clock), std::move(hello_secrets),
                                   metrics, log)) {}

ProvisioningService::~ProvisioningService() = default;

std::optional<Bytes> ProvisioningService::HandleUplink(std::span<const uint8_t> phy_payload,
                                                       const Reception& reception) {
  FrameError why = FrameError::kNone;
  auto message = DecodeFrame(phy_payload, &why);
  if (!message.ok()) return impl_->Drop(DropReasonOf(why));
  const size_t type = message->index();
  impl_->frames[type].fetch_add(1, std::memory_order_relaxed);
  if (impl_->frame_metrics[type] != nullptr) impl_->frame_metrics[type]->Inc();
  if (const auto* hello = std::get_if<Hello>(&*message)) return impl_->OnHello(*hello, reception);
  if (const auto* auth = std::get_if<Auth>(&*message)) return impl_->OnAuth(*auth, reception);
  return impl_->Drop(kDownlinkType);
}

size_t ProvisioningService::session_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

uint64_t ProvisioningService::frames(std::string_view type) const {
  return CountOf(kFrameTypes, impl_->frames, type);
}

uint64_t ProvisioningService::dropped(std::string_view reason) const {
  return CountOf(kDropReasons, impl_->dropped, reason);
}

uint64_t ProvisioningService::auths(std::string_view outcome) const {
  return CountOf(kAuthOutcomes, impl_->auths, outcome);
}

}  // namespace roost::provisioning
