#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace roost::crypto {

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  }
  return out;
}

Sha256Digest Sha256(std::string_view text) {
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Block Cmac(const Key128& key, std::span<const uint8_t> data) {
  // The MAC algorithm object is immutable after fetch; fetch it once per process.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("EVP_MAC_fetch(CMAC) failed");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
      OSSL_PARAM_construct_end(),
  };
  Block out{};
  size_t len = 0;
  bool ok = ctx != nullptr && EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("AES-CMAC failed");
  return out;
}

}  // namespace roost::crypto
