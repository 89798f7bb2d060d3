// One function per top-level subcommand; each lives in its own file here and
// only parses arguments and calls into the domain libraries.
#pragma once

#include <CLI/CLI.hpp>

namespace roost::cmd {

void AddCraCommands(CLI::App& app);    // cra.cpp:   roost cra decrypt|issue|next|journal
void AddPidCommands(CLI::App& app);    // pid.cpp:   roost pid hash|verify-code|generate|request|report
void AddEuiCommands(CLI::App& app);    // eui.cpp:   roost eui from-mac
void AddLabelCommands(CLI::App& app);  // label.cpp: roost label
void AddServeCommand(CLI::App& app);   // serve.cpp: roost serve

}  // namespace roost::cmd
