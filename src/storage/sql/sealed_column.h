// Columns sealed at rest (Store::SealSecretsWith). A sealed value is
// "sealed:" followed by the lowercase hex of a crypto::Sealer blob whose
// associated data names the column and the row, so that a value copied onto
// another row or column does not open. A value without the prefix was written
// in clear (by a store without a sealer, or before sealing began) and reads as
// itself: no value written in clear starts with the prefix (a url starts with
// its scheme, a JSON array with '[').
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roost::crypto {
class Sealer;
}  // namespace roost::crypto

namespace roost::storage::sql {

bool IsSealed(std::string_view value);

// `text` sealed as column `column` of row `row`; `text` itself when `sealer`
// is null.
std::string SealColumn(const crypto::Sealer* sealer, std::string_view column, std::string_view row,
                       std::string_view text);

// The text of a value SealColumn wrote, or a value in clear as it is;
// nullopt when a sealed value does not open (no sealer, another master key,
// another column or row, a damaged value).
std::optional<std::string> OpenColumn(const crypto::Sealer* sealer, std::string_view column,
                                      std::string_view row, std::string_view value);

}  // namespace roost::storage::sql
