// Helpers shared by the SQLite and PostgreSQL stores (not part of the interface).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/store.h"

namespace roost::storage::internal {

// Inclusive range of device IDs whose 8-digit hex form starts with `prefix`.
struct IdRange {
  uint32_t lo = 0;
  uint32_t hi = 0;
};
Result<IdRange> IdPrefixRange(std::string_view prefix);

// Smallest string greater than every string starting with `prefix` (byte order);
// nullopt when none exists (prefix all 0xFF).
std::optional<std::string> PrefixUpperBound(std::string_view prefix);

// Checks limit and prefixes of a device query.
Status ValidateQuery(const DeviceQuery& query);

// Job items of one chunk, packed as "<length>:<bytes>" repeated.
std::string PackItems(std::span<const std::string> items);
Result<std::vector<std::string>> UnpackItems(std::string_view packed);

// Roles as one text column: names joined by ','.
std::string JoinRoles(const Roles& roles);
Roles SplitRoles(std::string_view text);
// Names that the roles column can hold (non-empty, no ","); what they mean is the model's.
Status CheckStorableRoles(const Roles& roles);

// A group's tree column: "/" + ancestors + id + "/".
std::string TreeOf(const Group& group);
std::vector<std::string> PathFromTree(std::string_view tree, std::string_view id);

// Indexes of devices whose id repeats an earlier one in the same batch.
std::vector<bool> RepeatedIds(std::span<const Device> devices);
// Indexes of patches whose id repeats an earlier one in the same batch.
std::vector<bool> RepeatedPatchIds(std::span<const DevicePatch> patches);

// The product_certificates.search_text column: the key in lower case written with
// '_', ' ', '-' and no separators, then the manufacturer and the product name in
// lower case (ASCII), one per line. A search is a substring match of
// CertificateNeedle(text) in this column.
std::string CertificateSearchText(const ProductCertificate& certificate);
std::string CertificateNeedle(std::string_view text);
// Checks limit, and that the text has no line breaks (they separate the fields).
Status ValidateCertificateQuery(const CertificateQuery& query);
// A list page's limit (1..kMaxPageSize) and offset (0..kMaxListOffset).
Status ValidatePageWindow(int limit, int offset);

// A fresh lease token for `worker`.
std::string NewLeaseToken(std::string_view worker);

}  // namespace roost::storage::internal
