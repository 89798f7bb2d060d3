#include "crypto/seal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "crypto/aes.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace roost::crypto {
namespace {

constexpr size_t kMaxKeyFileSize = 1024;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// OpenSSL failures on the encrypt side mean a broken installation, not bad input.
[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(what);
}

CtxPtr NewCtx() {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fail("EVP_CIPHER_CTX_new failed");
  return ctx;
}

// Feeds the associated data: the version byte, then the caller's aad.
bool AddAad(EVP_CIPHER_CTX* ctx, std::string_view aad) {
  int outl = 0;
  const uint8_t version = kSealVersion;
  if (EVP_CipherUpdate(ctx, nullptr, &outl, &version, 1) != 1) return false;
  if (aad.empty()) return true;
  return EVP_CipherUpdate(ctx, nullptr, &outl, reinterpret_cast<const uint8_t*>(aad.data()),
                          static_cast<int>(aad.size())) == 1;
}

std::string ErrnoText() {
  return std::strerror(errno);
}

}  // namespace

std::string SealAad(std::string_view purpose, std::string_view owner) {
  std::string aad;
  aad.reserve(purpose.size() + 1 + owner.size());
  aad.append(purpose);
  aad.push_back('\0');
  aad.append(owner);
  return aad;
}

Sealer::Sealer(std::span<const uint8_t, kMasterKeySize> key) : key_id_(KeyId(key)) {
  std::copy(key.begin(), key.end(), key_.begin());
}

Sealer::~Sealer() {
  Cleanse(key_.data(), key_.size());
}

Result<Sealer> Sealer::FromKey(std::span<const uint8_t, kMasterKeySize> key) {
  if (std::all_of(key.begin(), key.end(), [](uint8_t b) { return b == 0; })) {
    return Status::InvalidInput("master key is all zeros (unset?)");
  }
  return Sealer(key);
}

Bytes Sealer::Seal(std::span<const uint8_t> plaintext, std::string_view aad) const {
  if (plaintext.size() > static_cast<size_t>(INT32_MAX) - kSealOverhead ||
      aad.size() > static_cast<size_t>(INT32_MAX)) {
    Fail("Seal: input too large");
  }
  Bytes blob(kSealOverhead + plaintext.size());
  blob[0] = kSealVersion;
  uint8_t* nonce = blob.data() + 1;
  uint8_t* body = nonce + kSealNonceSize;
  uint8_t* tag = body + plaintext.size();
  RandomBytes(std::span(nonce, kSealNonceSize));

  CtxPtr ctx = NewCtx();
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kSealNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
    Fail("AES-256-GCM init failed");
  }
  if (!AddAad(ctx.get(), aad)) Fail("AES-256-GCM aad failed");
  int outl = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), body, &outl, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    Fail("AES-256-GCM encrypt failed");
  }
  int finl = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), body + outl, &finl) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kSealTagSize, tag) != 1) {
    Fail("AES-256-GCM final failed");
  }
  return blob;
}

Result<Bytes> Sealer::Open(std::span<const uint8_t> blob, std::string_view aad) const {
  if (blob.size() < kSealOverhead) {
    return Status::InvalidInput("sealed secret is " + std::to_string(blob.size()) +
                                " bytes, shorter than the minimum " +
                                std::to_string(kSealOverhead));
  }
  if (blob[0] != kSealVersion) {
    return Status::InvalidInput("sealed secret has unknown format version " +
                                std::to_string(blob[0]) + " (expected " +
                                std::to_string(kSealVersion) + ")");
  }
  if (blob.size() > static_cast<size_t>(INT32_MAX) || aad.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::InvalidInput("sealed secret is too large");
  }
  const uint8_t* nonce = blob.data() + 1;
  const uint8_t* body = nonce + kSealNonceSize;
  const size_t body_size = blob.size() - kSealOverhead;
  // The tag is copied: EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::array<uint8_t, kSealTagSize> tag;
  std::copy_n(body + body_size, kSealTagSize, tag.begin());

  const Status bad = Status::InvalidInput(
      "sealed secret does not authenticate (tampered, or sealed under another master key or "
      "for another owner)");
  CtxPtr ctx = NewCtx();
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kSealNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
    return Status::Internal("AES-256-GCM init failed");
  }
  if (!AddAad(ctx.get(), aad)) return bad;
  Bytes plain(body_size);
  int outl = 0;
  if (body_size > 0 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &outl, body, static_cast<int>(body_size)) != 1) {
    Cleanse(plain.data(), plain.size());
    return bad;
  }
  int finl = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kSealTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + outl, &finl) != 1) {
    // Unauthenticated plaintext never leaves this function.
    Cleanse(plain.data(), plain.size());
    return bad;
  }
  return plain;
}

