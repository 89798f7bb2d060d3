// The server side of LoRaWAN zero-touch provisioning (provisioning.md, "The
// exchange and the server's checks") for a stream of uplinks: it keeps the
// sessions between Hello and Auth, limits how many Hellos it answers, asks the
// directory about Provision IDs and records accepted exchanges through it.
//
// No network or disk I/O: the caller hands in each proprietary uplink and
// sends the returned downlink; the ProvisionDirectory is the only way out. The
// clock and the source of fresh server key pairs and nonces are injected.
//
// What is dropped (never answered) and counted by reason:
//   FrameErrorName(...)      the frame does not decode (too_short, wrong_mhdr,
//                            unknown_type, bad_length, bad_mic)
//   downlink_type            a Hello response or Auth accepted/rejected heard as an uplink
//   bad_version              a Hello whose version byte is not 0x01
//   bad_public_key           a Hello whose device key is off the curve or infinity
//   rate_limited_gateway     over the Hello rate of the gateway it came through
//   rate_limited             over the Hello rate of the whole service
//   no_session               an Auth with no live session (none, expired, consumed)
//   storage_error            the directory failed; the device retries from its Hello
// An Auth that is answered is counted by outcome: accepted, or rejected with
// unknown_id, disabled, bad_verify_code or no_dev_eui.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/hex.h"
#include "crypto/k233.h"
#include "provisioning/directory.h"
#include "provisioning/provision_id.h"

namespace roost::observe {
class Logger;
class MetricsRegistry;
}  // namespace roost::observe

namespace roost::provisioning {

class ProvisioningService {
 public:
  // Hello rates are token buckets: `*_per_second` refills, `*_burst` is the
  // bucket's size. Every Hello costs two K-233 scalar multiplications (a fresh
  // key pair and the shared point), about 0.4 ms of one core
  // (bench/provisioning_bench: ~2 400 Hellos/s per core, docs/benchmarks.md);
  // the global default keeps provisioning near 4 % of one core whatever
  // arrives, and an Auth reaches the directory only through a session a Hello
  // made, so the database sees at most that rate too.
  //
  // Sessions are never evicted before they expire as long as
  //   max_sessions >= hello_burst + hellos_per_second * session_ttl
  // (the most sessions one ttl of admitted Hellos can create); the defaults
  // keep it (200 + 100 * 60 = 6 200 <= 10 000).
  struct Options {
    std::chrono::milliseconds session_ttl{60000};
    size_t max_sessions = 10000;
    // A gateway's downlinks are bound by airtime: an EU868 Hello response at
    // SF9 is ~0.45 s on air (under a 1 % duty cycle), a US915 one at SF7/500
    // kHz ~36 ms; 5/s is above the first and leaves the second its bursts.
    double hellos_per_second_per_gateway = 5;
    double hello_burst_per_gateway = 20;
    double hellos_per_second = 100;
    double hello_burst = 200;
    // Gateways with a bucket at once; see HandleUplink for a full table.
    size_t max_gateways_tracked = 4096;
  };

  // Epoch milliseconds (steady enough for expiry); called from any thread.
  using Clock = std::function<int64_t()>;

  // What a Hello response is made with. The key pair wipes its private key.
  struct HelloSecrets {
    crypto::K233KeyPair key_pair;
    Nonce nonce{};
  };
  // The default (an empty function) is crypto::K233GenerateKeyPair and a
  // nonce from the CSPRNG, fresh for every Hello. A test seam for replaying
  // recorded exchanges, not a production option. Called from any thread.
  using HelloSecretsSource = std::function<HelloSecrets()>;

  // `directory` (and `metrics`, `log` if given) must outlive the service. An
  // empty `clock` reads the system clock. With `metrics`, the service registers
  //   roost_provisioning_frames_total{type}        decoded uplinks by message type
  //   roost_provisioning_dropped_total{reason}     frames not answered, by reason
  //   roost_provisioning_auth_total{outcome}       answered Auths by outcome
  //   roost_provisioning_sessions                  live sessions (gauge)
  //   roost_provisioning_hello_duration_seconds    time to handle an admitted Hello
  // With `log`, accepted and rejected exchanges are logged at info with the
  // rDevEUI, the gateway and the first 8 hex digits of the Provision ID hash
  // (never a key, never the Provision ID); directory failures at warn.
  ProvisioningService(Options options, ProvisionDirectory& directory, Clock clock,
                      HelloSecretsSource hello_secrets = {},
                      observe::MetricsRegistry* metrics = nullptr, observe::Logger* log = nullptr);
  ~ProvisioningService();
  ProvisioningService(const ProvisioningService&) = delete;
  ProvisioningService& operator=(const ProvisioningService&) = delete;

  // One proprietary uplink PHYPayload heard through `reception` (the best of
  // its receptions). Returns the downlink PHYPayload to send, or nullopt when
  // the frame is dropped (the reason is counted). Thread-safe; may block (the
  // directory reaches the database), so the caller runs it off the network
  // event loop.
  //
  // A Hello replaces any session of its rDevEUI; an Auth consumes its session
  // whatever the outcome (a replayed Auth is no_session). Anyone can make
  // frames with a valid MIC (its key is public): a forged Hello or Auth naming
  // a device's rDevEUI costs that device a retry, never a wrong answer.
  // When the session table is full, expired sessions go first, then the
  // oldest. When the table of gateway buckets is full, a gateway idle long
  // enough for its bucket to be full again is forgotten (it loses nothing: a
  // new bucket starts full); if none is, a Hello from an unknown gateway is
  // rate_limited_gateway.
  std::optional<Bytes> HandleUplink(std::span<const uint8_t> phy_payload,
                                    const Reception& reception);

  // Live sessions (expired ones still count until removed).
  size_t session_count() const;

  // The counts behind the metrics, for tests and diagnostics; an unknown name
  // reads 0. frames: "hello", "hello_response", "auth", "auth_accepted",
  // "auth_rejected"; dropped: the reasons above; auths: "accepted" and the
  // rejection reasons.
  uint64_t frames(std::string_view type) const;
  uint64_t dropped(std::string_view reason) const;
  uint64_t auths(std::string_view outcome) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roost::provisioning
