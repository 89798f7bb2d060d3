// roost cra decrypt|issue|next|journal
#include "cmd/commands.h"

namespace roost::cmd {

void AddCraCommands(CLI::App& app) {
  auto* cra = app.add_subcommand("cra", "Sigfox CRA credential files");
  cra->require_subcommand(1);
}

}  // namespace roost::cmd
