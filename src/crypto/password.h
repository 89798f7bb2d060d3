// Passwords: Argon2id hashing (libsodium), random credentials, constant-time
// comparison, and a cache that makes per-request API authentication cheap.
//
// Cost choice. Both people and API users are hashed with libsodium's
// INTERACTIVE Argon2id limits (opslimit 2, memlimit 64 MiB; about 50-90 ms per
// hash or verify on one core of a current x86 machine, see docs/configuration.md
// "Passwords"). MODERATE (256 MiB, ~0.5 s) was rejected: one login would more
// than double the 200 MB memory budget of a server holding 1 M devices, and a
// handful of concurrent logins could exhaust a small machine. The parameters are
// stored in each hash string, so raising them later only needs
// PasswordNeedsRehash at the next successful login.
//
// API users authenticate on every request (HTTP Basic), and 64 MiB + ~70 ms per
// request is not affordable. Their passwords are 192-bit random strings
// (GeneratePassword), so the hash does not need to slow down guessing; it only
// keeps the store free of usable credentials. PasswordVerifyCache remembers a
// successful verification as a keyed BLAKE2b MAC of (stored hash, password)
// under a per-process random key, so a repeated request costs one MAC; see the
// class comment.
//
// Secrets are never logged or put in error messages by anything here.
// Thread safety: every function may be called from any thread; libsodium is
// initialised once (thread-safe) on first use.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace roost::crypto {

// Initialises libsodium exactly once (any thread, any number of calls). Aborts
// the process if libsodium cannot initialise (no usable random source).
void EnsureSodiumInitialized();

enum class PasswordCost {
  kInteractive,  // opslimit 2, memlimit 64 MiB: people and API users
  kModerate,     // opslimit 3, memlimit 256 MiB: offered for operators who have the memory
};

// An Argon2id hash string, "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>", with
// a fresh random salt. Fails (kInternal) only when the memory cannot be had.
Result<std::string> HashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::kInteractive);

// True if `password` matches `hash` (a HashPassword string). A malformed or
// non-Argon2id hash verifies nothing (false).
bool VerifyPassword(std::string_view password, std::string_view hash);

// True if `hash` was made with other parameters than `cost` (or is malformed):
// rehash at the next successful login.
bool PasswordNeedsRehash(std::string_view hash, PasswordCost cost = PasswordCost::kInteractive);

// URL-safe alphabet of generated passwords: A-Z a-z 0-9 '-' '_' (64 symbols,
// 6 bits each, so 32 characters carry 192 bits).
inline constexpr std::string_view kPasswordAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
inline constexpr size_t kGeneratedPasswordLength = 32;

// A random password of `length` characters of kPasswordAlphabet (CSPRNG).
std::string GeneratePassword(size_t length = kGeneratedPasswordLength);

// A random API user login: 24 lowercase hex characters (96 bits, CSPRNG).
std::string GenerateApiLogin();

// Compares in time that depends only on the lengths (which are not secret).
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Remembers successful password verifications so that an API user's repeated
// requests skip Argon2id.
//
// An entry is keyed by login and holds MAC = BLAKE2b-256(key, stored hash ||
// 0x00 || password) under a random key made when the cache is created (never
// stored, never logged), plus the time it was made. Verify(login, password,
// stored_hash) answers from the entry when its MAC matches (constant-time
// compare) and it is younger than `ttl`; otherwise it runs VerifyPassword and,
// on success only, stores an entry. Consequences:
//   - a changed or deleted password takes effect at once: the new stored hash
//     changes the MAC, so the old entry no longer matches;
//   - failures are never cached: every wrong password costs a full Argon2id
//     verify (rate limiting of failed logins belongs to the caller);
//   - the process memory holds MACs, not passwords: a memory dump gives an
//     attacker nothing to replay against another Roost instance.
// At most `capacity` entries; the least recently used is dropped first.
// Thread-safe; Argon2id runs outside the lock.
class PasswordVerifyCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PasswordVerifyCache(size_t capacity = 10000,
                               Clock::duration ttl = std::chrono::minutes(10));
  ~PasswordVerifyCache();
  PasswordVerifyCache(const PasswordVerifyCache&) = delete;
  PasswordVerifyCache& operator=(const PasswordVerifyCache&) = delete;

  bool Verify(std::string_view login, std::string_view password, std::string_view stored_hash);
  // The same with an explicit clock reading, for tests.
  bool Verify(std::string_view login, std::string_view password, std::string_view stored_hash,
              Clock::time_point now);

  // Drops the entry of `login` (e.g. when the API user is deleted).
  void Forget(std::string_view login);

  size_t size() const;
  // How many Verify calls were answered from the cache (for metrics and tests).
  uint64_t hits() const;

 private:
  using Mac = std::array<uint8_t, 32>;
  struct Entry {
    Mac mac;
    Clock::time_point made;
    std::list<std::string>::iterator lru;
  };
  Mac MacOf(std::string_view password, std::string_view stored_hash) const;

  const size_t capacity_;
  const Clock::duration ttl_;
  std::array<uint8_t, 32> key_{};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front = most recently used
  uint64_t hits_ = 0;
};

}  // namespace roost::crypto
