// A simulated LoRa gateway: a packet forwarder speaking GWMP v2 over real UDP
// to a server (gateway/gwmp.h), as the provisioning simulator and tests use
// it. Its tmst counter is its own (a random start, microseconds since then,
// wrapping at 2^32), as two real gateways' counters are unrelated.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "core/status.h"
#include "gateway/gwmp.h"
#include "gateway/region.h"

namespace roost::simulate {

class SimulatedGateway {
 public:
  explicit SimulatedGateway(const Eui64& eui);
  ~SimulatedGateway();
  SimulatedGateway(const SimulatedGateway&) = delete;
  SimulatedGateway& operator=(const SimulatedGateway&) = delete;

  // The receive buffer Connect asks for (the kernel grants at most
  // net.core.rmem_max of it).
  static constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

  // A UDP socket (non-blocking) towards the server, with a receive buffer of
  // kReceiveBufferBytes where the system allows it. Fails if the address does
  // not resolve or no socket can be made.
  Status Connect(const config::HostPort& server);
  int fd() const { return fd_; }
  const Eui64& eui() const { return eui_; }

  // PULL_DATA (the server learns where downlinks go; repeat as a keep-alive).
  Status SendPull();
  // PUSH_DATA with one rxpk carrying `phy_payload`, stamped with this
  // gateway's counter now; returns the rxpk as sent.
  Result<gateway::RxPacket> SendUplink(const Bytes& phy_payload, uint64_t frequency_hz,
                                       std::string_view datr, double snr, double rssi);
  Status SendTxAck(uint16_t token, std::string_view error = "NONE");

  // The next datagram from the server, nullopt when none is waiting; garbage
  // from the server is an error.
  Result<std::optional<gateway::Datagram>> Receive();

 private:
  Status Send(const Bytes& datagram);
  uint32_t Tmst() const;

  Eui64 eui_;
  int fd_ = -1;
  uint16_t next_token_;
  uint32_t tmst_start_;
  std::chrono::steady_clock::time_point started_;
};

// Checks a downlink answering `uplink` against the region's RX1 (region.h):
// imme false, tmst = uplink tmst + 5 000 000, ipol true, RX1 data rate and
// frequency. The error says what differs.
Status CheckRx1(gateway::Region region, const gateway::RxPacket& uplink,
                const gateway::TxPacket& downlink);

}  // namespace roost::simulate
