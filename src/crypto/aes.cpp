#include "crypto/aes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cassert>
#include <stdexcept>

namespace roost::crypto {
namespace {

// OpenSSL failures here mean a broken installation (no AES), not bad input.
[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(what);
}

EVP_CIPHER_CTX* NewCtx(const EVP_CIPHER* cipher, const uint8_t* key, const uint8_t* iv,
                       bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) Fail("EVP_CIPHER_CTX_new failed");
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, key, iv, encrypt ? 1 : 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    Fail("EVP_CipherInit_ex failed");
  }
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

void Run(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> in, std::span<uint8_t> out) {
  assert(in.size() == out.size() && in.size() % 16 == 0);
  // EVP_CipherUpdate takes an int length; feed large buffers in chunks.
  constexpr size_t kChunk = size_t{1} << 30;
  size_t done = 0;
  while (done < in.size()) {
    size_t n = std::min(kChunk, in.size() - done);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out.data() + done, &outl, in.data() + done, static_cast<int>(n)) !=
        1) {
      Fail("EVP_CipherUpdate failed");
    }
    done += n;
  }
}

}  // namespace

struct Aes128::Impl {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
  ~Impl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

Aes128::Aes128(const Key128& key) : impl_(std::make_unique<Impl>()) {
  impl_->enc = NewCtx(EVP_aes_128_ecb(), key.data(), nullptr, true);
  impl_->dec = NewCtx(EVP_aes_128_ecb(), key.data(), nullptr, false);
}
Aes128::~Aes128() = default;
Aes128::Aes128(Aes128&&) noexcept = default;
Aes128& Aes128::operator=(Aes128&&) noexcept = default;

Block Aes128::EncryptBlock(const Block& in) const {
  Block out;
  Run(impl_->enc, in, out);
  return out;
}

Block Aes128::DecryptBlock(const Block& in) const {
  Block out;
  Run(impl_->dec, in, out);
  return out;
}

void Aes128::EncryptEcb(std::span<const uint8_t> in, std::span<uint8_t> out) const {
  Run(impl_->enc, in, out);
}
void Aes128::DecryptEcb(std::span<const uint8_t> in, std::span<uint8_t> out) const {
  Run(impl_->dec, in, out);
}

void EncryptCbc(const Key128& key, const Block& iv, std::span<const uint8_t> in,
                std::span<uint8_t> out) {
  EVP_CIPHER_CTX* ctx = NewCtx(EVP_aes_128_cbc(), key.data(), iv.data(), true);
  Run(ctx, in, out);
  EVP_CIPHER_CTX_free(ctx);
}

void DecryptCbc(const Key128& key, const Block& iv, std::span<const uint8_t> in,
                std::span<uint8_t> out) {
  EVP_CIPHER_CTX* ctx = NewCtx(EVP_aes_128_cbc(), key.data(), iv.data(), false);
  Run(ctx, in, out);
  EVP_CIPHER_CTX_free(ctx);
}

void Cleanse(void* p, size_t n) {
  OPENSSL_cleanse(p, n);
}

}  // namespace roost::crypto
