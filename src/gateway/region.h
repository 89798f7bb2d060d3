// The regional parameters Roost needs to answer in RX1: which frequency and
// data rate a downlink uses for an uplink, per region. Pure, no I/O.
//
// The data rates are the ones the provisioning firmware listens with
// (provisioning.md, "Radio side"), not derived from the uplink's data rate:
//
//   region  uplink               RX1 downlink
//   EU868   SF9BW125             SF9BW125, the uplink's frequency, 14 dBm
//   US915   SF7BW125, 902.3 +    SF7BW500, 923.3 + 0.6 × (ch mod 8) MHz, 20 dBm
//           0.2 × ch (0-63), or
//           903.0 + 1.6 × (ch - 64) (64-71, 500 kHz)
//   CN470   SF9BW125, 470.3 +    SF9BW125, 500.3 + 0.2 × (ch mod 48) MHz, 17 dBm
//           0.2 × ch (0-95)
//
// The uplink channel comes from the uplink's frequency, never from rxpk
// "chan" (the concentrator's own IF chain index). The powers are each region's
// usual default for a gateway: EU868's 14 dBm is the ERP limit of the
// 868.0-868.6 MHz sub-band, US915's 20 dBm stays well under its 30 dBm
// conducted limit with an antenna's gain, CN470's 17 dBm is its maximum EIRP
// in LoRaWAN's regional parameters.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "core/status.h"
#include "gateway/gwmp.h"

namespace roost::gateway {

using config::Region;
using config::RegionName;  // "EU868", "US915", "CN470"

// "EU868", "US915" or "CN470", in any letter case.
Result<Region> ParseRegion(std::string_view text);

// RX1 opens this long after the end of the uplink.
inline constexpr uint32_t kRx1DelayUs = 5'000'000;

int DownlinkPower(Region region);                // dBm
std::string_view UplinkDataRate(Region region);  // what a provisioning device sends with
std::string_view Rx1DataRate(Region region);

// The uplink channel of a frequency in US915 or CN470 (see above); fails for a
// frequency off the region's grid. For EU868 (no fixed plan) it fails too.
Result<int> UplinkChannel(Region region, uint64_t frequency_hz);
// The frequency of uplink channel `channel` (EU868: the three default
// channels 868.1, 868.3, 868.5 MHz, taken modulo 3). For the gateway side.
uint64_t UplinkFrequencyHz(Region region, int channel);

// The RX1 downlink answering `uplink` with `phy_payload`: imme false, tmst =
// uplink tmst + 5 000 000 (wrapping like the gateway's counter), ipol true,
// the region's frequency, data rate, code rate 4/5 and power, on RF chain 0.
// Fails when the uplink's frequency is off the region's uplink grid.
Result<TxPacket> Rx1Downlink(Region region, const RxPacket& uplink, Bytes phy_payload);

}  // namespace roost::gateway
