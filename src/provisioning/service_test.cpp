#include "provisioning/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/hex.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "provisioning/frames.h"
#include "provisioning/test_vectors.h"

namespace roost::provisioning {
namespace {

using testing::HexArray;
using testing::HexBytes;
using testing::Vectors;

// The contract's own reference: Provision IDs in a map, accepted exchanges in
// a list, and switches that make the next calls fail the ways a store can.
class MemoryDirectory : public ProvisionDirectory {
 public:
  struct Stored {
    std::string provision_id;
    RDevEui rdev_eui{};
    std::optional<uint8_t> network_flag;
    Key128 app_key{};
    Key128 nwk_key{};
    Eui64 gateway{};
    int64_t at_ms = 0;
  };

  // `assignment` is what RecordProvisioned hands out for this ID; nullopt
  // plays a directory without a devEUI pool.
  void Add(const std::string& provision_id, std::optional<Assignment> assignment,
           ProvisionIdState state = ProvisionIdState::kPending) {
    std::lock_guard lock(mu_);
    ids_[ProvisionIdHash(provision_id)] = Id{provision_id, state, assignment};
  }
  void Disable(const std::string& provision_id) {
    std::lock_guard lock(mu_);
    ids_[ProvisionIdHash(provision_id)].state = ProvisionIdState::kDisabled;
  }
  void FailNextFind(Status status) {
    std::lock_guard lock(mu_);
    find_failure_ = std::move(status);
  }
  void FailNextRecord(Status status) {
    std::lock_guard lock(mu_);
    record_failure_ = std::move(status);
  }
  // The ID is disabled by an operator between FindByHash and RecordProvisioned.
  void DisableBeforeNextRecord() {
    std::lock_guard lock(mu_);
    disable_before_record_ = true;
  }
  std::vector<Stored> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  int record_calls() const {
    std::lock_guard lock(mu_);
    return record_calls_;
  }

  Result<std::optional<ProvisionIdEntry>> FindByHash(const crypto::Sha256Digest& hash) override {
    std::lock_guard lock(mu_);
    if (!find_failure_.ok()) return std::exchange(find_failure_, Status::Ok());
    auto it = ids_.find(hash);
    if (it == ids_.end()) return std::optional<ProvisionIdEntry>();
    return std::optional<ProvisionIdEntry>(ProvisionIdEntry{it->second.id, it->second.state});
  }

  Result<Assignment> RecordProvisioned(const ProvisioningRecord& record) override {
    std::lock_guard lock(mu_);
    ++record_calls_;
    if (!record_failure_.ok()) return std::exchange(record_failure_, Status::Ok());
    auto it = ids_.find(ProvisionIdHash(record.provision_id));
    if (it == ids_.end()) return Status::NotFound("unknown Provision ID");
    if (std::exchange(disable_before_record_, false)) {
      it->second.state = ProvisionIdState::kDisabled;
    }
    if (it->second.state == ProvisionIdState::kDisabled) {
      return Status::NotFound("Provision ID disabled");
    }
    if (!it->second.assignment) return Status::Unavailable("no devEUI pool is configured");
    it->second.state = ProvisionIdState::kProvisioned;
    records_.push_back(Stored{record.provision_id, record.rdev_eui, record.network_flag,
                              record.keys.app_key, record.keys.nwk_key,
                              record.reception.gateway_eui, record.at_ms});
    return *it->second.assignment;
  }

 private:
  struct Id {
    std::string id;
    ProvisionIdState state = ProvisionIdState::kPending;
    std::optional<Assignment> assignment;
  };
  mutable std::mutex mu_;
  std::map<crypto::Sha256Digest, Id> ids_;
  std::vector<Stored> records_;
  Status find_failure_;
  Status record_failure_;
  bool disable_before_record_ = false;
  int record_calls_ = 0;
};

Reception Through(uint64_t gateway) {
  Reception r;
  r.gateway_eui = Eui64::FromU64(gateway);
  r.rssi = -80;
  r.snr = 7.5;
  r.tmst = 1000;
  r.frequency_mhz = 868.1;
  return r;
}

const Reception kGatewayA = Through(0xa0a0a0fffe000001);
const Reception kGatewayB = Through(0xb0b0b0fffe000002);

Assignment AssignmentOf(uint64_t dev_eui, uint64_t join_eui = 0) {
  return Assignment{Eui64::FromU64(dev_eui), Eui64::FromU64(join_eui)};
}

RDevEui RandomRDevEui() {
  RDevEui r{};
  crypto::RandomBytes(r);
  return r;
}

// A device played with standard ECDH (its key pair from K233GenerateKeyPair).
class TestDevice {
 public:
  explicit TestDevice(std::string provision_id, RDevEui rdev_eui = RandomRDevEui())
      : provision_id_(std::move(provision_id)), rdev_eui_(rdev_eui) {
    crypto::RandomBytes(dev_nonce_);
  }

  const RDevEui& rdev_eui() const { return rdev_eui_; }
  const SessionKeys& keys() const { return keys_; }

  Bytes HelloFrame(std::optional<uint8_t> network_flag = 1) const {
    Hello hello;
    hello.rdev_eui = rdev_eui_;
    hello.dev_public_key = key_.public_xy;
    hello.network_flag = network_flag;
    return EncodeFrame(hello);
  }

