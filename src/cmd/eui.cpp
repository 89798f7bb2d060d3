// roost eui from-mac MAC
#include <iostream>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/identifiers.h"

namespace roost::cmd {

void AddEuiCommands(CLI::App& app) {
  auto* eui = app.add_subcommand("eui", "EUI-64 helpers");
  eui->require_subcommand(1);
  auto* from_mac = eui->add_subcommand(
      "from-mac", "Print the EUI-64 of a MAC-48 address (FF FE inserted in the middle)");
  auto mac = std::make_shared<std::string>();
  from_mac->add_option("MAC", *mac, "12 hex digits, with or without - : . separators")->required();
  from_mac->callback([mac] {
    auto parsed = ValueOrFail(ParseMac48(*mac));
    std::cout << EuiFromMac(parsed).ToString() << "\n";
  });
}

}  // namespace roost::cmd
