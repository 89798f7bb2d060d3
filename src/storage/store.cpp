#include "storage/store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <random>
#include <unordered_set>

#include "core/text.h"
#include "storage/internal.h"
#include "storage/migrations.h"

namespace roost::storage {

Result<std::unique_ptr<Store>> OpenStore(const std::string& location, int pool_size) {
  // URL schemes are case-insensitive (RFC 3986) but libpq's is not: the scheme
  // goes to it in lowercase. Anything else is a SQLite path, never a URL of
  // another case taken for a directory name (with its password in it).
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (location.size() >= scheme.size() &&
        AsciiLower(std::string_view(location).substr(0, scheme.size())) == scheme) {
      return OpenPostgresStore(std::string(scheme) + location.substr(scheme.size()), pool_size);
    }
  }
  return OpenSqliteStore(location);
}

std::string_view ProvisionIdStateName(ProvisionIdState state) {
  switch (state) {
    case ProvisionIdState::kPending:
      return "pending";
    case ProvisionIdState::kProvisioned:
      return "provisioned";
    case ProvisionIdState::kDisabled:
      return "disabled";
  }
  return "disabled";
}

std::optional<ProvisionIdState> ParseProvisionIdState(std::string_view name) {
  if (name == "pending") return ProvisionIdState::kPending;
  if (name == "provisioned") return ProvisionIdState::kProvisioned;
  if (name == "disabled") return ProvisionIdState::kDisabled;
  return std::nullopt;
}

std::string ForDialect(std::string_view sql, Dialect dialect) {
  struct Token {
    std::string_view name, sqlite, postgres;
  };
  static constexpr Token kTokens[] = {
      {"{{DEVICE_ID}}", "INTEGER", "BIGINT"},
      {"{{BLOB}}", "BLOB", "BYTEA"},
      {"{{BYTES_TEXT}}", "TEXT", "TEXT COLLATE \"C\""},
      {"{{SERIAL_ID}}", "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"},
      // A statement only PostgreSQL has (storage tuning): a comment on SQLite.
      {"{{POSTGRES_ONLY}}", "--", ""},
      // One only SQLite needs (a table rebuilt where PostgreSQL alters it).
      {"{{SQLITE_ONLY}}", "", "--"},
  };
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  while (i < sql.size()) {
    bool replaced = false;
    if (sql.compare(i, 2, "{{") == 0) {
      for (const Token& t : kTokens) {
        if (sql.compare(i, t.name.size(), t.name) == 0) {
          out += dialect == Dialect::kSqlite ? t.sqlite : t.postgres;
          i += t.name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += sql[i++];
  }
  return out;
}

namespace internal {

Result<IdRange> IdPrefixRange(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 8) {
    return Status::InvalidInput("id prefix must have 1 to 8 hex digits, got " +
                                std::to_string(prefix.size()));
  }
  uint32_t v = 0;
  for (char c : prefix) {
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return Status::InvalidInput("id prefix: '" + std::string(prefix) + "' is not hexadecimal");
    }
    v = (v << 4) | d;
  }
  const unsigned shift = static_cast<unsigned>(4 * (8 - prefix.size()));
  const uint64_t lo = static_cast<uint64_t>(v) << shift;
  const uint64_t hi = lo + ((uint64_t{1} << shift) - 1);
  return IdRange{static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)};
}

std::optional<std::string> PrefixUpperBound(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<unsigned char>(s.back());
    if (last != 0xFF) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

Status ValidateQuery(const DeviceQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPageSize) {
    return Status::InvalidInput("limit must be between 1 and " + std::to_string(kMaxPageSize) +
                                ", got " + std::to_string(query.limit));
  }
  if (!query.id_prefix.empty()) {
    auto range = IdPrefixRange(query.id_prefix);
    if (!range.ok()) return range.status();
  }
  if (query.offset < 0 || query.offset > kMaxDeviceOffset) {
    return Status::InvalidInput("offset must be between 0 and " + std::to_string(kMaxDeviceOffset) +
                                ", got " + std::to_string(query.offset));
  }
  if (query.after_name && query.name_prefix.empty()) {
    return Status::InvalidInput("a name cursor needs a name prefix");
  }
  return Status::Ok();
}

std::string PackItems(std::span<const std::string> items) {
  size_t size = 0;
  for (const auto& item : items) size += item.size() + 12;
  std::string out;
  out.reserve(size);
  for (const auto& item : items) {
    out += std::to_string(item.size());
    out += ':';
    out += item;
  }
  return out;
}

Result<std::vector<std::string>> UnpackItems(std::string_view packed) {
  std::vector<std::string> items;
  size_t i = 0;
  while (i < packed.size()) {
    size_t colon = packed.find(':', i);
    if (colon == std::string_view::npos) {
      return Status::Internal("job chunk: offset " + std::to_string(i) + ": missing ':'");
    }
    size_t len = 0;
    auto [ptr, ec] = std::from_chars(packed.data() + i, packed.data() + colon, len);
    if (ec != std::errc() || ptr != packed.data() + colon || len > packed.size() - colon - 1) {
      return Status::Internal("job chunk: offset " + std::to_string(i) + ": bad item length");
    }
    items.emplace_back(packed.substr(colon + 1, len));
    i = colon + 1 + len;
  }
  return items;
}

std::string JoinRoles(const Roles& roles) {
  std::string out;
  for (const auto& r : roles) {
    if (!out.empty()) out += ',';
    out += r;
  }
  return out;
}

Roles SplitRoles(std::string_view text) {
  Roles roles;
  size_t i = 0;
  while (i < text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) comma = text.size();
    roles.emplace_back(text.substr(i, comma - i));
    i = comma + 1;
  }
  return roles;
}