  // The Auth answering `hello_response` (a PHYPayload); `proven_id` is the
  // Provision ID the verify code is computed from (the device's own by default).
  Bytes AuthFrame(const std::optional<Bytes>& hello_response,
                  std::optional<std::string> proven_id = std::nullopt) {
    EXPECT_TRUE(hello_response.has_value()) << "the Hello was not answered";
    if (!hello_response) return {};
    auto decoded = DecodeFrame(*hello_response);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    const auto& response = std::get<HelloResponse>(*decoded);
    EXPECT_EQ(response.rdev_eui, rdev_eui_);
    auto shared = crypto::K233SharedPoint(key_.private_le, response.server_public_key);
    EXPECT_TRUE(shared.ok()) << shared.status().message();
    keys_ = DeriveSessionKeys(*shared, rdev_eui_);
    std::array<uint8_t, kAuthPlainSize> plain{};
    const auto hash = ProvisionIdHash(provision_id_);
    const auto code = ComputeVerifyCode(proven_id.value_or(provision_id_), response.server_nonce);
    std::copy(hash.begin(), hash.end(), plain.begin());
    std::copy(code.begin(), code.end(), plain.begin() + 32);
    std::copy(dev_nonce_.begin(), dev_nonce_.end(), plain.begin() + 48);
    Auth auth;
    auth.rdev_eui = rdev_eui_;
    CryptAuthPayload(keys_.prov_key, Direction::kUplink, rdev_eui_, plain, auth.encrypted);
    return EncodeFrame(auth);
  }

  // Checks an Auth accepted as the device would: its rDevEUI, the server's
  // proof of the Provision ID with the device's nonce, and the EUIs.
  void ExpectAccepted(const std::optional<Bytes>& answer, const Assignment& expected) const {
    ASSERT_TRUE(answer.has_value()) << "the Auth was not answered";
    auto decoded = DecodeFrame(*answer);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    ASSERT_TRUE(std::holds_alternative<AuthAccepted>(*decoded)) << ToHex(*answer);
    const auto& accepted = std::get<AuthAccepted>(*decoded);
    EXPECT_EQ(accepted.rdev_eui, rdev_eui_);
    std::array<uint8_t, kAcceptedPlainSize> plain{};
    CryptAuthPayload(keys_.prov_key, Direction::kDownlink, rdev_eui_, accepted.encrypted, plain);
    EXPECT_EQ(ToHex(std::span(plain).first(8)), expected.dev_eui.ToString());
    EXPECT_EQ(ToHex(std::span(plain).subspan(8, 8)), expected.join_eui.ToString());
    EXPECT_EQ(ToHex(std::span(plain).subspan(16)),
              ToHex(ComputeVerifyCode(provision_id_, dev_nonce_)));
  }

  void ExpectRejected(const std::optional<Bytes>& answer) const {
    ASSERT_TRUE(answer.has_value()) << "the Auth was not answered";
    EXPECT_EQ(*answer, EncodeFrame(AuthRejected{rdev_eui_}));
  }

 private:
  std::string provision_id_;
  RDevEui rdev_eui_;
  crypto::K233KeyPair key_ = crypto::K233GenerateKeyPair();
  Nonce dev_nonce_{};
  SessionKeys keys_;
};

// Options whose limits stay out of the way of tests about something else.
ProvisioningService::Options Unlimited() {
  ProvisioningService::Options o;
  o.hellos_per_second_per_gateway = 1e6;
  o.hello_burst_per_gateway = 1e6;
  o.hellos_per_second = 1e6;
  o.hello_burst = 1e6;
  return o;
}

constexpr const char* kPid = "ABCDEFGHIJKLMNOPQRST";
constexpr const char* kOtherPid = "TESTPIDOOOOOOOOOOOOP";

class ServiceTest : public ::testing::Test {
 protected:
  ProvisioningService::Clock clock() {
    return [this] { return now_ms_.load(); };
  }
  std::unique_ptr<ProvisioningService> Make(ProvisioningService::Options options = Unlimited()) {
    return std::make_unique<ProvisioningService>(options, directory_, clock());
  }
  // One Hello and its Auth through `service`; returns the Auth's answer.
  static std::optional<Bytes> Exchange(ProvisioningService& service, TestDevice& device,
                                       const Reception& via = kGatewayA) {
    auto response = service.HandleUplink(device.HelloFrame(), via);
    if (!response) return std::nullopt;
    return service.HandleUplink(device.AuthFrame(response), via);
  }

