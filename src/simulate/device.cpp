#include "simulate/device.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <variant>

#include "crypto/aes.h"
#include "crypto/random.h"
#include "provisioning/provision_id.h"

namespace roost::simulate {

using namespace roost::provisioning;

SimulatedDevice::SimulatedDevice(std::string provision_id, const RDevEui& rdev_eui,
                                 uint8_t network_flag)
    : provision_id_(std::move(provision_id)),
      proof_id_(provision_id_),
      rdev_eui_(rdev_eui),
      network_flag_(network_flag) {}

Bytes SimulatedDevice::StartHello() {
  key_pair_ = crypto::K233GenerateKeyPair();
  crypto::RandomBytes(dev_nonce_);
  provisioned_.reset();
  state_ = DeviceState::kAwaitingHelloResponse;
  Hello hello;
  hello.rdev_eui = rdev_eui_;
  hello.dev_public_key = key_pair_.public_xy;
  hello.version = 0x01;
  hello.network_flag = network_flag_;
  return EncodeFrame(hello);
}

Result<std::optional<DeviceStep>> SimulatedDevice::OnDownlink(
    std::span<const uint8_t> phy_payload) {
  auto message = DecodeFrame(phy_payload);
  if (!message.ok()) return std::optional<DeviceStep>();  // not a provisioning frame: not ours
  if (RDevEuiOf(*message) != rdev_eui_) return std::optional<DeviceStep>();

  if (const auto* response = std::get_if<HelloResponse>(&*message)) {
    if (state_ != DeviceState::kAwaitingHelloResponse) return std::optional<DeviceStep>();
    auto shared = crypto::K233SharedPoint(key_pair_.private_le, response->server_public_key);
    if (!shared.ok()) return shared.status().WithPrefix("Hello response: server public key");
    keys_ = DeriveSessionKeys(*shared, rdev_eui_);
    crypto::Cleanse(shared->data(), shared->size());
    std::array<uint8_t, kAuthPlainSize> plain{};
    const auto hash = ProvisionIdHash(provision_id_);
    const VerifyCode code = ComputeVerifyCode(proof_id_, response->server_nonce);
    auto it = std::copy(hash.begin(), hash.end(), plain.begin());
    it = std::copy(code.begin(), code.end(), it);
    std::copy(dev_nonce_.begin(), dev_nonce_.end(), it);
    Auth auth;
    auth.rdev_eui = rdev_eui_;
    CryptAuthPayload(keys_.prov_key, Direction::kUplink, rdev_eui_, plain, auth.encrypted);
    state_ = DeviceState::kAwaitingAuthAnswer;
    return std::optional<DeviceStep>(DeviceStep{EncodeFrame(auth), false});
  }
  if (state_ != DeviceState::kAwaitingAuthAnswer) return std::optional<DeviceStep>();
  if (std::holds_alternative<AuthRejected>(*message)) {
    state_ = DeviceState::kRejected;
    return std::optional<DeviceStep>(DeviceStep{std::nullopt, true});
  }
  if (const auto* accepted = std::get_if<AuthAccepted>(&*message)) {
    std::array<uint8_t, kAcceptedPlainSize> plain{};
    CryptAuthPayload(keys_.prov_key, Direction::kDownlink, rdev_eui_, accepted->encrypted, plain);
    const VerifyCode expected = ComputeVerifyCode(provision_id_, dev_nonce_);
    if (CRYPTO_memcmp(expected.data(), plain.data() + 16, expected.size()) != 0) {
      return Status::InvalidInput(
          "Auth accepted: the verify code does not match the Provision ID and device nonce");
    }
    ProvisionedDevice done;
    std::copy_n(plain.begin(), 8, done.dev_eui.bytes.begin());
    std::copy_n(plain.begin() + 8, 8, done.join_eui.bytes.begin());
    done.keys = keys_;
    provisioned_ = std::move(done);
    state_ = DeviceState::kAccepted;
    return std::optional<DeviceStep>(DeviceStep{std::nullopt, true});
  }
  return std::optional<DeviceStep>();  // an uplink type, or a Hello response out of turn
}

RDevEui RandomRDevEui() {
  RDevEui eui{};
  crypto::RandomBytes(eui);
  return eui;
}

}  // namespace roost::simulate
