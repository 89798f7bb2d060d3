// Test-only helpers: reading tests/vectors/provisioning.json (the
// ROOST_VECTORS_DIR compile definition of the test binary) into bytes.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/hex.h"

namespace roost::provisioning::testing {

inline const nlohmann::json& Vectors() {
  static const nlohmann::json vectors = [] {
    std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/provisioning.json");
    if (!in.good()) ADD_FAILURE() << "cannot open provisioning.json under " << ROOST_VECTORS_DIR;
    return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return vectors;
}

inline Bytes HexBytes(const nlohmann::json& value) {
  auto bytes = FromHex(value.get<std::string>());
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : Bytes{};
}

template <size_t N>
std::array<uint8_t, N> HexArray(const nlohmann::json& value) {
  std::array<uint8_t, N> out{};
  Status s = FromHexInto(value.get<std::string>(), out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

}  // namespace roost::provisioning::testing
