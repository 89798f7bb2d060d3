#include "simulate/provisioning_run.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "crypto/random.h"
#include "gateway/gwmp.h"
#include "provisioning/frames.h"
#include "simulate/gateway.h"

namespace roost::simulate {
namespace {

using Clock = std::chrono::steady_clock;

struct LiveDevice {
  size_t index = 0;
  std::unique_ptr<SimulatedDevice> device;
  bool active = false;
  bool done = false;
  Clock::time_point attempt_started{};
  Clock::time_point deadline{};
  std::vector<std::optional<gateway::RxPacket>> last_uplink;  // per gateway
};

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

class Simulation {
 public:
  explicit Simulation(const SimulationOptions& options) : options_(options) {}

  Result<SimulationReport> Run() {
    ROOST_RETURN_IF_ERROR(OpenGateways());
    ROOST_RETURN_IF_ERROR(AwaitPullAcks());
    PrepareDevices();
    size_t next = 0;
    size_t active = 0;
    auto next_pull = Clock::now() + options_.pull_interval;
    while (finished_ < devices_.size()) {
      while (active < std::max<size_t>(options_.concurrency, 1) && next < devices_.size()) {
        StartAttempt(devices_[next++]);
        ++active;
      }
      PollOnce();
      const auto now = Clock::now();
      for (LiveDevice& d : devices_) {
        if (!d.active || now < d.deadline) continue;
        DeviceResult& r = report_.devices[d.index];
        if (r.attempts <= options_.retries) {
          StartAttempt(d);
          continue;
        }
        r.outcome = DeviceOutcome::kTimedOut;
        if (r.error.empty()) r.error = "no answer from the server";
        Finish(d);
      }
      active = 0;
      for (const LiveDevice& d : devices_) active += d.active ? 1 : 0;
      if (now >= next_pull) {
        for (auto& g : gateways_) (void)g->SendPull();
        next_pull = now + options_.pull_interval;
      }
    }
    return Summarize();
  }

 private:
  Status OpenGateways() {
    const uint64_t base = 0x00800000A0000000ull | (crypto::RandomBelow(1u << 20) << 8);
    for (size_t g = 0; g < std::max<size_t>(options_.gateways, 1); ++g) {
      auto gw = std::make_unique<SimulatedGateway>(Eui64::FromU64(base + g));
      ROOST_RETURN_IF_ERROR(gw->Connect(options_.server));
      gateways_.push_back(std::move(gw));
    }
    return Status::Ok();
  }

  Status AwaitPullAcks() {
    std::vector<bool> acked(gateways_.size(), false);
    for (auto& g : gateways_) ROOST_RETURN_IF_ERROR(g->SendPull());
    const auto deadline = Clock::now() + options_.timeout;
    auto resend = Clock::now() + std::chrono::milliseconds(500);
    while (std::count(acked.begin(), acked.end(), false) > 0) {
      const auto now = Clock::now();
      if (now >= deadline) {
        return Status::Unavailable("no PULL_ACK from " + options_.server.ToString() + " within " +
                                   std::to_string(options_.timeout.count()) + " ms");
      }
      if (now >= resend) {  // UDP: the first PULL_DATA may have been lost
        for (size_t g = 0; g < gateways_.size(); ++g) {
          if (!acked[g]) (void)gateways_[g]->SendPull();
        }
        resend = now + std::chrono::milliseconds(500);
      }
      Poll(std::chrono::milliseconds(50), [&](size_t g, const gateway::Datagram& d) {
        if (d.type == gateway::PacketType::kPullAck) acked[g] = true;
      });
    }
    return Status::Ok();
  }

  void PrepareDevices() {
    std::map<provisioning::RDevEui, size_t> seen;
    report_.devices.resize(options_.provision_ids.size());
    for (size_t i = 0; i < options_.provision_ids.size(); ++i) {
      provisioning::RDevEui eui;
      do {
        eui = RandomRDevEui();
      } while (seen.contains(eui));
      seen[eui] = i;
      LiveDevice d;
      d.index = i;
      d.device = std::make_unique<SimulatedDevice>(options_.provision_ids[i], eui);
      if (options_.impostors) {
        // Another valid Provision ID: the same with its last character changed.
        std::string proof = options_.provision_ids[i];
        if (!proof.empty()) proof.back() = proof.back() == 'A' ? 'B' : 'A';
        d.device->ProveWith(std::move(proof));
      }
      d.last_uplink.resize(gateways_.size());
      devices_.push_back(std::move(d));
      report_.devices[i].provision_id = options_.provision_ids[i];
      report_.devices[i].rdev_eui = eui;
    }
    by_rdev_eui_ = std::move(seen);
  }

  // The gateway that hears device `d` best, and each gateway's SNR for it.
  double Snr(size_t d, size_t g) const {
    return 8.0 - 3.0 * static_cast<double>((d + g) % gateways_.size());
  }
  size_t BestGateway(size_t d) const {
    return (gateways_.size() - d % gateways_.size()) % gateways_.size();
  }

