#include "gateway/listener.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace roost::gateway {

namespace asio = boost::asio;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// Datagrams read per wake-up before the socket is waited on again, so that one
// busy socket cannot hold the listener's lock for long.
constexpr int kReadBatch = 64;
// Receptions of one uplink kept for its handler (a few gateways in practice).
constexpr size_t kMaxReceptions = 32;
// Tokens of downlinks awaiting their TX_ACK, per gateway and direction.
constexpr size_t kMaxTokens = 256;
constexpr auto kTokenLifetime = std::chrono::seconds(30);
// An answer is useless once the gateway can no longer schedule it in RX1.
constexpr auto kAnswerDeadline = std::chrono::milliseconds(kRx1DelayUs / 1000 - 100);
constexpr auto kSweepPeriod = std::chrono::seconds(1);
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

const std::array<std::string_view, 8> kTxAckErrors = {
    "NONE",    "TOO_LATE", "TOO_EARLY",   "COLLISION_PACKET", "COLLISION_BEACON",
    "TX_FREQ", "TX_POWER", "GPS_UNLOCKED"};

bool IsProprietary(const Bytes& phy) {
  return !phy.empty() && (phy[0] & 0xE0) == 0xE0;
}

std::string AddressText(const udp::endpoint& ep) {
  boost::system::error_code ec;
  const std::string host = ep.address().to_string(ec);
  if (ep.address().is_v6()) return "[" + host + "]:" + std::to_string(ep.port());
  return host + ":" + std::to_string(ep.port());
}