  std::atomic<int64_t> now_ms_{1'800'000'000'000};
  MemoryDirectory directory_;
};

// --- The recorded exchanges --------------------------------------------------

Eui64 Eui(const nlohmann::json& value) {
  auto eui = ParseEui64(value.get<std::string>());
  EXPECT_TRUE(eui.ok()) << eui.status().message();
  return eui.ok() ? *eui : Eui64{};
}

// The transcript's server key pair and nonce, for every Hello.
ProvisioningService::HelloSecretsSource TranscriptSecrets(const nlohmann::json& t,
                                                          int* calls = nullptr) {
  return [&t, calls] {
    if (calls != nullptr) ++*calls;
    ProvisioningService::HelloSecrets secrets;
    auto key = crypto::K233KeyPairFromPrivate(HexArray<32>(t["serverPrivateKeyLE"]));
    EXPECT_TRUE(key.ok()) << key.status().message();
    if (key.ok()) secrets.key_pair = *key;
    secrets.nonce = HexArray<4>(t["serverNonce"]);
    return secrets;
  };
}

TEST_F(ServiceTest, TranscriptsReproducedByteForByte) {
  ASSERT_EQ(Vectors()["transcripts"].size(), 3u);
  for (const auto& t : Vectors()["transcripts"]) {
    SCOPED_TRACE(t["rDevEUI"].get<std::string>());
    MemoryDirectory directory;
    const std::string pid = t["provisionId"];
    directory.Add(pid, Assignment{Eui(t["assignedDevEUI"]), Eui(t["assignedJoinEUI"])});
    ProvisioningService service(Unlimited(), directory, clock(), TranscriptSecrets(t));

    const Bytes hello = HexBytes(t["helloUplinkPHYPayload"]);
    auto response = service.HandleUplink(hello, kGatewayA);
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(ToHex(*response), t["helloResponseDownlinkPHYPayload"].get<std::string>());
    EXPECT_EQ(service.session_count(), 1u);

    now_ms_ += 4000;
    auto accepted = service.HandleUplink(HexBytes(t["authUplinkPHYPayload"]), kGatewayB);
    ASSERT_TRUE(accepted.has_value());
    EXPECT_EQ(ToHex(*accepted), t["authAcceptDownlinkPHYPayload"].get<std::string>());
    EXPECT_EQ(service.session_count(), 0u);
    EXPECT_EQ(service.auths("accepted"), 1u);

    // What the directory was asked to record.
    const auto records = directory.records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].provision_id, pid);
    EXPECT_EQ(ToHex(records[0].rdev_eui), t["rDevEUI"].get<std::string>());
    EXPECT_EQ(ToHex(records[0].app_key), t["appKey"].get<std::string>());
    EXPECT_EQ(ToHex(records[0].nwk_key), t["nwkKey"].get<std::string>());
    auto hello_msg = DecodeFrame(hello);
    ASSERT_TRUE(hello_msg.ok());
    EXPECT_EQ(records[0].network_flag, std::get<Hello>(*hello_msg).network_flag);
    EXPECT_EQ(records[0].gateway, kGatewayB.gateway_eui);
    EXPECT_EQ(records[0].at_ms, now_ms_.load());
  }
}

TEST_F(ServiceTest, UnknownHashIsRejectedWithTheTranscriptsRejectFrame) {
  for (const auto& t : Vectors()["transcripts"]) {
    SCOPED_TRACE(t["rDevEUI"].get<std::string>());
    MemoryDirectory empty;
    ProvisioningService service(Unlimited(), empty, clock(), TranscriptSecrets(t));
    ASSERT_TRUE(service.HandleUplink(HexBytes(t["helloUplinkPHYPayload"]), kGatewayA));
    auto rejected = service.HandleUplink(HexBytes(t["authUplinkPHYPayload"]), kGatewayA);
    ASSERT_TRUE(rejected.has_value());
    // type 0x92 || rDevEUI, with its MIC.
    EXPECT_EQ(ToHex(*rejected), t["authRejectDownlinkPHYPayload"].get<std::string>());
    EXPECT_EQ(service.auths("unknown_id"), 1u);
    EXPECT_EQ(empty.record_calls(), 0);
  }
}

// --- Frames that are dropped -----------------------------------------------

Bytes WithValidMic(Bytes phy) {
  const auto body = std::span<const uint8_t>(phy).first(phy.size() - kMicSize);
  const crypto::Block mic = crypto::Cmac(kFixedKey, body);
  std::copy_n(mic.begin(), kMicSize, phy.end() - kMicSize);
  return phy;
}

TEST_F(ServiceTest, GarbageIsDroppedByFrameError) {
  auto service = Make();
  EXPECT_FALSE(service->HandleUplink(Bytes{}, kGatewayA));
  EXPECT_FALSE(service->HandleUplink(Bytes{0xe0, 0x01, 0x02}, kGatewayA));
  EXPECT_EQ(service->dropped(FrameErrorName(FrameError::kTooShort)), 2u);

  Bytes noise(80);
  crypto::RandomBytes(noise);
  noise[0] = 0x40;  // an unconfirmed data up, as ordinary LoRaWAN traffic
  EXPECT_FALSE(service->HandleUplink(noise, kGatewayA));
  EXPECT_EQ(service->dropped(FrameErrorName(FrameError::kWrongMhdr)), 1u);
  EXPECT_EQ(service->frames("hello"), 0u);
  EXPECT_EQ(service->session_count(), 0u);
}

TEST_F(ServiceTest, EveryFrameErrorIsCountedByItsName) {
  auto service = Make();
  TestDevice device(kPid);
  const Bytes hello = device.HelloFrame();

  Bytes wrong_mhdr = hello;
  wrong_mhdr[0] = 0xe1;
  Bytes bad_mic = hello;
  bad_mic.back() ^= 0x01;
  Bytes wrong_length = hello;  // 75 bytes with the network flag: one more matches nothing
  wrong_length.insert(wrong_length.begin() + 10, 0x00);
  Bytes unknown_type = hello;
  unknown_type[1] = 0x02;

  const std::vector<std::pair<FrameError, Bytes>> cases = {
      {FrameError::kTooShort, Bytes{0xe0, 0x01, 0, 0, 0}},
      {FrameError::kWrongMhdr, WithValidMic(wrong_mhdr)},
      {FrameError::kBadMic, bad_mic},
      {FrameError::kBadLength, WithValidMic(wrong_length)},
      {FrameError::kUnknownType, WithValidMic(unknown_type)},
  };
  for (const auto& [error, frame] : cases) {
    SCOPED_TRACE(std::string(FrameErrorName(error)));
    const uint64_t before = service->dropped(FrameErrorName(error));
    EXPECT_FALSE(service->HandleUplink(frame, kGatewayA).has_value());
    EXPECT_EQ(service->dropped(FrameErrorName(error)), before + 1);
  }
  EXPECT_EQ(service->session_count(), 0u);
  EXPECT_EQ(service->frames("hello"), 0u);
}

