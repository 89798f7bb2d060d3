#include "provisioning/server.h"

#include <gtest/gtest.h>

#include "core/hex.h"
#include "provisioning/test_vectors.h"

namespace roost::provisioning {
namespace {

using testing::HexArray;
using testing::HexBytes;
using testing::Vectors;

crypto::K233KeyPair ServerKey(const nlohmann::json& t) {
  auto key = crypto::K233KeyPairFromPrivate(HexArray<32>(t["serverPrivateKeyLE"]));
  EXPECT_TRUE(key.ok()) << key.status().message();
  return key.ok() ? *key : crypto::K233KeyPair{};
}

Eui64 Eui(const nlohmann::json& value) {
  auto eui = ParseEui64(value.get<std::string>());
  EXPECT_TRUE(eui.ok()) << eui.status().message();
  return eui.ok() ? *eui : Eui64{};
}

// Plays the server side of every transcript from serverPrivateKeyLE and
// serverNonce and compares every byte the server produces or recovers.
TEST(Server, TranscriptsByteForByte) {
  ASSERT_EQ(Vectors()["transcripts"].size(), 3u);
  for (const auto& t : Vectors()["transcripts"]) {
    SCOPED_TRACE(t["rDevEUI"].get<std::string>());
    auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
    ASSERT_TRUE(hello_msg.ok()) << hello_msg.status().message();
    const Hello& hello = std::get<Hello>(*hello_msg);

    auto outcome = HandleHello(hello, ServerKey(t), HexArray<4>(t["serverNonce"]));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    EXPECT_EQ(ToHex(EncodeFrame(outcome->response)),
              t["helloResponseDownlinkPHYPayload"].get<std::string>());
    const ServerSession& session = outcome->session;
    EXPECT_EQ(session.network_flag, hello.network_flag);
    EXPECT_EQ(ToHex(session.keys.app_key), t["appKey"].get<std::string>());
    EXPECT_EQ(ToHex(session.keys.nwk_key), t["nwkKey"].get<std::string>());
    EXPECT_EQ(ToHex(session.keys.prov_key), t["provKey"].get<std::string>());

    auto auth_msg = DecodeFrame(HexBytes(t["authUplinkPHYPayload"]));
    ASSERT_TRUE(auth_msg.ok()) << auth_msg.status().message();
    auto content = OpenAuth(std::get<Auth>(*auth_msg), session);
    ASSERT_TRUE(content.ok()) << content.status().message();
    Bytes plain(content->provision_id_hash.begin(), content->provision_id_hash.end());
    plain.insert(plain.end(), content->verify_code.begin(), content->verify_code.end());
    plain.insert(plain.end(), content->dev_nonce.begin(), content->dev_nonce.end());
    EXPECT_EQ(ToHex(plain), t["authPlaintext"].get<std::string>());
    EXPECT_EQ(ToHex(content->provision_id_hash), t["provisionIdHash"].get<std::string>());
    EXPECT_EQ(content->provision_id_hash, ProvisionIdHash(t["provisionId"].get<std::string>()));
    EXPECT_EQ(ToHex(content->dev_nonce), t["devNonce"].get<std::string>());
    const std::string pid = t["provisionId"];
    EXPECT_TRUE(AuthVerifyCodeMatches(*content, pid, session));

    const AuthAccepted accepted = BuildAuthAccepted(
        session, Eui(t["assignedDevEUI"]), Eui(t["assignedJoinEUI"]), pid, content->dev_nonce);
    EXPECT_EQ(ToHex(EncodeFrame(accepted)), t["authAcceptDownlinkPHYPayload"].get<std::string>());
    EXPECT_EQ(ToHex(EncodeFrame(BuildAuthRejected(hello.rdev_eui))),
              t["authRejectDownlinkPHYPayload"].get<std::string>());
  }
}

TEST(Server, AcceptedPlaintextLayout) {
  const auto& t = Vectors()["transcripts"][0];
  auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  ASSERT_TRUE(hello_msg.ok());
  auto outcome = HandleHello(std::get<Hello>(*hello_msg), ServerKey(t), Nonce{1, 2, 3, 4});
  ASSERT_TRUE(outcome.ok());
  const Nonce dev_nonce{9, 9, 9, 9};
  const AuthAccepted accepted =
      BuildAuthAccepted(outcome->session, Eui(t["assignedDevEUI"]), Eui(t["assignedJoinEUI"]),
                        "ABCDEFGHIJKLMNOPQRST", dev_nonce);
  std::array<uint8_t, kAcceptedPlainSize> plain{};
  CryptAuthPayload(outcome->session.keys.prov_key, Direction::kDownlink, accepted.rdev_eui,
                   accepted.encrypted, plain);
  EXPECT_EQ(ToHex(std::span(plain).first(8)), t["assignedDevEUI"].get<std::string>());
  EXPECT_EQ(ToHex(std::span(plain).subspan(8, 8)), t["assignedJoinEUI"].get<std::string>());
  EXPECT_EQ(ToHex(std::span(plain).subspan(16)),
            ToHex(ComputeVerifyCode("ABCDEFGHIJKLMNOPQRST", dev_nonce)));
}

TEST(Server, WrongProvisionIdOrNonceFailsVerifyCode) {
  const auto& t = Vectors()["transcripts"][0];
  auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  auto auth_msg = DecodeFrame(HexBytes(t["authUplinkPHYPayload"]));
  ASSERT_TRUE(hello_msg.ok());
  ASSERT_TRUE(auth_msg.ok());
  const std::string pid = t["provisionId"];

  auto outcome =
      HandleHello(std::get<Hello>(*hello_msg), ServerKey(t), HexArray<4>(t["serverNonce"]));
  ASSERT_TRUE(outcome.ok());
  auto content = OpenAuth(std::get<Auth>(*auth_msg), outcome->session);
  ASSERT_TRUE(content.ok());
  EXPECT_TRUE(AuthVerifyCodeMatches(*content, pid, outcome->session));
  EXPECT_FALSE(AuthVerifyCodeMatches(*content, "TESTPIDOOOOOOOOOOOOP", outcome->session));

  // Same keys, another server nonce: the device's verifyCode no longer matches.
  auto other = HandleHello(std::get<Hello>(*hello_msg), ServerKey(t), Nonce{0, 0, 0, 0});
  ASSERT_TRUE(other.ok());
  auto content2 = OpenAuth(std::get<Auth>(*auth_msg), other->session);
  ASSERT_TRUE(content2.ok());
  EXPECT_FALSE(AuthVerifyCodeMatches(*content2, pid, other->session));
}

TEST(Server, AuthWithWrongSessionKeysDoesNotDecrypt) {
  const auto& t = Vectors()["transcripts"][0];
  auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  auto auth_msg = DecodeFrame(HexBytes(t["authUplinkPHYPayload"]));
  ASSERT_TRUE(hello_msg.ok());
  ASSERT_TRUE(auth_msg.ok());
  // A fresh server key (what a real server uses) gives other keys than the device's.
  auto outcome = HandleHello(std::get<Hello>(*hello_msg), crypto::K233GenerateKeyPair(),
                             HexArray<4>(t["serverNonce"]));
  ASSERT_TRUE(outcome.ok());
  auto content = OpenAuth(std::get<Auth>(*auth_msg), outcome->session);
  ASSERT_TRUE(content.ok());
  EXPECT_NE(ToHex(content->provision_id_hash), t["provisionIdHash"].get<std::string>());
  EXPECT_FALSE(
      AuthVerifyCodeMatches(*content, t["provisionId"].get<std::string>(), outcome->session));
}

TEST(ServerBadInput, AuthFromAnotherRDevEui) {
  const auto& t = Vectors()["transcripts"][0];
  auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  auto auth_msg = DecodeFrame(HexBytes(t["authUplinkPHYPayload"]));
  ASSERT_TRUE(hello_msg.ok());
  ASSERT_TRUE(auth_msg.ok());
  auto outcome =
      HandleHello(std::get<Hello>(*hello_msg), ServerKey(t), HexArray<4>(t["serverNonce"]));
  ASSERT_TRUE(outcome.ok());
  Auth auth = std::get<Auth>(*auth_msg);
  auth.rdev_eui[7] ^= 1;
  auto content = OpenAuth(auth, outcome->session);
  ASSERT_FALSE(content.ok());
  EXPECT_NE(content.status().message().find("rDevEUI does not match"), std::string::npos);
}

TEST(ServerBadInput, HelloWithPublicKeyOffCurve) {
  const auto& t = Vectors()["transcripts"][0];
  auto hello_msg = DecodeFrame(HexBytes(t["helloUplinkPHYPayload"]));
  ASSERT_TRUE(hello_msg.ok());
  Hello hello = std::get<Hello>(*hello_msg);
  hello.dev_public_key[33] ^= 0x04;
  auto outcome = HandleHello(hello, ServerKey(t), Nonce{});
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(outcome.status().message().find("Hello: device public key"), std::string::npos);
}

TEST(ServerBadInput, HelloWithAllZeroPublicKey) {
  Hello hello;
  hello.rdev_eui = {1, 2, 3, 4, 5, 6, 7, 8};
  auto outcome = HandleHello(hello, crypto::K233GenerateKeyPair(), Nonce{});
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.status().message().find("not a point on the curve"), std::string::npos);
}

TEST(Server, FullExchangeWithGeneratedKeys) {
  // Device side played with standard ECDH (not the firmware's), to check the
  // steps fit together with fresh keys.
  const crypto::K233KeyPair device = crypto::K233GenerateKeyPair();
  const crypto::K233KeyPair server = crypto::K233GenerateKeyPair();
  Hello hello;
  hello.rdev_eui = {0xd7, 0xb3, 0x2a, 0xd1, 0xce, 0xdd, 0xab, 0x71};
  hello.dev_public_key = device.public_xy;
  hello.network_flag = 1;
  auto hello_back = DecodeFrame(EncodeFrame(hello));
  ASSERT_TRUE(hello_back.ok());
  auto outcome = HandleHello(std::get<Hello>(*hello_back), server, Nonce{5, 6, 7, 8});
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->session.network_flag, std::optional<uint8_t>(1));