Result<MasterKey> ParseMasterKey(std::string_view text) {
  constexpr size_t kDigits = kMasterKeySize * 2;
  std::string_view digits = text;
  if (digits.ends_with("\r\n")) {
    digits.remove_suffix(2);
  } else if (digits.ends_with('\n')) {
    digits.remove_suffix(1);
  }
  for (size_t i = 0; i < digits.size(); ++i) {
    if (!IsHexDigit(digits[i])) {
      std::string what = digits[i] == '\n' || digits[i] == '\r' ? "a line break"
                         : digits[i] == ' ' || digits[i] == '\t'
                             ? "whitespace"
                             : "a character that is not a hex digit";
      return Status::InvalidInput("master key: " + what + " at position " + std::to_string(i + 1) +
                                  " (expected " + std::to_string(kDigits) +
                                  " hex digits and an optional newline)");
    }
  }
  if (digits.size() != kDigits) {
    return Status::InvalidInput("master key: " + std::to_string(digits.size()) +
                                " hex digits, expected " + std::to_string(kDigits) + " (32 bytes)");
  }
  MasterKey key;
  for (size_t i = 0; i < kMasterKeySize; ++i) {
    key[i] = static_cast<uint8_t>(HexValue(digits[2 * i]) << 4 | HexValue(digits[2 * i + 1]));
  }
  return key;
}

std::string FormatMasterKey(std::span<const uint8_t, kMasterKeySize> key) {
  return ToHex(key) + "\n";
}

MasterKey GenerateMasterKey() {
  MasterKey key;
  RandomBytes(key);
  return key;
}

std::string KeyId(std::span<const uint8_t, kMasterKeySize> key) {
  Sha256Digest digest = Sha256(std::span<const uint8_t>(key));
  return ToHex(std::span<const uint8_t>(digest.data(), 4));
}

Result<MasterKey> ReadMasterKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open master key file: " + ErrnoText());
  std::array<char, kMaxKeyFileSize + 1> buf;
  size_t size = 0;
  Status status;
  while (size < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + size, buf.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::IoError(path + ": cannot read master key file: " + ErrnoText());
      break;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  Result<MasterKey> key = Status::InvalidInput("unset");
  if (!status.ok()) {
    key = status;
  } else if (size > kMaxKeyFileSize) {
    key = Status::InvalidInput(path + ": master key file is larger than " +
                               std::to_string(kMaxKeyFileSize) + " bytes; not a key file");
  } else {
    key = ParseMasterKey(std::string_view(buf.data(), size));
    if (!key.ok()) key = key.status().WithPrefix(path);
  }
  Cleanse(buf.data(), buf.size());
  return key;
}

Status WriteMasterKeyFile(const std::string& path, std::span<const uint8_t, kMasterKeySize> key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(path + ": master key file exists; refusing to overwrite it");
    }
    return Status::IoError(path + ": cannot create master key file: " + ErrnoText());
  }
  std::string text = FormatMasterKey(key);
  Status status;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::IoError(path + ": cannot write master key file: " + ErrnoText());
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::IoError(path + ": cannot sync master key file: " + ErrnoText());
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Status::IoError(path + ": cannot close master key file: " + ErrnoText());
  }
  Cleanse(text.data(), text.size());
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

}  // namespace roost::crypto