TEST_F(ServiceTest, DownlinkTypesHeardAsUplinksAreDropped) {
  auto service = Make();
  const RDevEui rdev = RandomRDevEui();
  const std::vector<Message> downlinks = {HelloResponse{rdev, {}, {}}, AuthAccepted{rdev, {}},
                                          AuthRejected{rdev}};
  for (const Message& m : downlinks) {
    EXPECT_FALSE(service->HandleUplink(EncodeFrame(m), kGatewayA).has_value());
  }
  EXPECT_EQ(service->dropped("downlink_type"), 3u);
  EXPECT_EQ(service->frames("hello_response"), 1u);
  EXPECT_EQ(service->frames("auth_accepted"), 1u);
  EXPECT_EQ(service->frames("auth_rejected"), 1u);
}

TEST_F(ServiceTest, HelloWithAnotherVersionIsDroppedWithoutKeyWork) {
  int secrets_made = 0;
  const auto& t = Vectors()["transcripts"][0];
  ProvisioningService service(Unlimited(), directory_, clock(),
                              TranscriptSecrets(t, &secrets_made));
  auto decoded = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  ASSERT_TRUE(decoded.ok());
  for (uint8_t version : std::initializer_list<uint8_t>{0x00, 0x02, 0xff}) {
    Hello hello = std::get<Hello>(*decoded);
    hello.version = version;
    EXPECT_FALSE(service.HandleUplink(EncodeFrame(hello), kGatewayA).has_value());
  }
  EXPECT_EQ(service.dropped("bad_version"), 3u);
  EXPECT_EQ(secrets_made, 0);
  EXPECT_EQ(service.session_count(), 0u);
}

TEST_F(ServiceTest, HelloWithKeyOffTheCurveOrAtInfinityIsDropped) {
  int secrets_made = 0;
  const auto& t = Vectors()["transcripts"][0];
  ProvisioningService service(Unlimited(), directory_, clock(),
                              TranscriptSecrets(t, &secrets_made));
  auto decoded = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  ASSERT_TRUE(decoded.ok());
  Hello off_curve = std::get<Hello>(*decoded);
  off_curve.dev_public_key[33] ^= 0x04;
  Hello infinity = std::get<Hello>(*decoded);
  infinity.dev_public_key.fill(0);  // tiny-ECDH's encoding of the point at infinity
  EXPECT_FALSE(service.HandleUplink(EncodeFrame(off_curve), kGatewayA).has_value());
  EXPECT_FALSE(service.HandleUplink(EncodeFrame(infinity), kGatewayA).has_value());
  EXPECT_EQ(service.dropped("bad_public_key"), 2u);
  EXPECT_EQ(secrets_made, 0);
  EXPECT_EQ(service.session_count(), 0u);
}

TEST_F(ServiceTest, WrongVerifyCodeIsRejectedAndNothingRecorded) {
  directory_.Add(kPid, AssignmentOf(0x000000fffe000001));
  auto service = Make();
  TestDevice device(kPid);
  auto response = service->HandleUplink(device.HelloFrame(), kGatewayA);
  // The hash names kPid but the device proves another ID.
  device.ExpectRejected(service->HandleUplink(device.AuthFrame(response, kOtherPid), kGatewayA));
  EXPECT_EQ(service->auths("bad_verify_code"), 1u);
  EXPECT_EQ(directory_.record_calls(), 0);
}

TEST_F(ServiceTest, ReplayedAuthFindsNoSession) {
  directory_.Add(kPid, AssignmentOf(0x000000fffe000001));
  auto service = Make();
  TestDevice device(kPid);
  auto response = service->HandleUplink(device.HelloFrame(), kGatewayA);
  const Bytes auth = device.AuthFrame(response);
  device.ExpectAccepted(service->HandleUplink(auth, kGatewayA), AssignmentOf(0x000000fffe000001));
  EXPECT_FALSE(service->HandleUplink(auth, kGatewayB).has_value());
  EXPECT_EQ(service->dropped("no_session"), 1u);
  EXPECT_EQ(directory_.records().size(), 1u);
}

TEST_F(ServiceTest, AuthWithoutHelloFindsNoSession) {
  directory_.Add(kPid, AssignmentOf(1));
  auto service = Make();
  Auth auth;
  auth.rdev_eui = RandomRDevEui();
  crypto::RandomBytes(auth.encrypted);
  EXPECT_FALSE(service->HandleUplink(EncodeFrame(auth), kGatewayA).has_value());
  // A session of another device does not answer it either.
  TestDevice other(kPid);
  ASSERT_TRUE(service->HandleUplink(other.HelloFrame(), kGatewayA));
  EXPECT_FALSE(service->HandleUplink(EncodeFrame(auth), kGatewayA).has_value());
  EXPECT_EQ(service->dropped("no_session"), 2u);
  EXPECT_EQ(service->session_count(), 1u);
  EXPECT_EQ(directory_.record_calls(), 0);
}

