// roost serve: the server process. It loads the configuration (defaults < TOML
// file < ROOST_* environment < flags, see config/config.h), opens the store
// (SQLite in the data directory, or --database postgresql://...), makes sure a
// master key for secrets at rest exists, bootstraps an empty store (root group
// + admin user), and serves the registry API (api/routes.h, docs/api.md) and the
// operational endpoints (/healthz, /readyz, /metrics); see http/server.h for the
// HTTP behaviour. A background thread runs persisted bulk jobs. The runtime
// itself is server/runtime.h; this file turns the command line into its
// configuration.
//
// Defaults: listens on 127.0.0.1:8080 (local only: exposing the server is an
// explicit choice, e.g. --listen 0.0.0.0:8080), keeps its data in ./roost-data,
// runs one event loop thread per CPU. Logs are JSON lines on stderr; the first
// line is {"msg":"listening","address":"HOST:PORT",...} with the bound address.
// A generated admin password is printed once on stdout, never logged.
// SIGTERM or SIGINT: stop accepting, /readyz answers 503, requests in flight
// finish (at most 10 s), exit 0. A second signal during the drain exits at once
// (status 1), and so does a stop still under way after http.stop_timeout_s.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "server/runtime.h"

namespace roost::cmd {
namespace {

struct ServeOptions {
  std::string config_file;
  // Flag values the user gave, by dotted config key ("http.listen").
  std::map<std::string, std::string> flag_values;
};

void RunServe(const ServeOptions& opts) {
  std::optional<config::ConfigFile> file;
  if (!opts.config_file.empty()) file = ValueOrFail(config::ReadConfigFile(opts.config_file));
  config::StringMap flags(opts.flag_values.begin(), opts.flag_values.end());
  config::ServeConfig cfg =
      ValueOrFail(config::LoadConfig(file, config::ProcessEnvironment(), flags));
  auto runtime = ValueOrFail(server::Runtime::Start(cfg));
  runtime->WaitForStopSignal();
  runtime->Stop();
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the Roost server: the registry API (/api/devicetypes, /api/devices, /api/jobs, "
      "/api/groups, /api/users, /api/api-users, /api/session), stations, uplink ingest and "
      "messages (/api/stations, /api/ingest, .../messages; see docs/api.md) and /healthz, "
      "/readyz, /metrics, on a bootstrapped store.\nEvery setting also "
      "reads from --config FILE (TOML) and ROOST_* variables; see "
      "docs/configuration.md");
  auto opts = std::make_shared<ServeOptions>();
  cmd->add_option("--config", opts->config_file, "TOML configuration file");
  for (const config::ConfigKey& key : config::ConfigKeys()) {
    if (key.flag.empty()) continue;
    std::string dotted(key.key);
    auto* option = cmd->add_option_function<std::string>(
        std::string(key.flag),
        [opts, dotted](const std::string& value) { opts->flag_values[dotted] = value; },
        std::string(key.help) + " (" + std::string(key.env) + ")");
    if (key.not_used_yet) option->group("");  // accepted, not offered: nothing uses it yet
  }
  cmd->callback([opts] { RunServe(*opts); });
}

}  // namespace roost::cmd
