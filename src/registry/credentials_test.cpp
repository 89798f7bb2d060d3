#include "registry/credentials.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/hex.h"
#include "crypto/aes.h"
#include "factory/id_pac.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

const std::string kSample = std::string(ROOST_VECTORS_DIR) + "/cra-sample/";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Bytes AsBytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Key128 KeyOf(std::string_view hex) {
  return ParseKey128(hex).value();
}

// An encrypted ID/KEY file for `pairs`.
Bytes MakeIdKeyFile(const std::vector<factory::CraPair>& pairs, const Key128& enc,
                    factory::CraMode mode = factory::CraMode::kEcb) {
  Bytes out(pairs.size() * factory::kCraPairSize);
  for (size_t i = 0; i < pairs.size(); ++i) {
    factory::EncodePair(
        pairs[i], std::span<uint8_t, factory::kCraPairSize>(out.data() + i * factory::kCraPairSize,
                                                            factory::kCraPairSize));
  }
  crypto::Aes128 aes(enc);
  crypto::Block iv{};
  factory::EncryptCraBlocks(aes, enc, mode, out, iv);
  return out;
}

class CredentialsTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    crypto::MasterKey mk = crypto::GenerateMasterKey();
    sealer_.emplace(crypto::Sealer::FromKey(mk).value());
    expected_ = nlohmann::json::parse(ReadFile(kSample + "expected.json"));
    enc_key_ = KeyOf(expected_["encryptionKey"].get<std::string>());
    id_key_ = AsBytes(ReadFile(kSample + "id_key_encrypted.bin"));
    id_pac_ = ReadFile(kSample + "id_pac.txt");
  }
  Result<ImportReport> Import(const Bytes& id_key, std::string_view id_pac,
                              factory::CraMode mode = factory::CraMode::kEcb) {
    return ImportCredentials(*store_, *sealer_, enc_key_, id_key, id_pac, mode, 1234);
  }
  size_t StoredCount(const std::vector<uint32_t>& ids) {
    auto got = store_->GetCredentials(ids).value();
    return static_cast<size_t>(
        std::count_if(got.begin(), got.end(), [](const auto& c) { return c.has_value(); }));
  }
  std::vector<uint32_t> SampleIds() {
    std::vector<uint32_t> ids;
    for (const auto& d : expected_["devices"]) {
      ids.push_back(ParseSigfoxId(d["id"].get<std::string>())->value);
    }
    return ids;
  }

  std::optional<crypto::Sealer> sealer_;
  nlohmann::json expected_;
  Key128 enc_key_{};
  Bytes id_key_;
  std::string id_pac_;
};

TEST_F(CredentialsTest, ImportsTheSampleWithSealedKeysAndInitialPacs) {
  auto report = Import(id_key_, id_pac_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 4);
  EXPECT_EQ(report->unchanged, 0);
  EXPECT_EQ(report->skipped, 0);
  EXPECT_TRUE(report->refused.empty());
  for (const auto& d : expected_["devices"]) {
    SigfoxId id = ParseSigfoxId(d["id"].get<std::string>()).value();
    auto c = store_->GetCredential(id.value);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->initial_pac, d["pac"].get<std::string>());
    EXPECT_EQ(c->creation_time, 1234);
    Key128 want = KeyOf(d["key"].get<std::string>());
    // Sealed, not in clear.
    EXPECT_EQ(c->sealed_key.size(), want.size() + crypto::kSealOverhead);
    EXPECT_EQ(std::search(c->sealed_key.begin(), c->sealed_key.end(), want.begin(), want.end()),
              c->sealed_key.end());
    auto key = OpenDeviceKey(*sealer_, *c);
    ASSERT_TRUE(key.ok()) << key.status().message();
    EXPECT_EQ(*key, want);
    // Bound to the device: the blob does not open as another device's KEY.
    Credential moved = *c;
    moved.device_id.value ^= 1;
    EXPECT_FALSE(OpenDeviceKey(*sealer_, moved).ok());
  }
}

TEST_F(CredentialsTest, ReimportIsIdempotent) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  auto before = store_->GetCredentials(SampleIds()).value();
  auto again = Import(id_key_, id_pac_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->imported, 0);
  EXPECT_EQ(again->unchanged, 4);
  EXPECT_TRUE(again->refused.empty());
  EXPECT_EQ(store_->GetCredentials(SampleIds()).value(), before);  // rows untouched
}

TEST_F(CredentialsTest, DifferentKeyForAKnownIdIsRefusedPerId) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  // A new file: 0041A2F1 with another KEY, plus a new device 0041A2F9.
  std::vector<factory::CraPair> pairs;
  pairs.emplace_back(SigfoxId{0x0041A2F0},
                     KeyOf(expected_["devices"][0]["key"].get<std::string>()));
  pairs.emplace_back(SigfoxId{0x0041A2F1}, KeyOf("000102030405060708090A0B0C0D0E0F"));
  pairs.emplace_back(SigfoxId{0x0041A2F9}, KeyOf("FFEEDDCCBBAA99887766554433221100"));
  std::string pac =
      "0041A2F0;6FEE95A9E3756E43\n0041A2F1;84053899B0FC3EE0\n0041A2F9;0123456789ABCDEF\n";
  auto report = Import(MakeIdKeyFile(pairs, enc_key_), pac);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 1);
  EXPECT_EQ(report->unchanged, 1);
  ASSERT_EQ(report->refused.size(), 1u);
  EXPECT_EQ(report->refused[0].id, SigfoxId{0x0041A2F1});
  EXPECT_NE(report->refused[0].message.find("different KEY"), std::string::npos);
  EXPECT_EQ(report->refused[0].message.find("000102030405060708090A0B0C0D0E0F"), std::string::npos);
  // The stored KEY of 0041A2F1 is still the original one.
  auto kept = OpenDeviceKey(*sealer_, store_->GetCredential(0x0041A2F1).value());
  EXPECT_EQ(*kept, KeyOf(expected_["devices"][1]["key"].get<std::string>()));
  EXPECT_EQ(store_->GetCredential(0x0041A2F9)->initial_pac, "0123456789ABCDEF");
}

