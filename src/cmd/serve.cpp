// roost serve: the server process
#include "cmd/commands.h"

namespace roost::cmd {

void AddServeCommand(CLI::App& app) {
  app.add_subcommand("serve", "Run the Roost server");
}

}  // namespace roost::cmd
