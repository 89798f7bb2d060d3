// roost api-user create: API credentials from the command line.
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "registry/accounts.h"
#include "storage/store.h"

namespace roost::cmd {

void AddApiUserCommands(CLI::App& app) {
  auto* group = app.add_subcommand("api-user", "API credentials (HTTP Basic)");
  group->require_subcommand(1);
  struct Options {
    std::string name, group, data_dir = "roost-data", database;
    std::vector<std::string> roles;
  };
  auto o = std::make_shared<Options>();
  auto* create = group->add_subcommand(
      "create",
      "Create an API user and print {\"login\": ..., \"password\": ...} (the password is shown "
      "only here)");
  create->add_option("--name", o->name, "what the credentials are for")->required();
  create
      ->add_option("--role", o->roles,
                   "ADMIN, DEVICE_MANAGER, READER, FACTORY or STATION (repeat or comma-separate)")
      ->required()
      ->delimiter(',');
  create->add_option("--group", o->group, "group id (default: the root group)");
  auto* dir = create->add_option("--data-dir", o->data_dir, "data directory of an SQLite store")
                  ->capture_default_str();
  auto* db = create->add_option("--database", o->database, "postgresql://... URL");
  dir->excludes(db);
  create->callback([o] {
    Roles roles;
    for (const auto& r : o->roles) {
      auto role = ValueOrFail(ParseRole(r), "--role");
      roles.emplace_back(RoleName(role));
    }
    auto store = ValueOrFail(storage::OpenStore(o->database.empty() ? o->data_dir : o->database),
                             "database");
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto created = registry::CreateApiUser(*store, o->name, roles, o->group, now);
    if (!created.ok() && created.status().code() == Status::Code::kNotFound && o->group.empty()) {
      Fail("the store has no root group yet: start `roost serve` once to initialise it");
    }
    auto user = ValueOrFail(std::move(created));
    std::printf(
        "%s\n",
        nlohmann::json{{"login", user.user.login}, {"password", user.password}}.dump().c_str());
  });
}

}  // namespace roost::cmd
