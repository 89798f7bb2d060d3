// roost pid hash|verify-code|generate|request|report
#include "cmd/commands.h"

namespace roost::cmd {

void AddPidCommands(CLI::App& app) {
  auto* pid = app.add_subcommand("pid", "LoRaWAN Provision IDs: hashes, verify codes, CSVs");
  pid->require_subcommand(1);
}

}  // namespace roost::cmd
