#include "registry/device_state.h"

#include <gtest/gtest.h>

#include <limits>

namespace roost::registry {
namespace {

constexpr EpochMillis kT0 = 1700000000000;  // activation
constexpr EpochMillis kDay = 24 * 3600 * 1000;

Device Activated(std::optional<EpochMillis> activation = kT0) {
  Device d;
  d.id = SigfoxId{0x2C};
  d.activation_time = activation;
  d.creation_time = kT0 - kDay;
  return d;
}

DeviceType Type(bool automatic_renewal, int64_t keep_alive = 0) {
  DeviceType t;
  t.automatic_renewal = automatic_renewal;
  t.keep_alive = keep_alive;
  return t;
}

TEST(TokenState, NotActivatedBeforeTheFirstMessage) {
  TokenState t = DeriveTokenState(Activated(std::nullopt), Type(true), kT0);
  EXPECT_EQ(t.code, TokenCode::kNotActivated);
  EXPECT_FALSE(t.start);
  EXPECT_FALSE(t.end);
  EXPECT_NE(t.detail_message.find("first message"), std::string::npos);
}

TEST(TokenState, FirstPeriodIsValidUpToItsLastMillisecond) {
  for (bool renewal : {false, true}) {
    TokenState t = DeriveTokenState(Activated(), Type(renewal), kT0 + kTokenPeriodMs - 1);
    EXPECT_EQ(t.code, TokenCode::kOk);
    EXPECT_EQ(t.detail_message, "Ok");
    EXPECT_EQ(t.start, kT0);
    EXPECT_EQ(t.end, kT0 + kTokenPeriodMs);
  }
  // Activation in the future (clock skew): still the first token.
  TokenState t = DeriveTokenState(Activated(), Type(false), kT0 - 5);
  EXPECT_EQ(t.code, TokenCode::kOk);
}

TEST(TokenState, AtTheEndWithoutRenewalTheDeviceIsOffContract) {
  TokenState t = DeriveTokenState(Activated(), Type(false), kT0 + kTokenPeriodMs);
  EXPECT_EQ(t.code, TokenCode::kOffContract);
  EXPECT_EQ(t.start, kT0);
  EXPECT_EQ(t.end, kT0 + kTokenPeriodMs);
  EXPECT_NE(t.detail_message.find("does not renew"), std::string::npos);
}

TEST(TokenState, AutomaticRenewalGivesThePeriodContainingNow) {
  TokenState t = DeriveTokenState(Activated(), Type(true), kT0 + kTokenPeriodMs);
  EXPECT_EQ(t.code, TokenCode::kOk);
  EXPECT_EQ(t.start, kT0 + kTokenPeriodMs);
  EXPECT_EQ(t.end, kT0 + 2 * kTokenPeriodMs);
  EXPECT_EQ(t.detail_message, "Ok (renewed automatically)");
  t = DeriveTokenState(Activated(), Type(true), kT0 + 3 * kTokenPeriodMs + 7 * kDay);
  EXPECT_EQ(t.start, kT0 + 3 * kTokenPeriodMs);
  EXPECT_EQ(t.end, kT0 + 4 * kTokenPeriodMs);
}

TEST(TokenState, RenewalForbiddenOnTheDeviceWins) {
  Device d = Activated();
  d.token_renew_forbidden = true;
  TokenState t = DeriveTokenState(d, Type(true), kT0 + kTokenPeriodMs + 1);
  EXPECT_EQ(t.code, TokenCode::kOffContract);
  EXPECT_NE(t.detail_message.find("forbidden"), std::string::npos);
  EXPECT_EQ(t.end, kT0 + kTokenPeriodMs);
  // Within the first period the flag changes nothing yet.
  EXPECT_EQ(DeriveTokenState(d, Type(true), kT0 + 1).code, TokenCode::kOk);
}

TEST(TokenState, OffContractStateAndExtremeTimes) {
  Device d = Activated();
  d.state = DeviceState::kOffContract;
  EXPECT_EQ(DeriveTokenState(d, Type(true), kT0 + 1).code, TokenCode::kOffContract);
  // No overflow near the ends of the range.
  const EpochMillis max = std::numeric_limits<EpochMillis>::max();
  TokenState t = DeriveTokenState(Activated(max - 10), Type(true), max);
  EXPECT_EQ(t.code, TokenCode::kOk);
  EXPECT_EQ(t.end, max);
  t = DeriveTokenState(Activated(0), Type(true), max);
  EXPECT_EQ(t.code, TokenCode::kOk);
  EXPECT_LE(*t.start, max);
  EXPECT_GT(*t.end, *t.start);
}

TEST(NetworkState, NoWatchIsAlwaysOk) {
  Device d = Activated();
  d.last = kT0;
  NetworkState n = DeriveNetworkState(d, Type(false, 0), kT0 + 1000 * kDay);
  EXPECT_TRUE(n.ok);
  EXPECT_NE(n.detail_message.find("keepAlive 0"), std::string::npos);
}

TEST(NetworkState, SilenceLongerThanKeepAliveIsNok) {
  Device d = Activated();
  d.last = kT0;
  const DeviceType t = Type(false, 3600);
  EXPECT_TRUE(DeriveNetworkState(d, t, kT0).ok);
  EXPECT_TRUE(DeriveNetworkState(d, t, kT0 + 3600 * 1000).ok);  // exactly keepAlive: OK
  NetworkState n = DeriveNetworkState(d, t, kT0 + 3600 * 1000 + 1);
  EXPECT_FALSE(n.ok);
  EXPECT_EQ(n.detail_message, "no message for more than keepAlive (3600 s)");
  // A message "from the future" (clock skew) is not silence.
  EXPECT_TRUE(DeriveNetworkState(d, t, kT0 - kDay).ok);
}

TEST(NetworkState, ANeverSeenDeviceCountsFromRegistration) {
  Device d = Activated(std::nullopt);
  const DeviceType t = Type(false, 60);
  EXPECT_TRUE(DeriveNetworkState(d, t, d.creation_time + 60 * 1000).ok);
  NetworkState n = DeriveNetworkState(d, t, d.creation_time + 60 * 1000 + 1);
  EXPECT_FALSE(n.ok);
  EXPECT_NE(n.detail_message.find("since registration"), std::string::npos);
}

TEST(NetworkState, DeviceStatesOtherThanOkOrWarnAreNok) {
  Device d = Activated();
  d.last = kT0;
  for (DeviceState s : {DeviceState::kOk, DeviceState::kWarn}) {
    d.state = s;
    EXPECT_TRUE(DeriveNetworkState(d, Type(false, 0), kT0).ok) << DeviceStateName(s);
  }
  for (DeviceState s :
       {DeviceState::kDead, DeviceState::kOffContract, DeviceState::kDisabled,
        DeviceState::kDeleted, DeviceState::kSuspended, DeviceState::kNotActivable}) {
    d.state = s;
    NetworkState n = DeriveNetworkState(d, Type(false, 0), kT0);
    EXPECT_FALSE(n.ok) << DeviceStateName(s);
    EXPECT_EQ(n.detail_message, "the device state is " + std::string(DeviceStateName(s)));
  }
}

TEST(NetworkState, HugeKeepAliveAndExtremeTimesDoNotOverflow) {
  Device d = Activated();
  d.last = std::numeric_limits<EpochMillis>::min();
  const DeviceType t = Type(false, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(DeriveNetworkState(d, t, std::numeric_limits<EpochMillis>::max()).ok);
  NetworkState n = DeriveNetworkState(d, Type(false, 1), std::numeric_limits<EpochMillis>::max());
  EXPECT_FALSE(n.ok);
}

}  // namespace
}  // namespace roost::registry
