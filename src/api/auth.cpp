#include "api/auth.h"

#include "core/text.h"

namespace roost::api {

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
  if (decoded->find('\0') != std::string::npos || !IsValidUtf8(*decoded)) {
    return Status::InvalidInput("Basic authorization must be UTF-8 text without NUL");
  }
  BasicCredentials creds{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (creds.login.empty()) return Status::InvalidInput("Basic authorization has an empty login");
  return creds;
}

std::optional<std::string> FindCookie(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(pos, end - pos);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool IsUnsafeMethod(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

}  // namespace roost::api
