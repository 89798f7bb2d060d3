#include "simulate/gateway.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "crypto/random.h"

namespace roost::simulate {

SimulatedGateway::SimulatedGateway(const Eui64& eui)
    : eui_(eui),
      next_token_(static_cast<uint16_t>(crypto::RandomBelow(65536))),
      tmst_start_(static_cast<uint32_t>(crypto::RandomBelow(uint64_t{1} << 32))),
      started_(std::chrono::steady_clock::now()) {}

SimulatedGateway::~SimulatedGateway() {
  if (fd_ >= 0) ::close(fd_);
}

Status SimulatedGateway::Connect(const config::HostPort& server) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(server.port);
  if (int rc = ::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::InvalidInput("cannot resolve " + server.ToString() + ": " + gai_strerror(rc));
  }
  Status status = Status::IoError("no address of " + server.ToString() + " could be used");
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // One simulator thread makes every device's key pairs while the server's
    // acknowledgements and downlinks for hundreds of exchanges arrive; with the
    // default buffer (~200 KiB, a few hundred datagrams) the kernel dropped
    // them and devices timed out. The kernel caps this at net.core.rmem_max,
    // and a smaller buffer is no error.
    const int buffer = kReceiveBufferBytes;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      status = Status::Ok();
      break;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return status;
}

uint32_t SimulatedGateway::Tmst() const {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
  return tmst_start_ + static_cast<uint32_t>(us);
}

Status SimulatedGateway::Send(const Bytes& datagram) {
  if (::send(fd_, datagram.data(), datagram.size(), 0) < 0) {
    return Status::IoError(std::string("gateway send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status SimulatedGateway::SendPull() {
  return Send(gateway::BuildPullData(next_token_++, eui_));
}

Result<gateway::RxPacket> SimulatedGateway::SendUplink(const Bytes& phy_payload,
                                                       uint64_t frequency_hz, std::string_view datr,
                                                       double snr, double rssi) {
  gateway::RxPacket rx;
  rx.tmst = Tmst();
  rx.freq = static_cast<double>(frequency_hz) / 1e6;
  rx.chan = 0;
  rx.rfch = 0;
  rx.stat = 1;
  rx.modu = "LORA";
  rx.datr = std::string(datr);
  rx.codr = "4/5";
  rx.rssi = rssi;
  rx.lsnr = snr;
  rx.data = phy_payload;
  const nlohmann::json body = {{"rxpk", nlohmann::json::array({gateway::RxPacketJson(rx)})}};
  ROOST_RETURN_IF_ERROR(Send(gateway::BuildPushData(next_token_++, eui_, body)));
  return rx;
}

Status SimulatedGateway::SendTxAck(uint16_t token, std::string_view error) {
  return Send(gateway::BuildTxAck(token, eui_, error));
}

Result<std::optional<gateway::Datagram>> SimulatedGateway::Receive() {
  std::array<uint8_t, 65536> buf;
  const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED || errno == EINTR) {
      return std::optional<gateway::Datagram>();
    }
    return Status::IoError(std::string("gateway receive: ") + std::strerror(errno));
  }
  auto datagram =
      gateway::ParseDatagram(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  if (!datagram.ok()) return datagram.status().WithPrefix("from the server");
  return std::optional<gateway::Datagram>(std::move(*datagram));
}

Status CheckRx1(gateway::Region region, const gateway::RxPacket& uplink,
                const gateway::TxPacket& downlink) {
  auto want = gateway::Rx1Downlink(region, uplink, downlink.data);
  if (!want.ok()) return want.status();
  if (downlink.imme) return Status::InvalidInput("RX1: imme is true");
  if (downlink.tmst != want->tmst) {
    return Status::InvalidInput("RX1: tmst " + std::to_string(downlink.tmst) + ", expected " +
                                std::to_string(want->tmst));
  }
  if (!downlink.ipol) return Status::InvalidInput("RX1: ipol is false");
  if (downlink.datr != want->datr) {
    return Status::InvalidInput("RX1: datr " + downlink.datr + ", expected " + want->datr);
  }
  if (std::llround(downlink.freq * 1e6) != std::llround(want->freq * 1e6)) {
    return Status::InvalidInput("RX1: freq " + std::to_string(downlink.freq) + ", expected " +
                                std::to_string(want->freq));
  }
  return Status::Ok();
}

}  // namespace roost::simulate
