// Shared helpers for subcommands: failing with a one-line error, reading and
// writing whole files, and a progress bar for long runs on a terminal.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <stdexcept>

#include <string>

#include "core/status.h"

namespace roost::cmd {

// Thrown by a subcommand to stop with "roost: <message>" on stderr and a
// non-zero exit status. main() catches it; nothing else should.
class CommandFailed : public std::runtime_error {
 public:
  explicit CommandFailed(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

[[noreturn]] void Fail(const std::string& message, int exit_code = 1);
// Fails with the status message, prefixed with `context` (e.g. a file name) when given.
void FailIfError(const Status& status, const std::string& context = "");
template <typename T>
T ValueOrFail(Result<T> result, const std::string& context = "") {
  FailIfError(result.status(), context);
  return std::move(result).value();
}

// Reads a whole file; errors name the file.
Result<std::string> ReadWholeFile(const std::string& path);
// Writes `data` to `path` atomically (temp file + fsync + rename). With
// `overwrite` false, fails when `path` exists. The file gets `mode` (less the
// umask) whatever was there before: 0600 for anything that holds a secret
// (PACs, keys). The temp file is made anew, with a random name (never one that
// was there, nor through a symbolic link).
Status WriteWholeFile(const std::string& path, std::string_view data, bool overwrite = true,
                      mode_t mode = 0644);

// Prints a warning line "roost: warning: ..." on stderr.
void Warn(const std::string& message);

// A progress bar on stderr, drawn only when stderr is a terminal. Cheap to
// call per item: it redraws at most a few times per second.
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();
  void Update(uint64_t done);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  int64_t last_draw_ms_ = 0;
};

}  // namespace roost::cmd
