#include "gateway/gwmp.h"

#include <gtest/gtest.h>

#include <string>

namespace roost::gateway {
namespace {

using nlohmann::json;

const Eui64 kGateway = Eui64::FromU64(0xAA555A0000000101);

Bytes Header(uint8_t version, uint8_t type) {
  return {version, 0x12, 0x34, type};
}

Bytes WithEui(Bytes out) {
  out.insert(out.end(), kGateway.bytes.begin(), kGateway.bytes.end());
  return out;
}

Bytes Concat(Bytes a, std::string_view text) {
  a.insert(a.end(), text.begin(), text.end());
  return a;
}

DatagramError WhyRefused(const Bytes& datagram) {
  DatagramError why = DatagramError::kNone;
  auto parsed = ParseDatagram(datagram, &why);
  EXPECT_FALSE(parsed.ok());
  if (!parsed.ok()) {
    EXPECT_FALSE(parsed.status().message().empty());
  }
  return why;
}

RxPacket SampleRx() {
  RxPacket rx;
  rx.tmst = 3512348611u;
  rx.freq = 868.3;
  rx.chan = 2;
  rx.rfch = 0;
  rx.stat = 1;
  rx.modu = "LORA";
  rx.datr = "SF9BW125";
  rx.codr = "4/5";
  rx.rssi = -35;
  rx.lsnr = 5.1;
  rx.data = {0xE0, 0x01, 0x02, 0x03, 0x04, 0x05};
  return rx;
}

TEST(Gwmp, PushDataRoundTrip) {
  const json body = {{"rxpk", json::array({RxPacketJson(SampleRx())})}};
  const Bytes datagram = BuildPushData(0xBEEF, kGateway, body);
  DatagramError why = DatagramError::kBadJson;
  auto parsed = ParseDatagram(datagram, &why);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(why, DatagramError::kNone);
  EXPECT_EQ(parsed->type, PacketType::kPushData);
  EXPECT_EQ(parsed->token, 0xBEEF);
  ASSERT_TRUE(parsed->gateway_eui.has_value());
  EXPECT_EQ(*parsed->gateway_eui, kGateway);
  auto list = ParseRxPackets(parsed->body);
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->packets.size(), 1u);
  const RxPacket& rx = list->packets[0];
  const RxPacket want = SampleRx();
  EXPECT_EQ(rx.tmst, want.tmst);
  EXPECT_EQ(rx.FrequencyHz(), 868'300'000u);
  EXPECT_EQ(rx.chan, 2u);
  EXPECT_EQ(rx.datr, "SF9BW125");
  EXPECT_EQ(rx.codr, "4/5");
  EXPECT_DOUBLE_EQ(rx.rssi, -35);
  EXPECT_DOUBLE_EQ(rx.lsnr, 5.1);
  EXPECT_EQ(rx.data, want.data);
  EXPECT_EQ(rx.raw, body["rxpk"][0]);
}

TEST(Gwmp, ReadsTheSemtechExampleRxpk) {
  // The example of PROTOCOL.TXT section 4, with its unpadded base64.
  const std::string text =
      R"({"rxpk":[{"time":"2013-03-31T16:21:17.528002Z","tmst":3512348611,"chan":2,"rfch":0,)"
      R"("freq":866.349812,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","rssi":-35,)"
      R"("lsnr":5.1,"size":32,"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"},)"
      R"({"time":"2013-03-31T16:21:17.530974Z","tmst":3512348514,"chan":9,"rfch":1,)"
      R"("freq":869.1,"stat":1,"modu":"FSK","datr":50000,"rssi":-75,"size":16,)"
      R"("data":"VEVTVF9QQUNLRVRfMTIzNA=="}]})";
  auto parsed = ParseDatagram(Concat(WithEui(Header(2, 0)), text));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  auto list = ParseRxPackets(parsed->body);
  ASSERT_TRUE(list.ok());
  // The first entry's data is not base64 (PROTOCOL.TXT's example has '-'): skipped, counted.
  EXPECT_EQ(list->skipped, 1u);
  ASSERT_EQ(list->packets.size(), 1u);
  EXPECT_EQ(list->indices[0], 1u);
  EXPECT_EQ(list->packets[0].datr, "50000");
  EXPECT_EQ(list->packets[0].modu, "FSK");
  EXPECT_EQ(std::string(list->packets[0].data.begin(), list->packets[0].data.end()),
            "TEST_PACKET_1234");
}

