// roost: one binary, one subcommand per job. See `roost --help`.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "config/config.h"

int main(int argc, char** argv) {
  CLI::App app{"Roost: a self-hosted backend for Sigfox and LoRaWAN devices", "roost"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "roost 0.1.0");
  roost::cmd::AddServeCommand(app);
  roost::cmd::AddApiUserCommands(app);
  roost::cmd::AddApiCommands(app);
  roost::cmd::AddCredentialsCommands(app);
  roost::cmd::AddCraCommands(app);
  roost::cmd::AddProvisionIdCommands(app);
  roost::cmd::AddEuiCommands(app);
  roost::cmd::AddLabelCommands(app);
  roost::cmd::AddSimulateCommands(app);
  // Parsed from a copy: the database password is then masked in argv itself,
  // which every local user can read (ps, /proc/PID/cmdline).
  std::vector<std::string> args(argv + 1, argv + argc);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  roost::config::MaskDatabasePasswordsInArgs(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const roost::cmd::CommandFailed& e) {
    std::fprintf(stderr, "roost: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "roost: internal error: %s\n", e.what());
    return 70;
  }
  return 0;
}