TEST_F(ServiceTest, ExpiredSessionFindsNoSession) {
  directory_.Add(kPid, AssignmentOf(0x000000fffe000001));
  ProvisioningService::Options options = Unlimited();
  options.session_ttl = std::chrono::milliseconds(60000);
  auto service = Make(options);

  TestDevice late(kPid);
  auto response = service->HandleUplink(late.HelloFrame(), kGatewayA);
  now_ms_ += 60000;
  EXPECT_FALSE(service->HandleUplink(late.AuthFrame(response), kGatewayA).has_value());
  EXPECT_EQ(service->dropped("no_session"), 1u);
  EXPECT_EQ(service->session_count(), 0u);

  // One millisecond earlier it is still alive.
  TestDevice in_time(kPid);
  response = service->HandleUplink(in_time.HelloFrame(), kGatewayA);
  now_ms_ += 59999;
  in_time.ExpectAccepted(service->HandleUplink(in_time.AuthFrame(response), kGatewayA),
                         AssignmentOf(0x000000fffe000001));
}

TEST_F(ServiceTest, DisabledProvisionIdIsRejected) {
  directory_.Add(kPid, AssignmentOf(1), ProvisionIdState::kDisabled);
  auto service = Make();
  TestDevice device(kPid);
  device.ExpectRejected(Exchange(*service, device));
  EXPECT_EQ(service->auths("disabled"), 1u);
  EXPECT_EQ(directory_.record_calls(), 0);
}

TEST_F(ServiceTest, ProvisionIdDisabledDuringTheExchangeIsRejected) {
  directory_.Add(kPid, AssignmentOf(1));
  auto service = Make();
  TestDevice device(kPid);
  directory_.DisableBeforeNextRecord();
  device.ExpectRejected(Exchange(*service, device));
  EXPECT_EQ(service->auths("disabled"), 1u);
  EXPECT_TRUE(directory_.records().empty());
}

TEST_F(ServiceTest, NoDevEuiToAssignIsRejected) {
  directory_.Add(kPid, std::nullopt);
  auto service = Make();
  TestDevice device(kPid);
  device.ExpectRejected(Exchange(*service, device));
  EXPECT_EQ(service->auths("no_dev_eui"), 1u);
}

TEST_F(ServiceTest, StorageErrorDropsAndTheRetryFromHelloSucceeds) {
  const Assignment assignment = AssignmentOf(0x000000fffe000007, 0x70b3d57ed0000001);
  directory_.Add(kPid, assignment);
  auto service = Make();
  TestDevice device(kPid);

  directory_.FailNextFind(Status::IoError("database is locked"));
  EXPECT_FALSE(Exchange(*service, device).has_value());
  EXPECT_EQ(service->dropped("storage_error"), 1u);
  device.ExpectAccepted(Exchange(*service, device), assignment);

  TestDevice second(kOtherPid);
  directory_.Add(kOtherPid, assignment);
  directory_.FailNextRecord(Status::Internal("connection lost"));
  EXPECT_FALSE(Exchange(*service, second).has_value());
  EXPECT_EQ(service->dropped("storage_error"), 2u);
  second.ExpectAccepted(Exchange(*service, second), assignment);
  EXPECT_EQ(service->auths("accepted"), 2u);
  EXPECT_EQ(directory_.records().size(), 2u);
}

TEST_F(ServiceTest, NewHelloReplacesTheSessionOfItsRDevEui) {
  const Assignment assignment = AssignmentOf(0x000000fffe000009);
  directory_.Add(kPid, assignment);
  auto service = Make();
  TestDevice device(kPid);
  auto first = service->HandleUplink(device.HelloFrame(), kGatewayA);
  const Bytes stale_auth = device.AuthFrame(first);
  auto second = service->HandleUplink(device.HelloFrame(), kGatewayA);
  EXPECT_EQ(service->session_count(), 1u);
  // An Auth under the first session's keys no longer decrypts to a known hash.
  device.ExpectRejected(service->HandleUplink(stale_auth, kGatewayA));
  EXPECT_EQ(service->auths("unknown_id"), 1u);

  auto third = service->HandleUplink(device.HelloFrame(), kGatewayA);
  device.ExpectAccepted(service->HandleUplink(device.AuthFrame(third), kGatewayA), assignment);
}

TEST_F(ServiceTest, HellosNeverShareAServerKeyOrNonce) {
  auto service = Make();
  TestDevice device(kPid);
  std::set<std::string> keys;
  std::set<std::string> nonces;
  for (int i = 0; i < 8; ++i) {
    auto response = service->HandleUplink(device.HelloFrame(), kGatewayA);
    ASSERT_TRUE(response.has_value());
    auto decoded = DecodeFrame(*response);
    ASSERT_TRUE(decoded.ok());
    keys.insert(ToHex(std::get<HelloResponse>(*decoded).server_public_key));
    nonces.insert(ToHex(std::get<HelloResponse>(*decoded).server_nonce));
  }
  EXPECT_EQ(keys.size(), 8u);
  // Four random bytes: eight distinct values unless the generator is broken
  // (a chance collision is below 1e-8).
  EXPECT_EQ(nonces.size(), 8u);
}

// --- Bounds and rate limits --------------------------------------------------

// Hellos from random rDevEUIs with valid keys (a few keys, reused: the
// service does not care whose key it is).
class HelloFlood {
 public:
  HelloFlood() {
    for (auto& key : keys_) key = crypto::K233GenerateKeyPair();
  }
  Bytes Next() {
    Hello hello;
    hello.rdev_eui = RandomRDevEui();
    hello.dev_public_key = keys_[n_++ % keys_.size()].public_xy;
    return EncodeFrame(hello);
  }