TEST(Gwmp, UnpaddedBase64IsAccepted) {
  json entry = RxPacketJson(SampleRx());
  std::string data = entry["data"];
  while (!data.empty() && data.back() == '=') data.pop_back();
  entry["data"] = data;
  auto list = ParseRxPackets(json{{"rxpk", json::array({entry})}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->packets.size(), 1u);
  EXPECT_EQ(list->packets[0].data, SampleRx().data);
}

TEST(Gwmp, RsigGivesRssiAndSnrWhenTheTopLevelOnesAreMissing) {
  json entry = RxPacketJson(SampleRx());
  entry.erase("rssi");
  entry.erase("lsnr");
  entry["rsig"] = json::array({{{"ant", 0}, {"chan", 2}, {"rssic", -80}, {"lsnr", -3.5}}});
  auto list = ParseRxPackets(json{{"rxpk", json::array({entry})}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->packets.size(), 1u);
  EXPECT_DOUBLE_EQ(list->packets[0].rssi, -80);
  EXPECT_DOUBLE_EQ(list->packets[0].lsnr, -3.5);
}

TEST(Gwmp, BadRxpkEntriesAreSkippedAndTheOthersKept) {
  const json good = RxPacketJson(SampleRx());
  std::vector<json> bad;
  bad.push_back(42);
  for (const char* key : {"tmst", "freq", "data"}) {
    json e = good;
    e.erase(key);
    bad.push_back(e);
  }
  json e = good;
  e["tmst"] = -1;
  bad.push_back(e);
  e = good;
  e["tmst"] = 4294967296ull;
  bad.push_back(e);
  e = good;
  e["freq"] = "868.1";
  bad.push_back(e);
  e = good;
  e["size"] = 7;
  bad.push_back(e);
  e = good;
  e["data"] = "not base64!";
  bad.push_back(e);
  e = good;
  e["data"] = std::string(344, 'A');  // 258 bytes, more than a LoRa PHYPayload
  bad.push_back(e);
  e = good;
  e["stat"] = 2;
  bad.push_back(e);
  e = good;
  e["datr"] = json::array();
  bad.push_back(e);
  json rxpk = json::array({good});
  for (const auto& b : bad) rxpk.push_back(b);
  rxpk.push_back(good);
  auto list = ParseRxPackets(json{{"rxpk", rxpk}});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->skipped, bad.size());
  ASSERT_EQ(list->packets.size(), 2u);
  EXPECT_EQ(list->indices[0], 0u);
  EXPECT_EQ(list->indices[1], bad.size() + 1);
}

TEST(Gwmp, RxpkNotAnArrayOrTooLongIsRefused) {
  EXPECT_FALSE(ParseRxPackets(json{{"rxpk", json::object()}}).ok());
  json many = json::array();
  for (size_t i = 0; i <= kMaxRxPackets; ++i) many.push_back(RxPacketJson(SampleRx()));
  EXPECT_FALSE(ParseRxPackets(json{{"rxpk", many}}).ok());
  auto stat_only = ParseRxPackets(json{{"stat", {{"rxnb", 0}}}});
  ASSERT_TRUE(stat_only.ok());
  EXPECT_TRUE(stat_only->packets.empty());
}

TEST(Gwmp, PullDataPullAckPushAckRoundTrip) {
  auto pull = ParseDatagram(BuildPullData(7, kGateway));
  ASSERT_TRUE(pull.ok());
  EXPECT_EQ(pull->type, PacketType::kPullData);
  EXPECT_EQ(pull->token, 7);
  EXPECT_EQ(*pull->gateway_eui, kGateway);
  EXPECT_EQ(BuildPullAck(0x1234), (Bytes{2, 0x12, 0x34, 4}));
  EXPECT_EQ(BuildPushAck(0x1234), (Bytes{2, 0x12, 0x34, 1}));
  auto ack = ParseDatagram(BuildPushAck(9));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->type, PacketType::kPushAck);
  EXPECT_FALSE(ack->gateway_eui.has_value());
}

