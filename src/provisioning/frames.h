// The provisioning frames (provisioning.md, "Frames"): LoRaWAN proprietary
// PHYPayloads  MHDR 0xE0 || MACPayload || MIC,  MIC = AES-CMAC(fixedKey,
// MHDR || MACPayload)[0..3]. Encoding and decoding only: pure, no I/O, and the
// Auth payloads stay encrypted here (see keys.h and server.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "core/hex.h"
#include "core/status.h"
#include "crypto/k233.h"
#include "provisioning/keys.h"
#include "provisioning/provision_id.h"

namespace roost::provisioning {

inline constexpr uint8_t kProprietaryMhdr = 0xE0;  // MType 111, Major 0
inline constexpr size_t kMicSize = 4;

enum class MessageType : uint8_t {
  kHello = 0x01,
  kHelloResponse = 0x81,
  kAuth = 0x11,
  kAuthAccepted = 0x91,
  kAuthRejected = 0x92,
};

// MACPayload sizes (type byte included).
inline constexpr size_t kHelloSize = 74;  // 75 with the network flag
inline constexpr size_t kHelloResponseSize = 77;
inline constexpr size_t kAuthSize = 61;
inline constexpr size_t kAuthAcceptedSize = 41;
inline constexpr size_t kAuthRejectedSize = 9;

inline constexpr size_t kAuthPlainSize = 52;  // provisionIdHash 32 || verifyCode 16 || devNonce 4
inline constexpr size_t kAcceptedPlainSize = 32;  // devEUI 8 || joinEUI 8 || verifyCode 16

// Uplink: type || rDevEUI || devPubKey || version [|| network flag].
struct Hello {
  RDevEui rdev_eui{};
  crypto::K233Point dev_public_key{};
  uint8_t version = 0x01;
  // The trailing byte real firmware sends: 0 = test network, 1 = main network.
  // Absent in a 74-byte Hello. Recorded as received.
  std::optional<uint8_t> network_flag;
  bool operator==(const Hello&) const = default;
};

// Downlink: type || rDevEUI || serverPubKey || serverNonce.
struct HelloResponse {
  RDevEui rdev_eui{};
  crypto::K233Point server_public_key{};
  Nonce server_nonce{};
  bool operator==(const HelloResponse&) const = default;
};

// Uplink: type || rDevEUI || 52 encrypted bytes (uplink keystream).
struct Auth {
  RDevEui rdev_eui{};
  std::array<uint8_t, kAuthPlainSize> encrypted{};
  bool operator==(const Auth&) const = default;
};

// Downlink: type || rDevEUI || 32 encrypted bytes (downlink keystream).
struct AuthAccepted {
  RDevEui rdev_eui{};
  std::array<uint8_t, kAcceptedPlainSize> encrypted{};
  bool operator==(const AuthAccepted&) const = default;
};

// Downlink: type || rDevEUI.
struct AuthRejected {
  RDevEui rdev_eui{};
  bool operator==(const AuthRejected&) const = default;
};

using Message = std::variant<Hello, HelloResponse, Auth, AuthAccepted, AuthRejected>;

// Why a frame was dropped; a listener counts drops by this.
enum class FrameError {
  kNone,
  kTooShort,     // fewer bytes than MHDR + type + MIC
  kWrongMhdr,    // not a proprietary LoRaWAN 1.0 frame
  kUnknownType,  // message type byte matches no message
  kBadLength,    // the length matches no message of that type
  kBadMic,
};
std::string_view FrameErrorName(FrameError e);  // "too_short", "wrong_mhdr", ... for metrics

// Decodes a PHYPayload. On failure the Status says what is wrong (never any
// key) and, if `why` is given, *why is set to the kind of failure (kNone on
// success). Every message type is decoded, whichever its direction.
Result<Message> DecodeFrame(std::span<const uint8_t> phy_payload, FrameError* why = nullptr);

// The PHYPayload (MHDR, MACPayload, MIC) of a message.
Bytes EncodeFrame(const Message& message);

MessageType TypeOf(const Message& message);
const RDevEui& RDevEuiOf(const Message& message);

}  // namespace roost::provisioning
