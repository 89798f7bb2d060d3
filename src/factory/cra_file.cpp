#include "factory/cra_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace roost::factory {

Result<CraMode> ParseCraMode(std::string_view text) {
  if (text == "ecb" || text == "ECB") return CraMode::kEcb;
  if (text == "cbc" || text == "CBC") return CraMode::kCbc;
  return Status::InvalidInput("mode must be 'ecb' or 'cbc', got '" + std::string(text) + "'");
}

Status CheckCraFileSize(uint64_t size) {
  if (size % kCraPairSize == 0) return Status::Ok();
  uint64_t start = size - size % kCraPairSize;
  char buf[192];
  std::snprintf(buf, sizeof buf,
                "incomplete pair at offset 0x%llx (%llu): %llu of 32 bytes; the file is cut short "
                "or not a CRA ID/KEY file",
                static_cast<unsigned long long>(start), static_cast<unsigned long long>(start),
                static_cast<unsigned long long>(size - start));
  return Status::InvalidInput(buf);
}

CraPair DecodePair(std::span<const uint8_t, kCraPairSize> clear) {
  CraPair pair;
  pair.id.value = uint32_t{clear[0]} << 24 | uint32_t{clear[1]} << 16 | uint32_t{clear[2]} << 8 |
                  uint32_t{clear[3]};
  std::memcpy(pair.key.data(), clear.data() + 16, 16);
  return pair;
}

void EncodePair(const CraPair& pair, std::span<uint8_t, kCraPairSize> clear) {
  std::memset(clear.data(), 0, 16);
  clear[0] = static_cast<uint8_t>(pair.id.value >> 24);
  clear[1] = static_cast<uint8_t>(pair.id.value >> 16);
  clear[2] = static_cast<uint8_t>(pair.id.value >> 8);
  clear[3] = static_cast<uint8_t>(pair.id.value);
  std::memcpy(clear.data() + 16, pair.key.data(), 16);
}

void DecryptCraBlocks(const crypto::Aes128& aes, const Key128& key, CraMode mode,
                      std::span<uint8_t> data, crypto::Block& iv) {
  if (data.empty()) return;
  if (mode == CraMode::kEcb) {
    aes.DecryptEcb(data, data);
    return;
  }
  crypto::Block next_iv;
  std::memcpy(next_iv.data(), data.data() + data.size() - 16, 16);
  crypto::DecryptCbc(key, iv, data, data);
  iv = next_iv;
}

namespace {

// In CBC mode a block's IV is the ciphertext block before it (zero before the first).
void XorPreviousBlock(CraMode mode, std::span<const uint8_t> file, uint64_t block_index,
                      uint8_t* clear) {
  if (mode != CraMode::kCbc || block_index == 0) return;
  const uint8_t* prev = file.data() + (block_index - 1) * 16;
  for (size_t b = 0; b < 16; ++b) clear[b] ^= prev[b];
}

}  // namespace

void DecryptIdsAt(const crypto::Aes128& aes, CraMode mode, std::span<const uint8_t> file,
                  uint64_t first, std::span<SigfoxId> ids) {
  // ID blocks are gathered so that ECB runs over many blocks per call.
  constexpr size_t kBatch = 1024;
  std::array<uint8_t, kBatch * 16> buf;
  for (size_t done = 0; done < ids.size(); done += kBatch) {
    const size_t n = std::min(kBatch, ids.size() - done);
    for (size_t j = 0; j < n; ++j) {
      std::memcpy(buf.data() + j * 16, file.data() + (first + done + j) * kCraPairSize, 16);
    }
    aes.DecryptEcb(std::span<const uint8_t>(buf.data(), n * 16), std::span(buf.data(), n * 16));
    for (size_t j = 0; j < n; ++j) {
      uint8_t* clear = buf.data() + j * 16;
      XorPreviousBlock(mode, file, (first + done + j) * 2, clear);
      ids[done + j].value = uint32_t{clear[0]} << 24 | uint32_t{clear[1]} << 16 |
                            uint32_t{clear[2]} << 8 | uint32_t{clear[3]};
    }
  }
}

CraPair DecryptPairAt(const crypto::Aes128& aes, CraMode mode, std::span<const uint8_t> file,
                      uint64_t index) {
  std::array<uint8_t, kCraPairSize> buf;
  std::memcpy(buf.data(), file.data() + index * kCraPairSize, kCraPairSize);
  aes.DecryptEcb(buf, buf);
  XorPreviousBlock(mode, file, index * 2, buf.data());
  XorPreviousBlock(mode, file, index * 2 + 1, buf.data() + 16);
  CraPair pair = DecodePair(buf);
  crypto::Cleanse(buf.data(), buf.size());
  return pair;
}

void EncryptCraBlocks(const crypto::Aes128& aes, const Key128& key, CraMode mode,
                      std::span<uint8_t> data, crypto::Block& iv) {
  if (data.empty()) return;
  if (mode == CraMode::kEcb) {
    aes.EncryptEcb(data, data);
    return;
  }
  crypto::EncryptCbc(key, iv, data, data);
  std::memcpy(iv.data(), data.data() + data.size() - 16, 16);
}

