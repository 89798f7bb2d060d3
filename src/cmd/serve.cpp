// roost serve: the server process. For now it serves the operational endpoints
// (/healthz, /readyz, /metrics); see http/server.h for the HTTP behaviour.
//
// Defaults: listens on 127.0.0.1:8080 (local only: exposing the server is an
// explicit choice, e.g. --listen 0.0.0.0:8080), keeps its data in ./roost-data,
// runs one event loop thread per CPU. Logs are JSON lines on stderr; the first
// line is {"msg":"listening","address":"HOST:PORT",...} with the bound address.
// SIGTERM or SIGINT: stop accepting, /readyz answers 503, requests in flight
// finish (at most 10 s), exit 0. A second signal during the drain exits at once.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "http/log.h"
#include "http/metrics.h"
#include "http/ops.h"
#include "http/router.h"
#include "http/server.h"

namespace roost::cmd {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(10);

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "roost-data";
  unsigned threads = 0;
};

// Creates the data directory when missing and checks that it is usable.
void PrepareDataDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    Fail(dir + ": data directory is not a directory");
  }
  fs::create_directories(dir, ec);
  if (ec) Fail(dir + ": cannot create data directory: " + ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0) Fail(dir + ": data directory is not writable");
}

void RunServe(const ServeOptions& opts) {
  auto host_port = http::ParseHostPort(opts.listen);
  FailIfError(host_port.status(), "--listen");
  PrepareDataDir(opts.data_dir);

  // Signals are taken synchronously by this thread (sigwait); every thread
  // started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::Logger logger;
  http::Registry metrics;
  http::Readiness readiness;
  http::Router router;
  FailIfError(http::RegisterProcessMetrics(metrics), "metrics");
  FailIfError(http::AddOperationalRoutes(router, metrics, readiness), "routes");

  http::ServerOptions server_opts;
  server_opts.host = host_port->first;
  server_opts.port = host_port->second;
  server_opts.threads = opts.threads;
  server_opts.readiness = &readiness;
  server_opts.logger = &logger;
  server_opts.metrics = &metrics;
  auto server = ValueOrFail(http::Server::Listen(server_opts, router));

  // Nothing is served before Start(), so this stays the first log line. Ready
  // now: there is nothing else to prepare yet (storage will come before this).
  logger.Info("listening", {{"address", server->address()},
                            {"threads", server->threads()},
                            {"data_dir", opts.data_dir},
                            {"version", http::BuildVersion()}});
  readiness.Set(http::Readiness::State::kReady);
  server->Start();

  int sig = 0;
  sigwait(&signals, &sig);
  logger.Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                {"drain_timeout_s", static_cast<int64_t>(kDrainTimeout.count())}});
  std::thread([signals] {  // owns copies: it may outlive this function
    int again = 0;
    sigwait(&signals, &again);
    std::string line =
        http::Logger::Format(http::Logger::Level::kWarn, "second signal during drain; exiting", {});
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    std::_Exit(1);
  })
      .detach();
  bool clean = server->Shutdown(kDrainTimeout);
  logger.Info("stopped", {{"drained", clean}});
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "Run the Roost server (for now: GET /healthz, /readyz and /metrics)");
  auto opts = std::make_shared<ServeOptions>();
  cmd->add_option("--listen", opts->listen,
                  "HOST:PORT to listen on; port 0 picks a free port, printed in the first log "
                  "line. Use 0.0.0.0:PORT or [::]:PORT to serve the network")
      ->capture_default_str();
  cmd->add_option("--data-dir", opts->data_dir, "Data directory, created when missing")
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Event loop threads (default: one per CPU)")
      ->check(CLI::Range(1, 256));
  cmd->callback([opts] { RunServe(*opts); });
}

}  // namespace roost::cmd
