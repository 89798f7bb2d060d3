// Delivery::attempt_log, one line per attempt, oldest first:
// "<epoch ms> <status> <info>\n". Read by the delivery JSON (its history) and
// by FillDestinations (which drops the info texts a reader may not see).
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace roost::pipeline {

// Calls f(time, status, info) for each well-formed line of `log`, in order;
// a malformed line is skipped.
template <typename F>
void ForEachAttempt(std::string_view log, F&& f) {
  while (!log.empty()) {
    const size_t end = log.find('\n');
    const std::string_view line = log.substr(0, end);
    log = end == std::string_view::npos ? std::string_view() : log.substr(end + 1);
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) continue;
    int64_t time = 0, status = 0;
    auto t = std::from_chars(line.data(), line.data() + a, time);
    auto s = std::from_chars(line.data() + a + 1, line.data() + b, status);
    if (t.ec != std::errc() || s.ec != std::errc()) continue;
    f(time, status, line.substr(b + 1));
  }
}

}  // namespace roost::pipeline
