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

class CredentialsTest : public testing::RegistryEngineTest {
 protected:
  void SetUp() override {
    RegistryEngineTest::SetUp();
    if (HasFatalFailure()) return;
    crypto::MasterKey mk = crypto::GenerateMasterKey();
    sealer_.emplace(crypto::Sealer::FromKey(mk).value());
    expected_ = nlohmann::json::parse(ReadFile(kSample + "expected.json"));
    enc_key_ = KeyOf(expected_["encryptionKey"].get<std::string>());
    id_key_ = AsBytes(ReadFile(kSample + "id_key_encrypted.bin"));
    id_pac_ = ReadFile(kSample + "id_pac.txt");
  }
  Result<ImportReport> Import(const Bytes& id_key, std::string_view id_pac,
                              factory::CraMode mode = factory::CraMode::kEcb,
                              const ImportLimits& limits = {}) {
    return ImportCredentials(*store_, *sealer_, enc_key_, id_key, id_pac, mode, 1234, limits);
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

TEST_P(CredentialsTest, ImportsTheSampleWithSealedKeysAndInitialPacs) {
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

TEST_P(CredentialsTest, ReimportIsIdempotent) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  auto before = store_->GetCredentials(SampleIds()).value();
  auto again = Import(id_key_, id_pac_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->imported, 0);
  EXPECT_EQ(again->unchanged, 4);
  EXPECT_TRUE(again->refused.empty());
  EXPECT_EQ(store_->GetCredentials(SampleIds()).value(), before);  // rows untouched
}

TEST_P(CredentialsTest, DifferentKeyForAKnownIdIsRefusedPerId) {
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

TEST_P(CredentialsTest, SameKeyDifferentPacIsRefusedPerId) {
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

TEST_P(CredentialsTest, StoredKeyUnderAnotherMasterKeyIsRefusedPerId) {
  ASSERT_TRUE(Import(id_key_, id_pac_).ok());
  crypto::MasterKey other = crypto::GenerateMasterKey();
  sealer_.emplace(crypto::Sealer::FromKey(other).value());
  auto report = Import(id_key_, id_pac_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 0);
  EXPECT_EQ(report->refused.size(), 4u);
  EXPECT_NE(report->refused[0].message.find("master key"), std::string::npos);
}

TEST_P(CredentialsTest, IdsWithoutAPacLineAreSkipped) {
  auto report = Import(id_key_, "0041A2F2;77B58678657B761D\n");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->imported, 1);
  EXPECT_EQ(report->skipped, 3);
  EXPECT_EQ(StoredCount(SampleIds()), 1u);
}

TEST_P(CredentialsTest, CbcFiles) {
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

TEST_P(CredentialsTest, TruncatedIdKeyFileIsRefused) {
  Bytes truncated(id_key_.begin(), id_key_.end() - 5);
  ExpectRefused(Import(truncated, id_pac_), "ID/KEY file: incomplete pair at offset 0x60");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_P(CredentialsTest, EmptyIdKeyFileIsRefused) {
  ExpectRefused(Import(Bytes{}, id_pac_), "ID/KEY file: empty");
}

TEST_P(CredentialsTest, RepeatedIdInIdKeyFileIsRefused) {
  std::vector<factory::CraPair> pairs;
  pairs.emplace_back(SigfoxId{0x10}, KeyOf("000102030405060708090A0B0C0D0E0F"));
  pairs.emplace_back(SigfoxId{0x10}, KeyOf("000102030405060708090A0B0C0D0E0F"));
  ExpectRefused(Import(MakeIdKeyFile(pairs, enc_key_), "10;0123456789ABCDEF\n"),
                "offset 0x20: device ID 00000010 repeated");
  EXPECT_FALSE(store_->GetCredential(0x10).ok());
}

TEST_P(CredentialsTest, BadIdPacLineIsRefused) {
  std::string bad = "0041A2F0;6FEE95A9E3756E43\n0041A2F1;NOTAPAC\n";
  ExpectRefused(Import(id_key_, bad), "ID/PAC file: line 2");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_P(CredentialsTest, EmptyIdPacFileIsRefused) {
  ExpectRefused(Import(id_key_, "# nothing\n\n"), "ID/PAC file: no device line");
}

TEST_P(CredentialsTest, IdPacIdMissingFromIdKeyFileIsRefused) {
  std::string pac = "# comment\n0041A2F0;6FEE95A9E3756E43\n\n0041A2FF;84053899B0FC3EE0\n";
  ExpectRefused(Import(id_key_, pac), "ID/PAC file: line 4: device ID 0041A2FF is not in");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

TEST_P(CredentialsTest, WrongEncryptionKeyIsRefusedAsAWhole) {
  enc_key_ = KeyOf("FFEEDDCCBBAA99887766554433221100");
  ExpectRefused(Import(id_key_, id_pac_), "ID/PAC file: line 1:");
  EXPECT_EQ(StoredCount(SampleIds()), 0u);
}

// --- Chunks: a batch of 2.5 chunks, unchanged and refused IDs in each ---

// Device i of the generated batches: ID 0x00C0FFEE + i, a KEY and PAC derived from i.
SigfoxId ChunkId(size_t i) {
  return SigfoxId{static_cast<uint32_t>(0x00C0FFEE + i)};
}
Key128 ChunkKey(size_t i, uint8_t variant = 0) {
  Key128 k;
  for (size_t b = 0; b < k.size(); ++b) k[b] = static_cast<uint8_t>(i * 13 + b + variant);
  return k;
}
std::string ChunkPac(size_t i) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zX", 0xABC0000 + i);
  return buf;
}
std::string ChunkLine(size_t i, const std::string& pac) {
  return ChunkId(i).ToFile() + ";" + pac + "\n";
}

TEST_P(CredentialsTest, ImportsAcrossChunkBoundaries) {
  constexpr size_t kDevices = 25;
  const ImportLimits limits{.chunk_entries = 10, .listed_refusals = 3};
  for (factory::CraMode mode : {factory::CraMode::kEcb, factory::CraMode::kCbc}) {
    SCOPED_TRACE(mode == factory::CraMode::kEcb ? "ecb" : "cbc");
    const size_t base = mode == factory::CraMode::kEcb ? 0 : 100;  // distinct IDs per mode
    // Already stored: 2, 11, 23 the same (unchanged); 5, 14 with another KEY and 20 with
    // another PAC (refused), spread over the three chunks.
    std::vector<factory::CraPair> before;
    std::string before_pac;
    for (size_t i : {2, 11, 23, 5, 14, 20}) {
      before.emplace_back(ChunkId(base + i), ChunkKey(base + i, (i == 5 || i == 14) ? 1 : 0));
      before_pac += ChunkLine(base + i, i == 20 ? "00000000000000FF" : ChunkPac(base + i));
    }
    ASSERT_TRUE(Import(MakeIdKeyFile(before, enc_key_, mode), before_pac, mode).ok());

    // The ID/KEY file in reverse order, the ID/PAC file in order; one extra pair with no
    // ID/PAC line.
    std::vector<factory::CraPair> pairs;
    for (size_t i = kDevices + 1; i-- > 0;) {
      pairs.emplace_back(ChunkId(base + i), ChunkKey(base + i));
    }
    std::string pac = "ID;PAC\n";
    for (size_t i = 0; i < kDevices; ++i) pac += ChunkLine(base + i, ChunkPac(base + i));
    auto report = Import(MakeIdKeyFile(pairs, enc_key_, mode), pac, mode, limits);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->imported, 19);
    EXPECT_EQ(report->unchanged, 3);
    EXPECT_EQ(report->skipped, 1);
    EXPECT_EQ(report->refused_count, 3);
    ASSERT_EQ(report->refused.size(), 3u);
    EXPECT_EQ(report->refused[0].id, ChunkId(base + 5));
    EXPECT_EQ(report->refused[0].message, "already imported with a different KEY");
    EXPECT_EQ(report->refused[1].id, ChunkId(base + 14));
    EXPECT_EQ(report->refused[2].id, ChunkId(base + 20));
    EXPECT_EQ(report->refused[2].message, "already imported with a different PAC");

    for (size_t i = 0; i <= kDevices; ++i) {
      auto c = store_->GetCredential(ChunkId(base + i).value);
      if (i == kDevices) {
        EXPECT_FALSE(c.ok()) << "the pair without an ID/PAC line is not imported";
        continue;
      }
      ASSERT_TRUE(c.ok()) << i << ": " << c.status().message();
      const bool other_key = i == 5 || i == 14;
      EXPECT_EQ(*OpenDeviceKey(*sealer_, *c), ChunkKey(base + i, other_key ? 1 : 0)) << i;
      EXPECT_EQ(c->initial_pac, i == 20 ? "00000000000000FF" : ChunkPac(base + i)) << i;
    }

    // Again with other chunks: the stored are unchanged, the refused stay refused, and
    // the list holds all three when the cap allows.
    auto again = Import(MakeIdKeyFile(pairs, enc_key_, mode), pac, mode,
                        ImportLimits{.chunk_entries = 7, .listed_refusals = 1000});
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->imported, 0);
    EXPECT_EQ(again->unchanged, 22);
    EXPECT_EQ(again->refused_count, 3);
    EXPECT_EQ(again->refused.size(), 3u);
  }
}

// Whole-file errors anywhere in a multi-chunk batch, even on its last line, store
// nothing: the checks read both files to the end before the first chunk is written.
TEST_P(CredentialsTest, ErrorsInTheLastChunkStoreNothing) {
  constexpr size_t kDevices = 25;
  const ImportLimits limits{.chunk_entries = 10, .listed_refusals = kMaxListedRefusals};
  const auto ecb = factory::CraMode::kEcb;
  std::vector<factory::CraPair> pairs;
  std::string pac;
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < kDevices; ++i) {
    pairs.emplace_back(ChunkId(i), ChunkKey(i));
    pac += ChunkLine(i, ChunkPac(i));
    ids.push_back(ChunkId(i).value);
  }
  const Bytes id_key = MakeIdKeyFile(pairs, enc_key_);

  ExpectRefused(Import(id_key, pac + "00000001;0123456789ABCDEF\n", ecb, limits),
                "ID/PAC file: line 26: device ID 00000001 is not in the ID/KEY file");
  ExpectRefused(
      Import(id_key, pac + ChunkLine(3, ChunkPac(3)), ecb, limits),
      "ID/PAC file: line 26: device ID " + ChunkId(3).ToFile() + " already listed on line 4");
  ExpectRefused(Import(id_key, pac + "# end\n" + ChunkLine(7, "XYZ"), ecb, limits),
                "ID/PAC file: line 27: PAC");
  std::vector<factory::CraPair> repeated = pairs;
  repeated.emplace_back(ChunkId(24), ChunkKey(1));
  ExpectRefused(Import(MakeIdKeyFile(repeated, enc_key_), pac, ecb, limits),
                "ID/KEY file: offset 0x320: device ID " + ChunkId(24).ToFile() +
                    " repeated (first at offset 0x300)");
  EXPECT_EQ(StoredCount(ids), 0u);
}

// With several errors, the one reported is the one met first reading from the top, as
// when the files were checked line by line.
TEST_P(CredentialsTest, TheFirstErrorInFileOrderIsReported) {
  std::vector<factory::CraPair> pairs;
  for (size_t i = 0; i < 4; ++i) pairs.emplace_back(ChunkId(i), ChunkKey(i));
  const Bytes id_key = MakeIdKeyFile(pairs, enc_key_);
  auto line = [](size_t i) { return ChunkLine(i, ChunkPac(i)); };
  // A repeat on line 3, a bad line 4: the repeat.
  ExpectRefused(Import(id_key, line(0) + line(1) + line(1) + "bad\n"),
                "ID/PAC file: line 3: device ID " + ChunkId(1).ToFile() + " already listed");
  // A bad line 2 before the repeat on line 4: the bad line.
  ExpectRefused(Import(id_key, line(0) + "bad\n" + line(1) + line(1)),
                "ID/PAC file: line 2: expected");
  // Two repeats: the one whose second listing comes first (line 4), not the smaller ID.
  ExpectRefused(
      Import(id_key, line(2) + line(0) + line(3) + line(2) + line(0)),
      "ID/PAC file: line 4: device ID " + ChunkId(2).ToFile() + " already listed on line 1");
  // Unknown IDs on lines 2 and 3, the smaller one on line 3: line 2 is reported.
  ExpectRefused(
      Import(id_key, line(0) + "00000002;0123456789ABCDEF\n" + "00000001;0123456789ABCDEF\n"),
      "ID/PAC file: line 2: device ID 00000002 is not in");
  EXPECT_EQ(StoredCount({ChunkId(0).value}), 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, CredentialsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace roost::registry
