#include "provisioning/provision_id.h"

#include <string>
#include <vector>

namespace roost::provisioning {

crypto::Sha256Digest ProvisionIdHash(std::string_view provision_id, std::string_view suffix) {
  std::string message(provision_id);
  message += suffix;
  return crypto::Sha256(message);
}

VerifyCode ComputeVerifyCode(std::string_view provision_id, std::span<const uint8_t> nonce) {
  std::vector<uint8_t> message(provision_id.begin(), provision_id.end());
  message.insert(message.end(), nonce.begin(), nonce.end());
  return crypto::Cmac(kFixedKey, message);
}

}  // namespace roost::provisioning
