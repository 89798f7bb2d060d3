// A real HTTP/1.1 server on 127.0.0.1 for the tests of what Roost sends out
// (callbacks): keep-alive connections, a handler per request, every request
// and accepted connection recorded. Header-only, for tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace roost::integration::testing {

using namespace std::chrono_literals;

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<absent>";
  }
};

struct Answer {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  size_t filler_bytes = 0;  // sent after `body`, for answers too big to build
  // The server closes the connection once the answer is sent. It says so with
  // a "Connection: close" header only if `headers` has one.
  bool close_after = false;
  // Sent as is after the status line, in place of the headers and body above
  // (no Content-Length is added): for answers chunked, ended by closing the
  // connection, or preceded by an interim answer.
  std::optional<std::string> raw = std::nullopt;
  // The connection is closed once the request is read, and nothing answered.
  bool hang_up = false;
};

// A real HTTP/1.1 server on 127.0.0.1 (plain sockets, one thread per
// connection, keep-alive), counting the connections it accepts.
class LoopbackHttpServer {
 public:
  enum class Mode {
    kHttp,    // answers every request with the handler's Answer
    kSilent,  // reads whatever comes and never answers
    kNotTls,  // writes a line of plain text and closes: not a TLS server
  };

  explicit LoopbackHttpServer(std::function<Answer(const ReceivedRequest&)> handler,
                              Mode mode = Mode::kHttp)
      : handler_(std::move(handler)), mode_(mode) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~LoopbackHttpServer() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int fd : connection_fds_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  // Connections the client closed (or this server did, after close_after or hang_up).
  int ended() const { return ended_.load(); }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      connection_fds_.push_back(fd);
      workers_.emplace_back([this, fd] {
        Serve(fd);
        ++ended_;
      });
    }
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd) {
    std::string in;
    char buf[16384];
    auto fill = [&]() {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
      return true;
    };
    if (mode_ == Mode::kNotTls) {
      if (fill()) SendAll(fd, "this is not TLS\r\n");
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
    for (;;) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return;
      }
      if (mode_ == Mode::kSilent) {
        while (fill()) {
        }
        return;
      }
      ReceivedRequest request;
      std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string line = head.substr(0, line_end);
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 + 1);
      request.method = line.substr(0, sp1);
      request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t content_length = 0;
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t next = head.find("\r\n", pos);
        if (next == std::string::npos) next = head.size();
        std::string field = head.substr(pos, next - pos);
        size_t colon = field.find(':');
        std::string name = field.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = colon == std::string::npos ? "" : field.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") content_length = std::stoul(value);
        request.headers.emplace_back(name, value);
        pos = next + 2;
      }
      while (in.size() < content_length) {
        if (!fill()) return;
      }
      request.body = in.substr(0, content_length);
      in.erase(0, content_length);
      Answer answer = handler_(request);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(request));
      }
      if (answer.hang_up) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
      std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " Status\r\n";
      if (answer.raw) {
        out += *answer.raw;
      } else {
        for (const auto& [n, v] : answer.headers) out += n + ": " + v + "\r\n";
        out += "Content-Length: " + std::to_string(answer.body.size() + answer.filler_bytes) +
               "\r\n\r\n" + answer.body;
      }
      if (!SendAll(fd, out)) return;
      const std::string filler(64 * 1024, 'x');
      for (size_t left = answer.filler_bytes; left > 0;) {
        size_t n = std::min(left, filler.size());
        if (!SendAll(fd, std::string_view(filler).substr(0, n))) return;
        left -= n;
      }
      if (answer.close_after) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  std::function<Answer(const ReceivedRequest&)> handler_;
  Mode mode_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> ended_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> connection_fds_;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace roost::integration::testing
