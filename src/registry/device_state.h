// What GET /api/devices/{id}/token-state and /networkstate answer, derived from a
// device and its device type at a given time. Pure: no I/O.
//
// Roost has no contracts: a device's "token" (its right to use the network, in
// Sigfox terms) is a period of kTokenPeriodMs starting at its activation time
// (its first message). docs/api.md "Device state" describes the derivation.
#pragma once

#include <optional>
#include <string>

#include "model/device.h"
#include "model/device_type.h"

namespace roost::registry {

// One token period: 365 days.
inline constexpr EpochMillis kTokenPeriodMs = EpochMillis{365} * 24 * 3600 * 1000;

// The Sigfox API v1 token-state codes, plus 2 for a device that has not sent yet.
enum class TokenCode : int32_t { kOk = 0, kOffContract = 1, kNotActivated = 2 };

struct TokenState {
  TokenCode code = TokenCode::kNotActivated;
  std::string detail_message;
  std::optional<EpochMillis> start;  // the current (or last) token's start
  std::optional<EpochMillis> end;    // ... and end (exclusive)
  bool operator==(const TokenState&) const = default;
};

// - No activation time: kNotActivated (the token starts with the first message).
// - Device state OFF_CONTRACT: kOffContract.
// - now < activation + period: kOk, the first token.
// - later, with the type's automaticRenewal on and the device's
//   tokenRenewForbidden off: kOk, the period containing `now`
//   (activation + k·period ≤ now < activation + (k+1)·period).
// - otherwise: kOffContract, with the first token's times (it ended).
TokenState DeriveTokenState(const Device& device, const DeviceType& type, EpochMillis now);

struct NetworkState {
  bool ok = true;              // "networkStatus": "OK" / "NOK"
  std::string detail_message;  // why
  bool operator==(const NetworkState&) const = default;
};

// NOK when the device state is anything but OK or WARN (dead, off contract,
// disabled, deleted, suspended, not activable), or when the type watches
// (keepAlive > 0 seconds) and more than keepAlive seconds have passed since the
// last message (or since registration, for a device that never sent one).
// Exactly keepAlive seconds of silence is still OK.
NetworkState DeriveNetworkState(const Device& device, const DeviceType& type, EpochMillis now);

// "OK", "DEAD", "OFF_CONTRACT", "DISABLED", "WARN", "DELETED", "SUSPENDED",
// "NOT_ACTIVABLE".
std::string_view DeviceStateName(DeviceState state);

}  // namespace roost::registry
