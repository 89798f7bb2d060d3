#include "gateway/listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "core/base64.h"

namespace roost::gateway {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A UDP socket on loopback playing a gateway or an upstream network server.
class Peer {
 public:
  Peer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Peer() { ::close(fd_); }
  uint16_t port() const { return port_; }

  void SendTo(uint16_t port, const Bytes& datagram) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    ASSERT_EQ(::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to),
              static_cast<ssize_t>(datagram.size()));
  }

  struct Received {
    Bytes bytes;
    uint16_t from_port = 0;
  };
  // The next datagram within `timeout`, or nullopt.
  std::optional<Received> Receive(std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<uint8_t> buf(65536);
    while (std::chrono::steady_clock::now() < deadline) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n >= 0) {
        return Received{Bytes(buf.begin(), buf.begin() + n), ntohs(from.sin_port)};
      }
    }
    return std::nullopt;
  }
  // The next datagram of `type`, skipping others.
  std::optional<Received> ReceiveType(PacketType type, std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Receive(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (r && r->bytes.size() >= 4 && r->bytes[3] == static_cast<uint8_t>(type)) return r;
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Collects the handler's calls; answers each at once with `reply` when set.
struct Handled {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ProprietaryUplink> uplinks;
  std::vector<Answer> answers;
  std::optional<Bytes> reply;

  ProprietaryHandler Handler() {
    return [this](ProprietaryUplink uplink, Answer answer) {
      std::lock_guard lock(mu);
      if (reply) answer(*reply);
      uplinks.push_back(std::move(uplink));
      answers.push_back(std::move(answer));
      cv.notify_all();
    };
  }
  size_t WaitFor(size_t n, std::chrono::milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, timeout, [&] { return uplinks.size() >= n; });
    return uplinks.size();
  }
  size_t Count() {
    std::lock_guard lock(mu);
    return uplinks.size();
  }
};

class ListenerTest : public testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    listener_.reset();
  }

  void StartListener(Region region = Region::kEU868, std::optional<uint16_t> upstream = {},
                     std::function<void(ListenerOptions&)> adjust = {}) {
    ListenerOptions options;
    options.listen = {"127.0.0.1", 0};
    options.region = region;
    if (upstream) options.lns_upstream = config::HostPort{"127.0.0.1", *upstream};
    options.dedup_window = 300ms;
    if (adjust) adjust(options);
    auto started = Listener::Start(io_, options, handled_.Handler(), &metrics_, nullptr);
    ASSERT_TRUE(started.ok()) << started.status().message();
    listener_ = std::move(*started);
  }

  // PULL_DATA and wait for its PULL_ACK, so that the gateway can be answered.
  void Pull(Peer& gateway, const Eui64& eui) {
    gateway.SendTo(listener_->port(), BuildPullData(0x0A0B, eui));
    auto ack = gateway.ReceiveType(PacketType::kPullAck);
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->bytes, BuildPullAck(0x0A0B));
  }

  template <typename Pred>
  bool Eventually(Pred pred, std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::vector<std::thread> threads_;
  observe::MetricsRegistry metrics_;
  Handled handled_;
  std::unique_ptr<Listener> listener_;
};

const Eui64 kGatewayA = Eui64::FromU64(0x00800000A0000001);
const Eui64 kGatewayB = Eui64::FromU64(0x00800000A0000002);
const Eui64 kGatewayC = Eui64::FromU64(0x00800000A0000003);

const Bytes kHello = {0xE0, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x9A};
const Bytes kDataUplink = {0x40, 0x01, 0x02, 0x03, 0x04, 0x80, 0x01, 0x00, 0x01, 0xAA, 0xBB};

RxPacket Rx(const Bytes& data, uint32_t tmst, double lsnr, double freq = 868.5) {
  RxPacket rx;
  rx.tmst = tmst;
  rx.freq = freq;
  rx.chan = 2;
  rx.stat = 1;
  rx.modu = "LORA";
  rx.datr = "SF9BW125";
  rx.codr = "4/5";
  rx.rssi = -60;
  rx.lsnr = lsnr;
  rx.data = data;
  return rx;
}

