#include "factory/cra_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/hex.h"

namespace roost::factory {
namespace {

const std::string kSampleDir = std::string(ROOST_VECTORS_DIR) + "/cra-sample";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

Key128 SampleKey() {
  auto j = nlohmann::json::parse(ReadFile(kSampleDir + "/expected.json"));
  return ParseKey128(j["encryptionKey"].get<std::string>()).value();
}

TEST(CraFile, SizeMustBeWholePairs) {
  EXPECT_TRUE(CheckCraFileSize(0).ok());
  EXPECT_TRUE(CheckCraFileSize(128).ok());
  Status s = CheckCraFileSize(128 + 16);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("offset 0x80"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("16 of 32 bytes"), std::string::npos) << s.message();
  EXPECT_FALSE(CheckCraFileSize(31).ok());
}

TEST(CraFile, ModeParsing) {
  EXPECT_EQ(ParseCraMode("ecb").value(), CraMode::kEcb);
  EXPECT_EQ(ParseCraMode("cbc").value(), CraMode::kCbc);
  EXPECT_FALSE(ParseCraMode("ctr").ok());
}

TEST(CraFile, DumpOfSampleMatchesAesdOutput) {
  std::string enc = ReadFile(kSampleDir + "/id_key_encrypted.bin");
  std::vector<uint8_t> data(enc.begin(), enc.end());
  Key128 key = SampleKey();
  crypto::Aes128 aes(key);
  crypto::Block iv{};
  DecryptCraBlocks(aes, key, CraMode::kEcb, data, iv);
  std::string dump;
  AppendDump(dump, 0, data);
  EXPECT_EQ(dump, ReadFile(kSampleDir + "/id_key_decrypted.txt"));
}

TEST(CraFile, DumpOffsetsWiderThanSevenDigits) {
  std::vector<uint8_t> block(16, 0x41);
  std::string dump;
  AppendDump(dump, 0x10000000, block);
  EXPECT_EQ(dump.substr(0, 10), "10000000: ");
  EXPECT_EQ(dump.back(), '\n');
}

TEST(CraFile, DumpShowsOnlyPrintableAscii) {
  std::vector<uint8_t> block = {0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 'a', 'Z',
                                0,    0,    0,    0,    0,    0,    0,   0};
  std::string dump;
  AppendDump(dump, 0, block);
  EXPECT_EQ(dump, "0000000: 1f20 7e7f 80ff 615a 0000 0000 0000 0000 . ~...aZ........\n");
}

TEST(CraFile, ReaderFindsEveryExpectedPair) {
  auto j = nlohmann::json::parse(ReadFile(kSampleDir + "/expected.json"));
  auto reader =
      CraFileReader::Open(kSampleDir + "/id_key_encrypted.bin", SampleKey(), CraMode::kEcb);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_EQ((*reader)->pair_count(), j["devices"].size());
  for (size_t i = 0; i < j["devices"].size(); ++i) {
    const auto& dev = j["devices"][i];
    auto pair = (*reader)->ReadPair(i);
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(pair->id.ToFile(), dev["id"].get<std::string>());
    EXPECT_EQ(ToHexUpper(pair->key), dev["key"].get<std::string>());
    auto index = (*reader)->FindId(ParseSigfoxId(dev["id"].get<std::string>()).value());
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*index, i);
  }
  EXPECT_EQ((*reader)->ReadPair(4).status().code(), Status::Code::kNotFound);
  EXPECT_EQ((*reader)->FindId(SigfoxId{0x1234}).status().code(), Status::Code::kNotFound);
}

TEST(CraFile, WrongKeyFindsNothing) {
  Key128 wrong{};
  auto reader = CraFileReader::Open(kSampleDir + "/id_key_encrypted.bin", wrong, CraMode::kEcb);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->FindId(SigfoxId{0x0041A2F0}).ok());
}

class CraRoundTrip : public ::testing::TestWithParam<CraMode> {};

