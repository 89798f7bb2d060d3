#include "model/calendar.h"

#include <chrono>
#include <ctime>

namespace roost {

std::string UtcText(EpochMillis ms) {
  const std::time_t s = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

UtcYear UtcYearOf(int year) {
  using namespace std::chrono;
  const sys_days first{std::chrono::year{year} / January / 1};
  const sys_days next{std::chrono::year{year + 1} / January / 1};
  UtcYear out;
  out.start = duration_cast<milliseconds>(first.time_since_epoch()).count();
  out.days = static_cast<int>((next - first).count());
  return out;
}

}  // namespace roost
