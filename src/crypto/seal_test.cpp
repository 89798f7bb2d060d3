#include "crypto/seal.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/hash.h"
#include "crypto/password.h"

namespace roost::crypto {
namespace {

MasterKey TestKey(uint8_t first = 1) {
  MasterKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(first + i);
  return key;
}

Sealer MakeSealer(const MasterKey& key) {
  auto sealer = Sealer::FromKey(key);
  EXPECT_TRUE(sealer.ok()) << sealer.status().message();
  return std::move(sealer).value();
}

Bytes Text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

const std::string kAad = SealAad("device-key", "0000002C");

TEST(Seal, RoundTrip) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes plain = Text("0123456789abcdef");
  const Bytes blob = sealer.Seal(plain, kAad);
  ASSERT_EQ(blob.size(), plain.size() + kSealOverhead);
  EXPECT_EQ(blob[0], kSealVersion);
  // The plaintext does not appear in the blob.
  EXPECT_EQ(std::search(blob.begin(), blob.end(), plain.begin(), plain.end()), blob.end());
  auto opened = sealer.Open(blob, kAad);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, plain);
}

TEST(Seal, EmptyPlaintextAndEmptyAad) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes blob = sealer.Seal({}, "");
  ASSERT_EQ(blob.size(), kSealOverhead);
  auto opened = sealer.Open(blob, "");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_TRUE(opened->empty());
  // Even an empty secret is bound to its aad.
  EXPECT_FALSE(sealer.Open(blob, kAad).ok());
}

TEST(Seal, LargePlaintext) {
  const Sealer sealer = MakeSealer(TestKey());
  Bytes plain(100000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  auto opened = sealer.Open(sealer.Seal(plain, kAad), kAad);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
}

TEST(Seal, FreshNonceEverySeal) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes plain = Text("same secret");
  const Bytes a = sealer.Seal(plain, kAad);
  const Bytes b = sealer.Seal(plain, kAad);
  EXPECT_NE(Bytes(a.begin() + 1, a.begin() + 1 + kSealNonceSize),
            Bytes(b.begin() + 1, b.begin() + 1 + kSealNonceSize));
  EXPECT_NE(a, b);
}

// Every single-bit flip anywhere in the blob (version, nonce, ciphertext, tag) is refused.
TEST(Seal, EveryTamperedBitFails) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes blob = sealer.Seal(Text("KEY-0123456789AB"), kAad);
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = blob;
      bad[i] = static_cast<uint8_t>(bad[i] ^ (1 << bit));
      auto opened = sealer.Open(bad, kAad);
      ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(opened.status().code(), Status::Code::kInvalidInput);
    }
  }
}

TEST(Seal, TamperedPartsSayDoesNotAuthenticate) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes blob = sealer.Seal(Text("secret"), kAad);
  for (size_t i : {size_t{1}, size_t{12}, size_t{13}, blob.size() - 16, blob.size() - 1}) {
    Bytes bad = blob;
    bad[i] ^= 0x80;
    auto opened = sealer.Open(bad, kAad);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.status().message().find("does not authenticate"), std::string::npos);
  }
}

TEST(Seal, TruncatedOrExtendedBlobFails) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes blob = sealer.Seal(Text("secret"), kAad);
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(sealer.Open(std::span(blob.data(), n), kAad).ok()) << n;
  }
  Bytes longer = blob;
  longer.push_back(0);
  EXPECT_FALSE(sealer.Open(longer, kAad).ok());
  auto too_short = sealer.Open(std::span(blob.data(), kSealOverhead - 1), kAad);
  EXPECT_NE(too_short.status().message().find("shorter than the minimum 29"), std::string::npos)
      << too_short.status().message();
}

TEST(Seal, WrongAadFails) {
  const Sealer sealer = MakeSealer(TestKey());
  const Bytes blob = sealer.Seal(Text("secret"), kAad);
  // The same KEY moved to another device, or reused as another kind of secret.
  EXPECT_FALSE(sealer.Open(blob, SealAad("device-key", "0000002D")).ok());
  EXPECT_FALSE(sealer.Open(blob, SealAad("lorawan-appkey", "0000002C")).ok());
  EXPECT_FALSE(sealer.Open(blob, "").ok());
  // Purpose and owner are separated unambiguously.
  EXPECT_NE(SealAad("ab", "c"), SealAad("a", "bc"));
  const Bytes blob2 = sealer.Seal(Text("x"), SealAad("ab", "c"));
  EXPECT_FALSE(sealer.Open(blob2, SealAad("a", "bc")).ok());
}

