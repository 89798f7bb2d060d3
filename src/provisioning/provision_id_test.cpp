#include "provisioning/provision_id.h"

#include <gtest/gtest.h>

#include "core/hex.h"
#include "core/identifiers.h"
#include "provisioning/test_vectors.h"

namespace roost::provisioning {
namespace {

using testing::HexBytes;
using testing::Vectors;

TEST(ProvisionId, SeedHash) {
  const auto& v = Vectors()["seed"]["provisionIdHash"];
  const auto hash =
      ProvisionIdHash(v["provisionId"].get<std::string>(), v["suffix"].get<std::string>());
  EXPECT_EQ(ToHex(hash), v["sha256"].get<std::string>());
  // The default suffix is the one of the vector.
  EXPECT_EQ(ProvisionIdHash(v["provisionId"].get<std::string>()), hash);
}

TEST(ProvisionId, HashDependsOnSuffix) {
  const auto& v = Vectors()["seed"]["provisionIdHash"];
  const std::string pid = v["provisionId"];
  EXPECT_NE(ToHex(ProvisionIdHash(pid, ".Other")), v["sha256"].get<std::string>());
}

TEST(ProvisionId, SeedVerifyCode) {
  const auto& v = Vectors()["seed"]["verifyCode"];
  const Bytes nonce = HexBytes(v["nonce"]);
  EXPECT_EQ(ToHex(ComputeVerifyCode(v["provisionId"].get<std::string>(), nonce)),
            v["verifyCode"].get<std::string>());
}

TEST(ProvisionId, TranscriptHashes) {
  for (const auto& t : Vectors()["transcripts"]) {
    EXPECT_EQ(ToHex(ProvisionIdHash(t["provisionId"].get<std::string>())),
              t["provisionIdHash"].get<std::string>());
  }
}

TEST(ProvisionId, MacToEui) {
  const auto& v = Vectors()["seed"]["macToEui"];
  auto mac = ParseMac48(v["mac"].get<std::string>());
  ASSERT_TRUE(mac.ok()) << mac.status().message();
  EXPECT_EQ(EuiFromMac(*mac).ToString(), v["eui"].get<std::string>());
}

}  // namespace
}  // namespace roost::provisioning
