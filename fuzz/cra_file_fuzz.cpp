// Fuzzes the CRA ID/KEY file path: the size check, ECB and CBC decryption of
// arbitrary blocks, pair decoding and the AESd dump. The first 16 input bytes
// are the key; a CRA file is attacker-controlled input on the bench.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "factory/cra_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  if (size < 17) return 0;
  Key128 key;
  std::memcpy(key.data(), data, 16);
  const factory::CraMode mode = (data[16] & 1) ? factory::CraMode::kCbc : factory::CraMode::kEcb;
  data += 17;
  size -= 17;
  Status size_ok = factory::CheckCraFileSize(size);
  if (!size_ok.ok()) {
    if (size_ok.message().find("offset") == std::string::npos) __builtin_trap();
    size -= size % factory::kCraPairSize;
  }
  std::vector<uint8_t> buf(data, data + size);
  crypto::Aes128 aes(key);
  crypto::Block iv{};
  factory::DecryptCraBlocks(aes, key, mode, buf, iv);
  std::string dump;
  factory::AppendDump(dump, 0, buf);
  if (dump.size() != buf.size() / 16 * 66) __builtin_trap();
  for (size_t off = 0; off + factory::kCraPairSize <= buf.size(); off += factory::kCraPairSize) {
    factory::CraPair pair = factory::DecodePair(
        std::span<const uint8_t, factory::kCraPairSize>(buf.data() + off, factory::kCraPairSize));
    std::array<uint8_t, factory::kCraPairSize> again{};
    factory::EncodePair(pair, again);
    if (std::memcmp(again.data(), buf.data() + off, 4) != 0 ||
        std::memcmp(again.data() + 16, buf.data() + off + 16, 16) != 0)
      __builtin_trap();
  }
  // Encrypting back must give the input.
  crypto::Block iv2{};
  factory::EncryptCraBlocks(aes, key, mode, buf, iv2);
  if (!buf.empty() && std::memcmp(buf.data(), data, buf.size()) != 0) __builtin_trap();
  return 0;
}
