// roost api routes: the registry API's route table (api/routes.h ApiRoutes())
// as JSON, one object per route in table order:
//   [{"method": "GET", "path": "/api/devices/{id}", "roles": ["ADMIN", ...],
//     "access": "roles", "public": false}, ...]
// "access" is "roles" (a principal holding one of "roles"), "authenticated"
// (any authenticated principal, "roles" empty) or "public" (no credentials at
// all; then "public" is true). It reads no store and no configuration: it
// describes this binary.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/routes.h"
#include "cmd/commands.h"

namespace roost::cmd {

void AddApiCommands(CLI::App& app) {
  auto* group = app.add_subcommand("api", "The registry API as this binary serves it");
  group->require_subcommand(1);
  auto* routes = group->add_subcommand(
      "routes",
      "Print every API route as JSON: [{\"method\", \"path\", \"roles\": [...], \"access\", "
      "\"public\"}]");
  routes->callback([] {
    nlohmann::json out = nlohmann::json::array();
    for (const api::ApiRoute& route : api::ApiRoutes()) {
      nlohmann::json roles = nlohmann::json::array();
      for (int i = 0; i < kRoleCount; ++i) {
        auto role = static_cast<Role>(i);
        if (route.roles.Has(role)) roles.push_back(std::string(RoleName(role)));
      }
      std::string access = route.access == api::Access::kPublic         ? "public"
                           : route.access == api::Access::kAnyPrincipal ? "authenticated"
                                                                        : "roles";
      out.push_back({{"method", std::string(route.method)},
                     {"path", std::string(route.pattern)},
                     {"roles", roles},
                     {"access", access},
                     {"public", route.access == api::Access::kPublic}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  });
}

}  // namespace roost::cmd