Bytes PushData(uint16_t token, const Eui64& eui, std::vector<RxPacket> rxs,
               std::optional<json> stat = {}) {
  json body = json::object();
  json rxpk = json::array();
  for (const auto& rx : rxs) rxpk.push_back(RxPacketJson(rx));
  if (!rxs.empty()) body["rxpk"] = rxpk;
  if (stat) body["stat"] = *stat;
  return BuildPushData(token, eui, body);
}

TxPacket TxOf(const Bytes& pull_resp) {
  auto d = ParseDatagram(pull_resp);
  EXPECT_TRUE(d.ok());
  if (!d.ok()) return {};
  auto tx = ParseTxPacket(d->body["txpk"]);
  EXPECT_TRUE(tx.ok());
  return tx.ok() ? *tx : TxPacket{};
}

TEST_F(ListenerTest, PushDataAndPullDataAreAcknowledgedWithTheirToken) {
  StartListener();
  Peer gw;
  gw.SendTo(listener_->port(), PushData(0xC0DE, kGatewayA, {}, json{{"rxnb", 0}}));
  auto ack = gw.Receive();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->bytes, BuildPushAck(0xC0DE));
  Pull(gw, kGatewayA);
  EXPECT_EQ(listener_->datagrams("push_data"), 1u);
  EXPECT_EQ(listener_->datagrams("pull_data"), 1u);
}

TEST_F(ListenerTest, UplinkHeardByThreeGatewaysIsHandledOnceThroughTheBestPulledOne) {
  handled_.reply = Bytes{0xE0, 0x81, 0x01, 0x02};
  StartListener();
  Peer a, b, c;
  Pull(a, kGatewayA);
  Pull(b, kGatewayB);
  // C has the best SNR but never pulled: it cannot be answered.
  a.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kHello, 1'000'000, 2.5)}));
  b.SendTo(listener_->port(), PushData(2, kGatewayB, {Rx(kHello, 2'000'000, 7.0)}));
  c.SendTo(listener_->port(), PushData(3, kGatewayC, {Rx(kHello, 3'000'000, 11.0)}));
  ASSERT_EQ(handled_.WaitFor(1), 1u);
  auto resp = b.ReceiveType(PacketType::kPullResp);
  ASSERT_TRUE(resp.has_value()) << "the answer goes through B, the best gateway that pulled";
  const TxPacket tx = TxOf(resp->bytes);
  EXPECT_EQ(tx.tmst, 2'000'000u + 5'000'000u) << "timed from B's own reception";
  EXPECT_EQ(tx.datr, "SF9BW125");
  EXPECT_DOUBLE_EQ(tx.freq, 868.5);
  EXPECT_FALSE(tx.imme);
  EXPECT_TRUE(tx.ipol);
  EXPECT_EQ(tx.data, (Bytes{0xE0, 0x81, 0x01, 0x02}));
  EXPECT_FALSE(a.ReceiveType(PacketType::kPullResp, 300ms).has_value());
  EXPECT_FALSE(c.ReceiveType(PacketType::kPullResp, 100ms).has_value());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(handled_.Count(), 1u) << "one uplink, one handler call";
  {
    std::lock_guard lock(handled_.mu);
    const ProprietaryUplink& up = handled_.uplinks[0];
    EXPECT_EQ(up.phy_payload, kHello);
    ASSERT_EQ(up.receptions.size(), 2u);
    EXPECT_EQ(up.receptions[0].gateway_eui, kGatewayB);
    EXPECT_EQ(up.receptions[1].gateway_eui, kGatewayA);
  }
  EXPECT_EQ(listener_->rxpk("duplicate"), 2u);
  EXPECT_EQ(listener_->dropped("not_pulled"), 1u);
  EXPECT_EQ(listener_->downlinks("provisioning"), 1u);
  // B's TX_ACK for our PULL_RESP is ours.
  const uint16_t token = static_cast<uint16_t>((resp->bytes[1] << 8) | resp->bytes[2]);
  b.SendTo(listener_->port(), BuildTxAck(token, kGatewayB, "NONE"));
  EXPECT_TRUE(Eventually([&] { return listener_->tx_acks("NONE") == 1; }));
}