Result<udp::endpoint> Resolve(asio::io_context& io, const config::HostPort& hp, bool passive) {
  boost::system::error_code ec;
  udp::resolver resolver(io);
  const auto flags = passive ? udp::resolver::passive : udp::resolver::flags();
  auto results = resolver.resolve(hp.host, std::to_string(hp.port), flags, ec);
  if (ec || results.empty()) {
    return Status::InvalidInput("cannot resolve " + hp.ToString() + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

template <typename Map>
void RememberToken(Map& tokens, uint16_t token, Clock::time_point now) {
  if (tokens.size() >= kMaxTokens && !tokens.contains(token)) {
    auto oldest = std::min_element(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    });
    tokens.erase(oldest);
  }
  tokens[token] = now;
}

}  // namespace

class Listener::Impl : public std::enable_shared_from_this<Listener::Impl> {
 public:
  Impl(asio::io_context& io, ListenerOptions options, ProprietaryHandler handler,
       observe::MetricsRegistry* metrics, observe::Logger* log)
      : io_(io),
        options_(std::move(options)),
        handler_(std::move(handler)),
        log_(log),
        socket_(io),
        sweep_(io),
        random_(std::random_device{}()) {
    if (!metrics) {
      own_metrics_ = std::make_unique<observe::MetricsRegistry>();
      metrics = own_metrics_.get();
    }
    datagrams_ = metrics
                     ->AddCounter("roost_gwmp_datagrams_total",
                                  "GWMP datagrams received from gateways, by packet type", {"kind"})
                     .value();
    dropped_ =
        metrics
            ->AddCounter("roost_gwmp_dropped_total",
                         "GWMP datagrams, packets and answers dropped, by reason", {"reason"})
            .value();
    rxpk_ =
        metrics
            ->AddCounter("roost_gwmp_rxpk_total",
                         "Received packets: proprietary, duplicate, handled, forwarded", {"kind"})
            .value();
    tx_acks_ = metrics
                   ->AddCounter("roost_gwmp_tx_ack_total",
                                "TX_ACKs for Roost's own downlinks, by error", {"error"})
                   .value();
    downlinks_ = metrics
                     ->AddCounter("roost_gwmp_downlinks_total",
                                  "PULL_RESPs sent to gateways, by source", {"source"})
                     .value();
    upstream_ =
        metrics
            ->AddCounter("roost_gwmp_upstream_total",
                         "GWMP datagrams received from the upstream network server", {"kind"})
            .value();
    gateways_gauge_ =
        &metrics->AddGauge("roost_gwmp_gateways", "Gateways known to the GWMP listener")
             .value()
             ->Get();
  }

  Status Open() {
    auto listen = Resolve(io_, options_.listen, /*passive=*/true);
    if (!listen.ok()) return listen.status();
    if (options_.lns_upstream) {
      auto up = Resolve(io_, *options_.lns_upstream, /*passive=*/false);
      if (!up.ok()) return up.status().WithPrefix("lns upstream");
      upstream_endpoint_ = *up;
    }
    boost::system::error_code ec;
    socket_.open(listen->protocol(), ec);
    if (!ec) socket_.set_option(udp::socket::reuse_address(true), ec);
    if (!ec) socket_.bind(*listen, ec);
    if (!ec) {
      // Room for bursts (and floods) while the loop is busy: the kernel caps
      // this at net.core.rmem_max, and a smaller buffer is no error.
      boost::system::error_code ignored;
      socket_.set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ignored);
    }
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      return Status::IoError("gwmp listen " + options_.listen.ToString() + ": " + ec.message());
    }
    port_ = socket_.local_endpoint(ec).port();
    std::lock_guard lock(mu_);
    WaitMain();
    ScheduleSweep();
    return Status::Ok();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    sweep_.cancel();
    for (auto& [eui, gw] : gateways_) {
      if (gw.upstream.socket) gw.upstream.socket->close(ec);
    }
    for (auto& [payload, pending] : pending_) pending.timer->cancel();
  }

  uint64_t Value(observe::CounterFamily* family, std::string_view label) const {
    return family->WithLabels({label}).Value();
  }

  observe::CounterFamily* datagrams_;
  observe::CounterFamily* dropped_;
  observe::CounterFamily* rxpk_;
  observe::CounterFamily* tx_acks_;
  observe::CounterFamily* downlinks_;
  observe::CounterFamily* upstream_;

 private:
  struct UpstreamLink {
    std::unique_ptr<udp::socket> socket;
    uint64_t generation = 0;
    std::list<Eui64>::iterator recent;  // its place in upstream_recent_, while it has a socket
  };
  struct Gateway {
    std::optional<udp::endpoint> pull_address;
    Clock::time_point last_pull{};
    Clock::time_point last_seen{};
    UpstreamLink upstream;
    std::map<uint16_t, Clock::time_point> own_tokens;      // our PULL_RESPs
    std::map<uint16_t, Clock::time_point> relayed_tokens;  // the upstream's PULL_RESPs
  };
  struct Pending {
    std::vector<HeardUplink> receptions;
    std::unique_ptr<asio::steady_timer> timer;
    Clock::time_point first_heard{};
    bool dispatched = false;
  };

  // --- receiving ------------------------------------------------------------

  void WaitMain() {
    socket_.async_wait(udp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         self->OnMainReadable(ec);
                       });
  }

  void OnMainReadable(const boost::system::error_code& wait_error) {
    std::lock_guard lock(mu_);
    if (stopped_ || wait_error == asio::error::operation_aborted) return;
    for (int i = 0; i < kReadBatch; ++i) {
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t n = socket_.receive_from(asio::buffer(buffer_), from, 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) continue;  // e.g. an ICMP error reported on the socket: nothing to read
      OnGatewayDatagram(std::span<const uint8_t>(buffer_.data(), n), from);
    }
    WaitMain();
  }

  void Drop(std::string_view reason, const udp::endpoint& from) {
    dropped_->WithLabels({reason}).Inc();
    if (log_ && log_->Enabled(observe::Logger::Level::kDebug)) {
      log_->Log(observe::Logger::Level::kDebug, "gwmp dropped",
                {{"reason", reason}, {"from", AddressText(from)}});
    }
  }

  void OnGatewayDatagram(std::span<const uint8_t> bytes, const udp::endpoint& from) {
    DatagramError why = DatagramError::kNone;
    auto parsed = ParseDatagram(bytes, &why);
    if (!parsed.ok()) {
      Drop(DatagramErrorName(why), from);
      return;
    }
    Datagram& d = *parsed;
    datagrams_->WithLabels({PacketTypeName(d.type)}).Inc();
    const auto now = Clock::now();
    switch (d.type) {
      case PacketType::kPushData:
        Send(from, BuildPushAck(d.token));
        OnPushData(d, bytes, from, now);
        return;
      case PacketType::kPullData:
        Send(from, BuildPullAck(d.token));
        OnPullData(d, bytes, from, now);
        return;
      case PacketType::kTxAck:
        OnTxAck(d, bytes, from, now);
        return;
      default:
        Drop("unexpected_type", from);
        return;
    }
  }

  void OnPushData(const Datagram& d, std::span<const uint8_t> bytes, const udp::endpoint& from,
                  Clock::time_point now) {
    auto list = ParseRxPackets(d.body);
    if (!list.ok()) {
      Drop("bad_rxpk", from);
      return;
    }
    for (size_t i = 0; i < list->skipped; ++i) Drop("bad_rxpk", from);
    std::vector<const RxPacket*> others;
    bool any_proprietary = false;
    for (RxPacket& rx : list->packets) {
      if (!IsProprietary(rx.data)) {
        others.push_back(&rx);
        continue;
      }
      any_proprietary = true;
      rxpk_->WithLabels({"proprietary"}).Inc();
      if (rx.stat == -1) {
        Drop("crc_error", from);
        continue;
      }
      OnProprietary(*d.gateway_eui, std::move(rx), now, from);
    }
    const bool has_stat = d.body.contains("stat");
    if (others.empty() && !has_stat && list->skipped == 0) return;
    if (!upstream_endpoint_) {
      for (size_t i = 0; i < others.size(); ++i) Drop("no_upstream", from);
      return;
    }
    Gateway* gw = Touch(*d.gateway_eui, now, from);
    if (!gw) {
      for (size_t i = 0; i < others.size(); ++i) Drop("gateway_table_full", from);
      return;
    }
    rxpk_->WithLabels({"forwarded"}).Inc(others.size());
    if (!any_proprietary) {
      // Nothing of ours in it: the upstream gets the datagram exactly as sent.
      SendUpstream(*d.gateway_eui, *gw, Bytes(bytes.begin(), bytes.end()));
      return;
    }
    if (others.empty() && !has_stat) return;
    json body = json::object();
    if (!others.empty()) {
      json rxpk = json::array();
      for (const RxPacket* rx : others) rxpk.push_back(rx->raw);
      body["rxpk"] = std::move(rxpk);
    }
    if (has_stat) body["stat"] = d.body["stat"];
    SendUpstream(*d.gateway_eui, *gw, BuildPushData(d.token, *d.gateway_eui, body));
  }

  void OnPullData(const Datagram& d, std::span<const uint8_t> bytes, const udp::endpoint& from,
                  Clock::time_point now) {
    Gateway* gw = Touch(*d.gateway_eui, now, from);
    if (!gw) {
      Drop("gateway_table_full", from);
      return;
    }
    gw->pull_address = from;
    gw->last_pull = now;
    // Forwarded too: the upstream learns (through this gateway's socket) where
    // its downlinks go, and that the gateway is alive.
    if (upstream_endpoint_) SendUpstream(*d.gateway_eui, *gw, Bytes(bytes.begin(), bytes.end()));
  }

  void OnTxAck(const Datagram& d, std::span<const uint8_t> bytes, const udp::endpoint& from,
               Clock::time_point now) {
    auto it = gateways_.find(*d.gateway_eui);
    if (it != gateways_.end()) {
      Gateway& gw = it->second;
      gw.last_seen = now;
      if (gw.own_tokens.erase(d.token) > 0) {
        const std::string error = TxAckError(d.body);
        const bool known =
            std::find(kTxAckErrors.begin(), kTxAckErrors.end(), error) != kTxAckErrors.end();
        tx_acks_->WithLabels({known ? std::string_view(error) : "other"}).Inc();
        return;
      }
      if (gw.relayed_tokens.erase(d.token) > 0 || gw.upstream.socket) {
        // The upstream's downlink (or one whose token we no longer remember).
        SendUpstream(*d.gateway_eui, gw, Bytes(bytes.begin(), bytes.end()));
        return;
      }
    }
    Drop("tx_ack_unknown_token", from);
  }

  // --- provisioning uplinks -------------------------------------------------

  void OnProprietary(const Eui64& gateway, RxPacket rx, Clock::time_point now,
                     const udp::endpoint& from) {
    auto it = pending_.find(rx.data);
    if (it != pending_.end()) {
      rxpk_->WithLabels({"duplicate"}).Inc();
      Pending& p = it->second;
      if (!p.dispatched && p.receptions.size() < kMaxReceptions) {
        p.receptions.push_back(HeardUplink{gateway, std::move(rx)});
      }
      return;
    }
    if (pending_.size() >= options_.max_pending_uplinks) {
      Drop("pending_table_full", from);
      return;
    }
    Bytes key = rx.data;
    Pending& p = pending_[key];
    p.first_heard = now;
    p.receptions.push_back(HeardUplink{gateway, std::move(rx)});
    p.timer = std::make_unique<asio::steady_timer>(io_, options_.dedup_window);
    p.timer->async_wait([self = shared_from_this(), key](const boost::system::error_code& ec) {
      if (!ec) self->Dispatch(key);
    });
  }

  void Dispatch(const Bytes& key) {
    ProprietaryUplink uplink;
    Clock::time_point first_heard;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      auto it = pending_.find(key);
      if (it == pending_.end() || it->second.dispatched) return;
      Pending& p = it->second;
      p.dispatched = true;
      first_heard = p.first_heard;
      const auto now = Clock::now();
      for (HeardUplink& h : p.receptions) {
        if (PullAddress(h.gateway_eui, now)) {
          uplink.receptions.push_back(std::move(h));
        } else {
          dropped_->WithLabels({"not_pulled"}).Inc();
        }
      }
      p.receptions.clear();
      // Late copies of this uplink keep finding the entry for one more window.
      p.timer->expires_after(options_.dedup_window);
      p.timer->async_wait([self = shared_from_this(), key](const boost::system::error_code& ec) {
        if (ec) return;
        std::lock_guard relock(self->mu_);
        if (!self->stopped_) self->pending_.erase(key);
      });
      if (uplink.receptions.empty()) {
        dropped_->WithLabels({"no_downlink_path"}).Inc();
        return;
      }
      rxpk_->WithLabels({"handled"}).Inc();
    }
    std::stable_sort(
        uplink.receptions.begin(), uplink.receptions.end(),
        [](const HeardUplink& a, const HeardUplink& b) { return a.rx.lsnr > b.rx.lsnr; });
    uplink.phy_payload = key;
    auto receptions = std::make_shared<std::vector<HeardUplink>>(uplink.receptions);
    auto used = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<Impl> weak = shared_from_this();
    Answer answer = [weak, receptions, used, first_heard](Bytes downlink) {
      if (used->exchange(true)) return;
      if (auto self = weak.lock()) self->SendAnswer(*receptions, first_heard, std::move(downlink));
    };
    handler_(std::move(uplink), std::move(answer));
  }

  void SendAnswer(const std::vector<HeardUplink>& receptions, Clock::time_point first_heard,
                  Bytes downlink) {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (downlink.empty()) return;
    const auto now = Clock::now();
    if (now - first_heard > kAnswerDeadline) {
      dropped_->WithLabels({"answer_late"}).Inc();
      return;
    }
    for (const HeardUplink& h : receptions) {
      const udp::endpoint* to = PullAddress(h.gateway_eui, now);
      if (!to) continue;
      auto tx = Rx1Downlink(options_.region, h.rx, downlink);
      if (!tx.ok()) {
        dropped_->WithLabels({"rx1_off_plan"}).Inc();
        continue;
      }
      Gateway& gw = gateways_.at(h.gateway_eui);
      uint16_t token = 0;
      do {
        token = static_cast<uint16_t>(random_());
      } while (gw.relayed_tokens.contains(token));
      RememberToken(gw.own_tokens, token, now);
      downlinks_->WithLabels({"provisioning"}).Inc();
      Send(*to, BuildPullResp(token, *tx));
      return;
    }
    dropped_->WithLabels({"answer_no_gateway"}).Inc();
  }

  // --- the upstream ---------------------------------------------------------

  void SendUpstream(const Eui64& eui, Gateway& gw, Bytes datagram) {
    if (gw.upstream.socket) {
      upstream_recent_.splice(upstream_recent_.begin(), upstream_recent_, gw.upstream.recent);
    } else {
      // At the limit, the gateway relayed least recently gives up its socket
      // (and gets a new one when it is relayed again): a gateway that pulls
      // every few seconds keeps one, however many made-up EUIs come and go.
      if (upstream_recent_.size() >= options_.max_upstream_sockets) {
        if (upstream_recent_.empty()) return;  // a limit of 0: no relaying
        auto oldest = gateways_.find(upstream_recent_.back());
        if (oldest != gateways_.end()) CloseUpstream(oldest->second);
        dropped_->WithLabels({"upstream_socket_evicted"}).Inc();
      }
      auto socket = std::make_unique<udp::socket>(io_);
      boost::system::error_code ec;
      socket->open(upstream_endpoint_->protocol(), ec);
      if (!ec) socket->connect(*upstream_endpoint_, ec);
      if (!ec) socket->non_blocking(true, ec);
      if (ec) {
        dropped_->WithLabels({"upstream_socket"}).Inc();
        return;
      }
      gw.upstream.socket = std::move(socket);
      upstream_recent_.push_front(eui);
      gw.upstream.recent = upstream_recent_.begin();
      gw.upstream.generation = ++generation_;
      WaitUpstream(eui, gw.upstream);
    }
    auto data = std::make_shared<Bytes>(std::move(datagram));
    gw.upstream.socket->async_send(
        asio::buffer(*data),
        [data, self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (ec && ec != asio::error::operation_aborted) {
            self->dropped_->WithLabels({"upstream_send"}).Inc();
          }
        });
  }

  // Closes the gateway's upstream socket, if it has one (its wait ends aborted).
  void CloseUpstream(Gateway& gw) {
    if (!gw.upstream.socket) return;
    boost::system::error_code ec;
    gw.upstream.socket->close(ec);
    gw.upstream.socket.reset();
    ++gw.upstream.generation;  // a wait already completed is not for this socket
    upstream_recent_.erase(gw.upstream.recent);
  }

  void WaitUpstream(const Eui64& eui, UpstreamLink& link) {
    link.socket->async_wait(udp::socket::wait_read,
                            [self = shared_from_this(), eui,
                             generation = link.generation](const boost::system::error_code& ec) {
                              self->OnUpstreamReadable(eui, generation, ec);
                            });
  }

  void OnUpstreamReadable(const Eui64& eui, uint64_t generation,
                          const boost::system::error_code& wait_error) {
    std::lock_guard lock(mu_);
    if (stopped_ || wait_error == asio::error::operation_aborted) return;
    auto it = gateways_.find(eui);
    if (it == gateways_.end() || it->second.upstream.generation != generation) return;
    Gateway& gw = it->second;
    for (int i = 0; i < kReadBatch; ++i) {
      boost::system::error_code ec;
      const size_t n = gw.upstream.socket->receive(asio::buffer(buffer_), 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) continue;  // connection refused: the upstream is down, keep trying
      OnUpstreamDatagram(eui, gw, std::span<const uint8_t>(buffer_.data(), n));
    }
    WaitUpstream(eui, gw.upstream);
  }

  void OnUpstreamDatagram(const Eui64& eui, Gateway& gw, std::span<const uint8_t> bytes) {
    DatagramError why = DatagramError::kNone;
    auto parsed = ParseDatagram(bytes, &why);
    if (!parsed.ok()) {
      upstream_->WithLabels({"garbage"}).Inc();
      return;
    }
    upstream_->WithLabels({PacketTypeName(parsed->type)}).Inc();
    if (parsed->type != PacketType::kPullResp) return;  // acks end here
    const auto now = Clock::now();
    const udp::endpoint* to = PullAddress(eui, now);
    if (!to) {
      dropped_->WithLabels({"relay_not_pulled"}).Inc();
      return;
    }
    RememberToken(gw.relayed_tokens, parsed->token, now);
    gw.own_tokens.erase(parsed->token);  // its TX_ACK is the upstream's from now on
    downlinks_->WithLabels({"relayed"}).Inc();
    Send(*to, Bytes(bytes.begin(), bytes.end()));
  }

  // --- tables ---------------------------------------------------------------

  // The gateway's entry, created if there is room; nullptr if the table is full.
  Gateway* Touch(const Eui64& eui, Clock::time_point now, const udp::endpoint& from) {
    auto it = gateways_.find(eui);
    if (it == gateways_.end()) {
      if (gateways_.size() >= options_.max_gateways) {
        Sweep(now);
        if (gateways_.size() >= options_.max_gateways) return nullptr;
      }
      it = gateways_.emplace(eui, Gateway{}).first;
      gateways_gauge_->Set(static_cast<double>(gateways_.size()));
      if (log_ && log_->Enabled(observe::Logger::Level::kDebug)) {
        log_->Log(observe::Logger::Level::kDebug, "gwmp gateway",
                  {{"gateway", eui.ToString()}, {"from", AddressText(from)}});
      }
    }
    it->second.last_seen = now;
    return &it->second;
  }

  const udp::endpoint* PullAddress(const Eui64& eui, Clock::time_point now) const {
    auto it = gateways_.find(eui);
    if (it == gateways_.end() || !it->second.pull_address) return nullptr;
    if (now - it->second.last_pull > options_.pull_expiry) return nullptr;
    return &*it->second.pull_address;
  }

  void Sweep(Clock::time_point now) {
    for (auto it = gateways_.begin(); it != gateways_.end();) {
      Gateway& gw = it->second;
      if (now - gw.last_seen > options_.pull_expiry) {
        CloseUpstream(gw);
        it = gateways_.erase(it);
        continue;
      }
      std::erase_if(gw.own_tokens, [&](const auto& t) { return now - t.second > kTokenLifetime; });
      std::erase_if(gw.relayed_tokens,
                    [&](const auto& t) { return now - t.second > kTokenLifetime; });
      ++it;
    }
    gateways_gauge_->Set(static_cast<double>(gateways_.size()));
  }

  void ScheduleSweep() {
    sweep_.expires_after(kSweepPeriod);
    sweep_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      std::lock_guard lock(self->mu_);
      if (self->stopped_) return;
      self->Sweep(Clock::now());
      self->ScheduleSweep();
    });
  }

  void Send(const udp::endpoint& to, Bytes datagram) {
    auto data = std::make_shared<Bytes>(std::move(datagram));
    socket_.async_send_to(
        asio::buffer(*data), to,
        [data, self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (ec && ec != asio::error::operation_aborted) {
            self->dropped_->WithLabels({"send_error"}).Inc();
          }
        });
  }

  asio::io_context& io_;
  const ListenerOptions options_;
  const ProprietaryHandler handler_;
  observe::Logger* log_;
  std::unique_ptr<observe::MetricsRegistry> own_metrics_;
  observe::Gauge* gateways_gauge_;
  std::optional<udp::endpoint> upstream_endpoint_;
  // The gateways with an upstream socket, most recently relayed first.
  std::list<Eui64> upstream_recent_;
  uint16_t port_ = 0;

  // Every socket operation and every table below happens under mu_, so the
  // listener is safe on an io_context run by several threads.
  std::mutex mu_;
  bool stopped_ = false;
  udp::socket socket_;
  asio::steady_timer sweep_;
  std::array<uint8_t, 65536> buffer_{};
  std::map<Eui64, Gateway> gateways_;
  std::map<Bytes, Pending> pending_;
  uint64_t generation_ = 0;
  std::mt19937 random_;
};

