// Arbitrary uplinks through one ProvisioningService with small bounds. The
// input is a list of records
//   length (1) || flags (1) || clock step (1) || frame (length bytes)
// flags bits 0-1 pick one of four gateways, bits 2-3 which recorded server key
// pair and nonce (the transcripts' of tests/vectors/provisioning.json) the
// next Hello gets; the clock advances by step x 16 ms. Every frame's MIC is
// corrected, so that the fuzzer gets past it.
//
// Checked after every uplink: an answer is the downlink for its uplink's type
// (Hello response to a Hello, Auth accepted or rejected to an Auth) for the
// same rDevEUI; the session table stays within its bound; every uplink is
// counted exactly once, as dropped or answered.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "core/hex.h"
#include "crypto/hash.h"
#include "provisioning/directory.h"
#include "provisioning/frames.h"
#include "provisioning/service.h"

namespace {

using namespace roost;
using namespace roost::provisioning;

struct Recorded {
  const char* provision_id;
  const char* server_private_le;
  const char* server_nonce;
};
constexpr std::array<Recorded, 3> kTranscripts = {{
    {"TESTPIDOOOOOOOOOOOOO", "449d55da885f21f2c4ef6853021091b1c73baf8598c9c40da3929a4b9c0f4f00",
     "22768bdc"},
    {"SERIALNUMBEROOOOOOOO", "97fa54b4776f406450aa632ad288d17cf851f55a441b126ced673a48473e4e00",
     "2d9c44f5"},
    {"ABCDEFGHIJKLMNOPQRST", "d2d7695b3f6022f494d2b4f7d8487d3209bd54a4bb28057879b45cf3e91a1400",
     "7b298492"},
}};

// The first ID is pending, the second disabled, the third has no devEUI to
// get; every fifth lookup fails as a store would.
class FuzzDirectory : public ProvisionDirectory {
 public:
  Result<std::optional<ProvisionIdEntry>> FindByHash(const crypto::Sha256Digest& hash) override {
    if (++finds_ % 5 == 0) return Status::IoError("database is locked");
    for (size_t i = 0; i < kTranscripts.size(); ++i) {
      if (hash == ProvisionIdHash(kTranscripts[i].provision_id)) {
        return std::optional<ProvisionIdEntry>(
            ProvisionIdEntry{kTranscripts[i].provision_id,
                             i == 1 ? ProvisionIdState::kDisabled : ProvisionIdState::kPending});
      }
    }
    return std::optional<ProvisionIdEntry>();
  }
  Result<Assignment> RecordProvisioned(const ProvisioningRecord& record) override {
    if (record.provision_id == kTranscripts[1].provision_id) std::abort();  // disabled: not asked
    if (record.provision_id == kTranscripts[2].provision_id) {
      return Status::Unavailable("no devEUI pool is configured");
    }
    if (record.provision_id != kTranscripts[0].provision_id) std::abort();
    return Assignment{Eui64::FromU64(0x000000fffe000001), Eui64{}};
  }

 private:
  uint64_t finds_ = 0;
};

std::array<ProvisioningService::HelloSecrets, 3> LoadSecrets() {
  std::array<ProvisioningService::HelloSecrets, 3> all;
  for (size_t i = 0; i < kTranscripts.size(); ++i) {
    crypto::K233Scalar scalar{};
    Nonce nonce{};
    if (!FromHexInto(kTranscripts[i].server_private_le, scalar).ok()) std::abort();
    if (!FromHexInto(kTranscripts[i].server_nonce, nonce).ok()) std::abort();
    auto pair = crypto::K233KeyPairFromPrivate(scalar);
    if (!pair.ok()) std::abort();
    all[i].key_pair = *pair;
    all[i].nonce = nonce;
  }
  return all;
}

uint64_t Total(const ProvisioningService& s) {
  uint64_t n = 0;
  for (const char* reason :
       {"too_short", "wrong_mhdr", "unknown_type", "bad_length", "bad_mic", "downlink_type",
        "bad_version", "bad_public_key", "rate_limited_gateway", "rate_limited", "no_session",
        "storage_error"}) {
    n += s.dropped(reason);
  }
  for (const char* outcome :
       {"accepted", "unknown_id", "disabled", "bad_verify_code", "no_dev_eui"}) {
    n += s.auths(outcome);
  }
  return n + s.frames("hello") - s.dropped("bad_version") - s.dropped("bad_public_key") -
         s.dropped("rate_limited_gateway") - s.dropped("rate_limited");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::array<ProvisioningService::HelloSecrets, 3> secrets = LoadSecrets();
  size_t next_secrets = 0;
  int64_t now_ms = 1'800'000'000'000;

  ProvisioningService::Options options;
  options.session_ttl = std::chrono::milliseconds(2000);
  options.max_sessions = 3;
  options.hellos_per_second_per_gateway = 2;
  options.hello_burst_per_gateway = 3;
  options.hellos_per_second = 4;
  options.hello_burst = 5;
  options.max_gateways_tracked = 2;
  FuzzDirectory directory;
  ProvisioningService service(
      options, directory, [&now_ms] { return now_ms; },
      [&next_secrets] { return secrets[next_secrets]; });

  std::span<const uint8_t> rest(data, size);
  uint64_t uplinks = 0;
  while (rest.size() >= 3) {
    const size_t length = std::min<size_t>(rest[0], rest.size() - 3);
    const uint8_t flags = rest[1];
    now_ms += int64_t{rest[2]} * 16;
    Bytes frame(rest.begin() + 3, rest.begin() + 3 + static_cast<std::ptrdiff_t>(length));
    rest = rest.subspan(3 + length);
    if (frame.size() >= 1 + 1 + kMicSize) {
      const auto mic = crypto::Cmac(kFixedKey, std::span(frame).first(frame.size() - kMicSize));
      std::copy_n(mic.begin(), kMicSize, frame.end() - kMicSize);
    }
    next_secrets = ((flags >> 2) & 3) % secrets.size();
    Reception via;
    via.gateway_eui = Eui64::FromU64(0xa0a0a0fffe000000 + (flags & 3));

    const auto answer = service.HandleUplink(frame, via);
    ++uplinks;
    if (service.session_count() > options.max_sessions) std::abort();
    if (Total(service) != uplinks) std::abort();
    if (!answer) continue;
    auto uplink = DecodeFrame(frame);
    auto downlink = DecodeFrame(*answer);
    if (!uplink.ok() || !downlink.ok()) std::abort();
    if (RDevEuiOf(*uplink) != RDevEuiOf(*downlink)) std::abort();
    const MessageType up = TypeOf(*uplink);
    const MessageType down = TypeOf(*downlink);
    if (up == MessageType::kHello && down != MessageType::kHelloResponse) std::abort();
    if (up == MessageType::kAuth && down != MessageType::kAuthAccepted &&
        down != MessageType::kAuthRejected) {
      std::abort();
    }
    if (up != MessageType::kHello && up != MessageType::kAuth) std::abort();
  }
  return 0;
}
