#include "cmd/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace roost::cmd {

void Fail(const std::string& message, int exit_code) {
  throw CommandFailed(message, exit_code);
}

void FailIfError(const Status& status, const std::string& context) {
  if (status.ok()) return;
  Fail(context.empty() ? status.message() : context + ": " + status.message());
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read error");
  return ss.str();
}

Status WriteWholeFile(const std::string& path, std::string_view data, bool overwrite, mode_t mode) {
  struct stat st {};
  if (!overwrite && ::stat(path.c_str(), &st) == 0) {
    return Status::AlreadyExists(path + ": already exists; refusing to overwrite");
  }
  // mkostemp makes a file of its own (O_EXCL, with a random name): a name
  // someone placed beforehand, a file or a link to one, is never written through.
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  // mkostemp makes it 0600; a file without secrets gets the usual mode.
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  if (::fchmod(fd, mode & ~umask_now) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": cannot set its mode: " + std::strerror(err));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IoError(path + ": write failed: " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": cannot flush to disk");
  }
  if (!overwrite) {
    // link() fails if the target appeared meanwhile, so we never clobber it.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return err == EEXIST ? Status::AlreadyExists(path + ": already exists; refusing to overwrite")
                           : Status::IoError(path + ": cannot create: " + std::strerror(err));
    }
    ::unlink(tmp.c_str());
    return Status::Ok();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": cannot rename into place: " + std::strerror(err));
  }
  return Status::Ok();
}

void Warn(const std::string& message) {
  std::fprintf(stderr, "roost: warning: %s\n", message.c_str());
}

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (enabled_ && !finished_) std::fputc('\n', stderr);
}

void Progress::Update(uint64_t done) {
  if (!enabled_ || finished_) return;
  int64_t now = NowMs();
  if (done < total_ && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  constexpr int kWidth = 30;
  double frac = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  int filled = static_cast<int>(frac * kWidth);
  std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu %3d%%", label_.c_str(), filled,
               "##############################", kWidth - filled, "",
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
               static_cast<int>(frac * 100));
  std::fflush(stderr);
}

void Progress::Finish() {
  if (!enabled_ || finished_) return;
  last_draw_ms_ = 0;
  Update(total_);
  std::fputc('\n', stderr);
  finished_ = true;
}

}  // namespace roost::cmd