  auto device_shared =
      crypto::K233SharedPoint(device.private_le, outcome->response.server_public_key);
  ASSERT_TRUE(device_shared.ok());
  const SessionKeys device_keys = DeriveSessionKeys(*device_shared, hello.rdev_eui);
  EXPECT_EQ(device_keys.app_key, outcome->session.keys.app_key);
  EXPECT_EQ(device_keys.nwk_key, outcome->session.keys.nwk_key);

  const std::string pid = "ABCDEFGHIJKLMNOPQRST";
  std::array<uint8_t, kAuthPlainSize> plain{};
  const auto hash = ProvisionIdHash(pid);
  const auto code = ComputeVerifyCode(pid, outcome->response.server_nonce);
  std::copy(hash.begin(), hash.end(), plain.begin());
  std::copy(code.begin(), code.end(), plain.begin() + 32);
  const Nonce dev_nonce{0xa1, 0xa2, 0xa3, 0xa4};
  std::copy(dev_nonce.begin(), dev_nonce.end(), plain.begin() + 48);
  Auth auth;
  auth.rdev_eui = hello.rdev_eui;
  CryptAuthPayload(device_keys.prov_key, Direction::kUplink, auth.rdev_eui, plain, auth.encrypted);

  auto content = OpenAuth(auth, outcome->session);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->provision_id_hash, hash);
  EXPECT_EQ(content->dev_nonce, dev_nonce);
  EXPECT_TRUE(AuthVerifyCodeMatches(*content, pid, outcome->session));
}

}  // namespace
}  // namespace roost::provisioning