 private:
  std::array<crypto::K233KeyPair, 4> keys_;
  size_t n_ = 0;
};

TEST_F(ServiceTest, SessionTableStaysWithinMaxSessionsUnderAFlood) {
  ProvisioningService::Options options = Unlimited();
  options.max_sessions = 16;
  auto service = Make(options);
  HelloFlood flood;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(service->HandleUplink(flood.Next(), Through(i)).has_value());
    ASSERT_LE(service->session_count(), 16u);
  }
  EXPECT_EQ(service->session_count(), 16u);
  // The newest session is still there: a legitimate device completes.
  const Assignment assignment = AssignmentOf(0x000000fffe000042);
  directory_.Add(kPid, assignment);
  TestDevice device(kPid);
  device.ExpectAccepted(Exchange(*service, device, kGatewayB), assignment);
}

TEST_F(ServiceTest, FullTableRemovesExpiredSessionsBeforeTheOldest) {
  ProvisioningService::Options options = Unlimited();
  options.max_sessions = 2;
  options.session_ttl = std::chrono::milliseconds(1000);
  auto service = Make(options);
  directory_.Add(kPid, AssignmentOf(1));
  TestDevice expired(kPid), older(kPid), newer(kPid), newest(kPid);

  auto expired_response = service->HandleUplink(expired.HelloFrame(), kGatewayA);
  now_ms_ += 1000;
  auto older_response = service->HandleUplink(older.HelloFrame(), kGatewayA);
  auto newer_response = service->HandleUplink(newer.HelloFrame(), kGatewayA);
  EXPECT_EQ(service->session_count(), 2u);  // the expired one is gone
  older.ExpectAccepted(service->HandleUplink(older.AuthFrame(older_response), kGatewayA),
                       AssignmentOf(1));

  // Full again with live sessions only: the oldest one gives way.
  auto older2 = service->HandleUplink(older.HelloFrame(), kGatewayA);
  auto newest_response = service->HandleUplink(newest.HelloFrame(), kGatewayA);
  EXPECT_EQ(service->session_count(), 2u);
  EXPECT_FALSE(service->HandleUplink(newer.AuthFrame(newer_response), kGatewayA).has_value());
  newest.ExpectAccepted(service->HandleUplink(newest.AuthFrame(newest_response), kGatewayA),
                        AssignmentOf(1));
  older.ExpectAccepted(service->HandleUplink(older.AuthFrame(older2), kGatewayA), AssignmentOf(1));
  EXPECT_FALSE(service->HandleUplink(expired.AuthFrame(expired_response), kGatewayA));
  EXPECT_EQ(service->dropped("no_session"), 2u);
}

TEST_F(ServiceTest, FloodThroughOneGatewayDoesNotLockOutADeviceOnAnother) {
  ProvisioningService::Options options;
  options.max_sessions = 12;
  options.hellos_per_second_per_gateway = 1;
  options.hello_burst_per_gateway = 10;
  options.hellos_per_second = 1000;
  options.hello_burst = 1000;
  auto service = Make(options);
  const Assignment assignment = AssignmentOf(0x000000fffe000100);
  directory_.Add(kPid, assignment);
  TestDevice device(kPid);
  HelloFlood flood;

  auto response = service->HandleUplink(device.HelloFrame(), kGatewayB);
  ASSERT_TRUE(response.has_value());
  for (int i = 0; i < 200; ++i) {
    service->HandleUplink(flood.Next(), kGatewayA);
    ASSERT_LE(service->session_count(), 12u);
    now_ms_ += 1;
  }
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 190u);
  device.ExpectAccepted(service->HandleUplink(device.AuthFrame(response), kGatewayB), assignment);
}

TEST_F(ServiceTest, SessionsLiveTheirTtlWhenTheTableIsSizedForTheRateLimit) {
  // max_sessions = hello_burst + hellos_per_second * ttl, as Options asks.
  ProvisioningService::Options options;
  options.session_ttl = std::chrono::milliseconds(10000);
  options.hellos_per_second = 2;
  options.hello_burst = 4;
  options.max_sessions = 4 + 2 * 10;
  options.hellos_per_second_per_gateway = 1000;
  options.hello_burst_per_gateway = 1000;
  auto service = Make(options);
  const Assignment assignment = AssignmentOf(0x000000fffe000200);
  directory_.Add(kPid, assignment);
  TestDevice device(kPid);
  HelloFlood flood;

  auto response = service->HandleUplink(device.HelloFrame(), kGatewayB);
  ASSERT_TRUE(response.has_value());
  // Ten Hellos a second from ever new gateways for the whole ttl: five times
  // what the service admits.
  for (int i = 0; i < 99; ++i) {
    now_ms_ += 100;
    service->HandleUplink(flood.Next(), Through(0x1000 + i));
    ASSERT_LE(service->session_count(), options.max_sessions);
  }
  EXPECT_GT(service->dropped("rate_limited"), 50u);
  EXPECT_GE(service->session_count(), options.max_sessions - 2);
  device.ExpectAccepted(service->HandleUplink(device.AuthFrame(response), kGatewayB), assignment);
}

