#include "simulate/device.h"

#include <gtest/gtest.h>

#include <variant>

#include "crypto/k233.h"
#include "provisioning/provision_id.h"
#include "provisioning/server.h"

namespace roost::simulate {
namespace {

using namespace roost::provisioning;

constexpr char kProvisionId[] = "ABCDEFGHIJKLMNOPQRST";
const RDevEui kRDevEui = {1, 2, 3, 4, 5, 6, 7, 8};

template <typename T>
T Decode(const Bytes& phy) {
  auto m = DecodeFrame(phy);
  EXPECT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m.ok() && std::holds_alternative<T>(*m));
  return m.ok() && std::holds_alternative<T>(*m) ? std::get<T>(*m) : T{};
}

// The server's side, from provisioning/server.h, up to the Auth's content.
struct ServerSide {
  crypto::K233KeyPair key = crypto::K233GenerateKeyPair();
  Nonce nonce = {9, 8, 7, 6};
  std::optional<ServerSession> session;

  Bytes AnswerHello(const Bytes& hello_phy) {
    auto outcome = HandleHello(Decode<Hello>(hello_phy), key, nonce);
    EXPECT_TRUE(outcome.ok()) << outcome.status().message();
    session = std::move(outcome->session);
    return EncodeFrame(outcome->response);
  }
};

TEST(SimulatedDevice, HelloIs75BytesWithTheMainNetworkFlag) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  const Bytes phy = device.StartHello();
  EXPECT_EQ(phy.size(), 1 + 75 + kMicSize);
  const Hello hello = Decode<Hello>(phy);
  EXPECT_EQ(hello.rdev_eui, kRDevEui);
  EXPECT_EQ(hello.network_flag, std::optional<uint8_t>(1));
  EXPECT_TRUE(crypto::K233IsValidPublicKey(hello.dev_public_key));
  EXPECT_EQ(device.state(), DeviceState::kAwaitingHelloResponse);
  // A new attempt uses a new key pair.
  EXPECT_NE(Decode<Hello>(device.StartHello()).dev_public_key, hello.dev_public_key);
}

TEST(SimulatedDevice, AcceptedExchangeAgainstTheServerSteps) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  ServerSide server;
  auto step = device.OnDownlink(server.AnswerHello(device.StartHello()));
  ASSERT_TRUE(step.ok()) << step.status().message();
  ASSERT_TRUE(step->has_value());
  ASSERT_TRUE((*step)->uplink.has_value());
  EXPECT_EQ(device.state(), DeviceState::kAwaitingAuthAnswer);

  auto content = OpenAuth(Decode<Auth>(*(*step)->uplink), *server.session);
  ASSERT_TRUE(content.ok()) << content.status().message();
  EXPECT_EQ(content->provision_id_hash, ProvisionIdHash(kProvisionId));
  EXPECT_TRUE(AuthVerifyCodeMatches(*content, kProvisionId, *server.session));

  const Eui64 dev_eui = Eui64::FromU64(0x70B3D57ED0000001);
  const Eui64 join_eui = Eui64::FromU64(0x0000000000000042);
  const AuthAccepted accepted =
      BuildAuthAccepted(*server.session, dev_eui, join_eui, kProvisionId, content->dev_nonce);
  auto done = device.OnDownlink(EncodeFrame(accepted));
  ASSERT_TRUE(done.ok()) << done.status().message();
  ASSERT_TRUE(done->has_value());
  EXPECT_TRUE((*done)->finished);
  EXPECT_EQ(device.state(), DeviceState::kAccepted);
  ASSERT_TRUE(device.provisioned().has_value());
  EXPECT_EQ(device.provisioned()->dev_eui, dev_eui);
  EXPECT_EQ(device.provisioned()->join_eui, join_eui);
  EXPECT_EQ(device.provisioned()->keys.app_key, server.session->keys.app_key);
  EXPECT_EQ(device.provisioned()->keys.nwk_key, server.session->keys.nwk_key);
}

TEST(SimulatedDevice, AnImpostorNamesItsIdButProvesAnother) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  std::string other(kProvisionId);
  other.back() = other.back() == 'A' ? 'B' : 'A';
  device.ProveWith(other);
  ServerSide server;
  auto step = device.OnDownlink(server.AnswerHello(device.StartHello()));
  ASSERT_TRUE(step.ok()) << step.status().message();
  ASSERT_TRUE(step->has_value() && (*step)->uplink.has_value());
  auto content = OpenAuth(Decode<Auth>(*(*step)->uplink), *server.session);
  ASSERT_TRUE(content.ok()) << content.status().message();
  EXPECT_EQ(content->provision_id_hash, ProvisionIdHash(kProvisionId));
  EXPECT_FALSE(AuthVerifyCodeMatches(*content, kProvisionId, *server.session));
  EXPECT_TRUE(AuthVerifyCodeMatches(*content, other, *server.session));
}

TEST(SimulatedDevice, RejectedExchange) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  ServerSide server;
  auto step = device.OnDownlink(server.AnswerHello(device.StartHello()));
  ASSERT_TRUE(step.ok() && step->has_value());
  auto done = device.OnDownlink(EncodeFrame(BuildAuthRejected(kRDevEui)));
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(done->has_value());
  EXPECT_TRUE((*done)->finished);
  EXPECT_EQ(device.state(), DeviceState::kRejected);
  EXPECT_FALSE(device.provisioned().has_value());
}

TEST(SimulatedDevice, AuthAcceptedWithoutProofOfTheProvisionIdIsRefused) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  ServerSide server;
  auto step = device.OnDownlink(server.AnswerHello(device.StartHello()));
  ASSERT_TRUE(step.ok() && step->has_value());
  auto content = OpenAuth(Decode<Auth>(*(*step)->uplink), *server.session);
  ASSERT_TRUE(content.ok());
  // A server that does not know the Provision ID cannot compute the verify code.
  const AuthAccepted forged = BuildAuthAccepted(*server.session, Eui64{}, Eui64{},
                                                "ZZZZZZZZZZZZZZZZZZZZ", content->dev_nonce);
  auto done = device.OnDownlink(EncodeFrame(forged));
  EXPECT_FALSE(done.ok());
  EXPECT_EQ(device.state(), DeviceState::kAwaitingAuthAnswer);
}

TEST(SimulatedDevice, DownlinksForOtherDevicesOrOutOfTurnAreIgnored) {
  SimulatedDevice device(kProvisionId, kRDevEui);
  ServerSide server;
  const Bytes hello = device.StartHello();
  RDevEui other = kRDevEui;
  other[0] ^= 0xFF;
  auto ignored = device.OnDownlink(EncodeFrame(BuildAuthRejected(other)));
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->has_value());
  // An Auth rejected before the Auth was sent.
  ignored = device.OnDownlink(EncodeFrame(BuildAuthRejected(kRDevEui)));
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->has_value());
  // Not a provisioning frame at all.
  ignored = device.OnDownlink(Bytes{0x60, 1, 2, 3});
  ASSERT_TRUE(ignored.ok());
  EXPECT_FALSE(ignored->has_value());
  EXPECT_EQ(device.state(), DeviceState::kAwaitingHelloResponse);
  auto step = device.OnDownlink(server.AnswerHello(hello));
  ASSERT_TRUE(step.ok() && step->has_value());
}

}  // namespace
}  // namespace roost::simulate
