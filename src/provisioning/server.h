// The server's side of one provisioning exchange as pure steps (no I/O, no
// clock, no storage): the caller supplies the fresh key pair and nonce, keeps
// the ServerSession between Hello and Auth, and looks Provision IDs up.
//
//   Hello  --HandleHello(hello, fresh key pair, random nonce)-->  session + Hello response
//   Auth   --OpenAuth(auth, session)-->  provisionIdHash, verifyCode, devNonce
//          caller finds the Provision ID by hash, then
//          AuthVerifyCodeMatches(content, provisionId, session)
//          --> BuildAuthAccepted(session, devEUI, joinEUI, provisionId, devNonce)
//           or BuildAuthRejected(rDevEUI)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "crypto/k233.h"
#include "provisioning/frames.h"
#include "provisioning/keys.h"
#include "provisioning/provision_id.h"

namespace roost::provisioning {

// What the server remembers between a Hello and the Auth. Holds keys: the
// keys are wiped on destruction (SessionKeys).
struct ServerSession {
  RDevEui rdev_eui{};
  Nonce server_nonce{};
  std::optional<uint8_t> network_flag;  // from the Hello, as received
  SessionKeys keys;
};

struct HelloOutcome {
  ServerSession session;
  HelloResponse response;
};

// Validates the device public key, computes the shared point with the server
// key pair and derives the session keys. Fails with kInvalidInput if the
// device key is not a valid K-233 point (the caller drops the frame). The
// Hello's version byte is not checked here (the caller decides).
Result<HelloOutcome> HandleHello(const Hello& hello, const crypto::K233KeyPair& server_key,
                                 const Nonce& server_nonce);

// The decrypted content of an Auth.
struct AuthContent {
  crypto::Sha256Digest provision_id_hash{};
  VerifyCode verify_code{};
  Nonce dev_nonce{};
};

// Decrypts an Auth with the session's ProvKey (uplink keystream). Fails if the
// Auth's rDevEUI is not the session's.
Result<AuthContent> OpenAuth(const Auth& auth, const ServerSession& session);

// True if the Auth's verifyCode is AES-CMAC(fixedKey, provisionId || server nonce).
// Constant-time comparison.
bool AuthVerifyCodeMatches(const AuthContent& content, std::string_view provision_id,
                           const ServerSession& session);

// The Auth accepted: devEUI || joinEUI (8 bytes each, as written, most
// significant byte first) || AES-CMAC(fixedKey, provisionId || devNonce),
// encrypted with the downlink keystream.
AuthAccepted BuildAuthAccepted(const ServerSession& session, const Eui64& dev_eui,
                               const Eui64& join_eui, std::string_view provision_id,
                               const Nonce& dev_nonce);

inline AuthRejected BuildAuthRejected(const RDevEui& rdev_eui) {
  return AuthRejected{rdev_eui};
}

}  // namespace roost::provisioning
