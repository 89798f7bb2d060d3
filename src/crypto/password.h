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
// Argon2id work is limited process-wide (PasswordWorkLimiter below): anyone can
// make the server hash or verify (a login, a Basic request with a wrong
// password), and each one takes a core and 64 MiB for tens of ms.
//
// Secrets are never logged or put in error messages by anything here.
// Thread safety: every function may be called from any thread; libsodium is
// initialised once (thread-safe) on first use.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/status.h"

namespace roost::crypto {

// Initialises libsodium exactly once (any thread, any number of calls). Aborts
// the process if libsodium cannot initialise (no usable random source).
void EnsureSodiumInitialized();

enum class PasswordCost {
  kInteractive,  // opslimit 2, memlimit 64 MiB: people and API users
  kModerate,     // opslimit 3, memlimit 256 MiB: offered for operators who have the memory
};

// How much Argon2id work may run at once in this process. At most `slots`
// hashes or verifications run at the same time (memory: slots x 64 MiB); at
// most `max_waiting` callers wait for a slot, none longer than `max_wait`. A
// caller that gets no slot is refused (kUnavailable) rather than queued without
// bound: the server answers it 503 with Retry-After, and its handler thread is
// free again at once.
struct PasswordWorkLimits {
  unsigned slots = 1;
  unsigned max_waiting = 0;
  std::chrono::milliseconds max_wait{0};
};

// The limits `roost serve` runs with. `configured_slots` 0 means one per CPU.
// Hashing never holds every handler thread: slots are capped at
// handler_threads - 1, and slots + max_waiting at handler_threads - 1 (and the
// queue at `slots`, so a waiter waits about one hash), so at least one handler
// thread is always free for requests that hash nothing. max_wait is 250 ms.
PasswordWorkLimits ServerPasswordWorkLimits(unsigned configured_slots, unsigned handler_threads);

// A counting semaphore with a bounded, timed wait. Thread-safe.
class PasswordWorkLimiter {
 public:
  explicit PasswordWorkLimiter(PasswordWorkLimits limits);
  PasswordWorkLimiter(const PasswordWorkLimiter&) = delete;
  PasswordWorkLimiter& operator=(const PasswordWorkLimiter&) = delete;

  // A held slot; destroying it gives the slot back. Must not outlive its limiter.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot();

   private:
    friend class PasswordWorkLimiter;
    explicit Slot(PasswordWorkLimiter* owner) : owner_(owner) {}
    PasswordWorkLimiter* owner_;
  };

  // A slot at once when one is free; otherwise waits for one (up to max_wait)
  // unless max_waiting callers already wait. kUnavailable when refused.
  Result<Slot> Acquire();

  // New limits apply to the next Acquire; slots held now stay held.
  void SetLimits(PasswordWorkLimits limits);
  unsigned running() const;
  unsigned waiting() const;

 private:
  void Release();

  mutable std::mutex mu_;
  std::condition_variable freed_;
  PasswordWorkLimits limits_;
  unsigned running_ = 0;
  unsigned waiting_ = 0;
};

// What the process's Argon2id work did, for metrics.
enum class PasswordWork { kHashed, kVerified, kRefused };
using PasswordWorkObserver = std::function<void(PasswordWork)>;

// Sets the limits of the process-wide limiter that HashPassword and
// VerifyPassword take a slot from, and who is told about each hash,
// verification and refusal (may be empty; must be thread-safe). Until this is
// called, slots = one per CPU and a caller waits as long as it takes (the
// command-line tools hash one password at a time).
void ConfigurePasswordWork(PasswordWorkLimits limits, PasswordWorkObserver observer = {});

// An Argon2id hash string, "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>", with
// a fresh random salt. Fails with kUnavailable when no Argon2id slot is free in
// time (retry later), kInternal when the memory cannot be had.
Result<std::string> HashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::kInteractive);

// True if `password` matches `hash` (a HashPassword string). A malformed or
// non-Argon2id hash verifies nothing (false, at no cost). kUnavailable when no
// Argon2id slot is free in time: nothing was checked, so it is not a failure.
Result<bool> VerifyPassword(std::string_view password, std::string_view hash);

// A valid Argon2id hash that no password a client can know matches: verify a
// login that does not exist against it, so that it costs as much as a wrong
// password. Computed once per process, outside the limiter.
const std::string& UnmatchableHash();

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
// on success only, stores an entry (a kUnavailable VerifyPassword is passed on).
// Consequences:
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

  Result<bool> Verify(std::string_view login, std::string_view password,
                      std::string_view stored_hash);
  // The same with an explicit clock reading, for tests.
  Result<bool> Verify(std::string_view login, std::string_view password,
                      std::string_view stored_hash, Clock::time_point now);

  // Whether Verify would answer true from the cache, without Argon2id; never
  // runs Argon2id (for a caller that must not block). A true answer counts as a hit.
  bool Recalls(std::string_view login, std::string_view password, std::string_view stored_hash);
  bool Recalls(std::string_view login, std::string_view password, std::string_view stored_hash,
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
