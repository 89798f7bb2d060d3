// The CRA ID/KEY encrypted file: pairs of 16-byte AES-128 blocks (ID block, KEY
// block), each block encrypted with the manufacturer's encryption key.
//
// ECB (the default) encrypts each block on its own, which is what lets one pair
// be decrypted without touching the rest. CBC (zero IV, chained across the
// whole file) covers files produced that way; a single CBC pair needs the
// ciphertext block just before it as its IV.
//
// The pure functions here never see a file; CraFileReader reads only the
// blocks it is asked for.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/aes.h"

namespace roost::factory {

enum class CraMode { kEcb, kCbc };
Result<CraMode> ParseCraMode(std::string_view text);  // "ecb" | "cbc"

inline constexpr size_t kCraPairSize = 32;

// A decrypted pair. The KEY is secret: the destructor wipes it.
struct CraPair {
  SigfoxId id;
  Key128 key{};
  CraPair() = default;
  CraPair(SigfoxId i, const Key128& k) : id(i), key(k) {}
  CraPair(const CraPair&) = default;
  CraPair& operator=(const CraPair&) = default;
  ~CraPair() { crypto::Cleanse(key.data(), key.size()); }
};

// OK when `size` is a whole number of pairs; otherwise names the offset where
// the incomplete pair starts.
Status CheckCraFileSize(uint64_t size);

// Reads a decrypted pair: ID big-endian in bytes 0-3 of the first block (bytes
// 4-15 ignored), KEY the whole second block.
CraPair DecodePair(std::span<const uint8_t, kCraPairSize> clear);
// Writes a pair in clear: ID block zero-padded, then the KEY.
void EncodePair(const CraPair& pair, std::span<uint8_t, kCraPairSize> clear);

// Decrypts/encrypts whole blocks in place. For CBC, `iv` is the ciphertext
// block preceding data[0] in the file (all zero at the start of the file);
// on return it holds the last ciphertext block, so a file can be processed in
// consecutive chunks.
void DecryptCraBlocks(const crypto::Aes128& aes, const Key128& key, CraMode mode,
                      std::span<uint8_t> data, crypto::Block& iv);
void EncryptCraBlocks(const crypto::Aes128& aes, const Key128& key, CraMode mode,
                      std::span<uint8_t> data, crypto::Block& iv);

// Random access to a whole encrypted file held in memory (e.g. mapped), for
// imports that must not decrypt the file into a second copy. `file` is a whole
// number of pairs; the caller checks the index. Only the blocks asked for are
// decrypted; in CBC mode the ciphertext block before them is their IV.
//
// The device IDs of pairs [first, first + ids.size()): ID blocks only, so no
// KEY is ever decrypted.
void DecryptIdsAt(const crypto::Aes128& aes, CraMode mode, std::span<const uint8_t> file,
                  uint64_t first, std::span<SigfoxId> ids);
// Pair `index`, KEY included; no clear copy is left behind but the returned pair.
CraPair DecryptPairAt(const crypto::Aes128& aes, CraMode mode, std::span<const uint8_t> file,
                      uint64_t index);

// The AESd dump layout, one line per 16-byte block:
// "0000010: f086 2c47 59ca 9b15 5612 01f5 2e29 5c59 ..,GY...V....)\Y\n"
// Offsets use at least 7 lowercase hex digits. Appends to `out`.
void AppendDump(std::string& out, uint64_t offset, std::span<const uint8_t> blocks);

// Random access to an encrypted file: reads and decrypts only what is asked.
class CraFileReader {
 public:
  static Result<std::unique_ptr<CraFileReader>> Open(const std::string& path, const Key128& key,
                                                     CraMode mode);
  ~CraFileReader();

  uint64_t pair_count() const { return pair_count_; }

  // Decrypts pair `index` (0-based): reads its two blocks (plus the block
  // before it in CBC mode).
  Result<CraPair> ReadPair(uint64_t index) const;

  // Finds the pair holding `id`, decrypting ID blocks only. NotFound if absent.
  Result<uint64_t> FindId(SigfoxId id) const;

 private:
  CraFileReader(int fd, uint64_t pairs, std::string path, const Key128& key, CraMode mode);
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) const;

  int fd_;
  uint64_t pair_count_;
  std::string path_;
  Key128 key_;
  CraMode mode_;
  crypto::Aes128 aes_;
};

}  // namespace roost::factory