TEST_F(ListenerTest, Us915AnswerUsesTheRx1ChannelOfTheUplinkFrequency) {
  handled_.reply = Bytes{0xE0, 0x92, 0x01};
  StartListener(Region::kUS915);
  Peer gw;
  Pull(gw, kGatewayA);
  // 904.3 MHz is channel 10 → 923.3 + 0.6 × 2 = 924.5 MHz.
  RxPacket rx = Rx(kHello, 4'294'000'000u, 3, 904.3);
  rx.datr = "SF7BW125";
  gw.SendTo(listener_->port(), PushData(9, kGatewayA, {rx}));
  auto resp = gw.ReceiveType(PacketType::kPullResp);
  ASSERT_TRUE(resp.has_value());
  const TxPacket tx = TxOf(resp->bytes);
  EXPECT_EQ(tx.tmst, static_cast<uint32_t>(4'294'000'000u + 5'000'000u));
  EXPECT_EQ(tx.datr, "SF7BW500");
  EXPECT_DOUBLE_EQ(tx.freq, 924.5);
  EXPECT_EQ(tx.powe, 20);
}

TEST_F(ListenerTest, UplinkFromGatewaysThatNeverPulledIsNotHandled) {
  StartListener();
  Peer gw;
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kHello, 10, 5)}));
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("no_downlink_path") == 1; }));
  EXPECT_EQ(handled_.Count(), 0u);
}

TEST_F(ListenerTest, CrcFailedProprietaryUplinkIsNotHandled) {
  StartListener();
  Peer gw;
  Pull(gw, kGatewayA);
  RxPacket rx = Rx(kHello, 10, 5);
  rx.stat = -1;
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {rx}));
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("crc_error") == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(handled_.Count(), 0u);
}

TEST_F(ListenerTest, AnswerIsSentOnceAndEmptyOrAfterStopNothing) {
  StartListener();
  Peer gw;
  Pull(gw, kGatewayA);
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kHello, 10, 5)}));
  ASSERT_EQ(handled_.WaitFor(1), 1u);
  Answer answer;
  {
    std::lock_guard lock(handled_.mu);
    answer = handled_.answers[0];
  }
  answer(Bytes{0xE0, 0x91});
  answer(Bytes{0xE0, 0x92});
  auto first = gw.ReceiveType(PacketType::kPullResp);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(TxOf(first->bytes).data, (Bytes{0xE0, 0x91}));
  EXPECT_FALSE(gw.ReceiveType(PacketType::kPullResp, 300ms).has_value());

  // A second uplink answered with nothing, a third answered after Stop.
  Bytes other = kHello;
  other.back() ^= 1;
  gw.SendTo(listener_->port(), PushData(2, kGatewayA, {Rx(other, 20, 5)}));
  other.back() ^= 2;
  gw.SendTo(listener_->port(), PushData(3, kGatewayA, {Rx(other, 30, 5)}));
  ASSERT_EQ(handled_.WaitFor(3), 3u);
  {
    std::lock_guard lock(handled_.mu);
    handled_.answers[1](Bytes{});
    listener_->Stop();
    handled_.answers[2](Bytes{0xE0, 0x91});
  }
  EXPECT_FALSE(gw.ReceiveType(PacketType::kPullResp, 300ms).has_value());
  EXPECT_EQ(listener_->downlinks("provisioning"), 1u);
}

TEST_F(ListenerTest, DataUplinkWithoutUpstreamIsCountedAsDropped) {
  StartListener();
  Peer gw;
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kDataUplink, 10, 5)}));
  ASSERT_TRUE(gw.ReceiveType(PacketType::kPushAck).has_value());
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("no_upstream") == 1; }));
}

