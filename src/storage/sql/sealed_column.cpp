#include "storage/sql/sealed_column.h"

#include <span>

#include "core/hex.h"
#include "crypto/seal.h"

namespace roost::storage::sql {
namespace {

constexpr std::string_view kPrefix = "sealed:";

std::span<const uint8_t> BytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

bool IsSealed(std::string_view value) {
  return value.starts_with(kPrefix);
}

std::string SealColumn(const crypto::Sealer* sealer, std::string_view column, std::string_view row,
                       std::string_view text) {
  if (sealer == nullptr) return std::string(text);
  const Bytes blob = sealer->Seal(BytesOf(text), crypto::SealAad(column, row));
  return std::string(kPrefix) + ToHex(blob);
}

std::optional<std::string> OpenColumn(const crypto::Sealer* sealer, std::string_view column,
                                      std::string_view row, std::string_view value) {
  if (!IsSealed(value)) return std::string(value);
  if (sealer == nullptr) return std::nullopt;
  auto blob = FromHex(value.substr(kPrefix.size()));
  if (!blob.ok()) return std::nullopt;
  auto text = sealer->Open(*blob, crypto::SealAad(column, row));
  if (!text.ok()) return std::nullopt;
  return std::string(text->begin(), text->end());
}

}  // namespace roost::storage::sql
