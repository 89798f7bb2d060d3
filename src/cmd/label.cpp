// roost label: QR-code labels for Provision IDs
#include "cmd/commands.h"

namespace roost::cmd {

void AddLabelCommands(CLI::App& app) {
  app.add_subcommand("label", "Render QR-code labels (SVG, PNG, printable sheet)");
}

}  // namespace roost::cmd