TEST_F(ListenerTest, MultiplexerForwardsDataUplinksAndRelaysDownlinksPerGateway) {
  Peer lns;
  StartListener(Region::kEU868, lns.port());
  Peer g1, g2;
  // PULL_DATA reaches the upstream unchanged, from one socket per gateway.
  g1.SendTo(listener_->port(), BuildPullData(0x1111, kGatewayA));
  auto pull1 = lns.ReceiveType(PacketType::kPullData);
  ASSERT_TRUE(pull1.has_value());
  EXPECT_EQ(pull1->bytes, BuildPullData(0x1111, kGatewayA));
  g2.SendTo(listener_->port(), BuildPullData(0x2222, kGatewayB));
  auto pull2 = lns.ReceiveType(PacketType::kPullData);
  ASSERT_TRUE(pull2.has_value());
  EXPECT_NE(pull1->from_port, pull2->from_port) << "one upstream socket per gateway";
  EXPECT_NE(pull1->from_port, listener_->port());
  ASSERT_TRUE(g1.ReceiveType(PacketType::kPullAck).has_value());
  ASSERT_TRUE(g2.ReceiveType(PacketType::kPullAck).has_value());
  // The upstream's PULL_ACK is consumed.
  lns.SendTo(pull1->from_port, BuildPullAck(0x1111));

  // A PUSH_DATA with a data uplink, a provisioning uplink and stats: the
  // upstream gets the data uplink's JSON object as sent, the stats and the
  // gateway's token; the provisioning uplink stays here.
  json data_rx = RxPacketJson(Rx(kDataUplink, 777, 4));
  data_rx["time"] = "2026-12-02T18:00:00.000000Z";
  data_rx["custom"] = {{"kept", true}};
  const json stat = {{"rxnb", 2}, {"rxok", 2}, {"ackr", 100.0}};
  const json body = {{"rxpk", json::array({data_rx, RxPacketJson(Rx(kHello, 778, 4))})},
                     {"stat", stat}};
  g1.SendTo(listener_->port(), BuildPushData(0x3333, kGatewayA, body));
  auto push = lns.ReceiveType(PacketType::kPushData);
  ASSERT_TRUE(push.has_value());
  EXPECT_EQ(push->from_port, pull1->from_port);
  auto forwarded = ParseDatagram(push->bytes);
  ASSERT_TRUE(forwarded.ok());
  EXPECT_EQ(forwarded->token, 0x3333);
  EXPECT_EQ(*forwarded->gateway_eui, kGatewayA);
  EXPECT_EQ(forwarded->body["rxpk"], json::array({data_rx}));
  EXPECT_EQ(forwarded->body["stat"], stat);
  ASSERT_TRUE(g1.ReceiveType(PacketType::kPushAck).has_value());
  lns.SendTo(push->from_port, BuildPushAck(0x3333));  // consumed

  // A PUSH_DATA without anything of ours goes byte for byte.
  const Bytes plain = PushData(0x4444, kGatewayB, {Rx(kDataUplink, 999, 1)});
  g2.SendTo(listener_->port(), plain);
  auto push2 = lns.ReceiveType(PacketType::kPushData);
  ASSERT_TRUE(push2.has_value());
  EXPECT_EQ(push2->bytes, plain);
  EXPECT_EQ(push2->from_port, pull2->from_port);

  // The upstream's downlink for gateway B, sent to B's socket, reaches B only, unchanged.
  TxPacket tx;
  tx.tmst = 999 + 1'000'000;
  tx.freq = 868.1;
  tx.datr = "SF7BW125";
  tx.data = {0x60, 1, 2, 3};
  const Bytes downlink = BuildPullResp(0x5555, tx);
  lns.SendTo(pull2->from_port, downlink);
  auto relayed = g2.ReceiveType(PacketType::kPullResp);
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(relayed->bytes, downlink);
  EXPECT_EQ(relayed->from_port, listener_->port());
  EXPECT_FALSE(g1.ReceiveType(PacketType::kPullResp, 200ms).has_value());

  // B's TX_ACK for it goes back to the upstream, through B's socket.
  const Bytes tx_ack = BuildTxAck(0x5555, kGatewayB, "NONE");
  g2.SendTo(listener_->port(), tx_ack);
  auto ack_up = lns.ReceiveType(PacketType::kTxAck);
  ASSERT_TRUE(ack_up.has_value());
  EXPECT_EQ(ack_up->bytes, tx_ack);
  EXPECT_EQ(ack_up->from_port, pull2->from_port);

  EXPECT_TRUE(Eventually([&] { return listener_->upstream("push_ack") == 1; }));
  EXPECT_EQ(listener_->upstream("pull_ack"), 1u);
  EXPECT_EQ(listener_->downlinks("relayed"), 1u);
  EXPECT_EQ(listener_->rxpk("forwarded"), 2u);
  EXPECT_EQ(listener_->tx_acks("NONE"), 0u) << "the upstream's TX_ACK is not counted as ours";
  // Nothing else reached the gateways: the upstream's acks were consumed.
  EXPECT_FALSE(g1.Receive(200ms).has_value());
  EXPECT_EQ(handled_.WaitFor(1), 1u);
}

