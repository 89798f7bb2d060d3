#include "crypto/password.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "core/cpus.h"
#include "core/hex.h"
#include "crypto/aes.h"
#include "crypto/random.h"

namespace roost::crypto {
namespace {

struct Limits {
  unsigned long long ops;
  size_t mem;
};

Limits LimitsOf(PasswordCost cost) {
  switch (cost) {
    case PasswordCost::kModerate:
      return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
    case PasswordCost::kInteractive:
      break;
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

// libsodium wants NUL-terminated hash strings of bounded length.
bool ToHashBuffer(std::string_view hash, char (&out)[crypto_pwhash_STRBYTES]) {
  if (hash.size() >= crypto_pwhash_STRBYTES || hash.find('\0') != std::string_view::npos) {
    return false;
  }
  std::memcpy(out, hash.data(), hash.size());
  out[hash.size()] = '\0';
  return true;
}

unsigned Cpus() {
  return UsableCpus();
}

// Until the server configures it: a concurrency cap only, the wait is unbounded
// in practice (a command-line tool hashes one password and must not be refused).
PasswordWorkLimiter& ProcessLimiter() {
  static PasswordWorkLimiter limiter(PasswordWorkLimits{Cpus(), 1u << 20, std::chrono::hours(24)});
  return limiter;
}

std::mutex observer_mu;
std::shared_ptr<const PasswordWorkObserver> observer;  // guarded by observer_mu

void Observe(PasswordWork what) {
  std::shared_ptr<const PasswordWorkObserver> o;
  {
    std::lock_guard lock(observer_mu);
    o = observer;
  }
  if (o && *o) (*o)(what);
}

// A slot of the process limiter, counted as refused when there is none.
Result<PasswordWorkLimiter::Slot> TakeSlot() {
  auto slot = ProcessLimiter().Acquire();
  if (!slot.ok()) Observe(PasswordWork::kRefused);
  return slot;
}

}  // namespace

PasswordWorkLimits ServerPasswordWorkLimits(unsigned configured_slots, unsigned handler_threads) {
  PasswordWorkLimits l;
  const unsigned spare = handler_threads > 1 ? handler_threads - 1 : 1;
  l.slots = std::min(configured_slots != 0 ? configured_slots : Cpus(), spare);
  l.max_waiting = std::min(l.slots, spare - std::min(spare, l.slots));
  l.max_wait = std::chrono::milliseconds(250);
  return l;
}

PasswordWorkLimiter::PasswordWorkLimiter(PasswordWorkLimits limits) : limits_(limits) {}

PasswordWorkLimiter::Slot::~Slot() {
  if (owner_ != nullptr) owner_->Release();
}

Result<PasswordWorkLimiter::Slot> PasswordWorkLimiter::Acquire() {
  const Status busy = Status::Unavailable("too many password checks at once; retry later");
  std::unique_lock lock(mu_);
  if (running_ < limits_.slots) {
    ++running_;
    return Slot(this);
  }
  if (waiting_ >= limits_.max_waiting) return busy;
  ++waiting_;
  const bool got =
      freed_.wait_for(lock, limits_.max_wait, [&] { return running_ < limits_.slots; });
  --waiting_;
  if (!got) return busy;
  ++running_;
  return Slot(this);
}

void PasswordWorkLimiter::Release() {
  {
    std::lock_guard lock(mu_);
    --running_;
  }
  freed_.notify_one();
}

void PasswordWorkLimiter::SetLimits(PasswordWorkLimits limits) {
  {
    std::lock_guard lock(mu_);
    limits_ = limits;
  }
  freed_.notify_all();
}

unsigned PasswordWorkLimiter::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

unsigned PasswordWorkLimiter::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

void ConfigurePasswordWork(PasswordWorkLimits limits, PasswordWorkObserver o) {
  ProcessLimiter().SetLimits(limits);
  auto shared = std::make_shared<const PasswordWorkObserver>(std::move(o));
  std::lock_guard lock(observer_mu);
  observer = std::move(shared);
}

void EnsureSodiumInitialized() {
  // A function-local static is initialised exactly once, thread-safely.
  static const int result = sodium_init();
  if (result < 0) {
    std::fputs("roost: fatal: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

namespace {

Result<std::string> HashUnlimited(std::string_view password, PasswordCost cost) {
  EnsureSodiumInitialized();
  const Limits limits = LimitsOf(cost);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal("password hashing failed (out of memory?)");
  }
  return std::string(out);
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  auto slot = TakeSlot();
  if (!slot.ok()) return slot.status();
  Observe(PasswordWork::kHashed);
  return HashUnlimited(password, cost);
}

Result<bool> VerifyPassword(std::string_view password, std::string_view hash) {
  EnsureSodiumInitialized();
  char buf[crypto_pwhash_STRBYTES];
  // Only Argon2id: an Argon2i string in the store would mean someone wrote it there.
  if (!hash.starts_with("$argon2id$") || !ToHashBuffer(hash, buf)) return false;
  auto slot = TakeSlot();
  if (!slot.ok()) return slot.status();
  Observe(PasswordWork::kVerified);
  return crypto_pwhash_argon2id_str_verify(buf, password.data(), password.size()) == 0;
}

const std::string& UnmatchableHash() {
  // The password dies here; 192 random bits nobody ever saw.
  static const std::string kHash = [] {
    std::string password = GeneratePassword();
    auto hash = HashUnlimited(password, PasswordCost::kInteractive);
    Cleanse(password.data(), password.size());
    if (!hash.ok()) {
      std::fputs("roost: fatal: cannot compute a password hash (out of memory?)\n", stderr);
      std::abort();
    }
    return std::move(hash).value();
  }();
  return kHash;
}

bool PasswordNeedsRehash(std::string_view hash, PasswordCost cost) {
  EnsureSodiumInitialized();
  char buf[crypto_pwhash_STRBYTES];
  if (!hash.starts_with("$argon2id$") || !ToHashBuffer(hash, buf)) return true;
  const Limits limits = LimitsOf(cost);
  return crypto_pwhash_argon2id_str_needs_rehash(buf, limits.ops, limits.mem) != 0;
}

std::string GeneratePassword(size_t length) {
  // 64 symbols: the low 6 bits of a uniform byte are uniform, no bias.
  static_assert(kPasswordAlphabet.size() == 64);
  std::string bytes(length, '\0');
  RandomBytes(std::span(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
  for (char& c : bytes) c = kPasswordAlphabet[static_cast<uint8_t>(c) & 63];
  return bytes;
}

std::string GenerateApiLogin() {
  std::array<uint8_t, 12> raw;
  RandomBytes(raw);
  return ToHex(raw);
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  EnsureSodiumInitialized();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return ConstantTimeEquals(std::span(reinterpret_cast<const uint8_t*>(a.data()), a.size()),
                            std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
}

// --- PasswordVerifyCache -------------------------------------------------------

PasswordVerifyCache::PasswordVerifyCache(size_t capacity, Clock::duration ttl)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl) {
  EnsureSodiumInitialized();
  RandomBytes(key_);
}

PasswordVerifyCache::~PasswordVerifyCache() {
  Cleanse(key_.data(), key_.size());
}

PasswordVerifyCache::Mac PasswordVerifyCache::MacOf(std::string_view password,
                                                    std::string_view stored_hash) const {
  Mac mac;
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), mac.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(stored_hash.data()),
                            stored_hash.size());
  const uint8_t sep = 0;
  crypto_generichash_update(&st, &sep, 1);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(password.data()),
                            password.size());
  crypto_generichash_final(&st, mac.data(), mac.size());
  Cleanse(&st, sizeof st);
  return mac;
}

Result<bool> PasswordVerifyCache::Verify(std::string_view login, std::string_view password,
                                         std::string_view stored_hash) {
  return Verify(login, password, stored_hash, Clock::now());
}

bool PasswordVerifyCache::Recalls(std::string_view login, std::string_view password,
                                  std::string_view stored_hash) {
  return Recalls(login, password, stored_hash, Clock::now());
}

bool PasswordVerifyCache::Recalls(std::string_view login, std::string_view password,
                                  std::string_view stored_hash, Clock::time_point now) {
  const Mac mac = MacOf(password, stored_hash);
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(login));
  if (it == entries_.end() || now - it->second.made >= ttl_ ||
      !ConstantTimeEquals(it->second.mac, mac)) {
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++hits_;
  return true;
}

Result<bool> PasswordVerifyCache::Verify(std::string_view login, std::string_view password,
                                         std::string_view stored_hash, Clock::time_point now) {
  if (Recalls(login, password, stored_hash, now)) return true;
  const Mac mac = MacOf(password, stored_hash);
  auto verified = VerifyPassword(password, stored_hash);
  if (!verified.ok() || !*verified) return verified;
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(std::string(login));
  if (inserted) {
    lru_.push_front(it->first);
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  it->second.mac = mac;
  it->second.made = now;
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  return true;
}

void PasswordVerifyCache::Forget(std::string_view login) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(login));
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

size_t PasswordVerifyCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t PasswordVerifyCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace roost::crypto