TEST(Gwmp, PullRespRoundTrip) {
  TxPacket tx;
  tx.tmst = 123;
  tx.freq = 923.9;
  tx.powe = 20;
  tx.datr = "SF7BW500";
  tx.data = {0xE0, 0x81, 0xFF};
  const Bytes datagram = BuildPullResp(0x0102, tx);
  const std::string text(datagram.begin() + 4, datagram.end());
  EXPECT_NE(text.find("\"freq\":923.9,"), std::string::npos) << text;
  auto parsed = ParseDatagram(datagram);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->type, PacketType::kPullResp);
  EXPECT_EQ(parsed->token, 0x0102);
  auto back = ParseTxPacket(parsed->body["txpk"]);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, tx);
}

TEST(Gwmp, TxAckWithAndWithoutJson) {
  auto plain = ParseDatagram(BuildTxAck(5, kGateway, ""));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->type, PacketType::kTxAck);
  EXPECT_EQ(TxAckError(plain->body), "NONE");
  auto late = ParseDatagram(BuildTxAck(5, kGateway, "TOO_LATE"));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->token, 5);
  EXPECT_EQ(TxAckError(late->body), "TOO_LATE");
  // Some forwarders end the JSON with a NUL byte.
  Bytes with_nul = BuildTxAck(5, kGateway, "TX_FREQ");
  with_nul.push_back(0);
  auto nul = ParseDatagram(with_nul);
  ASSERT_TRUE(nul.ok()) << nul.status().message();
  EXPECT_EQ(TxAckError(nul->body), "TX_FREQ");
}

TEST(Gwmp, MalformedDatagramsAreRefusedWithTheirReason) {
  EXPECT_EQ(WhyRefused({}), DatagramError::kTooShort);
  EXPECT_EQ(WhyRefused({2, 0, 0}), DatagramError::kTooShort);
  EXPECT_EQ(WhyRefused(Header(1, 0)), DatagramError::kBadVersion);
  EXPECT_EQ(WhyRefused(Header(3, 2)), DatagramError::kBadVersion);
  EXPECT_EQ(WhyRefused(Header(2, 6)), DatagramError::kUnknownType);
  EXPECT_EQ(WhyRefused(Header(2, 0xFF)), DatagramError::kUnknownType);
  EXPECT_EQ(WhyRefused(Header(2, 0)), DatagramError::kTooShort);  // PUSH_DATA without EUI
  EXPECT_EQ(WhyRefused(Header(2, 2)), DatagramError::kTooShort);  // PULL_DATA without EUI
  EXPECT_EQ(WhyRefused(Header(2, 5)), DatagramError::kTooShort);  // TX_ACK without EUI
  EXPECT_EQ(WhyRefused(Concat(Header(2, 2), "1234567")), DatagramError::kTooShort);
  EXPECT_EQ(WhyRefused(WithEui(Header(2, 0))), DatagramError::kBadJson);  // no JSON
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 0)), "{\"rxpk\":[")), DatagramError::kBadJson);
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 0)), "[1,2]")), DatagramError::kBadJson);
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 0)), "\xff\xfe")), DatagramError::kBadJson);
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 5)), "nope")), DatagramError::kBadJson);
  EXPECT_EQ(WhyRefused(Header(2, 3)), DatagramError::kBadJson);  // PULL_RESP without JSON
  EXPECT_EQ(WhyRefused(Concat(Header(2, 3), "{\"txpk\":1}")), DatagramError::kBadJson);
  Bytes huge = WithEui(Header(2, 0));
  huge.resize(kMaxDatagramSize + 1, ' ');
  EXPECT_EQ(WhyRefused(huge), DatagramError::kOversize);
}

TEST(Gwmp, DeeplyNestedJsonIsRefusedWithoutCrashing) {
  std::string nested(60000, '[');
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 0)), nested)), DatagramError::kBadJson);
  std::string closed = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_EQ(WhyRefused(Concat(WithEui(Header(2, 0)), closed)), DatagramError::kBadJson);
}

TEST(Gwmp, TxPacketParseRefusesBadFields) {
  TxPacket tx;
  tx.tmst = 1;
  tx.freq = 868.1;
  tx.datr = "SF9BW125";
  tx.data = {1, 2, 3};
  const json good = TxPacketJson(tx);
  for (const char* key : {"tmst", "freq", "datr", "data", "size"}) {
    json e = good;
    e.erase(key);
    EXPECT_FALSE(ParseTxPacket(e).ok()) << key;
  }
  json e = good;
  e["size"] = 4;
  EXPECT_FALSE(ParseTxPacket(e).ok());
  EXPECT_FALSE(ParseTxPacket(json::array()).ok());
}

}  // namespace
}  // namespace roost::gateway