TEST_P(CraRoundTrip, EncryptThenRandomAccessDecrypt) {
  const CraMode mode = GetParam();
  Key128 key = ParseKey128("000102030405060708090A0B0C0D0E0F").value();
  constexpr size_t kPairs = 300;
  std::vector<uint8_t> data(kPairs * kCraPairSize);
  for (size_t i = 0; i < kPairs; ++i) {
    CraPair p;
    p.id.value = static_cast<uint32_t>(0xABC000 + i);
    for (size_t b = 0; b < 16; ++b) p.key[b] = static_cast<uint8_t>(i * 7 + b);
    EncodePair(p, std::span<uint8_t, kCraPairSize>(data.data() + i * kCraPairSize, kCraPairSize));
  }
  std::vector<uint8_t> clear = data;
  crypto::Aes128 aes(key);
  crypto::Block iv{};
  // Encrypt in two uneven chunks to check the chaining state carries over.
  EncryptCraBlocks(aes, key, mode, std::span(data).first(32 * 7), iv);
  EncryptCraBlocks(aes, key, mode, std::span(data).subspan(32 * 7), iv);

  char path[] = "/tmp/roost-cra-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  auto reader = CraFileReader::Open(path, key, mode);
  ASSERT_TRUE(reader.ok());
  for (size_t i : {size_t{0}, size_t{1}, size_t{150}, kPairs - 1}) {
    auto pair = (*reader)->ReadPair(i);
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(pair->id.value, 0xABC000 + i);
    EXPECT_EQ(pair->key[3], static_cast<uint8_t>(i * 7 + 3));
    EXPECT_EQ((*reader)->FindId(pair->id).value(), i);
  }
  // Whole-buffer decrypt in chunks gives back the clear text.
  crypto::Block div{};
  DecryptCraBlocks(aes, key, mode, std::span(data).first(32 * 100), div);
  DecryptCraBlocks(aes, key, mode, std::span(data).subspan(32 * 100), div);
  EXPECT_EQ(data, clear);
  std::filesystem::remove(path);
}

// DecryptIdsAt batches ID blocks 1024 at a time: 2 500 pairs cross two batch
// boundaries, and a start in the middle of the file needs the right CBC IV.
TEST_P(CraRoundTrip, InMemoryRandomAccessMatchesTheClearText) {
  const CraMode mode = GetParam();
  Key128 key = ParseKey128("000102030405060708090A0B0C0D0E0F").value();
  constexpr size_t kPairs = 2500;
  std::vector<uint8_t> data(kPairs * kCraPairSize);
  for (size_t i = 0; i < kPairs; ++i) {
    CraPair p;
    p.id.value = static_cast<uint32_t>(0x5000000 + i * 3);
    for (size_t b = 0; b < 16; ++b) p.key[b] = static_cast<uint8_t>(i * 5 + b);
    EncodePair(p, std::span<uint8_t, kCraPairSize>(data.data() + i * kCraPairSize, kCraPairSize));
  }
  crypto::Aes128 aes(key);
  crypto::Block iv{};
  EncryptCraBlocks(aes, key, mode, data, iv);

  std::vector<SigfoxId> ids(kPairs);
  DecryptIdsAt(aes, mode, data, 0, ids);
  for (size_t i = 0; i < kPairs; ++i) ASSERT_EQ(ids[i].value, 0x5000000 + i * 3) << i;
  std::vector<SigfoxId> middle(1500);
  DecryptIdsAt(aes, mode, data, 777, middle);
  EXPECT_EQ(middle.front().value, 0x5000000 + 777 * 3);
  EXPECT_EQ(middle.back().value, 0x5000000 + (777 + 1499) * 3);
  for (size_t i : {size_t{0}, size_t{1}, size_t{1024}, kPairs - 1}) {
    CraPair pair = DecryptPairAt(aes, mode, data, i);
    EXPECT_EQ(pair.id.value, 0x5000000 + i * 3);
    for (size_t b = 0; b < 16; ++b) EXPECT_EQ(pair.key[b], static_cast<uint8_t>(i * 5 + b));
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, CraRoundTrip, ::testing::Values(CraMode::kEcb, CraMode::kCbc));

TEST(CraFile, OpenRejectsTruncatedFileAndMissingFile) {
  char path[] = "/tmp/roost-cra-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> data(32 * 3 + 5);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  auto reader = CraFileReader::Open(path, Key128{}, CraMode::kEcb);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find(path), std::string::npos);
  EXPECT_NE(reader.status().message().find("offset 0x60"), std::string::npos);
  std::filesystem::remove(path);
  EXPECT_EQ(CraFileReader::Open(path, Key128{}, CraMode::kEcb).status().code(),
            Status::Code::kIoError);
}

}  // namespace
}  // namespace roost::factory
