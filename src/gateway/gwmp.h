// The Semtech UDP packet forwarder protocol, version 2 (GWMP, PROTOCOL.TXT of
// Lora-net/packet_forwarder): pure encoding and decoding of its datagrams, no
// I/O. Every datagram starts with
//
//   version (2) || token (2 bytes) || identifier
//
// PUSH_DATA, PULL_DATA and TX_ACK then carry the gateway's EUI (8 bytes);
// PUSH_DATA, PULL_RESP and TX_ACK end with a JSON object. Sizes are bounded so
// that a hostile datagram costs at most one bounded parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hex.h"
#include "core/identifiers.h"
#include "core/status.h"

namespace roost::gateway {

inline constexpr uint8_t kGwmpVersion = 2;
// The largest UDP payload over IPv4.
inline constexpr size_t kMaxDatagramSize = 65507;
// More rxpk entries than a gateway's concentrator can receive in one push
// interval; a PUSH_DATA with more is refused whole.
inline constexpr size_t kMaxRxPackets = 256;
// The largest LoRa PHYPayload (and so the largest base64 "data" decoded).
inline constexpr size_t kMaxPhyPayloadSize = 255;

enum class PacketType : uint8_t {
  kPushData = 0x00,
  kPushAck = 0x01,
  kPullData = 0x02,
  kPullResp = 0x03,
  kPullAck = 0x04,
  kTxAck = 0x05,
};
std::string_view PacketTypeName(PacketType type);  // "push_data", ... for metrics

// Why a datagram was refused; the listener counts drops by this.
enum class DatagramError {
  kNone,
  kTooShort,     // shorter than the header its identifier needs
  kOversize,     // larger than kMaxDatagramSize
  kBadVersion,   // protocol version other than 2
  kUnknownType,  // identifier names no packet type
  kBadJson,      // the JSON part is not a JSON object (or missing where required)
};
std::string_view DatagramErrorName(DatagramError error);  // "too_short", ... for metrics

// One decoded datagram. `gateway_eui` is set for PUSH_DATA, PULL_DATA and
// TX_ACK; `body` is the JSON object of PUSH_DATA, PULL_RESP and TX_ACK (null
// when a TX_ACK has none, as older forwarders send).
struct Datagram {
  PacketType type = PacketType::kPushData;
  uint16_t token = 0;  // bytes 1-2, most significant first; only compared, never interpreted
  std::optional<Eui64> gateway_eui;
  nlohmann::json body;
};

// Decodes a datagram. On failure the Status says what is wrong (never quoting
// payload bytes) and, if `why` is given, *why is set (kNone on success).
Result<Datagram> ParseDatagram(std::span<const uint8_t> bytes, DatagramError* why = nullptr);

// One received packet of a PUSH_DATA's "rxpk" array.
struct RxPacket {
  uint32_t tmst = 0;   // the gateway's microsecond counter at the end of reception
  double freq = 0;     // MHz
  uint32_t chan = 0;   // the concentrator's IF channel
  uint32_t rfch = 0;   // the concentrator's RF chain
  int stat = 1;        // CRC: 1 OK, -1 failed, 0 no CRC
  std::string modu;    // "LORA" or "FSK"
  std::string datr;    // "SF9BW125" for LoRa; the bit rate in decimal for FSK
  std::string codr;    // "4/5", ... (LoRa only)
  double rssi = 0;     // dBm
  double lsnr = 0;     // dB (LoRa only)
  Bytes data;          // the PHYPayload
  nlohmann::json raw;  // the entry exactly as received, to forward it unchanged

  // The frequency in Hz, rounded.
  uint64_t FrequencyHz() const;
};

// The rxpk entries of a PUSH_DATA body. A malformed entry (a required field
// missing or of the wrong type, "data" not canonical base64 or longer than
// kMaxPhyPayloadSize, "size" not its length) is skipped and counted; the
// others are still returned, each with its index in the array.
struct RxPacketList {
  std::vector<RxPacket> packets;
  std::vector<size_t> indices;  // indices[i]: position of packets[i] in "rxpk"
  size_t skipped = 0;
};

// Fails only when "rxpk" is present but not an array, or has more than
// kMaxRxPackets entries. No "rxpk" (a status-only PUSH_DATA) gives an empty list.
Result<RxPacketList> ParseRxPackets(const nlohmann::json& push_data_body);

// The JSON object of an RxPacket (tmst, chan, rfch, freq, stat, modu, datr,
// codr, rssi, lsnr, size, data); `raw` is not used. The gateway side (the
// simulator, tests) builds its rxpk entries with it.
nlohmann::json RxPacketJson(const RxPacket& rx);

// A downlink to transmit: the "txpk" object of a PULL_RESP.
struct TxPacket {
  bool imme = false;  // send at once, ignoring tmst
  uint32_t tmst = 0;  // the gateway's counter value to send at
  double freq = 0;    // MHz
  uint32_t rfch = 0;
  int powe = 14;  // dBm
  std::string modu = "LORA";
  std::string datr;  // "SF9BW125"
  std::string codr = "4/5";
  bool ipol = true;  // inverted polarity, as LoRaWAN downlinks use
  Bytes data;        // the PHYPayload; "size" is its length

  bool operator==(const TxPacket&) const = default;
};

nlohmann::json TxPacketJson(const TxPacket& tx);
// Reads a txpk object back (the gateway side). Fails on a missing or mistyped
// field, bad base64 or a "size" that is not the data's length.
Result<TxPacket> ParseTxPacket(const nlohmann::json& txpk);

// The "error" of a TX_ACK body's "txpk_ack" ("NONE", "TOO_LATE", ...): "NONE"
// when the body or the field is absent, as forwarders before v4 send.
std::string TxAckError(const nlohmann::json& tx_ack_body);

// Server side.
Bytes BuildPushAck(uint16_t token);
Bytes BuildPullAck(uint16_t token);
Bytes BuildPullResp(uint16_t token, const TxPacket& tx);

// Gateway side. `body` of a PUSH_DATA is {"rxpk":[...]} and/or {"stat":{...}};
// an empty `error` gives a TX_ACK without JSON.
Bytes BuildPushData(uint16_t token, const Eui64& gateway, const nlohmann::json& body);
Bytes BuildPullData(uint16_t token, const Eui64& gateway);
Bytes BuildTxAck(uint16_t token, const Eui64& gateway, std::string_view error = "NONE");

}  // namespace roost::gateway
