#include "model/enum_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "model/device.h"
#include "model/device_type.h"

namespace roost {
namespace {

// Every enumerator has exactly one entry and no name or code is used twice, so
// parsing a name or code and writing the value back give the same spelling.
template <typename E, size_t N>
void ExpectOneEntryPerValue(const EnumTable<E, N>& table, std::initializer_list<E> values) {
  EXPECT_EQ(values.size(), N);
  std::set<std::string_view> names;
  std::set<int64_t> codes;
  for (const auto& e : table) {
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_TRUE(codes.insert(e.code).second) << e.code;
    EXPECT_EQ(EnumByName(table, e.name), &e);
    EXPECT_EQ(EnumByCode(table, e.code), &e);
  }
  for (E v : values) EXPECT_EQ(EnumByValue(table, v).value, v);
}

TEST(EnumTables, OneEntryPerValueWithUniqueNamesAndCodes) {
  ExpectOneEntryPerValue(kPayloadTypes, {PayloadType::kNone, PayloadType::kString,
                                         PayloadType::kCustom, PayloadType::kGeolocation});
  ExpectOneEntryPerValue(kDownlinkModes, {DownlinkMode::kDirect, DownlinkMode::kCallback,
                                          DownlinkMode::kNone, DownlinkMode::kManaged});
  ExpectOneEntryPerValue(kDeviceStates,
                         {DeviceState::kOk, DeviceState::kDead, DeviceState::kOffContract,
                          DeviceState::kDisabled, DeviceState::kWarn, DeviceState::kDeleted,
                          DeviceState::kSuspended, DeviceState::kNotActivable});
  ExpectOneEntryPerValue(kComStates, {ComState::kNo, ComState::kOk, ComState::kWarn, ComState::kKo,
                                      ComState::kNa, ComState::kNotSeen});
}

// The codes Sigfox API clients send; a changed code would break them silently.
TEST(EnumTables, SigfoxCodes) {
  EXPECT_EQ(EnumByCode(kDownlinkModes, 0)->value, DownlinkMode::kDirect);
  EXPECT_EQ(EnumByCode(kDownlinkModes, 1)->value, DownlinkMode::kCallback);
  EXPECT_EQ(EnumByCode(kDownlinkModes, 2)->value, DownlinkMode::kNone);
  EXPECT_EQ(EnumByCode(kDownlinkModes, 3)->value, DownlinkMode::kManaged);
  EXPECT_FALSE(EnumByCode(kDownlinkModes, 3)->supported);
  EXPECT_EQ(EnumByCode(kPayloadTypes, 2)->value, PayloadType::kNone);
  EXPECT_EQ(EnumByCode(kPayloadTypes, 3)->value, PayloadType::kCustom);
  EXPECT_EQ(EnumByCode(kPayloadTypes, 4)->value, PayloadType::kGeolocation);
  EXPECT_EQ(EnumByCode(kPayloadTypes, 5)->value, PayloadType::kString);
  EXPECT_EQ(EnumByValue(kDeviceStates, DeviceState::kNotActivable).code, 7);
  EXPECT_EQ(EnumByValue(kComStates, ComState::kNotSeen).code, 6);
  EXPECT_EQ(EnumByCode(kComStates, 4), nullptr);
}

TEST(EnumTables, NamesAreCaseSensitiveAndUnknownsAreNull) {
  EXPECT_EQ(EnumByName(kDownlinkModes, "direct"), nullptr);
  EXPECT_EQ(EnumByName(kPayloadTypes, "Regular"), nullptr);
  EXPECT_EQ(EnumByCode(kPayloadTypes, 0), nullptr);
}

TEST(EnumTables, ChoicesListOnlySupportedEntries) {
  EXPECT_EQ(EnumChoices(kDownlinkModes), "DIRECT (0), CALLBACK (1) or NONE (2)");
  EXPECT_EQ(EnumChoices(kPayloadTypes), "None (2), String (5) or Custom (3)");
}

}  // namespace
}  // namespace roost