  void SendUplink(LiveDevice& d, const Bytes& phy) {
    const uint64_t hz = gateway::UplinkFrequencyHz(options_.region, static_cast<int>(d.index % 8));
    const std::string_view datr = gateway::UplinkDataRate(options_.region);
    for (size_t g = 0; g < gateways_.size(); ++g) {
      const double snr = Snr(d.index, g);
      auto rx = gateways_[g]->SendUplink(phy, hz, datr, snr, -50 + 2 * snr);
      if (rx.ok()) {
        d.last_uplink[g] = std::move(*rx);
      } else {
        report_.devices[d.index].error = rx.status().message();
      }
    }
    d.deadline = Clock::now() + options_.timeout;
  }

  void StartAttempt(LiveDevice& d) {
    DeviceResult& r = report_.devices[d.index];
    ++r.attempts;
    d.active = true;
    d.attempt_started = Clock::now();
    std::fill(d.last_uplink.begin(), d.last_uplink.end(), std::nullopt);
    SendUplink(d, d.device->StartHello());
  }

  void Finish(LiveDevice& d) {
    d.active = false;
    d.done = true;
    ++finished_;
  }

  template <typename OnDatagram>
  void Poll(std::chrono::milliseconds wait, OnDatagram on_datagram) {
    std::vector<pollfd> fds;
    for (auto& g : gateways_) fds.push_back(pollfd{g->fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) return;
    for (size_t g = 0; g < fds.size(); ++g) {
      if ((fds[g].revents & (POLLIN | POLLERR)) == 0) continue;
      for (;;) {
        auto d = gateways_[g]->Receive();
        if (!d.ok() || !d->has_value()) break;
        on_datagram(g, **d);
      }
    }
  }

  void PollOnce() {
    Poll(std::chrono::milliseconds(20), [&](size_t g, const gateway::Datagram& d) {
      if (d.type == gateway::PacketType::kPullResp) OnPullResp(g, d);
    });
  }

  void OnPullResp(size_t g, const gateway::Datagram& d) {
    auto tx = gateway::ParseTxPacket(d.body["txpk"]);
    (void)gateways_[g]->SendTxAck(d.token, tx.ok() ? "NONE" : "TX_FREQ");
    if (!tx.ok()) return;
    auto message = provisioning::DecodeFrame(tx->data);
    if (!message.ok()) return;
    auto found = by_rdev_eui_.find(provisioning::RDevEuiOf(*message));
    if (found == by_rdev_eui_.end()) return;
    LiveDevice& live = devices_[found->second];
    DeviceResult& r = report_.devices[live.index];
    if (!live.active) return;
    // Every downlink must come in RX1 of the best gateway's reception.
    if (g != BestGateway(live.index)) {
      ++r.rx1_failures;
      r.error = "answered through gateway " + std::to_string(g) + ", not the best (" +
                std::to_string(BestGateway(live.index)) + ")";
    } else if (!live.last_uplink[g]) {
      ++r.rx1_failures;
      r.error = "a downlink through a gateway that heard no uplink of this attempt";
    } else if (Status rx1 = CheckRx1(options_.region, *live.last_uplink[g], *tx); !rx1.ok()) {
      ++r.rx1_failures;
      r.error = rx1.message();
    }
    auto step = live.device->OnDownlink(tx->data);
    if (!step.ok()) {
      r.error = step.status().message();
      return;
    }
    if (!step->has_value()) return;
    if ((*step)->uplink) {
      SendUplink(live, *(*step)->uplink);
      return;
    }
    if ((*step)->finished) {
      r.exchange_ms = Millis(Clock::now() - live.attempt_started);
      if (live.device->state() == DeviceState::kAccepted) {
        r.outcome = DeviceOutcome::kAccepted;
        r.provisioned = live.device->provisioned();
      } else {
        r.outcome = DeviceOutcome::kRejected;
      }
      Finish(live);
    }
  }

  SimulationReport Summarize() {
    std::vector<double> times;
    for (const DeviceResult& r : report_.devices) {
      switch (r.outcome) {
        case DeviceOutcome::kAccepted:
          ++report_.accepted;
          times.push_back(r.exchange_ms);
          break;
        case DeviceOutcome::kRejected:
          ++report_.rejected;
          times.push_back(r.exchange_ms);
          break;
        case DeviceOutcome::kTimedOut:
          ++report_.timed_out;
          break;
      }
      if (r.rx1_failures > 0) ++report_.rx1_failed;
    }
    report_.p50_ms = Percentile(times, 0.50);
    report_.p99_ms = Percentile(times, 0.99);
    return std::move(report_);
  }

  const SimulationOptions& options_;
  std::vector<std::unique_ptr<SimulatedGateway>> gateways_;
  std::vector<LiveDevice> devices_;
  std::map<provisioning::RDevEui, size_t> by_rdev_eui_;
  SimulationReport report_;
  size_t finished_ = 0;
};

}  // namespace

std::string_view DeviceOutcomeName(DeviceOutcome outcome) {
  switch (outcome) {
    case DeviceOutcome::kAccepted:
      return "accepted";
    case DeviceOutcome::kRejected:
      return "rejected";
    case DeviceOutcome::kTimedOut:
      break;
  }
  return "timed_out";
}

Result<SimulationReport> RunProvisioningSimulation(const SimulationOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

}  // namespace roost::simulate
