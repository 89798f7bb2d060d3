// roost serve: the server process. It loads the configuration (defaults < TOML
// file < ROOST_* environment < flags, see config/config.h), opens the store
// (SQLite in the data directory, or --database postgresql://...), makes sure a
// master key for secrets at rest exists, bootstraps an empty store (root group
// + admin user), and serves the registry API (api/routes.h, docs/api.md) and the
// operational endpoints (/healthz, /readyz, /metrics); see http/server.h for the
// HTTP behaviour. A background thread runs persisted bulk jobs.
//
// Defaults: listens on 127.0.0.1:8080 (local only: exposing the server is an
// explicit choice, e.g. --listen 0.0.0.0:8080), keeps its data in ./roost-data,
// runs one event loop thread per CPU. Logs are JSON lines on stderr; the first
// line is {"msg":"listening","address":"HOST:PORT",...} with the bound address.
// A generated admin password is printed once on stdout, never logged.
// SIGTERM or SIGINT: stop accepting, /readyz answers 503, requests in flight
// finish (at most 10 s), exit 0. A second signal during the drain exits at once.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/login_throttle.h"
#include "api/routes.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "crypto/aes.h"
#include "crypto/seal.h"
#include "http/log.h"
#include "http/metrics.h"
#include "http/ops.h"
#include "http/router.h"
#include "http/server.h"
#include "integration/email.h"
#include "registry/accounts.h"
#include "registry/devices.h"
#include "registry/users.h"
#include "storage/store.h"

namespace roost::cmd {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(10);

struct ServeOptions {
  std::string config_file;
  // Flag values the user gave, by dotted config key ("http.listen").
  std::map<std::string, std::string> flag_values;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs bulk-job chunks (of this and any other instance sharing the store)
// until Stop(): claims a chunk, processes it, and sleeps briefly when idle.
// Every chunk it completes counts in roost_job_chunks_total.
class JobWorker {
 public:
  JobWorker(registry::DeviceRegistry& devices, http::Logger& logger, http::Counter& chunks,
            int64_t lease_ms)
      : devices_(devices), logger_(logger), chunks_(chunks), lease_ms_(lease_ms), thread_([this] {
          Run();
        }) {}
  ~JobWorker() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    const std::string name = "serve-" + std::to_string(::getpid());
    std::unique_lock<std::mutex> lock(mu_);
    bool busy = false;
    while (!stop_) {
      lock.unlock();
      auto worked = devices_.RunOneChunk(name, lease_ms_);
      lock.lock();
      if (worked.ok() && *worked) {
        chunks_.Inc();
        busy = true;
        continue;
      }
      if (busy) {
        // The queue just ran dry: hand the memory of the finished work (a 10 MB
        // bulk body parsed by a handler thread, the chunks' rows) back to the
        // system instead of keeping it in malloc's arenas for the next burst.
        busy = false;
        malloc_trim(0);
      }
      if (!worked.ok())
        logger_.Warn("bulk job chunk failed", {{"error", worked.status().message()}});
      cv_.wait_for(lock, worked.ok() ? std::chrono::milliseconds(100) : std::chrono::seconds(1),
                   [this] { return stop_; });
    }
  }

  registry::DeviceRegistry& devices_;
  http::Logger& logger_;
  http::Counter& chunks_;
  int64_t lease_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// Reads the master key, or creates one (0600) when the file does not exist yet.
crypto::MasterKey LoadOrCreateMasterKey(const std::string& path, http::Logger& logger) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    crypto::MasterKey key = crypto::GenerateMasterKey();
    FailIfError(crypto::WriteMasterKeyFile(path, key));
    logger.Warn(
        "generated a new master key; back it up: without it, stored secrets cannot be "
        "decrypted",
        {{"path", path}, {"key_id", crypto::KeyId(key)}});
    return key;
  }
  return ValueOrFail(crypto::ReadMasterKeyFile(path));
}