Status CheckStorableRoles(const Roles& roles) {
  for (const auto& r : roles) {
    if (r.empty() || r.find(',') != std::string::npos) {
      return Status::InvalidInput("role name '" + r + "' is empty or contains ','");
    }
  }
  return Status::Ok();
}

std::string TreeOf(const Group& group) {
  std::string tree = "/";
  for (const auto& a : group.path) tree += a + "/";
  tree += group.id + "/";
  return tree;
}

std::vector<std::string> PathFromTree(std::string_view tree, std::string_view id) {
  std::vector<std::string> path;
  size_t i = 1;
  while (i < tree.size()) {
    size_t slash = tree.find('/', i);
    if (slash == std::string_view::npos) break;
    path.emplace_back(tree.substr(i, slash - i));
    i = slash + 1;
  }
  if (!path.empty() && path.back() == id) path.pop_back();
  return path;
}

std::vector<bool> RepeatedIds(std::span<const Device> devices) {
  std::vector<bool> repeated(devices.size(), false);
  std::unordered_set<uint32_t> seen;
  seen.reserve(devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    if (!seen.insert(devices[i].id.value).second) repeated[i] = true;
  }
  return repeated;
}

std::string CertificateSearchText(const ProductCertificate& certificate) {
  const std::string key = AsciiLower(certificate.key);
  std::string out = key;
  for (char sep : {' ', '-'}) {
    std::string variant = key;
    std::replace(variant.begin(), variant.end(), '_', sep);
    out += '\n' + variant;
  }
  std::string bare = key;
  bare.erase(std::remove(bare.begin(), bare.end(), '_'), bare.end());
  out += '\n' + bare;
  out += '\n' + AsciiLower(certificate.manufacturer);
  out += '\n' + AsciiLower(certificate.product_name);
  return out;
}

std::string CertificateNeedle(std::string_view text) {
  return AsciiLower(text);
}

Status ValidatePageWindow(int limit, int offset) {
  if (limit < 1 || limit > kMaxPageSize) {
    return Status::InvalidInput("limit must be between 1 and " + std::to_string(kMaxPageSize) +
                                ", got " + std::to_string(limit));
  }
  if (offset < 0 || offset > kMaxListOffset) {
    return Status::InvalidInput("offset must be between 0 and " + std::to_string(kMaxListOffset) +
                                ", got " + std::to_string(offset));
  }
  return Status::Ok();
}

Status ValidateCertificateQuery(const CertificateQuery& query) {
  ROOST_RETURN_IF_ERROR(ValidatePageWindow(query.limit, query.offset));
  if (query.text.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidInput("search text must not contain line breaks");
  }
  return Status::Ok();
}

std::vector<bool> RepeatedPatchIds(std::span<const DevicePatch> patches) {
  std::vector<bool> repeated(patches.size(), false);
  std::unordered_set<uint32_t> seen;
  seen.reserve(patches.size());
  for (size_t i = 0; i < patches.size(); ++i) {
    if (!seen.insert(patches[i].id).second) repeated[i] = true;
  }
  return repeated;
}

std::string NewLeaseToken(std::string_view worker) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t process_salt = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::string(worker) + ":" + std::to_string(process_salt) + ":" +
         std::to_string(counter.fetch_add(1)) + ":" + std::to_string(now);
}

}  // namespace internal
}  // namespace roost::storage
