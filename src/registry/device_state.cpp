#include "registry/device_state.h"

#include <limits>

namespace roost::registry {
namespace {

constexpr EpochMillis kMax = std::numeric_limits<EpochMillis>::max();

EpochMillis AddClamped(EpochMillis a, EpochMillis b) {
  EpochMillis out = 0;
  if (__builtin_add_overflow(a, b, &out))
    return b > 0 ? kMax : std::numeric_limits<EpochMillis>::min();
  return out;
}

}  // namespace

std::string_view DeviceStateName(DeviceState state) {
  switch (state) {
    case DeviceState::kOk:
      return "OK";
    case DeviceState::kDead:
      return "DEAD";
    case DeviceState::kOffContract:
      return "OFF_CONTRACT";
    case DeviceState::kDisabled:
      return "DISABLED";
    case DeviceState::kWarn:
      return "WARN";
    case DeviceState::kDeleted:
      return "DELETED";
    case DeviceState::kSuspended:
      return "SUSPENDED";
    case DeviceState::kNotActivable:
      return "NOT_ACTIVABLE";
  }
  return "UNKNOWN";
}

TokenState DeriveTokenState(const Device& device, const DeviceType& type, EpochMillis now) {
  TokenState t;
  if (!device.activation_time) {
    t.code = TokenCode::kNotActivated;
    t.detail_message = "Not activated: the token starts with the device's first message";
    return t;
  }
  const EpochMillis activation = *device.activation_time;
  const EpochMillis first_end = AddClamped(activation, kTokenPeriodMs);
  t.start = activation;
  t.end = first_end;
  if (device.state == DeviceState::kOffContract) {
    t.code = TokenCode::kOffContract;
    t.detail_message = "Off contract: the device state is OFF_CONTRACT";
    return t;
  }
  if (now < first_end) {
    t.code = TokenCode::kOk;
    t.detail_message = "Ok";
    return t;
  }
  if (type.automatic_renewal && !device.token_renew_forbidden) {
    // now >= first_end > activation, so the difference is positive and fits.
    const EpochMillis periods = (now - activation) / kTokenPeriodMs;
    t.start = activation + periods * kTokenPeriodMs;
    t.end = AddClamped(*t.start, kTokenPeriodMs);
    t.code = TokenCode::kOk;
    t.detail_message = "Ok (renewed automatically)";
    return t;
  }
  t.code = TokenCode::kOffContract;
  t.detail_message =
      device.token_renew_forbidden
          ? "Off contract: the token ended and its renewal is forbidden for the device"
          : "Off contract: the token ended and the device type does not renew "
            "tokens automatically";
  return t;
}

NetworkState DeriveNetworkState(const Device& device, const DeviceType& type, EpochMillis now) {
  NetworkState n;
  if (device.state != DeviceState::kOk && device.state != DeviceState::kWarn) {
    n.ok = false;
    n.detail_message = "the device state is " + std::string(DeviceStateName(device.state));
    return n;
  }
  if (type.keep_alive <= 0) {
    n.detail_message = "the device type does not watch for silence (keepAlive 0)";
    return n;
  }
  const EpochMillis window =
      type.keep_alive > kMax / 1000 ? kMax : type.keep_alive * EpochMillis{1000};
  const EpochMillis since = device.last ? *device.last : device.creation_time;
  EpochMillis gap = 0;
  if (__builtin_sub_overflow(now, since, &gap)) gap = kMax;
  const bool silent = gap > window;
  if (silent) {
    n.ok = false;
    n.detail_message = device.last ? "no message for more than keepAlive (" +
                                         std::to_string(type.keep_alive) + " s)"
                                   : "no message since registration, for more than keepAlive (" +
                                         std::to_string(type.keep_alive) + " s)";
    return n;
  }
  n.detail_message =
      device.last ? "last message within keepAlive" : "no message yet, registered within keepAlive";
  return n;
}

}  // namespace roost::registry