TEST_F(ListenerTest, GarbageFloodDoesNotStopARealUplink) {
  handled_.reply = Bytes{0xE0, 0x81};
  StartListener();
  Peer attacker, gw;
  Pull(gw, kGatewayA);
  const Bytes eui(kGatewayA.bytes.begin(), kGatewayA.bytes.end());
  auto with = [](Bytes head, std::string_view tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  Bytes push_head = {2, 0, 1, 0};
  push_head.insert(push_head.end(), eui.begin(), eui.end());
  const std::vector<Bytes> garbage = {
      {},
      {2, 0},
      {1, 0, 0, 0},
      {2, 0, 0, 9},
      {2, 0, 0, 1},  // a PUSH_ACK sent to the server
      with(push_head, "{not json"),
      with(push_head, "{\"rxpk\":{}}"),
      with(push_head, "{\"rxpk\":[1,2,3,{\"tmst\":-5}]}"),
  };
  // A few near-maximal datagrams too: each is a whole parse of nested JSON.
  const Bytes huge = with(push_head, std::string(60000, '['));
  for (int round = 0; round < 50; ++round) {
    for (const Bytes& g : garbage) attacker.SendTo(listener_->port(), g);
    if (round % 10 == 0) attacker.SendTo(listener_->port(), huge);
  }
  gw.SendTo(listener_->port(), PushData(7, kGatewayA, {Rx(kHello, 42, 1)}));
  ASSERT_EQ(handled_.WaitFor(1), 1u) << metrics_.Render();
  auto resp = gw.ReceiveType(PacketType::kPullResp);
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(TxOf(resp->bytes).tmst, 42u + 5'000'000u);
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("bad_rxpk") == 50u * 5; }));
  EXPECT_EQ(listener_->dropped("too_short"), 100u);
  EXPECT_EQ(listener_->dropped("bad_version"), 50u);
  EXPECT_EQ(listener_->dropped("unknown_type"), 50u);
  EXPECT_EQ(listener_->dropped("unexpected_type"), 50u);
  EXPECT_EQ(listener_->dropped("bad_json"), 50u + 5u);
  const std::string rendered = metrics_.Render();
  EXPECT_NE(rendered.find("roost_gwmp_dropped_total{reason=\"bad_version\"} 50"),
            std::string::npos);
}

TEST_F(ListenerTest, GatewayWhosePullExpiredIsNotAnswered) {
  StartListener(Region::kEU868, {}, [](ListenerOptions& o) { o.pull_expiry = 200ms; });
  Peer gw;
  Pull(gw, kGatewayA);
  std::this_thread::sleep_for(400ms);
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kHello, 10, 5)}));
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("no_downlink_path") == 1; }));
  EXPECT_EQ(handled_.Count(), 0u);
}

TEST_F(ListenerTest, GatewayTableIsBounded) {
  Peer lns;
  StartListener(Region::kEU868, lns.port(), [](ListenerOptions& o) { o.max_gateways = 1; });
  Peer a, b;
  Pull(a, kGatewayA);
  // B is acknowledged but not remembered, and nothing of it reaches the upstream.
  Pull(b, kGatewayB);
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("gateway_table_full") == 1; }));
  auto first = lns.ReceiveType(PacketType::kPullData);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(ParseDatagram(first->bytes)->gateway_eui, kGatewayA);
  EXPECT_FALSE(lns.ReceiveType(PacketType::kPullData, 300ms).has_value());
  EXPECT_NE(metrics_.Render().find("roost_gwmp_gateways 1"), std::string::npos);
}

