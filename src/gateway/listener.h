// The gateway listener of `roost serve`: Semtech UDP packet forwarders (GWMP
// v2, gwmp.h) talk to it on one UDP port of the process's event loop.
//
//  - PUSH_DATA is acknowledged at once (PUSH_ACK, same token); PULL_DATA gets
//    PULL_ACK and its source address becomes the gateway's downlink address
//    for `pull_expiry`; TX_ACKs are counted by their error.
//  - Each rxpk carrying a LoRaWAN proprietary frame (MHDR MType 111) goes to
//    the ProprietaryHandler once, however many gateways heard it within
//    `dedup_window` (keyed by the PHYPayload bytes). The handler's answer goes
//    out as a PULL_RESP in RX1 (region.h) through the gateway with the best SNR
//    among those that have pulled, timed from THAT gateway's reception.
//  - Every other rxpk goes, unchanged, to `lns_upstream` when one is set (else
//    it is counted as dropped): the listener is a multiplexer in front of a
//    LoRaWAN network server. Each gateway gets its own UDP socket towards the
//    upstream, so the upstream sees one peer per gateway and its PULL_RESPs
//    come back on the right socket; they are relayed to the gateway (token
//    kept), the gateway's TX_ACK for such a token goes back to the upstream,
//    and the upstream's PUSH_ACK / PULL_ACK end here.
//
// Nothing a datagram holds can stop the listener: a malformed datagram is
// dropped and counted by reason (roost_gwmp_dropped_total{reason}); logs (at
// debug) name the gateway's address, never payload bytes. Every table (gateways,
// uplinks awaiting their dedup window, tokens) is bounded.
//
// Metrics: roost_gwmp_datagrams_total{kind} (from gateways, by packet type),
// roost_gwmp_dropped_total{reason}, roost_gwmp_rxpk_total{kind} (proprietary,
// duplicate, handled, forwarded), roost_gwmp_tx_ack_total{error},
// roost_gwmp_downlinks_total{source} (provisioning, relayed),
// roost_gwmp_upstream_total{kind} (datagrams from the upstream), roost_gwmp_gateways.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "core/hex.h"
#include "core/identifiers.h"
#include "core/status.h"
#include "gateway/gwmp.h"
#include "gateway/region.h"
#include "observe/log.h"
#include "observe/metrics.h"

namespace roost::gateway {

// One gateway's reception of an uplink.
struct HeardUplink {
  Eui64 gateway_eui{};
  RxPacket rx;
};

// A proprietary uplink, heard by one or more gateways. `receptions` lists only
// gateways a downlink can go through (they have pulled), best SNR first; it is
// never empty.
struct ProprietaryUplink {
  Bytes phy_payload;
  std::vector<HeardUplink> receptions;
};

// Sends the downlink PHYPayload in RX1 of the uplink it answers. Thread-safe;
// only the first call does anything; an empty payload means nothing is sent.
// An answer later than RX1 (5 s after the uplink) is dropped and counted.
using Answer = std::function<void(Bytes downlink_phy_payload)>;
// Called on the event loop, for different uplinks possibly on several of its
// threads at once: it must not block (hand work to another thread and call the
// Answer from there).
using ProprietaryHandler = std::function<void(ProprietaryUplink uplink, Answer answer)>;

struct ListenerOptions {
  config::HostPort listen{"0.0.0.0", 1700};  // port 0: any free port (see port())
  Region region = Region::kEU868;
  std::optional<config::HostPort> lns_upstream;  // nullopt: non-proprietary rxpks are dropped
  std::chrono::milliseconds dedup_window{200};
  // A gateway that has not pulled for this long cannot be answered (forwarders
  // pull every 10 s by default) and is forgotten with its upstream socket.
  std::chrono::milliseconds pull_expiry{60'000};
  size_t max_gateways = 10'000;
  // Gateways relayed to lns_upstream at once, each through a socket of its
  // own. The datagrams are not authenticated: without this, anyone could make
  // the server open a socket per made-up gateway EUI. Past it, the gateway
  // relayed least recently gives its socket up ("upstream_socket_evicted") and
  // gets a new one when it is relayed again.
  size_t max_upstream_sockets = 1'000;
  size_t max_pending_uplinks = 4'096;  // uplinks within their dedup window
};

class Listener {
 public:
  // Binds the UDP socket (and resolves the upstream) and starts serving on
  // `io`. `metrics` and `log` may be null; when given they must outlive the
  // listener. Fails when the address cannot be resolved or bound, or `handler`
  // is empty.
  static Result<std::unique_ptr<Listener>> Start(boost::asio::io_context& io,
                                                 ListenerOptions options,
                                                 ProprietaryHandler handler,
                                                 observe::MetricsRegistry* metrics,
                                                 observe::Logger* log);
  ~Listener();  // Stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The bound port (the chosen one when options.listen.port was 0).
  uint16_t port() const;

  // Closes every socket; nothing is received, sent or handed to the handler
  // after it returns (an Answer called later does nothing). Safe from any
  // thread, more than once. The listener must be stopped (or destroyed) before
  // the io_context is.
  void Stop();

  // The metric counters' current values, for tests.
  uint64_t datagrams(std::string_view kind) const;
  uint64_t dropped(std::string_view reason) const;
  uint64_t rxpk(std::string_view kind) const;
  uint64_t tx_acks(std::string_view error) const;
  uint64_t downlinks(std::string_view source) const;
  uint64_t upstream(std::string_view kind) const;

  class Impl;

 private:
  explicit Listener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace roost::gateway
