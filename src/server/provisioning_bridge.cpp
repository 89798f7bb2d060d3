#include "server/provisioning_bridge.h"

#include <boost/asio/post.hpp>
#include <utility>

#include "core/thread_name.h"

namespace roost::server {

ProvisioningBridge::ProvisioningBridge(provisioning::ProvisioningService& service, Options options,
                                       observe::MetricsRegistry* metrics)
    : service_(service), options_(options), pool_(options.threads == 0 ? 1 : options.threads) {
  if (metrics != nullptr) {
    // The service registered this family already; the same name and labels
    // give it back.
    auto family = metrics->AddCounter("roost_provisioning_dropped_total",
                                      "Provisioning uplinks dropped without an answer, by reason",
                                      {"reason"});
    if (family.ok()) overloaded_ = &(*family)->WithLabels({"overloaded"});
  }
}

ProvisioningBridge::~ProvisioningBridge() {
  Stop();
}

gateway::ProprietaryHandler ProvisioningBridge::Handler() {
  return [this](gateway::ProprietaryUplink uplink, gateway::Answer answer) {
    Handle(std::move(uplink), std::move(answer));
  };
}

void ProvisioningBridge::Handle(gateway::ProprietaryUplink uplink, gateway::Answer answer) {
  if (stopped_.load()) {
    answer({});
    return;
  }
  if (queued_.fetch_add(1) >= options_.max_queued) {
    --queued_;
    overloaded_count_.fetch_add(1);
    if (overloaded_ != nullptr) overloaded_->Inc();
    answer({});
    return;
  }
  boost::asio::post(pool_, [this, uplink = std::move(uplink), answer = std::move(answer)] {
    thread_local const bool named = (NameThisThread("provisioning"), true);
    (void)named;
    const gateway::HeardUplink& best = uplink.receptions.front();
    provisioning::Reception reception;
    reception.gateway_eui = best.gateway_eui;
    reception.rssi = static_cast<int>(best.rx.rssi);
    reception.snr = best.rx.lsnr;
    reception.tmst = best.rx.tmst;
    reception.frequency_mhz = best.rx.freq;
    std::optional<Bytes> downlink = service_.HandleUplink(uplink.phy_payload, reception);
    answer(downlink ? std::move(*downlink) : Bytes{});
    --queued_;
  });
}

void ProvisioningBridge::Stop() {
  if (stopped_.exchange(true)) return;
  pool_.join();
}

}  // namespace roost::server
