// Secrets at rest: AES-256-GCM sealing under a 32-byte master key, and the
// master key file.
//
// A sealed blob is
//
//   version (1 byte, kSealVersion) || nonce (12 random bytes) || ciphertext || tag (16 bytes)
//
// so it is exactly kSealOverhead bytes longer than the plaintext. The GCM
// associated data is the version byte followed by the caller's `aad`, which
// names what the secret is and whom it belongs to (build it with SealAad, e.g.
// SealAad("device-key", "0000002C")). A blob opens only with the same master key
// AND the same aad: a device KEY copied onto another device's row, or into a
// LoRaWAN AppKey column, fails to open instead of silently becoming that
// secret.
//
// Nonces are random; with 96-bit random nonces one master key may seal up to
// 2^32 blobs before the collision bound matters (NIST SP 800-38D, 8.3), far
// beyond a registry's needs. Rotation: KeyId names a master key without
// revealing it, so stored blobs can record which key sealed them.
//
// Error messages never contain plaintext, key bytes or key file contents.
// Thread safety: a Sealer is immutable after construction; Seal and Open may be
// called from any number of threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/hex.h"
#include "core/status.h"

namespace roost::crypto {

inline constexpr size_t kMasterKeySize = 32;
inline constexpr uint8_t kSealVersion = 1;
inline constexpr size_t kSealNonceSize = 12;
inline constexpr size_t kSealTagSize = 16;
inline constexpr size_t kSealOverhead = 1 + kSealNonceSize + kSealTagSize;

// A master key. Wipe copies with Cleanse when done (Sealer does so for its own).
using MasterKey = std::array<uint8_t, kMasterKeySize>;

// The associated data for a secret: purpose and owner, joined unambiguously
// (purpose || 0x00 || owner). `purpose` must not contain a NUL byte.
std::string SealAad(std::string_view purpose, std::string_view owner);

class Sealer {
 public:
  // Fails (kInvalidInput) on an all-zero key, the mark of an unset key.
  static Result<Sealer> FromKey(std::span<const uint8_t, kMasterKeySize> key);

  Sealer(const Sealer&) = default;
  Sealer& operator=(const Sealer&) = default;
  ~Sealer();  // wipes the key

  // Encrypts `plaintext` (may be empty) with a fresh random nonce.
  Bytes Seal(std::span<const uint8_t> plaintext, std::string_view aad) const;

  // Decrypts a blob made by Seal with the same key and aad. Fails with
  // kInvalidInput when the blob is too short, has an unknown version byte, or
  // does not authenticate (tampered, wrong key, wrong aad: indistinguishable).
  Result<Bytes> Open(std::span<const uint8_t> blob, std::string_view aad) const;

  // The key id of this sealer's master key (see KeyId).
  const std::string& key_id() const { return key_id_; }

 private:
  explicit Sealer(std::span<const uint8_t, kMasterKeySize> key);
  MasterKey key_{};
  std::string key_id_;
};

// --- The master key file ------------------------------------------------------
// Format: exactly 64 hex digits (either case), optionally followed by one "\n"
// or "\r\n". Nothing else.

// Parses key file text. Errors say what is wrong and where (a character
// position), never the characters themselves.
Result<MasterKey> ParseMasterKey(std::string_view text);

// The file text for `key`: 64 lowercase hex digits and "\n".
std::string FormatMasterKey(std::span<const uint8_t, kMasterKeySize> key);

// A fresh key from the CSPRNG.
MasterKey GenerateMasterKey();

// The first 8 lowercase hex digits of SHA-256(key): names a key in logs and
// stored blobs without revealing it.
std::string KeyId(std::span<const uint8_t, kMasterKeySize> key);

// I/O helpers (the only functions here that touch the file system).
//
// Reads and parses a key file; errors are prefixed with the path. Files over
// 1 KiB are refused without parsing.
Result<MasterKey> ReadMasterKeyFile(const std::string& path);
// Writes a new key file with mode 0600 and fsyncs it. Refuses to overwrite an
// existing file (kAlreadyExists): losing the old key loses every sealed secret.
Status WriteMasterKeyFile(const std::string& path, std::span<const uint8_t, kMasterKeySize> key);

}  // namespace roost::crypto
