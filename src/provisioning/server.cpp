#include "provisioning/server.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "crypto/aes.h"

namespace roost::provisioning {

Result<HelloOutcome> HandleHello(const Hello& hello, const crypto::K233KeyPair& server_key,
                                 const Nonce& server_nonce) {
  auto shared = crypto::K233SharedPoint(server_key.private_le, hello.dev_public_key);
  if (!shared.ok()) return shared.status().WithPrefix("Hello: device public key");
  HelloOutcome outcome;
  outcome.session.rdev_eui = hello.rdev_eui;
  outcome.session.server_nonce = server_nonce;
  outcome.session.network_flag = hello.network_flag;
  outcome.session.keys = DeriveSessionKeys(*shared, hello.rdev_eui);
  crypto::Cleanse(shared->data(), shared->size());
  outcome.response.rdev_eui = hello.rdev_eui;
  outcome.response.server_public_key = server_key.public_xy;
  outcome.response.server_nonce = server_nonce;
  return outcome;
}

Result<AuthContent> OpenAuth(const Auth& auth, const ServerSession& session) {
  if (auth.rdev_eui != session.rdev_eui) {
    return Status::InvalidInput("Auth: rDevEUI does not match the session's");
  }
  std::array<uint8_t, kAuthPlainSize> plain{};
  CryptAuthPayload(session.keys.prov_key, Direction::kUplink, auth.rdev_eui, auth.encrypted, plain);
  AuthContent content;
  auto it = plain.begin();
  std::copy_n(it, content.provision_id_hash.size(), content.provision_id_hash.begin());
  it += content.provision_id_hash.size();
  std::copy_n(it, content.verify_code.size(), content.verify_code.begin());
  it += content.verify_code.size();
  std::copy_n(it, content.dev_nonce.size(), content.dev_nonce.begin());
  return content;
}

bool AuthVerifyCodeMatches(const AuthContent& content, std::string_view provision_id,
                           const ServerSession& session) {
  const VerifyCode expected = ComputeVerifyCode(provision_id, session.server_nonce);
  return CRYPTO_memcmp(expected.data(), content.verify_code.data(), expected.size()) == 0;
}

AuthAccepted BuildAuthAccepted(const ServerSession& session, const Eui64& dev_eui,
                               const Eui64& join_eui, std::string_view provision_id,
                               const Nonce& dev_nonce) {
  std::array<uint8_t, kAcceptedPlainSize> plain{};
  auto it = std::copy(dev_eui.bytes.begin(), dev_eui.bytes.end(), plain.begin());
  it = std::copy(join_eui.bytes.begin(), join_eui.bytes.end(), it);
  const VerifyCode code = ComputeVerifyCode(provision_id, dev_nonce);
  std::copy(code.begin(), code.end(), it);
  AuthAccepted accepted;
  accepted.rdev_eui = session.rdev_eui;
  CryptAuthPayload(session.keys.prov_key, Direction::kDownlink, session.rdev_eui, plain,
                   accepted.encrypted);
  return accepted;
}

}  // namespace roost::provisioning