std::optional<std::string> AdminPassword(const config::ServeConfig& config) {
  if (config.admin_password) return config.admin_password;
  if (config.admin_password_file.empty()) return std::nullopt;
  std::string text = ValueOrFail(ReadWholeFile(config.admin_password_file));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The email sender of smtp.* (empty when smtp.host is not set). TLS: implicit on
// port 465; otherwise STARTTLS, required when a login is configured (AUTH never
// goes over a clear connection), used when offered otherwise.
registry::SendEmail MakeEmailSender(const config::ServeConfig& cfg, http::Logger& logger) {
  if (cfg.smtp.host.empty()) return {};  // the user creation responses say so
  integration::SmtpSettings settings;
  settings.host = cfg.smtp.host;
  settings.port = cfg.smtp.port;
  settings.user = cfg.smtp.user;
  if (!cfg.smtp.password_file.empty()) {
    settings.password = ValueOrFail(ReadWholeFile(cfg.smtp.password_file), "smtp.password_file");
    while (!settings.password.empty() &&
           (settings.password.back() == '\n' || settings.password.back() == '\r')) {
      settings.password.pop_back();
    }
  }
  using Tls = integration::SmtpSettings::Tls;
  settings.tls = cfg.smtp.port == 465     ? Tls::kImplicit
                 : !settings.user.empty() ? Tls::kStartTlsRequired
                                          : Tls::kStartTlsIfOffered;
  std::string from = cfg.smtp.from;
  if (from.empty()) {
    from = "roost@localhost";
    logger.Warn("smtp.from is not set; emails are sent from roost@localhost");
  }
  auto sender = std::make_shared<integration::SmtpSender>(std::move(settings));
  return [sender, from, &logger](const std::string& to, const std::string& subject,
                                 const std::string& body) {
    integration::Email email{"Roost <" + from + ">", {to}, subject, body};
    Status sent = sender->Send(email);
    if (sent.ok()) {
      logger.Info("email sent", {{"to", to}, {"subject", subject}});
    } else {
      logger.Warn("email not sent", {{"to", to}, {"subject", subject}, {"error", sent.message()}});
    }
    return sent;
  };
}

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
  std::optional<config::ConfigFile> file;
  if (!opts.config_file.empty()) file = ValueOrFail(config::ReadConfigFile(opts.config_file));
  config::StringMap flags(opts.flag_values.begin(), opts.flag_values.end());
  config::ServeConfig cfg =
      ValueOrFail(config::LoadConfig(file, config::ProcessEnvironment(), flags));
  PrepareDataDir(cfg.data_dir);

  http::Logger logger;
  crypto::MasterKey master_key = LoadOrCreateMasterKey(cfg.MasterKeyPath(), logger);
  // The Sealer keeps its own copy (wiped when it is destroyed) for credentials import.
  auto sealer = crypto::Sealer::FromKey(master_key);
  crypto::Cleanse(master_key.data(), master_key.size());
  FailIfError(sealer.status(), cfg.MasterKeyPath());

  // database.url: empty = SQLite in the data dir, "sqlite:PATH", or postgresql://...
  std::string location = cfg.database_url.empty() ? cfg.data_dir : cfg.database_url;
  if (location.rfind("sqlite:", 0) == 0) location = location.substr(7);
  // Every handler thread and the job worker may hold a connection at once.
  const unsigned threads =
      cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  const unsigned handler_threads =
      cfg.handler_threads != 0 ? cfg.handler_threads : std::max(4u, 2 * threads);
  auto store =
      ValueOrFail(storage::OpenStore(location, static_cast<int>(handler_threads) + 2), "database");
  auto boot = ValueOrFail(
      registry::Bootstrap(*store, "admin@localhost", AdminPassword(cfg), NowMs()), "bootstrap");
  if (boot.created) {
    logger.Info("created the root group and the admin user",
                {{"group", boot.root_group}, {"admin", boot.admin_email}});
    if (!boot.generated_password.empty()) {
      // Shown once, on stdout (not in the log): it is not stored anywhere in clear.
      std::printf("roost: admin user %s, password (shown once): %s\n", boot.admin_email.c_str(),
                  boot.generated_password.c_str());
      std::fflush(stdout);
      crypto::Cleanse(boot.generated_password.data(), boot.generated_password.size());
    }
  }

  // Signals are taken synchronously by this thread (sigwait); every thread
  // started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::Registry metrics;
  http::Readiness readiness;
  http::Router router;
  FailIfError(http::RegisterProcessMetrics(metrics), "metrics");
  FailIfError(http::AddOperationalRoutes(router, metrics, readiness), "routes");
  registry::DeviceRegistry devices(*store, NowMs);
  devices.RequireKnownCertificates(cfg.require_known_certificates);
  crypto::PasswordVerifyCache passwords;
  api::LoginThrottle throttle;
  registry::AccountSettings account_settings;
  account_settings.password_link_ttl_ms = int64_t{cfg.password_link_ttl_s} * 1000;
  account_settings.session_ttl_ms = int64_t{cfg.session_ttl_s} * 1000;
  account_settings.public_url = cfg.PublicUrl();
  registry::Accounts accounts(*store, NowMs, account_settings, MakeEmailSender(cfg, logger));
  registry::CertificateRegistry certificates(*store, NowMs);
  api::ApiContext api_context{devices,  accounts, certificates, passwords,
                              throttle, NowMs,    &*sealer};
  FailIfError(api::AddApiRoutes(router, api_context), "routes");

  http::ServerOptions server_opts;
  server_opts.host = cfg.http_listen.host;
  server_opts.port = cfg.http_listen.port;
  server_opts.threads = threads;
  server_opts.handler_threads = handler_threads;
  server_opts.readiness = &readiness;
  server_opts.logger = &logger;
  server_opts.metrics = &metrics;
  auto server = ValueOrFail(http::Server::Listen(server_opts, router));

  // Nothing is served before Start(), so this stays the first log line. Ready
  // now: there is nothing else to prepare yet (storage will come before this).
  logger.Info("listening", {{"address", server->address()},
                            {"threads", server->threads()},
                            {"handler_threads", server->handler_threads()},
                            {"data_dir", cfg.data_dir},
                            {"database", std::string(store->engine())},
                            {"version", http::BuildVersion()}});
  readiness.Set(http::Readiness::State::kReady);
  server->Start();
  http::Counter& chunks =
      ValueOrFail(metrics.AddCounter("roost_job_chunks_total",
                                     "Background job chunks processed by this instance", {}),
                  "metrics")
          ->Get();
  JobWorker worker(devices, logger, chunks, int64_t{cfg.job_lease_seconds} * 1000);

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
  worker.Stop();  // a chunk in progress finishes (or its lease lets another instance redo it)
  logger.Info("stopped", {{"drained", clean}});
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the Roost server: the registry API (/api/devicetypes, /api/devices, /api/jobs, "
      "/api/groups, /api/users, /api/api-users, /api/session; see "
      "docs/api.md) and /healthz, /readyz, /metrics, on a bootstrapped store.\nEvery setting also "
      "reads from --config FILE (TOML) and ROOST_* variables; see "
      "docs/configuration.md");
  auto opts = std::make_shared<ServeOptions>();
  cmd->add_option("--config", opts->config_file, "TOML configuration file");
  for (const config::ConfigKey& key : config::ConfigKeys()) {
    if (key.flag.empty()) continue;
    std::string dotted(key.key);
    cmd->add_option_function<std::string>(
        std::string(key.flag),
        [opts, dotted](const std::string& value) { opts->flag_values[dotted] = value; },
        std::string(key.help) + " (" + std::string(key.env) + ")");
  }
  cmd->callback([opts] { RunServe(*opts); });
}

}  // namespace roost::cmd
