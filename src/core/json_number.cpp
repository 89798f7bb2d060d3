#include "core/json_number.h"

#include <charconv>
#include <cmath>

namespace roost {

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendJsonNumber(std::string& out, const std::optional<double>& v) {
  if (v) {
    AppendJsonNumber(out, *v);
  } else {
    out += "null";
  }
}

void AppendJsonInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace roost
