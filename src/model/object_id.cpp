#include "model/object_id.h"

#include <array>
#include <cstdint>

#include "core/hex.h"
#include "crypto/random.h"

namespace roost {

std::string NewObjectId() {
  std::array<uint8_t, kObjectIdLength / 2> bytes{};
  crypto::RandomBytes(bytes);
  return ToHex(bytes);
}

}  // namespace roost
