#include "provisioning/frames.h"

#include <gtest/gtest.h>

#include "core/hex.h"
#include "crypto/hash.h"
#include "provisioning/test_vectors.h"

namespace roost::provisioning {
namespace {

using testing::HexArray;
using testing::HexBytes;
using testing::Vectors;

// Replaces the MIC of `phy` with the correct one, so that a test reaches the
// check after the MIC.
Bytes WithValidMic(Bytes phy) {
  const auto mac = crypto::Cmac(kFixedKey, std::span(phy).first(phy.size() - 4));
  std::copy_n(mac.begin(), 4, phy.end() - 4);
  return phy;
}

template <typename T>
T DecodeAs(const Bytes& phy) {
  auto message = DecodeFrame(phy);
  EXPECT_TRUE(message.ok()) << message.status().message();
  if (!message.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*message));
  if (!std::holds_alternative<T>(*message)) return T{};
  EXPECT_EQ(EncodeFrame(*message), phy) << "re-encoding must give the same bytes";
  return std::get<T>(*message);
}

TEST(Frames, DecodeTranscriptHello) {
  for (const auto& t : Vectors()["transcripts"]) {
    const Hello hello = DecodeAs<Hello>(HexBytes(t["helloUplinkPHYPayload"]));
    EXPECT_EQ(hello.rdev_eui, (HexArray<8>(t["rDevEUI"])));
    EXPECT_EQ(hello.dev_public_key, (HexArray<64>(t["devicePublicKey"])));
    EXPECT_EQ(hello.version, 0x01);
    ASSERT_TRUE(hello.network_flag.has_value()) << "the vectors carry the 75-byte Hello";
    EXPECT_LE(*hello.network_flag, 1);
  }
}

TEST(Frames, DecodeTranscriptHelloResponse) {
  for (const auto& t : Vectors()["transcripts"]) {
    const auto response = DecodeAs<HelloResponse>(HexBytes(t["helloResponseDownlinkPHYPayload"]));
    EXPECT_EQ(response.rdev_eui, (HexArray<8>(t["rDevEUI"])));
    EXPECT_EQ(response.server_public_key, (HexArray<64>(t["serverPublicKey"])));
    EXPECT_EQ(response.server_nonce, (HexArray<4>(t["serverNonce"])));
  }
}

TEST(Frames, DecodeTranscriptAuthAndAnswers) {
  for (const auto& t : Vectors()["transcripts"]) {
    const Bytes auth_phy = HexBytes(t["authUplinkPHYPayload"]);
    const Auth auth = DecodeAs<Auth>(auth_phy);
    EXPECT_EQ(auth.rdev_eui, (HexArray<8>(t["rDevEUI"])));
    EXPECT_TRUE(std::equal(auth.encrypted.begin(), auth.encrypted.end(), auth_phy.begin() + 10));
    const auto accepted = DecodeAs<AuthAccepted>(HexBytes(t["authAcceptDownlinkPHYPayload"]));
    EXPECT_EQ(accepted.rdev_eui, (HexArray<8>(t["rDevEUI"])));
    const auto rejected = DecodeAs<AuthRejected>(HexBytes(t["authRejectDownlinkPHYPayload"]));
    EXPECT_EQ(rejected.rdev_eui, (HexArray<8>(t["rDevEUI"])));
  }
}

TEST(Frames, EncodeAuthRejectedMatchesTranscript) {
  for (const auto& t : Vectors()["transcripts"]) {
    const Bytes phy = EncodeFrame(AuthRejected{HexArray<8>(t["rDevEUI"])});
    EXPECT_EQ(ToHex(phy), t["authRejectDownlinkPHYPayload"].get<std::string>());
  }
}

TEST(Frames, HelloWithoutNetworkFlag) {
  Hello hello;
  hello.rdev_eui = {1, 2, 3, 4, 5, 6, 7, 8};
  hello.dev_public_key.fill(0x11);
  const Bytes phy = EncodeFrame(hello);
  EXPECT_EQ(phy.size(), 1u + 74u + 4u);
  const Hello decoded = DecodeAs<Hello>(phy);
  EXPECT_FALSE(decoded.network_flag.has_value());
  EXPECT_EQ(decoded, hello);

  hello.network_flag = 0;
  const Bytes with_flag = EncodeFrame(hello);
  EXPECT_EQ(with_flag.size(), 1u + 75u + 4u);
  EXPECT_EQ(DecodeAs<Hello>(with_flag).network_flag, std::optional<uint8_t>(0));
}

TEST(Frames, TypeAndRDevEuiAccessors) {
  const Message m = AuthRejected{{9, 8, 7, 6, 5, 4, 3, 2}};
  EXPECT_EQ(TypeOf(m), MessageType::kAuthRejected);
  EXPECT_EQ(RDevEuiOf(m), (RDevEui{9, 8, 7, 6, 5, 4, 3, 2}));
  EXPECT_EQ(TypeOf(Message(HelloResponse{})), MessageType::kHelloResponse);
}

void ExpectError(const Bytes& phy, FrameError kind, const std::string& text) {
  FrameError why = FrameError::kNone;
  auto message = DecodeFrame(phy, &why);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(why, kind) << message.status().message();
  EXPECT_EQ(message.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(message.status().message().find(text), std::string::npos) << message.status().message();
}

TEST(FramesBadInput, Empty) {
  ExpectError({}, FrameError::kTooShort, "0 bytes is too short");
  ExpectError({0xe0, 0x92, 0, 0, 0}, FrameError::kTooShort, "5 bytes is too short");
}

TEST(FramesBadInput, WrongMhdr) {
  Bytes phy = HexBytes(Vectors()["transcripts"][0]["helloUplinkPHYPayload"]);
  phy[0] = 0x40;  // unconfirmed data up
  ExpectError(WithValidMic(phy), FrameError::kWrongMhdr, "MHDR 0x40");
  phy[0] = 0xe1;  // proprietary, major 1
  ExpectError(WithValidMic(phy), FrameError::kWrongMhdr, "MHDR 0xe1");
}

TEST(FramesBadInput, BadMic) {
  for (const char* field :
       {"helloUplinkPHYPayload", "authUplinkPHYPayload", "helloResponseDownlinkPHYPayload",
        "authAcceptDownlinkPHYPayload", "authRejectDownlinkPHYPayload"}) {
    Bytes phy = HexBytes(Vectors()["transcripts"][0][field]);
    phy.back() ^= 0x01;
    ExpectError(phy, FrameError::kBadMic, "MIC does not match");
    phy.back() ^= 0x01;
    phy[5] ^= 0x80;  // a payload bit
    ExpectError(phy, FrameError::kBadMic, "MIC does not match");
  }
}

TEST(FramesBadInput, UnknownType) {
  Bytes phy = HexBytes(Vectors()["transcripts"][0]["authRejectDownlinkPHYPayload"]);
  phy[1] = 0x02;
  ExpectError(WithValidMic(phy), FrameError::kUnknownType, "message type 0x02 is unknown");
}

TEST(FramesBadInput, WrongLengths) {
  const auto& t = Vectors()["transcripts"][0];
  struct Case {
    const char* field;
    const char* name;
  };
  for (const Case& c :
       {Case{"helloUplinkPHYPayload", "Hello"},
        Case{"helloResponseDownlinkPHYPayload", "Hello response"},
        Case{"authUplinkPHYPayload", "Auth"}, Case{"authAcceptDownlinkPHYPayload", "Auth accepted"},
        Case{"authRejectDownlinkPHYPayload", "Auth rejected"}}) {
    const Bytes good = HexBytes(t[c.field]);
    Bytes longer = good;
    longer.insert(longer.end() - 4, {0x00, 0x00});  // two more bytes keep it clear of 74/75
    ExpectError(WithValidMic(longer), FrameError::kBadLength,
                std::string(c.name) + " MACPayload is " + std::to_string(good.size() - 5 + 2));
    Bytes shorter = good;
    shorter.erase(shorter.end() - 6);                                      // one payload byte less
    if (std::string(c.name) == "Hello") shorter.erase(shorter.end() - 6);  // 75 -> 73
    ExpectError(WithValidMic(shorter), FrameError::kBadLength, std::string(c.name) + " MACPayload");
  }
}

TEST(FramesBadInput, ErrorNames) {
  EXPECT_EQ(FrameErrorName(FrameError::kBadMic), "bad_mic");
  EXPECT_EQ(FrameErrorName(FrameError::kWrongMhdr), "wrong_mhdr");
  EXPECT_EQ(FrameErrorName(FrameError::kBadLength), "bad_length");
  EXPECT_EQ(FrameErrorName(FrameError::kUnknownType), "unknown_type");
  EXPECT_EQ(FrameErrorName(FrameError::kTooShort), "too_short");
}

TEST(FramesBadInput, SuccessResetsWhy) {
  FrameError why = FrameError::kBadMic;
  auto m = DecodeFrame(HexBytes(Vectors()["transcripts"][0]["authRejectDownlinkPHYPayload"]), &why);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(why, FrameError::kNone);
}

}  // namespace
}  // namespace roost::provisioning
