#include "observe/log.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

#include "observe/json_string.h"

namespace roost::observe {
namespace {

constexpr std::string_view LevelName(Logger::Level level) {
  switch (level) {
    case Logger::Level::kDebug:
      return "debug";
    case Logger::Level::kInfo:
      return "info";
    case Logger::Level::kWarn:
      return "warn";
    case Logger::Level::kError:
      return "error";
  }
  return "info";
}

void AppendTimestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(ms % 1000));
  out.append(buf, static_cast<size_t>(n));
}

void AppendValue(std::string& out, const LogField& f) {
  if (auto* s = std::get_if<std::string_view>(&f.value)) {
    AppendJsonString(out, *s);
  } else if (auto* i = std::get_if<int64_t>(&f.value)) {
    out += std::to_string(*i);
  } else if (auto* d = std::get_if<double>(&f.value)) {
    if (!std::isfinite(*d)) {
      out += "null";
      return;
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, *d, std::chars_format::fixed, 6);
    out.append(buf, r.ptr);
  } else {
    out += std::get<bool>(f.value) ? "true" : "false";
  }
}

}  // namespace

Logger::Logger(Level min_level)
    : sink_([](std::string_view line) {
        // One write() per line: lines from several threads or processes never interleave.
        const char* p = line.data();
        size_t left = line.size();
        while (left > 0) {
          ssize_t n = ::write(STDERR_FILENO, p, left);
          if (n <= 0) return;
          p += n;
          left -= static_cast<size_t>(n);
        }
      }),
      min_level_(min_level) {}

Logger::Logger(Sink sink, Level min_level) : sink_(std::move(sink)), min_level_(min_level) {}

std::string Logger::Format(Level level, std::string_view msg,
                           std::initializer_list<LogField> fields, bool with_time) {
  std::string out;
  out.reserve(160);
  out.push_back('{');
  if (with_time) {
    out += "\"ts\":\"";
    AppendTimestamp(out);
    out += "\",";
  }
  out += "\"level\":\"";
  out += LevelName(level);
  out += "\",\"msg\":";
  AppendJsonString(out, msg);
  for (const LogField& f : fields) {
    out.push_back(',');
    AppendJsonString(out, f.key);
    out.push_back(':');
    AppendValue(out, f);
  }
  out += "}\n";
  return out;
}

void Logger::Log(Level level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  std::string line = Format(level, msg, fields);
  std::lock_guard lock(mu_);
  sink_(line);
}

bool LineBudget::Take(int64_t* left_out) {
  const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  std::lock_guard<std::mutex> lock(mu_);
  if (second != second_) {
    second_ = second;
    lines_ = 0;
  }
  if (lines_ >= per_second_) {
    ++left_out_;
    return false;
  }
  ++lines_;
  *left_out = std::exchange(left_out_, 0);
  return true;
}

}  // namespace roost::observe
