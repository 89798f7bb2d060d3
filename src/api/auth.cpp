#include "api/auth.h"

#include <array>

namespace roost::api {
namespace {

constexpr std::array<std::string_view, kRoleCount> kRoleNames = {"ADMIN", "DEVICE_MANAGER",
                                                                 "READER", "FACTORY", "STATION"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string_view RoleName(Role role) {
  return kRoleNames[static_cast<size_t>(role)];
}

Result<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (EqualsIgnoreCase(name, kRoleNames[i])) return static_cast<Role>(i);
  }
  return Status::InvalidInput("unknown role '" + std::string(name.substr(0, 40)) +
                              "' (expected ADMIN, DEVICE_MANAGER, READER, FACTORY or STATION)");
}

Result<RoleSet> ParseRoleList(std::string_view list) {
  RoleSet roles;
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return Status::InvalidInput("empty role in list '" + std::string(list) + "'");
    auto role = ParseRole(item);
    if (!role.ok()) return role.status();
    roles.Add(*role);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return roles;
}

std::string FormatRoleList(RoleSet roles) {
  std::string out;
  for (int i = 0; i < kRoleCount; ++i) {
    if (!roles.Has(static_cast<Role>(i))) continue;
    if (!out.empty()) out += ',';
    out += kRoleNames[static_cast<size_t>(i)];
  }
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidInput("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + static_cast<size_t>(j)];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return Status::InvalidInput("base64 padding in the middle");
      v[j] = Base64Value(c);
      if (v[j] < 0) {
        return Status::InvalidInput("not a base64 character at position " +
                                    std::to_string(i + static_cast<size_t>(j) + 1));
      }
    }
    uint32_t n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i]) << 16 |
                                       static_cast<uint8_t>(bytes[i + 1]) << 8 |
                                       static_cast<uint8_t>(bytes[i + 2]));
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i]) << 16);
    if (rest == 2) n |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<BasicCredentials> ParseBasicAuthorization(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  size_t space = value.find(' ');
  std::string_view scheme = value.substr(0, space);
  if (!EqualsIgnoreCase(scheme, "Basic")) {
    return Status::NotFound("authorization scheme is not Basic");
  }
  if (space == std::string_view::npos) {
    return Status::InvalidInput("Basic authorization without credentials");
  }
  std::string_view token = value.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  auto decoded = DecodeBase64(token);
  if (!decoded.ok()) {
    return Status::InvalidInput("Basic authorization is not valid base64 (" +
                                decoded.status().message() + ")");
  }
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return Status::InvalidInput("Basic authorization must be login:password");
  }
  BasicCredentials creds{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (creds.login.empty()) return Status::InvalidInput("Basic authorization has an empty login");
  return creds;
}

}  // namespace roost::api