namespace {

struct DumpTables {
  char hex_pair[256][2];
  char printable[256];
  DumpTables() {
    const char* digits = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      hex_pair[i][0] = digits[i >> 4];
      hex_pair[i][1] = digits[i & 15];
      printable[i] = (i >= 0x20 && i < 0x7f) ? static_cast<char>(i) : '.';
    }
  }
};

const DumpTables& Tables() {
  static const DumpTables tables;
  return tables;
}

}  // namespace

void AppendDump(std::string& out, uint64_t offset, std::span<const uint8_t> blocks) {
  const DumpTables& t = Tables();
  constexpr size_t kLine = 66;  // 7 offset + ": " + 39 hex + ' ' + 16 ascii + '\n'
  size_t lines = blocks.size() / 16;
  size_t start = out.size();
  out.resize(start + lines * (kLine + 2));  // room for offsets wider than 7 digits
  char* p = out.data() + start;
  for (size_t l = 0; l < lines; ++l, offset += 16) {
    const uint8_t* b = blocks.data() + l * 16;
    if (offset <= 0xfffffff) {
      uint64_t v = offset;
      for (int i = 6; i >= 0; --i) {
        p[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
      }
      p += 7;
    } else {
      p += std::snprintf(p, 17, "%07llx", static_cast<unsigned long long>(offset));
    }
    *p++ = ':';
    *p++ = ' ';
    for (int i = 0; i < 16; i += 2) {
      std::memcpy(p, t.hex_pair[b[i]], 2);
      std::memcpy(p + 2, t.hex_pair[b[i + 1]], 2);
      p[4] = ' ';
      p += 5;
    }
    for (int i = 0; i < 16; ++i) p[i] = t.printable[b[i]];
    p[16] = '\n';
    p += 17;
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

CraFileReader::CraFileReader(int fd, uint64_t pairs, std::string path, const Key128& key,
                             CraMode mode)
    : fd_(fd), pair_count_(pairs), path_(std::move(path)), key_(key), mode_(mode), aes_(key) {}

CraFileReader::~CraFileReader() {
  ::close(fd_);
  crypto::Cleanse(key_.data(), key_.size());
}

Result<std::unique_ptr<CraFileReader>> CraFileReader::Open(const std::string& path,
                                                           const Key128& key, CraMode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IoError(path + ": cannot stat: " + std::strerror(errno));
  }
  Status size_ok = CheckCraFileSize(static_cast<uint64_t>(st.st_size));
  if (!size_ok.ok()) {
    ::close(fd);
    return size_ok.WithPrefix(path);
  }
  return std::unique_ptr<CraFileReader>(
      new CraFileReader(fd, static_cast<uint64_t>(st.st_size) / kCraPairSize, path, key, mode));
}

Status CraFileReader::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IoError(path_ + ": read failed at offset " + std::to_string(offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<CraPair> CraFileReader::ReadPair(uint64_t index) const {
  if (index >= pair_count_) {
    return Status::NotFound("pair " + std::to_string(index) + " does not exist; " + path_ +
                            " holds " + std::to_string(pair_count_) + " pairs (0-" +
                            std::to_string(pair_count_ == 0 ? 0 : pair_count_ - 1) + ")");
  }
  std::array<uint8_t, kCraPairSize> buf{};
  crypto::Block iv{};
  uint64_t offset = index * kCraPairSize;
  if (mode_ == CraMode::kCbc && index > 0) {
    ROOST_RETURN_IF_ERROR(ReadAt(offset - 16, iv));
  }
  ROOST_RETURN_IF_ERROR(ReadAt(offset, buf));
  DecryptCraBlocks(aes_, key_, mode_, buf, iv);
  CraPair pair = DecodePair(buf);
  crypto::Cleanse(buf.data(), buf.size());
  return pair;
}

Result<uint64_t> CraFileReader::FindId(SigfoxId id) const {
  // Read in chunks, decrypt only the ID blocks.
  constexpr uint64_t kPairsPerChunk = 4096;
  std::vector<uint8_t> chunk;
  crypto::Block prev{};  // ciphertext block before the current ID block (CBC)
  for (uint64_t first = 0; first < pair_count_; first += kPairsPerChunk) {
    uint64_t n = std::min(kPairsPerChunk, pair_count_ - first);
    chunk.resize(n * kCraPairSize);
    ROOST_RETURN_IF_ERROR(ReadAt(first * kCraPairSize, chunk));
    for (uint64_t i = 0; i < n; ++i) {
      crypto::Block block;
      std::memcpy(block.data(), chunk.data() + i * kCraPairSize, 16);
      crypto::Block clear = aes_.DecryptBlock(block);
      if (mode_ == CraMode::kCbc) {
        for (size_t j = 0; j < 16; ++j) clear[j] ^= prev[j];
        std::memcpy(prev.data(), chunk.data() + i * kCraPairSize + 16, 16);
      }
      uint32_t v = uint32_t{clear[0]} << 24 | uint32_t{clear[1]} << 16 | uint32_t{clear[2]} << 8 |
                   uint32_t{clear[3]};
      if (v == id.value) return first + i;
    }
  }
  return Status::NotFound("device ID " + id.ToFile() + " is not in " + path_);
}

}  // namespace roost::factory