// Gateway EUIs cost nothing to make up: each relayed one holds a socket, and
// their number is bounded apart from the gateway table. At the bound, the
// gateway relayed least recently gives its socket up: every gateway is still
// relayed (from a new port when it comes back).
TEST_F(ListenerTest, UpstreamSocketsAreBoundedAndTheLeastRecentGivesItsUp) {
  Peer lns;
  StartListener(Region::kEU868, lns.port(), [](ListenerOptions& o) { o.max_upstream_sockets = 2; });
  Peer a, b, c;
  auto relayed = [&]() -> std::pair<Eui64, uint16_t> {
    auto got = lns.ReceiveType(PacketType::kPullData);
    if (!got) return {Eui64{}, 0};
    return {ParseDatagram(got->bytes)->gateway_eui.value_or(Eui64{}), got->from_port};
  };
  Pull(a, kGatewayA);
  const auto [a_eui, a_port] = relayed();
  EXPECT_EQ(a_eui, kGatewayA);
  Pull(b, kGatewayB);
  EXPECT_EQ(relayed().first, kGatewayB);
  Pull(a, kGatewayA);  // A is now the more recent of the two
  EXPECT_EQ(relayed(), std::make_pair(kGatewayA, a_port));
  Pull(c, kGatewayC);  // B gives its socket up
  EXPECT_EQ(relayed().first, kGatewayC);
  EXPECT_EQ(listener_->dropped("upstream_socket_evicted"), 1u);
  Pull(a, kGatewayA);  // A kept its socket: the same port
  EXPECT_EQ(relayed(), std::make_pair(kGatewayA, a_port));
  Pull(b, kGatewayB);  // B is relayed again, through a new socket (C's goes)
  EXPECT_EQ(relayed().first, kGatewayB);
  EXPECT_EQ(listener_->dropped("upstream_socket_evicted"), 2u);
}

TEST_F(ListenerTest, DebugLogNamesTheSenderNeverThePayload) {
  std::mutex mu;
  std::string lines;
  observe::Logger log(
      [&](std::string_view line) {
        std::lock_guard lock(mu);
        lines += line;
      },
      observe::Logger::Level::kDebug);
  ListenerOptions options;
  options.listen = {"127.0.0.1", 0};
  auto started = Listener::Start(io_, options, handled_.Handler(), &metrics_, &log);
  ASSERT_TRUE(started.ok());
  listener_ = std::move(*started);
  Peer gw;
  Bytes secret = {2, 0, 1, 0};
  secret.insert(secret.end(), kGatewayA.bytes.begin(), kGatewayA.bytes.end());
  const std::string marker = "{\"rxpk\":\"SECRET-PAYLOAD-MARKER\"";
  secret.insert(secret.end(), marker.begin(), marker.end());
  gw.SendTo(listener_->port(), secret);
  gw.SendTo(listener_->port(), PushData(1, kGatewayA, {Rx(kHello, 10, 5)}));
  EXPECT_TRUE(Eventually([&] { return listener_->dropped("no_downlink_path") == 1; }));
  std::lock_guard lock(mu);
  EXPECT_NE(lines.find("127.0.0.1:" + std::to_string(gw.port())), std::string::npos) << lines;
  EXPECT_EQ(lines.find("SECRET"), std::string::npos) << lines;
  EXPECT_EQ(lines.find(ToHex(kHello)), std::string::npos) << lines;
  EXPECT_EQ(lines.find(EncodeBase64(std::string(kHello.begin(), kHello.end()))), std::string::npos)
      << lines;
}

TEST_F(ListenerTest, StartWithoutAHandlerIsAnError) {
  ListenerOptions options;
  options.listen = {"127.0.0.1", 0};
  auto started = Listener::Start(io_, options, ProprietaryHandler(), nullptr, nullptr);
  EXPECT_FALSE(started.ok());
}

TEST_F(ListenerTest, ListenAddressThatCannotBeBoundIsAnError) {
  ListenerOptions options;
  options.listen = {"192.0.2.1", 1700};  // TEST-NET-1: no interface of this host has it
  auto started = Listener::Start(io_, options, handled_.Handler(), nullptr, nullptr);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("192.0.2.1:1700"), std::string::npos)
      << started.status().message();
}

}  // namespace
}  // namespace roost::gateway
