// Fuzzes the multipart/form-data parser. Input: the Content-Type header value,
// a newline, then the body. Anything must parse or fail cleanly with a located
// error; what parses must respect the limits, names and filenames must be text
// (UTF-8 without NUL), and every part's data must lie within the body.
#include <cstdint>
#include <string_view>

#include "core/text.h"
#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return 0;
  std::string_view content_type = input.substr(0, nl);
  std::string_view body = input.substr(nl + 1);
  http::MultipartLimits limits;
  limits.max_parts = 8;
  limits.max_header_bytes = 256;
  auto parsed = http::ParseMultipart(content_type, body, limits);
  if (!parsed.ok()) {
    const std::string& m = parsed.status().message();
    if (m.rfind("offset ", 0) != 0 && m.rfind("Content-Type: ", 0) != 0) __builtin_trap();
    return 0;
  }
  if (parsed->size() > limits.max_parts) __builtin_trap();
  for (const auto& part : *parsed) {
    if (part.name.empty()) __builtin_trap();
    if (FindTextFault(part.name) || FindTextFault(part.filename)) __builtin_trap();
    if (part.data.data() < body.data() ||
        part.data.data() + part.data.size() > body.data() + body.size()) {
      __builtin_trap();
    }
  }
  return 0;
}