TEST(Seal, WrongKeyFails) {
  const Sealer a = MakeSealer(TestKey(1));
  const Sealer b = MakeSealer(TestKey(2));
  auto opened = b.Open(a.Seal(Text("secret"), kAad), kAad);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(a.key_id(), b.key_id());
}

TEST(Seal, WrongVersionByteFails) {
  const Sealer sealer = MakeSealer(TestKey());
  Bytes blob = sealer.Seal(Text("secret"), kAad);
  for (uint8_t v : {uint8_t{0}, uint8_t{2}, uint8_t{0xff}}) {
    blob[0] = v;
    auto opened = sealer.Open(blob, kAad);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.status().message().find("unknown format version " + std::to_string(v)),
              std::string::npos)
        << opened.status().message();
  }
}

TEST(Seal, AllZeroKeyRefused) {
  MasterKey zero{};
  auto sealer = Sealer::FromKey(zero);
  ASSERT_FALSE(sealer.ok());
  EXPECT_NE(sealer.status().message().find("all zeros"), std::string::npos);
}

TEST(Seal, CopiesShareTheKey) {
  const Sealer a = MakeSealer(TestKey());
  const Bytes blob = a.Seal(Text("secret"), kAad);
  Sealer copy = a;
  auto opened = copy.Open(blob, kAad);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, Text("secret"));
}

// Interoperability: a second, independent AES-256-GCM implementation (libsodium)
// opens what Seal wrote, given the documented layout and associated data.
TEST(Seal, LayoutMatchesIndependentAesGcm) {
  EnsureSodiumInitialized();
  if (crypto_aead_aes256gcm_is_available() == 0) GTEST_SKIP() << "no AES-NI for libsodium";
  const MasterKey key = TestKey(9);
  const Sealer sealer = MakeSealer(key);
  const Bytes plain = Text("an AppKey: 00112233445566778899aabbccddeeff");
  const Bytes blob = sealer.Seal(plain, kAad);
  std::string full_aad(1, static_cast<char>(kSealVersion));
  full_aad += kAad;
  Bytes out(plain.size());
  unsigned long long outlen = 0;
  ASSERT_EQ(crypto_aead_aes256gcm_decrypt(
                out.data(), &outlen, nullptr, blob.data() + 1 + kSealNonceSize,
                blob.size() - 1 - kSealNonceSize, reinterpret_cast<const uint8_t*>(full_aad.data()),
                full_aad.size(), blob.data() + 1, key.data()),
            0);
  ASSERT_EQ(outlen, plain.size());
  EXPECT_EQ(out, plain);

  // And the other way round: a blob built by libsodium opens with Sealer.
  Bytes theirs(kSealOverhead + plain.size());
  theirs[0] = kSealVersion;
  randombytes_buf(theirs.data() + 1, kSealNonceSize);
  unsigned long long clen = 0;
  crypto_aead_aes256gcm_encrypt(theirs.data() + 1 + kSealNonceSize, &clen, plain.data(),
                                plain.size(), reinterpret_cast<const uint8_t*>(full_aad.data()),
                                full_aad.size(), nullptr, theirs.data() + 1, key.data());
  ASSERT_EQ(clen, plain.size() + kSealTagSize);
  auto opened = sealer.Open(theirs, kAad);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, plain);
}

// --- master key file ----------------------------------------------------------

const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(MasterKeyFile, ParsesWithAndWithoutNewline) {
  for (std::string text : {kKeyHex, kKeyHex + "\n", kKeyHex + "\r\n"}) {
    auto key = ParseMasterKey(text);
    ASSERT_TRUE(key.ok()) << key.status().message();
    for (size_t i = 0; i < key->size(); ++i) EXPECT_EQ((*key)[i], i);
  }
  std::string upper = kKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto key = ParseMasterKey(upper);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*key)[31], 0x1f);
}

