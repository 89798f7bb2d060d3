// Arbitrary bytes into the GWMP datagram and rxpk parsers, as the gateway
// listener reads them. A datagram that parses must build back to one that
// parses with the same token; a refused one must come with a message and a reason. Every
// rxpk entry read must survive RxPacketJson and a second parse unchanged, and a
// PULL_RESP's txpk that reads must read the same after TxPacketJson.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "gateway/gwmp.h"

namespace {

using namespace roost;
using namespace roost::gateway;

void CheckRxpk(const nlohmann::json& body) {
  auto list = ParseRxPackets(body);
  if (!list.ok()) {
    if (list.status().message().empty()) std::abort();
    return;
  }
  if (list->packets.size() != list->indices.size()) std::abort();
  if (list->packets.size() + list->skipped > kMaxRxPackets) std::abort();
  for (const RxPacket& rx : list->packets) {
    if (rx.data.size() > kMaxPhyPayloadSize) std::abort();
    auto again = ParseRxPackets(nlohmann::json{{"rxpk", {RxPacketJson(rx)}}});
    if (!again.ok() || again->packets.size() != 1) std::abort();
    const RxPacket& back = again->packets[0];
    if (back.data != rx.data || back.tmst != rx.tmst || back.FrequencyHz() != rx.FrequencyHz() ||
        back.datr != rx.datr || back.stat != rx.stat) {
      std::abort();
    }
  }
}

void CheckTxpk(const nlohmann::json& txpk) {
  auto tx = ParseTxPacket(txpk);
  if (!tx.ok()) return;
  auto back = ParseTxPacket(TxPacketJson(*tx));
  if (!back.ok()) std::abort();
  if (back->data != tx->data || back->datr != tx->datr || back->imme != tx->imme ||
      (!tx->imme && back->tmst != tx->tmst) || back->powe != tx->powe ||
      std::llround(back->freq * 1e6) != std::llround(tx->freq * 1e6)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  DatagramError why = DatagramError::kNone;
  auto datagram = ParseDatagram(input, &why);
  if (!datagram.ok()) {
    if (why == DatagramError::kNone || datagram.status().message().empty()) std::abort();
    return 0;
  }
  if (why != DatagramError::kNone) std::abort();
  const Datagram& d = *datagram;
  if (d.gateway_eui.has_value() !=
      (d.type == PacketType::kPushData || d.type == PacketType::kPullData ||
       d.type == PacketType::kTxAck)) {
    std::abort();
  }
  switch (d.type) {
    case PacketType::kPushData: {
      auto again = ParseDatagram(BuildPushData(d.token, *d.gateway_eui, d.body));
      // Not compared for equality: a number too large for a double reads as
      // infinity and writes back as null.
      if (!again.ok() || again->token != d.token) std::abort();
      CheckRxpk(d.body);
      break;
    }
    case PacketType::kPullResp:
      CheckTxpk(d.body["txpk"]);
      break;
    case PacketType::kTxAck:
      if (d.body.is_null() && TxAckError(d.body) != "NONE") std::abort();
      break;
    default:
      break;
  }
  // Any body, read as a PUSH_DATA body, must not break the rxpk reader either.
  if (size > 4) {
    auto loose = nlohmann::json::parse(input.begin() + 4, input.end(), nullptr, false);
    if (!loose.is_discarded()) CheckRxpk(loose);
  }
  return 0;
}
