// One function per top-level subcommand; each lives in its own file here and
// only parses arguments and calls into the domain libraries.
#pragma once

#include <CLI/CLI.hpp>

namespace roost::cmd {

// cra.cpp: roost cra decrypt|issue, and the flashing-bench commands from cra_flashing.cpp
void AddCraCommands(CLI::App& app);
// cra_flashing.cpp: roost cra next|journal (the flashing bench)
void AddCraFlashingCommands(CLI::App* cra);
// provision_id.cpp: roost pid hash|verify-code|generate|request|report
void AddProvisionIdCommands(CLI::App& app);
// eui.cpp: roost eui from-mac
void AddEuiCommands(CLI::App& app);
// label.cpp: roost label
void AddLabelCommands(CLI::App& app);
// serve.cpp: roost serve
void AddServeCommand(CLI::App& app);
// api_user.cpp: roost api-user create
void AddApiUserCommands(CLI::App& app);
// credentials.cpp: roost credentials import
void AddCredentialsCommands(CLI::App& app);
// api_routes.cpp: roost api routes
void AddApiCommands(CLI::App& app);
// simulate.cpp: roost simulate provisioning
void AddSimulateCommands(CLI::App& app);

}  // namespace roost::cmd