TEST(MasterKeyFile, FormatRoundTrip) {
  const MasterKey key = GenerateMasterKey();
  const std::string text = FormatMasterKey(key);
  EXPECT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  auto parsed = ParseMasterKey(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, key);
  EXPECT_NE(GenerateMasterKey(), key);
}

void ExpectKeyError(const std::string& text, const std::string& want) {
  auto key = ParseMasterKey(text);
  ASSERT_FALSE(key.ok()) << "accepted: " << text;
  EXPECT_EQ(key.status().code(), Status::Code::kInvalidInput);
  const std::string& msg = key.status().message();
  EXPECT_NE(msg.find(want), std::string::npos) << msg;
  // Never echo key material: no run of 4 input characters appears in the message.
  for (size_t i = 0; i + 4 <= text.size(); ++i) {
    const std::string piece = text.substr(i, 4);
    if (piece.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) continue;
    EXPECT_EQ(msg.find(piece), std::string::npos) << msg;
  }
}

TEST(MasterKeyFile, BadInputs) {
  ExpectKeyError("", "0 hex digits, expected 64");
  ExpectKeyError("\n", "0 hex digits, expected 64");
  ExpectKeyError(kKeyHex.substr(0, 62), "62 hex digits, expected 64");
  ExpectKeyError(kKeyHex.substr(0, 32) + "\n", "32 hex digits, expected 64");
  ExpectKeyError(kKeyHex + "00", "66 hex digits, expected 64");
  ExpectKeyError(kKeyHex + "\n\n", "a line break at position 65");
  ExpectKeyError(kKeyHex.substr(0, 10) + "g" + kKeyHex.substr(11),
                 "not a hex digit at position 11");
  ExpectKeyError(" " + kKeyHex, "whitespace at position 1");
  ExpectKeyError(kKeyHex + " \n", "whitespace at position 65");
  ExpectKeyError(kKeyHex.substr(0, 20) + "\n" + kKeyHex.substr(20), "line break at position 21");
  ExpectKeyError("0x" + kKeyHex.substr(2), "not a hex digit at position 2");
}

TEST(MasterKeyFile, KeyIdIsSha256Prefix) {
  const MasterKey key = TestKey();
  const Sha256Digest d = Sha256(std::span<const uint8_t>(key));
  EXPECT_EQ(KeyId(key), ToHex(std::span<const uint8_t>(d.data(), 4)));
  EXPECT_EQ(KeyId(key).size(), 8u);
  EXPECT_EQ(MakeSealer(key).key_id(), KeyId(key));
  EXPECT_NE(KeyId(TestKey(2)), KeyId(key));
}

class KeyFileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("roost_seal_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileIo, WriteThenRead) {
  const std::string path = (dir_ / "master.key").string();
  const MasterKey key = GenerateMasterKey();
  ASSERT_TRUE(WriteMasterKeyFile(path, key).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = ReadMasterKeyFile(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, key);
}

TEST_F(KeyFileIo, RefusesToOverwrite) {
  const std::string path = (dir_ / "master.key").string();
  ASSERT_TRUE(WriteMasterKeyFile(path, TestKey(1)).ok());
  Status again = WriteMasterKeyFile(path, TestKey(2));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists);
  auto read = ReadMasterKeyFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, TestKey(1));
}

TEST_F(KeyFileIo, ReadErrorsNameThePath) {
  const std::string missing = (dir_ / "missing.key").string();
  auto r = ReadMasterKeyFile(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_EQ(r.status().message().rfind(missing + ": cannot open", 0), 0u) << r.status().message();

  const std::string bad = (dir_ / "bad.key").string();
  std::ofstream(bad) << kKeyHex.substr(0, 40) << "\n";
  r = ReadMasterKeyFile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), bad + ": master key: 40 hex digits, expected 64 (32 bytes)");

  const std::string big = (dir_ / "big.key").string();
  std::ofstream(big) << std::string(5000, 'a');
  r = ReadMasterKeyFile(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger than 1024 bytes"), std::string::npos);
}

}  // namespace
}  // namespace roost::crypto
