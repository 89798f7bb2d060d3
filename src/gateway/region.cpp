#include "gateway/region.h"

#include <string>

#include "core/text.h"

namespace roost::gateway {
namespace {

constexpr uint64_t kUs915Base125 = 902'300'000;
constexpr uint64_t kUs915Base500 = 903'000'000;
constexpr uint64_t kUs915Rx1Base = 923'300'000;
constexpr uint64_t kCn470Base = 470'300'000;
constexpr uint64_t kCn470Rx1Base = 500'300'000;
constexpr uint64_t kStep200k = 200'000;
constexpr uint64_t kStep600k = 600'000;
constexpr uint64_t kStep1600k = 1'600'000;

// The channel index n of `hz` = base + n × step for n < count, or -1.
int OnGrid(uint64_t hz, uint64_t base, uint64_t step, int count) {
  if (hz < base || (hz - base) % step != 0) return -1;
  const uint64_t n = (hz - base) / step;
  return n < static_cast<uint64_t>(count) ? static_cast<int>(n) : -1;
}

std::string Mhz(uint64_t hz) {
  std::string s =
      std::to_string(hz / 1'000'000) + "." + std::to_string(hz % 1'000'000 + 1'000'000).substr(1);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<Region> ParseRegion(std::string_view text) {
  for (Region r : {Region::kEU868, Region::kUS915, Region::kCN470}) {
    if (EqualsIgnoreCase(text, RegionName(r))) return r;
  }
  return Status::InvalidInput("unknown region \"" + std::string(text) +
                              "\" (expected EU868, US915 or CN470)");
}

int DownlinkPower(Region region) {
  switch (region) {
    case Region::kUS915:
      return 20;
    case Region::kCN470:
      return 17;
    case Region::kEU868:
      break;
  }
  return 14;
}

std::string_view UplinkDataRate(Region region) {
  return region == Region::kUS915 ? "SF7BW125" : "SF9BW125";
}

std::string_view Rx1DataRate(Region region) {
  return region == Region::kUS915 ? "SF7BW500" : "SF9BW125";
}

Result<int> UplinkChannel(Region region, uint64_t frequency_hz) {
  int ch = -1;
  switch (region) {
    case Region::kUS915:
      ch = OnGrid(frequency_hz, kUs915Base125, kStep200k, 64);
      if (ch < 0) {
        ch = OnGrid(frequency_hz, kUs915Base500, kStep1600k, 8);
        if (ch >= 0) ch += 64;
      }
      break;
    case Region::kCN470:
      ch = OnGrid(frequency_hz, kCn470Base, kStep200k, 96);
      break;
    case Region::kEU868:
      return Status::InvalidInput("EU868 has no fixed uplink channel plan");
  }
  if (ch < 0) {
    return Status::InvalidInput(Mhz(frequency_hz) + " MHz is not a " +
                                std::string(RegionName(region)) + " uplink channel");
  }
  return ch;
}

uint64_t UplinkFrequencyHz(Region region, int channel) {
  const auto ch = static_cast<uint64_t>(channel < 0 ? 0 : channel);
  switch (region) {
    case Region::kUS915:
      return ch < 64 ? kUs915Base125 + kStep200k * ch
                     : kUs915Base500 + kStep1600k * ((ch - 64) % 8);
    case Region::kCN470:
      return kCn470Base + kStep200k * (ch % 96);
    case Region::kEU868:
      break;
  }
  return 868'100'000 + kStep200k * (ch % 3);
}

Result<TxPacket> Rx1Downlink(Region region, const RxPacket& uplink, Bytes phy_payload) {
  uint64_t hz = uplink.FrequencyHz();
  if (region != Region::kEU868) {
    auto ch = UplinkChannel(region, hz);
    if (!ch.ok()) return ch.status();
    hz = region == Region::kUS915 ? kUs915Rx1Base + kStep600k * static_cast<uint64_t>(*ch % 8)
                                  : kCn470Rx1Base + kStep200k * static_cast<uint64_t>(*ch % 48);
  }
  TxPacket tx;
  tx.imme = false;
  tx.tmst = uplink.tmst + kRx1DelayUs;  // uint32_t: wraps as the gateway's counter does
  tx.freq = static_cast<double>(hz) / 1e6;
  tx.rfch = 0;
  tx.powe = DownlinkPower(region);
  tx.modu = "LORA";
  tx.datr = std::string(Rx1DataRate(region));
  tx.codr = "4/5";
  tx.ipol = true;
  tx.data = std::move(phy_payload);
  return tx;
}

}  // namespace roost::gateway
