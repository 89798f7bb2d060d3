#include "gateway/gwmp.h"

#include <cmath>
#include <limits>

#include "core/base64.h"

namespace roost::gateway {
namespace {

using nlohmann::json;

constexpr size_t kHeaderSize = 4;
constexpr size_t kEuiSize = 8;
// Base64 of kMaxPhyPayloadSize bytes, padded.
constexpr size_t kMaxDataText = (kMaxPhyPayloadSize + 2) / 3 * 4;

Status Refuse(DatagramError* why, DatagramError error, std::string msg) {
  if (why) *why = error;
  return Status::InvalidInput(std::move(msg));
}

void PutHeader(Bytes& out, uint16_t token, PacketType type) {
  out.push_back(kGwmpVersion);
  out.push_back(static_cast<uint8_t>(token >> 8));
  out.push_back(static_cast<uint8_t>(token & 0xFF));
  out.push_back(static_cast<uint8_t>(type));
}

void PutEui(Bytes& out, const Eui64& eui) {
  out.insert(out.end(), eui.bytes.begin(), eui.bytes.end());
}

void PutJson(Bytes& out, const json& body) {
  const std::string text = body.dump();
  out.insert(out.end(), text.begin(), text.end());
}

// Base64 as forwarders write it; some leave the padding out.
Result<Bytes> DecodeData(std::string_view text) {
  if (text.size() > kMaxDataText) return Status::InvalidInput("data longer than 255 bytes");
  std::string padded(text);
  while (padded.size() % 4 != 0) padded.push_back('=');
  auto decoded = DecodeBase64(padded);
  if (!decoded.ok()) return decoded.status();
  if (decoded->size() > kMaxPhyPayloadSize)
    return Status::InvalidInput("data longer than 255 bytes");
  return Bytes(decoded->begin(), decoded->end());
}

std::string EncodeData(const Bytes& data) {
  return EncodeBase64(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

// The value of `key` as an unsigned integer that fits in T, or nullopt.
template <typename T>
std::optional<T> Unsigned(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    if (v > std::numeric_limits<T>::max()) return std::nullopt;
    return static_cast<T>(v);
  }
  const auto v = it->get<int64_t>();
  if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(v);
}

std::optional<double> Number(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::string> Text(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A frequency in MHz that a radio can be tuned to (rejects negative, NaN, absurd).
bool PlausibleFrequency(double mhz) {
  return mhz > 0 && mhz < 10000;
}

Result<RxPacket> ReadRxPacket(const json& entry) {
  if (!entry.is_object()) return Status::InvalidInput("rxpk entry is not an object");
  RxPacket rx;
  auto tmst = Unsigned<uint32_t>(entry, "tmst");
  if (!tmst) return Status::InvalidInput("rxpk: tmst missing or not a 32-bit counter");
  rx.tmst = *tmst;
  auto freq = Number(entry, "freq");
  if (!freq || !PlausibleFrequency(*freq)) return Status::InvalidInput("rxpk: bad freq");
  rx.freq = *freq;
  auto data = Text(entry, "data");
  if (!data) return Status::InvalidInput("rxpk: data missing");
  auto bytes = DecodeData(*data);
  if (!bytes.ok()) return bytes.status().WithPrefix("rxpk: data");
  rx.data = std::move(*bytes);
  if (entry.contains("size")) {
    auto size = Unsigned<uint32_t>(entry, "size");
    if (!size || *size != rx.data.size())
      return Status::InvalidInput("rxpk: size is not the data's length");
  }
  if (entry.contains("chan")) {
    auto chan = Unsigned<uint32_t>(entry, "chan");
    if (!chan) return Status::InvalidInput("rxpk: bad chan");
    rx.chan = *chan;
  }
  if (entry.contains("rfch")) {
    auto rfch = Unsigned<uint32_t>(entry, "rfch");
    if (!rfch) return Status::InvalidInput("rxpk: bad rfch");
    rx.rfch = *rfch;
  }
  if (entry.contains("stat")) {
    auto it = entry.find("stat");
    if (!it->is_number_integer()) return Status::InvalidInput("rxpk: bad stat");
    const auto stat = it->get<int64_t>();
    if (stat < -1 || stat > 1) return Status::InvalidInput("rxpk: bad stat");
    rx.stat = static_cast<int>(stat);
  }
  rx.modu = Text(entry, "modu").value_or("LORA");
  if (auto it = entry.find("datr"); it != entry.end()) {
    if (it->is_string()) {
      rx.datr = it->get<std::string>();
    } else if (auto bps = Unsigned<uint32_t>(entry, "datr")) {
      rx.datr = std::to_string(*bps);  // FSK: the bit rate
    } else {
      return Status::InvalidInput("rxpk: bad datr");
    }
  }
  rx.codr = Text(entry, "codr").value_or("");
  if (auto rssi = Number(entry, "rssi")) {
    rx.rssi = *rssi;
  } else if (auto rsig = entry.find("rsig");
             rsig != entry.end() && rsig->is_array() && !rsig->empty() && (*rsig)[0].is_object()) {
    // Forwarders of the v2 concentrators report per antenna: take the first.
    rx.rssi = Number((*rsig)[0], "rssic").value_or(0);
    rx.lsnr = Number((*rsig)[0], "lsnr").value_or(0);
  }
  if (auto lsnr = Number(entry, "lsnr")) rx.lsnr = *lsnr;
  rx.raw = entry;
  return rx;
}

}  // namespace

std::string_view PacketTypeName(PacketType type) {
  switch (type) {
    case PacketType::kPushData:
      return "push_data";
    case PacketType::kPushAck:
      return "push_ack";
    case PacketType::kPullData:
      return "pull_data";
    case PacketType::kPullResp:
      return "pull_resp";
    case PacketType::kPullAck:
      return "pull_ack";
    case PacketType::kTxAck:
      return "tx_ack";
  }
  return "unknown";
}

std::string_view DatagramErrorName(DatagramError error) {
  switch (error) {
    case DatagramError::kNone:
      return "none";
    case DatagramError::kTooShort:
      return "too_short";
    case DatagramError::kOversize:
      return "oversize";
    case DatagramError::kBadVersion:
      return "bad_version";
    case DatagramError::kUnknownType:
      return "unknown_type";
    case DatagramError::kBadJson:
      return "bad_json";
  }
  return "unknown";
}

Result<Datagram> ParseDatagram(std::span<const uint8_t> bytes, DatagramError* why) {
  if (why) *why = DatagramError::kNone;
  if (bytes.size() > kMaxDatagramSize) {
    return Refuse(why, DatagramError::kOversize, "datagram larger than 65507 bytes");
  }
  if (bytes.size() < kHeaderSize) {
    return Refuse(why, DatagramError::kTooShort, "datagram shorter than the 4-byte header");
  }
  if (bytes[0] != kGwmpVersion) {
    return Refuse(why, DatagramError::kBadVersion,
                  "protocol version " + std::to_string(bytes[0]) + ", expected 2");
  }
  if (bytes[3] > static_cast<uint8_t>(PacketType::kTxAck)) {
    return Refuse(why, DatagramError::kUnknownType,
                  "unknown identifier " + std::to_string(bytes[3]));
  }
  Datagram d;
  d.type = static_cast<PacketType>(bytes[3]);
  d.token = static_cast<uint16_t>((bytes[1] << 8) | bytes[2]);
  size_t offset = kHeaderSize;
  const bool has_eui = d.type == PacketType::kPushData || d.type == PacketType::kPullData ||
                       d.type == PacketType::kTxAck;
  if (has_eui) {
    if (bytes.size() < kHeaderSize + kEuiSize) {
      return Refuse(why, DatagramError::kTooShort,
                    std::string(PacketTypeName(d.type)) + " without its gateway EUI");
    }
    Eui64 eui;
    std::copy_n(bytes.begin() + kHeaderSize, kEuiSize, eui.bytes.begin());
    d.gateway_eui = eui;
    offset += kEuiSize;
  }
  const auto rest = bytes.subspan(offset);
  const bool wants_json = d.type == PacketType::kPushData || d.type == PacketType::kPullResp;
  const bool may_json = wants_json || d.type == PacketType::kTxAck;
  if (!may_json) return d;  // acks and PULL_DATA: anything after the header is ignored
  // Some forwarders end the JSON with a NUL byte.
  size_t length = rest.size();
  while (length > 0 && (rest[length - 1] == 0 || rest[length - 1] == '\n')) --length;
  if (length == 0) {
    if (wants_json) {
      return Refuse(why, DatagramError::kBadJson,
                    std::string(PacketTypeName(d.type)) + " without its JSON object");
    }
    return d;
  }
  d.body = json::parse(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(length), nullptr,
                       /*allow_exceptions=*/false);
  if (d.body.is_discarded() || !d.body.is_object()) {
    d.body = nullptr;
    return Refuse(why, DatagramError::kBadJson,
                  std::string(PacketTypeName(d.type)) + ": the JSON part is not a JSON object");
  }
  if (d.type == PacketType::kPullResp) {
    auto it = d.body.find("txpk");
    if (it == d.body.end() || !it->is_object()) {
      return Refuse(why, DatagramError::kBadJson, "pull_resp without a txpk object");
    }
  }
  return d;
}

uint64_t RxPacket::FrequencyHz() const {
  return static_cast<uint64_t>(std::llround(freq * 1e6));
}

Result<RxPacketList> ParseRxPackets(const nlohmann::json& push_data_body) {
  RxPacketList list;
  if (!push_data_body.is_object()) return list;
  auto it = push_data_body.find("rxpk");
  if (it == push_data_body.end()) return list;
  if (!it->is_array()) return Status::InvalidInput("rxpk is not an array");
  if (it->size() > kMaxRxPackets) {
    return Status::InvalidInput("rxpk has " + std::to_string(it->size()) + " entries, at most " +
                                std::to_string(kMaxRxPackets) + " are accepted");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    auto rx = ReadRxPacket((*it)[i]);
    if (!rx.ok()) {
      ++list.skipped;
      continue;
    }
    list.packets.push_back(std::move(*rx));
    list.indices.push_back(i);
  }
  return list;
}

nlohmann::json RxPacketJson(const RxPacket& rx) {
  json j = json::object();
  j["tmst"] = rx.tmst;
  j["chan"] = rx.chan;
  j["rfch"] = rx.rfch;
  j["freq"] = static_cast<double>(rx.FrequencyHz()) / 1e6;
  j["stat"] = rx.stat;
  j["modu"] = rx.modu;
  j["datr"] = rx.datr;
  j["codr"] = rx.codr;
  j["rssi"] = rx.rssi;
  j["lsnr"] = rx.lsnr;
  j["size"] = rx.data.size();
  j["data"] = EncodeData(rx.data);
  return j;
}

nlohmann::json TxPacketJson(const TxPacket& tx) {
  json j = json::object();
  j["imme"] = tx.imme;
  if (!tx.imme) j["tmst"] = tx.tmst;
  // Through whole hertz, so that 923.9 prints as 923.9 and not 923.9000000000001.
  j["freq"] = static_cast<double>(std::llround(tx.freq * 1e6)) / 1e6;
  j["rfch"] = tx.rfch;
  j["powe"] = tx.powe;
  j["modu"] = tx.modu;
  j["datr"] = tx.datr;
  j["codr"] = tx.codr;
  j["ipol"] = tx.ipol;
  j["size"] = tx.data.size();
  j["data"] = EncodeData(tx.data);
  return j;
}

Result<TxPacket> ParseTxPacket(const nlohmann::json& txpk) {
  if (!txpk.is_object()) return Status::InvalidInput("txpk is not an object");
  TxPacket tx;
  auto imme = txpk.find("imme");
  tx.imme = imme != txpk.end() && imme->is_boolean() && imme->get<bool>();
  if (!tx.imme) {
    auto tmst = Unsigned<uint32_t>(txpk, "tmst");
    if (!tmst) return Status::InvalidInput("txpk: tmst missing");
    tx.tmst = *tmst;
  }
  auto freq = Number(txpk, "freq");
  if (!freq || !PlausibleFrequency(*freq)) return Status::InvalidInput("txpk: bad freq");
  tx.freq = *freq;
  tx.rfch = Unsigned<uint32_t>(txpk, "rfch").value_or(0);
  auto powe = txpk.find("powe");
  if (powe != txpk.end()) {
    if (!powe->is_number_integer()) return Status::InvalidInput("txpk: bad powe");
    const auto p = powe->get<int64_t>();
    if (p < -128 || p > 127) return Status::InvalidInput("txpk: bad powe");
    tx.powe = static_cast<int>(p);
  }
  tx.modu = Text(txpk, "modu").value_or("LORA");
  auto datr = Text(txpk, "datr");
  if (!datr) return Status::InvalidInput("txpk: datr missing");
  tx.datr = *datr;
  tx.codr = Text(txpk, "codr").value_or("");
  auto ipol = txpk.find("ipol");
  tx.ipol = ipol != txpk.end() && ipol->is_boolean() && ipol->get<bool>();
  auto data = Text(txpk, "data");
  if (!data) return Status::InvalidInput("txpk: data missing");
  auto bytes = DecodeData(*data);
  if (!bytes.ok()) return bytes.status().WithPrefix("txpk: data");
  tx.data = std::move(*bytes);
  auto size = Unsigned<uint32_t>(txpk, "size");
  if (!size || *size != tx.data.size())
    return Status::InvalidInput("txpk: size is not the data's length");
  return tx;
}

std::string TxAckError(const nlohmann::json& tx_ack_body) {
  if (!tx_ack_body.is_object()) return "NONE";
  auto ack = tx_ack_body.find("txpk_ack");
  if (ack == tx_ack_body.end() || !ack->is_object()) return "NONE";
  auto error = ack->find("error");
  if (error == ack->end() || !error->is_string()) return "NONE";
  return error->get<std::string>();
}

Bytes BuildPushAck(uint16_t token) {
  Bytes out;
  PutHeader(out, token, PacketType::kPushAck);
  return out;
}

Bytes BuildPullAck(uint16_t token) {
  Bytes out;
  PutHeader(out, token, PacketType::kPullAck);
  return out;
}

Bytes BuildPullResp(uint16_t token, const TxPacket& tx) {
  Bytes out;
  PutHeader(out, token, PacketType::kPullResp);
  PutJson(out, json{{"txpk", TxPacketJson(tx)}});
  return out;
}

Bytes BuildPushData(uint16_t token, const Eui64& gateway, const nlohmann::json& body) {
  Bytes out;
  PutHeader(out, token, PacketType::kPushData);
  PutEui(out, gateway);
  PutJson(out, body);
  return out;
}

Bytes BuildPullData(uint16_t token, const Eui64& gateway) {
  Bytes out;
  PutHeader(out, token, PacketType::kPullData);
  PutEui(out, gateway);
  return out;
}

Bytes BuildTxAck(uint16_t token, const Eui64& gateway, std::string_view error) {
  Bytes out;
  PutHeader(out, token, PacketType::kTxAck);
  PutEui(out, gateway);
  if (!error.empty()) PutJson(out, json{{"txpk_ack", {{"error", std::string(error)}}}});
  return out;
}

}  // namespace roost::gateway
