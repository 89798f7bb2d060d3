// roost: one binary, one subcommand per job. See `roost --help`.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cmd/cli.h"
#include "cmd/commands.h"

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
  try {
    app.parse(argc, argv);
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
