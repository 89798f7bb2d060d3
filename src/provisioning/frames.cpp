#include "provisioning/frames.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "crypto/hash.h"

namespace roost::provisioning {
namespace {

std::array<uint8_t, kMicSize> ComputeMic(std::span<const uint8_t> mhdr_and_payload) {
  const crypto::Block full = crypto::Cmac(kFixedKey, mhdr_and_payload);
  std::array<uint8_t, kMicSize> mic{};
  std::copy_n(full.begin(), kMicSize, mic.begin());
  return mic;
}

std::string Hex2(unsigned v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{"0x"} + kDigits[(v >> 4) & 0xf] + kDigits[v & 0xf];
}

const char* TypeName(uint8_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kHelloResponse:
      return "Hello response";
    case MessageType::kAuth:
      return "Auth";
    case MessageType::kAuthAccepted:
      return "Auth accepted";
    case MessageType::kAuthRejected:
      return "Auth rejected";
  }
  return nullptr;
}

// Reads fixed-size fields from the MACPayload after the type byte.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  template <size_t N>
  void Read(std::array<uint8_t, N>& out) {
    std::copy_n(data_.begin() + pos_, N, out.begin());
    pos_ += N;
  }
  uint8_t Byte() { return data_[pos_++]; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 1;  // after the type
};

Result<Message> Fail(FrameError kind, std::string message, FrameError* why) {
  if (why != nullptr) *why = kind;
  return Status::InvalidInput(std::move(message));
}

}  // namespace

std::string_view FrameErrorName(FrameError e) {
  switch (e) {
    case FrameError::kNone:
      return "none";
    case FrameError::kTooShort:
      return "too_short";
    case FrameError::kWrongMhdr:
      return "wrong_mhdr";
    case FrameError::kUnknownType:
      return "unknown_type";
    case FrameError::kBadLength:
      return "bad_length";
    case FrameError::kBadMic:
      return "bad_mic";
  }
  return "unknown";
}

Result<Message> DecodeFrame(std::span<const uint8_t> phy, FrameError* why) {
  if (why != nullptr) *why = FrameError::kNone;
  if (phy.size() < 1 + 1 + kMicSize) {
    return Fail(FrameError::kTooShort,
                "provisioning frame: " + std::to_string(phy.size()) +
                    " bytes is too short (MHDR, type and MIC need 6)",
                why);
  }
  if (phy[0] != kProprietaryMhdr) {
    return Fail(FrameError::kWrongMhdr,
                "provisioning frame: offset 0: MHDR " + Hex2(phy[0]) +
                    " is not a proprietary frame (expected 0xe0)",
                why);
  }
  const auto payload = phy.subspan(1, phy.size() - 1 - kMicSize);
  const uint8_t type = payload[0];
  const char* name = TypeName(type);
  if (name == nullptr) {
    return Fail(FrameError::kUnknownType,
                "provisioning frame: offset 1: message type " + Hex2(type) + " is unknown", why);
  }
  size_t expected = 0;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello:
      expected = payload.size() == kHelloSize + 1 ? kHelloSize + 1 : kHelloSize;
      break;
    case MessageType::kHelloResponse:
      expected = kHelloResponseSize;
      break;
    case MessageType::kAuth:
      expected = kAuthSize;
      break;
    case MessageType::kAuthAccepted:
      expected = kAuthAcceptedSize;
      break;
    case MessageType::kAuthRejected:
      expected = kAuthRejectedSize;
      break;
  }
  if (payload.size() != expected) {
    std::string sizes = std::to_string(expected);
    if (type == static_cast<uint8_t>(MessageType::kHello)) sizes = "74 or 75";
    return Fail(FrameError::kBadLength,
                std::string("provisioning frame: ") + name + " MACPayload is " +
                    std::to_string(payload.size()) + " bytes (expected " + sizes + ")",
                why);
  }
  const auto mic = ComputeMic(phy.first(phy.size() - kMicSize));
  if (CRYPTO_memcmp(mic.data(), phy.data() + phy.size() - kMicSize, kMicSize) != 0) {
    return Fail(FrameError::kBadMic,
                std::string("provisioning frame: ") + name + ": MIC does not match", why);
  }

  Reader r(payload);
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: {
      Hello m;
      r.Read(m.rdev_eui);
      r.Read(m.dev_public_key);
      m.version = r.Byte();
      if (payload.size() == kHelloSize + 1) m.network_flag = r.Byte();
      return Message(m);
    }
    case MessageType::kHelloResponse: {
      HelloResponse m;
      r.Read(m.rdev_eui);
      r.Read(m.server_public_key);
      r.Read(m.server_nonce);
      return Message(m);
    }
    case MessageType::kAuth: {
      Auth m;
      r.Read(m.rdev_eui);
      r.Read(m.encrypted);
      return Message(m);
    }
    case MessageType::kAuthAccepted: {
      AuthAccepted m;
      r.Read(m.rdev_eui);
      r.Read(m.encrypted);
      return Message(m);
    }
    case MessageType::kAuthRejected: {
      AuthRejected m;
      r.Read(m.rdev_eui);
      return Message(m);
    }
  }
  return Status::Internal("unreachable");
}

MessageType TypeOf(const Message& message) {
  static constexpr MessageType kTypes[] = {MessageType::kHello, MessageType::kHelloResponse,
                                           MessageType::kAuth, MessageType::kAuthAccepted,
                                           MessageType::kAuthRejected};
  return kTypes[message.index()];
}

const RDevEui& RDevEuiOf(const Message& message) {
  return std::visit([](const auto& m) -> const RDevEui& { return m.rdev_eui; }, message);
}

Bytes EncodeFrame(const Message& message) {
  Bytes out;
  out.reserve(1 + kHelloResponseSize + kMicSize);
  out.push_back(kProprietaryMhdr);
  out.push_back(static_cast<uint8_t>(TypeOf(message)));
  auto append = [&out](std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
  };
  append(RDevEuiOf(message));
  if (const auto* hello = std::get_if<Hello>(&message)) {
    append(hello->dev_public_key);
    out.push_back(hello->version);
    if (hello->network_flag) out.push_back(*hello->network_flag);
  } else if (const auto* response = std::get_if<HelloResponse>(&message)) {
    append(response->server_public_key);
    append(response->server_nonce);
  } else if (const auto* auth = std::get_if<Auth>(&message)) {
    append(auth->encrypted);
  } else if (const auto* accepted = std::get_if<AuthAccepted>(&message)) {
    append(accepted->encrypted);
  }
  const auto mic = ComputeMic(out);
  append(mic);
  return out;
}

}  // namespace roost::provisioning
