// Structured logs: one JSON object per line, e.g.
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"request","method":"GET",...}
// Thread-safe; each line is written with one call so lines never interleave.
// Callers must never pass secrets, request bodies or Authorization headers.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace roost::observe {

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, unsigned v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}

  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

class Logger {
 public:
  enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
  using Sink = std::function<void(std::string_view line)>;  // line includes the '\n'

  // Writes to stderr.
  explicit Logger(Level min_level = Level::kInfo);
  // Writes to `sink` (tests); the sink is called under the logger's mutex.
  Logger(Sink sink, Level min_level = Level::kInfo);

  bool Enabled(Level level) const { return level >= min_level_; }
  void Log(Level level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void Info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(Level::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(Level::kWarn, msg, fields);
  }
  void Error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(Level::kError, msg, fields);
  }

  // The line Log() would write (without the timestamp when `with_time` is false).
  static std::string Format(Level level, std::string_view msg,
                            std::initializer_list<LogField> fields, bool with_time = true);

 private:
  Sink sink_;
  Level min_level_;
  std::mutex mu_;
};

// How many lines of one kind may be written per second, so that what a
// stranger can make happen many times a second (refused requests, refused
// reports) cannot flood the log or fill the disk. Thread-safe.
class LineBudget {
 public:
  explicit LineBudget(int lines_per_second) : per_second_(lines_per_second) {}
  // Whether a line may be written now. When it may, `*left_out` is the number
  // of lines refused since the last one allowed, for that line to say.
  bool Take(int64_t* left_out);

 private:
  const int per_second_;
  std::mutex mu_;
  int64_t second_ = -1;   // guarded by mu_: the second the lines are counted in
  int lines_ = 0;         // guarded by mu_: lines allowed in second_
  int64_t left_out_ = 0;  // guarded by mu_: lines refused since the last allowed
};

}  // namespace roost::observe