Result<std::unique_ptr<Listener>> Listener::Start(asio::io_context& io, ListenerOptions options,
                                                  ProprietaryHandler handler,
                                                  observe::MetricsRegistry* metrics,
                                                  observe::Logger* log) {
  if (!handler) return Status::InvalidInput("gwmp listener: no handler of proprietary uplinks");
  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(handler), metrics, log);
  ROOST_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Listener>(new Listener(std::move(impl)));
}

Listener::Listener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Listener::~Listener() {
  Stop();
}
uint16_t Listener::port() const {
  return impl_->port();
}
void Listener::Stop() {
  impl_->Stop();
}

uint64_t Listener::datagrams(std::string_view kind) const {
  return impl_->Value(impl_->datagrams_, kind);
}
uint64_t Listener::dropped(std::string_view reason) const {
  return impl_->Value(impl_->dropped_, reason);
}
uint64_t Listener::rxpk(std::string_view kind) const {
  return impl_->Value(impl_->rxpk_, kind);
}
uint64_t Listener::tx_acks(std::string_view error) const {
  return impl_->Value(impl_->tx_acks_, error);
}
uint64_t Listener::downlinks(std::string_view source) const {
  return impl_->Value(impl_->downlinks_, source);
}
uint64_t Listener::upstream(std::string_view kind) const {
  return impl_->Value(impl_->upstream_, kind);
}

}  // namespace roost::gateway