TEST_F(ServiceTest, PerGatewayHelloRateLimit) {
  ProvisioningService::Options options = Unlimited();
  options.hellos_per_second_per_gateway = 1;
  options.hello_burst_per_gateway = 3;
  auto service = Make(options);
  HelloFlood flood;
  int answered = 0;
  for (int i = 0; i < 5; ++i) answered += service->HandleUplink(flood.Next(), kGatewayA) ? 1 : 0;
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 2u);
  // Another gateway has its own bucket.
  EXPECT_TRUE(service->HandleUplink(flood.Next(), kGatewayB).has_value());
  // Refilled at one per second.
  now_ms_ += 999;
  EXPECT_FALSE(service->HandleUplink(flood.Next(), kGatewayA).has_value());
  now_ms_ += 1;
  EXPECT_TRUE(service->HandleUplink(flood.Next(), kGatewayA).has_value());
  EXPECT_FALSE(service->HandleUplink(flood.Next(), kGatewayA).has_value());
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 4u);
  EXPECT_EQ(service->dropped("rate_limited"), 0u);
}

TEST_F(ServiceTest, GlobalHelloRateLimit) {
  ProvisioningService::Options options = Unlimited();
  options.hellos_per_second = 2;
  options.hello_burst = 4;
  auto service = Make(options);
  HelloFlood flood;
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += service->HandleUplink(flood.Next(), Through(i)) ? 1 : 0;
  EXPECT_EQ(answered, 4);
  EXPECT_EQ(service->dropped("rate_limited"), 6u);
  now_ms_ += 500;
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(100)).has_value());
  EXPECT_FALSE(service->HandleUplink(flood.Next(), Through(101)).has_value());
  EXPECT_EQ(service->dropped("rate_limited"), 7u);
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 0u);
  // Auths are not rate limited: they need a session, which a Hello paid for.
  EXPECT_EQ(service->frames("hello"), 12u);
}

TEST_F(ServiceTest, GatewayTableForgetsOnlyGatewaysWithAFullBucket) {
  ProvisioningService::Options options = Unlimited();
  options.max_gateways_tracked = 2;
  options.hellos_per_second_per_gateway = 1;
  options.hello_burst_per_gateway = 2;
  auto service = Make(options);
  HelloFlood flood;
  // Gateway 1 spends one of its two tokens, gateway 2 both.
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(1)).has_value());
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(2)).has_value());
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(2)).has_value());
  // A third gateway must not push out a bucket that is not full: that would
  // reset it.
  EXPECT_FALSE(service->HandleUplink(flood.Next(), Through(3)).has_value());
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 1u);
  // A second later gateway 1 (least recently used) is full again and forgotten.
  now_ms_ += 1000;
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(3)).has_value());
  // Gateway 2 kept its bucket: one token refilled, not a new bucket's two.
  EXPECT_TRUE(service->HandleUplink(flood.Next(), Through(2)).has_value());
  EXPECT_FALSE(service->HandleUplink(flood.Next(), Through(2)).has_value());
  // Gateway 1 is new again, and neither tracked bucket is full.
  EXPECT_FALSE(service->HandleUplink(flood.Next(), Through(1)).has_value());
  EXPECT_EQ(service->dropped("rate_limited_gateway"), 3u);
}

// --- Threads -----------------------------------------------------------------

// Several threads run whole exchanges at once, each device with its own
// Provision ID and devEUI: a lost or mixed-up session, a torn counter or a
// record under another device's keys shows as a wrong answer or a wrong count.
TEST_F(ServiceTest, ConcurrentExchangesEachGetTheirOwnAnswer) {
  constexpr int kThreads = 4;
  constexpr int kDevicesPerThread = 12;
  auto service = Make();
  struct Slot {
    std::unique_ptr<TestDevice> device;
    std::string pid;
    Assignment assignment;
  };
  std::vector<std::vector<Slot>> slots(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int d = 0; d < kDevicesPerThread; ++d) {
      Slot slot;
      const int n = t * kDevicesPerThread + d;
      slot.pid = std::string("AAAAAAAAAAAAAAAA") + static_cast<char>('A' + t) +
                 static_cast<char>('A' + d) + "22";
      slot.assignment = AssignmentOf(0x000000fffe100000 + static_cast<uint64_t>(n));
      directory_.Add(slot.pid, slot.assignment);
      slot.device = std::make_unique<TestDevice>(slot.pid);
      slots[t].push_back(std::move(slot));
    }
  }
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Reception via = Through(static_cast<uint64_t>(t) + 1);
      std::vector<std::optional<Bytes>> responses;
      // All Hellos first, so every thread's sessions share the table at once.
      for (auto& slot : slots[t]) {
        responses.push_back(service->HandleUplink(slot.device->HelloFrame(), via));
        // Noise between them: dropped without touching anything.
        service->HandleUplink(EncodeFrame(AuthRejected{slot.device->rdev_eui()}), via);
      }
      for (size_t i = 0; i < slots[t].size(); ++i) {
        auto& slot = slots[t][i];
        auto answer = service->HandleUplink(slot.device->AuthFrame(responses[i]), via);
        slot.device->ExpectAccepted(answer, slot.assignment);
        if (answer && answer->size() == 1 + kAuthAcceptedSize + kMicSize) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  constexpr uint64_t kAll = kThreads * kDevicesPerThread;
  EXPECT_EQ(accepted.load(), static_cast<int>(kAll));
  EXPECT_EQ(service->auths("accepted"), kAll);
  EXPECT_EQ(service->frames("hello"), kAll);
  EXPECT_EQ(service->frames("auth"), kAll);
  EXPECT_EQ(service->dropped("downlink_type"), kAll);
  EXPECT_EQ(service->session_count(), 0u);
  const auto records = directory_.records();
  ASSERT_EQ(records.size(), kAll);
  std::map<RDevEui, const TestDevice*> by_rdev;
  for (const auto& row : slots) {
    for (const auto& slot : row) by_rdev[slot.device->rdev_eui()] = slot.device.get();
  }
  for (const auto& record : records) {
    ASSERT_EQ(by_rdev.count(record.rdev_eui), 1u);
    EXPECT_EQ(record.app_key, by_rdev[record.rdev_eui]->keys().app_key);
    EXPECT_EQ(record.nwk_key, by_rdev[record.rdev_eui]->keys().nwk_key);
  }
}