TEST_F(CredentialsTest, SameKeyDifferentPacIsRefusedPerId) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  std::string pac = "0041A2F0;0000000000000001\n0041A2F1;84053899B0FC3EE0\n";
  auto report = Import(id_key_, pac);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->unchanged, 1);
  EXPECT_EQ(report->skipped, 2);
  ASSERT_EQ(report->refused.size(), 1u);
  EXPECT_EQ(report->refused[0].id, SigfoxId{0x0041A2F0});
  EXPECT_EQ(store_->GetCredential(0x0041A2F0)->initial_pac, "6FEE95A9E3756E43");
}

TEST_F(CredentialsTest, StoredKeyUnderAnotherMasterKeyIsRefusedPerId) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  crypto::MasterKey other = crypto::GenerateMasterKey();
  sealer_.emplace(crypto::Sealer::FromKey(other).value());
  auto report = Import(id_key_, id_pac_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 0);
  EXPECT_EQ(report->refused.size(), 4u);
  EXPECT_NE(report->refused[0].message.find("master key"), std::string::npos);
}

TEST_F(CredentialsTest, IdsWithoutAPacLineAreSkipped) {
  auto report = Import(id_key_, "0041A2F2;77B58678657B761D\n");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 1);
  EXPECT_EQ(report->skipped, 3);
  EXPECT_EQ(StoredCount(SampleIds()), 1u);
}

TEST_F(CredentialsTest, CbcFiles) {
  std::vector<factory::CraPair> pairs;
  for (const auto& d : expected_["devices"]) {
    pairs.emplace_back(ParseSigfoxId(d["id"].get<std::string>()).value(),
                       KeyOf(d["key"].get<std::string>()));
  }
  Bytes cbc = MakeIdKeyFile(pairs, enc_key_, factory::CraMode::kCbc);
  EXPECT_FALSE(Import(cbc, id_pac_, factory::CraMode::kEcb).ok());  // wrong mode: IDs garbled
  auto report = Import(cbc, id_pac_, factory::CraMode::kCbc);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 4);
}

// --- Whole-file errors: nothing stored ---

void ExpectRefused(const Result<ImportReport>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST_F(CredentialsTest, TruncatedIdKeyFileIsRefused) {
  Bytes truncated(id_key_.begin(), id_key_.end() - 5);
  ExpectRefused(Import(truncated, id_pac_), "ID/KEY file: incomplete pair at offset 0x60");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_F(CredentialsTest, EmptyIdKeyFileIsRefused) {
  ExpectRefused(Import(Bytes{}, id_pac_), "ID/KEY file: empty");
}

TEST_F(CredentialsTest, RepeatedIdInIdKeyFileIsRefused) {
  std::vector<factory::CraPair> pairs;
  pairs.emplace_back(SigfoxId{0x10}, KeyOf("000102030405060708090A0B0C0D0E0F"));
  pairs.emplace_back(SigfoxId{0x10}, KeyOf("000102030405060708090A0B0C0D0E0F"));
  ExpectRefused(Import(MakeIdKeyFile(pairs, enc_key_), "10;0123456789ABCDEF\n"),
                "offset 0x20: device ID 00000010 repeated");
  EXPECT_FALSE(store_->GetCredential(0x10).ok());
}

TEST_F(CredentialsTest, BadIdPacLineIsRefused) {
  std::string bad = "0041A2F0;6FEE95A9E3756E43\n0041A2F1;NOTAPAC\n";
  ExpectRefused(Import(id_key_, bad), "ID/PAC file: line 2");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_F(CredentialsTest, EmptyIdPacFileIsRefused) {
  ExpectRefused(Import(id_key_, "# nothing\n\n"), "ID/PAC file: no device line");
}

TEST_F(CredentialsTest, IdPacIdMissingFromIdKeyFileIsRefused) {
  std::string pac = "# comment\n0041A2F0;6FEE95A9E3756E43\n\n0041A2FF;84053899B0FC3EE0\n";
  ExpectRefused(Import(id_key_, pac), "ID/PAC file: line 4: device ID 0041A2FF is not in");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_F(CredentialsTest, WrongEncryptionKeyIsRefusedAsAWhole) {
  enc_key_ = KeyOf("FFEEDDCCBBAA99887766554433221100");
  ExpectRefused(Import(id_key_, id_pac_), "ID/PAC file: line 1:");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

}  // namespace
}  // namespace roost::registry
