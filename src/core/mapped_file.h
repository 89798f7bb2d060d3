// A whole file as a read-only memory map, so that large inputs (an ID/KEY file
// of a million devices, an upload spooled to disk) are read through the page
// cache instead of being copied onto the heap.
//
// Contract:
// - Open maps a regular file read-only and private; anything else (a
//   directory, a pipe, a device) is refused with the path named. An empty file
//   gives an empty view without a mapping.
// - view() stays valid, and its bytes unchanged, for the life of the MappedFile
//   as long as nobody truncates or rewrites the file meanwhile (a truncated
//   file makes reads past its new end fault, as with any mapping).
// - Move-only (a moved-from MappedFile has an empty view); the mapping is
//   released by the destructor.
// - The only I/O in core: nothing else here touches files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace roost {

class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }
  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(data_), size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}
  void Release();

  void* data_ = nullptr;  // nullptr for an empty file
  size_t size_ = 0;
};

}  // namespace roost
