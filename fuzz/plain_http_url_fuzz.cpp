// Fuzzes the split of a callback's http:// URL for Roost's own HTTP client
// (ParsePlainHttpUrl). The whole input is the URL. A URL taken must give a
// host, a port and a request target that can be written on the request line
// and in Host as they are (printable ASCII, no space), and writing them back
// into a URL must give the same parts; any other URL is left to libcurl.
#include <cstdint>
#include <string>
#include <string_view>

#include "integration/plain_http_client.h"

namespace {

bool Printable(std::string_view s) {
  for (const char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost::integration;
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  const auto t = ParsePlainHttpUrl(url);
  if (!t) return 0;
  if (!url.starts_with("http://")) __builtin_trap();
  if (t->host.empty() || t->port == 0) __builtin_trap();
  if (!Printable(t->host_header) || !Printable(t->target)) __builtin_trap();
  if (!t->target.starts_with('/') || t->target.find('#') != std::string::npos) __builtin_trap();
  if (t->host_header.find(t->host) == std::string::npos) __builtin_trap();
  const auto again = ParsePlainHttpUrl("http://" + t->host_header + t->target);
  if (!again || again->host != t->host || again->port != t->port ||
      again->host_header != t->host_header || again->target != t->target) {
    __builtin_trap();
  }
  return 0;
}