// --- Metrics and log ---------------------------------------------------------

TEST_F(ServiceTest, MetricsCountFramesDropsOutcomesSessionsAndHelloTime) {
  observe::MetricsRegistry metrics;
  const Assignment assignment = AssignmentOf(0x000000fffe000001);
  directory_.Add(kPid, assignment);
  ProvisioningService service(Unlimited(), directory_, clock(), {}, &metrics);
  TestDevice device(kPid);
  TestDevice waiting(kPid);
  device.ExpectAccepted(Exchange(service, device), assignment);
  ASSERT_TRUE(service.HandleUplink(waiting.HelloFrame(), kGatewayA));
  Bytes bad = device.HelloFrame();
  bad.back() ^= 1;
  service.HandleUplink(bad, kGatewayA);

  const std::string text = metrics.Render();
  for (const char* line : {
           "roost_provisioning_frames_total{type=\"hello\"} 2\n",
           "roost_provisioning_frames_total{type=\"auth\"} 1\n",
           "roost_provisioning_dropped_total{reason=\"bad_mic\"} 1\n",
           "roost_provisioning_dropped_total{reason=\"rate_limited\"} 0\n",
           "roost_provisioning_auth_total{outcome=\"accepted\"} 1\n",
           "roost_provisioning_auth_total{outcome=\"unknown_id\"} 0\n",
           "roost_provisioning_sessions 1\n",
           "roost_provisioning_hello_duration_seconds_count 2\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "not in\n" << text;
  }
}

TEST_F(ServiceTest, LogNamesTheExchangeButNeverAKeyOrTheProvisionId) {
  std::string lines;
  observe::Logger log([&](std::string_view line) { lines += line; });
  const auto& t = Vectors()["transcripts"][0];
  const std::string pid = t["provisionId"];
  directory_.Add(pid, Assignment{Eui(t["assignedDevEUI"]), Eui(t["assignedJoinEUI"])});
  ProvisioningService service(Unlimited(), directory_, clock(), TranscriptSecrets(t), nullptr,
                              &log);
  ASSERT_TRUE(service.HandleUplink(HexBytes(t["helloUplinkPHYPayload"]), kGatewayA));
  ASSERT_TRUE(service.HandleUplink(HexBytes(t["authUplinkPHYPayload"]), kGatewayA));
  directory_.Disable(pid);
  ASSERT_TRUE(service.HandleUplink(HexBytes(t["helloUplinkPHYPayload"]), kGatewayB));
  ASSERT_TRUE(service.HandleUplink(HexBytes(t["authUplinkPHYPayload"]), kGatewayB));

  const std::string hash = t["provisionIdHash"];
  EXPECT_NE(lines.find("\"msg\":\"provisioning accepted\""), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"msg\":\"provisioning rejected\""), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"reason\":\"disabled\""), std::string::npos) << lines;
  EXPECT_NE(lines.find(t["rDevEUI"].get<std::string>()), std::string::npos) << lines;
  EXPECT_NE(lines.find(kGatewayA.gateway_eui.ToString()), std::string::npos) << lines;
  EXPECT_NE(lines.find(kGatewayB.gateway_eui.ToString()), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"provision_id_hash\":\"" + hash.substr(0, 8) + "\""), std::string::npos)
      << lines;
  EXPECT_NE(lines.find(t["assignedDevEUI"].get<std::string>()), std::string::npos) << lines;
  for (const char* secret : {"appKey", "nwkKey", "provKey", "sharedKey", "serverPrivateKeyLE"}) {
    const std::string value = t[secret];
    EXPECT_EQ(lines.find(value), std::string::npos) << secret << " in " << lines;
    EXPECT_EQ(lines.find(ToHexUpper(HexBytes(t[secret]))), std::string::npos) << secret;
  }
  EXPECT_EQ(lines.find(pid), std::string::npos) << lines;
  EXPECT_EQ(lines.find(hash), std::string::npos) << lines;
}

TEST_F(ServiceTest, DirectoryFailureIsLoggedWithoutSecrets) {
  std::string lines;
  observe::Logger log([&](std::string_view line) { lines += line; });
  directory_.Add(kPid, AssignmentOf(1));
  ProvisioningService service(Unlimited(), directory_, clock(), {}, nullptr, &log);
  TestDevice device(kPid);
  directory_.FailNextRecord(Status::IoError("disk I/O error"));
  EXPECT_FALSE(Exchange(service, device).has_value());
  EXPECT_NE(lines.find("\"level\":\"warn\""), std::string::npos) << lines;
  EXPECT_NE(lines.find("disk I/O error"), std::string::npos) << lines;
  EXPECT_EQ(lines.find(kPid), std::string::npos) << lines;
  EXPECT_EQ(lines.find(ToHex(device.keys().app_key)), std::string::npos) << lines;
  EXPECT_EQ(lines.find(ToHex(device.keys().nwk_key)), std::string::npos) << lines;
}

}  // namespace
}  // namespace roost::provisioning
