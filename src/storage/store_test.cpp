// The one test suite of the Store contract, run against SQLite and PostgreSQL.
// Every test gets a fresh database (a new SQLite directory, a new PostgreSQL database).
#include "storage/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "storage/driver/driver.h"
#include "storage/migrations.h"
#include "storage/store_test_fixture.h"

namespace roost::storage {
namespace {

// A URL's scheme is case-insensitive: "PostgreSQL://..." is the server, never
// a SQLite directory named after the URL (its password in the name).
TEST_P(StoreTest, APostgresUrlIsKnownWhateverTheCaseOfItsScheme) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "a URL is PostgreSQL's";
  // The test server's "host=... port=... user=... dbname=..." as a URL.
  std::map<std::string, std::string> conninfo;
  std::istringstream words(location_);
  for (std::string word; words >> word;) {
    const size_t eq = word.find('=');
    if (eq != std::string::npos) conninfo[word.substr(0, eq)] = word.substr(eq + 1);
  }
  std::string host;
  for (char c : conninfo["host"]) host += c == '/' ? std::string("%2F") : std::string(1, c);
  const std::string shouting = "PostgreSQL:///" + conninfo["dbname"] + "?host=" + host +
                               "&port=" + conninfo["port"] + "&user=" + conninfo["user"];
  auto opened = OpenStore(shouting, 2);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ((*opened)->engine(), "postgresql");
  EXPECT_FALSE(std::filesystem::exists("PostgreSQL:"));
}

TEST_P(StoreTest, MigrationsAppliedOnceAndIdempotentOnReopen) {
  auto v = store_->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_FALSE(Migrations().empty());
  EXPECT_EQ(*v, Migrations().back().version);
  Group root = MakeGroup(1, "");
  Open();  // migrations run again: nothing to do, data kept
  Open();
  auto v2 = store_->SchemaVersion();
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, *v);
  auto g = store_->GetGroup(root.id);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(*g, root);
}

// The location of a store made at schema `version` by running the migrations
// up to it, then `data` (SQL, for that schema): what an older Roost left.
Result<std::string> MakeOldStore(bool sqlite, const std::string& dir, int version,
                                 const std::string& data) {
  std::string location;
  std::unique_ptr<driver::Pool> pool;
  if (sqlite) {
    location = dir + "/schema" + std::to_string(version) + ".db";
    pool = std::make_unique<driver::Pool>(1, driver::SqliteOpener(location));
  } else {
    auto server = testing::PgServer::Shared();
    if (!server.ok()) return server.status();
    auto db = (*server)->CreateDatabase("schema" + std::to_string(version));
    if (!db.ok()) return db.status();
    location = *db;
    pool = std::make_unique<driver::Pool>(1, driver::PostgresOpener(location));
  }
  auto c = pool->Acquire();
  if (!c.ok()) return c.status();
  std::string sql =
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL);";
  for (const Migration& m : Migrations()) {
    if (m.version > version) break;
    sql += ForDialect(m.sql, sqlite ? Dialect::kSqlite : Dialect::kPostgres) + ";";
    sql += "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" +
           std::string(m.name) + "');";
  }
  ROOST_RETURN_IF_ERROR(
      (*c)->Exec(sql + data, "make a schema " + std::to_string(version) + " store"));
  return location;
}

// A store made by an older Roost (schema 3: emails unique across the store,
// items compressed on PostgreSQL) is upgraded on open: its users, sessions and
// password links are kept, and what migration 4 allows (one email in several
// groups) works afterwards.
TEST_P(StoreTest, UpgradesAStoreMadeAtSchema3KeepingAccounts) {
  const bool sqlite = GetParam() == "sqlite";
  std::string sql;
  sql +=
      "INSERT INTO groups (id, name, parent, tree, creation_time) VALUES "
      "('" +
      Hex24(1) + "', 'root', NULL, '/" + Hex24(1) +
      "/', 1),"
      "('" +
      Hex24(2) + "', 'customer', '" + Hex24(1) + "', '/" + Hex24(1) + "/" + Hex24(2) +
      "/', 2);"
      "INSERT INTO users (id, group_id, email, name, timezone, password_hash, roles, "
      "creation_time, update_time) VALUES ('" +
      Hex24(10) + "', '" + Hex24(1) +
      "', 'ops@example.com', 'Ops', 'UTC', '', 'ADMIN', 3, 3);"
      "INSERT INTO sessions VALUES ('session-hash', '" +
      Hex24(10) +
      "', 9000000000000, 4);"
      "INSERT INTO password_tokens VALUES ('link-hash', '" +
      Hex24(10) + "', 9000000000000, 5);";
  auto old_location = MakeOldStore(sqlite, dir_, 3, sql);
  ASSERT_TRUE(old_location.ok()) << old_location.status().message();

  store_.reset();
  auto upgraded = sqlite ? OpenSqliteStore(*old_location) : OpenPostgresStore(*old_location);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().message();
  store_ = std::move(*upgraded);
  auto version = store_->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, Migrations().back().version);
  auto user = store_->GetUser(Hex24(10));
  ASSERT_TRUE(user.ok()) << user.status().message();
  EXPECT_EQ(user->email, "ops@example.com");
  EXPECT_EQ(user->roles, Roles{"ADMIN"});
  auto session = store_->GetSession("session-hash");
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ(session->user, Hex24(10));
  // Migration 4: the same email may now be a user of another group, not twice in one.
  User other = *user;
  other.id = Hex24(11);
  other.group = Hex24(2);
  EXPECT_TRUE(store_->CreateUser(other).ok());
  other.id = Hex24(12);
  EXPECT_EQ(store_->CreateUser(other).code(), Status::Code::kAlreadyExists);
  // Deleting the user still takes its session with it.
  ASSERT_TRUE(store_->DeleteUser(Hex24(10)).ok());
  EXPECT_EQ(store_->GetSession("session-hash").status().code(), Status::Code::kNotFound);
}

// Migration 20 takes the foreign key off deliveries (SQLite rebuilds the
// table): a store's deliveries keep every column, and then outlive their callback.
TEST_P(StoreTest, UpgradesAStoreMadeAtSchema19KeepingDeliveries) {
  const bool sqlite = GetParam() == "sqlite";
  const std::string root = Hex24(1), type = Hex24(2);
  // What the old store holds: a device type, a callback of it and two of its
  // deliveries, one attempted and one not.
  const std::string data =
      "INSERT INTO groups (id, name, parent, tree, creation_time) VALUES ('" + root +
      "', 'root', NULL, '/" + root +
      "/', 1);"
      "INSERT INTO device_types (id, name, description, group_id, keep_alive, alert_email, "
      "payload_type, payload_config, downlink_mode, downlink_data_string, automatic_renewal, "
      "creation_time, update_time) VALUES ('" +
      type + "', 't', '', '" + root +
      "', 0, '', 0, '', 0, '', 1, 5, 6);"
      "INSERT INTO callbacks (id, type_id, channel, callback_type, subtype, url, http_method, "
      "headers, content_type, body_template, line_pattern, recipient, subject, message, "
      "send_duplicate, payload_config, enabled, downlink_hook, dead, creation_time) VALUES "
      "('cb', '" +
      type +
      "', 0, 0, 2, 'http://127.0.0.1:9/', 'POST', '[]', 'application/json', '', '', '', '', "
      "'', 0, '', 1, 0, 0, 7);"
      "INSERT INTO deliveries (id, callback_id, device_id, message_time, seq_number, duplicate, "
      "station, state, attempts, next_attempt, first_failure, last_status, last_info, "
      "creation_time, variables, hook_claimed, attempt_log, lease_until) VALUES "
      "(41, 'cb', 44, 1000, 3, 1, '0A1B', 1, 1, 1500, 0, 200, 'HTTP 200', 900, 'v', 1, "
      "'1500 200 HTTP 200\n', 0),"
      "(42, 'cb', 44, 2000, 4, 0, '0A1C', 0, 0, 0, 0, 0, '', 1900, '', 0, '', 0);";
  auto old_location = MakeOldStore(sqlite, dir_, 19, data);
  ASSERT_TRUE(old_location.ok()) << old_location.status().message();
  store_.reset();
  auto upgraded = sqlite ? OpenSqliteStore(*old_location) : OpenPostgresStore(*old_location);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().message();
  store_ = std::move(*upgraded);
  const std::vector<MessageCursor> frames{{1000, 44, 3}, {2000, 44, 4}};
  auto kept = store_->ListMessageDeliveries(frames);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->size(), 2u);
  const Delivery& d = kept->front();
  EXPECT_EQ(d.id, 41);
  EXPECT_EQ(d.callback, "cb");
  EXPECT_TRUE(d.duplicate);
  EXPECT_EQ(d.station, "0A1B");
  EXPECT_EQ(d.state, DeliveryState::kDone);
  EXPECT_EQ(d.last_info, "HTTP 200");
  EXPECT_EQ(d.creation_time, 900);
  EXPECT_EQ(d.attempt_log, "1500 200 HTTP 200\n");
  // The callback can now go without its attempted deliveries.
  ASSERT_TRUE(store_->DeleteCallback("cb", 3000).ok());
  kept = store_->ListMessageDeliveries(frames);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->size(), 1u) << "the never-attempted one went";
  EXPECT_EQ(kept->front().id, 41);
}

TEST_P(StoreTest, GroupsFormATree) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group b = MakeGroup(3, root.id);
  Group a1 = MakeGroup(4, a.id);
  EXPECT_TRUE(root.path.empty());
  EXPECT_EQ(a.path, std::vector<std::string>{root.id});
  EXPECT_EQ(a1.path, (std::vector<std::string>{root.id, a.id}));
  EXPECT_EQ(a1.parent, a.id);

  auto got = store_->GetGroup(a1.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, a1);

  auto children = store_->ListChildGroups(root.id);
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->size(), 2u);
  EXPECT_EQ((*children)[0].id, a.id);
  EXPECT_EQ((*children)[1].id, b.id);
  Group root2 = MakeGroup(9, "");
  auto roots = store_->ListChildGroups("");
  ASSERT_TRUE(roots.ok()) << roots.status().message();
  ASSERT_EQ(roots->size(), 2u);
  EXPECT_EQ((*roots)[0], root);
  EXPECT_EQ((*roots)[1], root2);
  auto none = store_->ListChildGroups(b.id);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  EXPECT_TRUE(*store_->IsInSubtree(a1.id, root.id));
  EXPECT_TRUE(*store_->IsInSubtree(a1.id, a.id));
  EXPECT_TRUE(*store_->IsInSubtree(a1.id, a1.id));
  EXPECT_FALSE(*store_->IsInSubtree(a1.id, b.id));
  EXPECT_FALSE(*store_->IsInSubtree(root.id, a.id));
  EXPECT_EQ(store_->IsInSubtree(Hex24(99), root.id).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, GroupErrors) {
  Group root = MakeGroup(1, "");
  Group dup = root;
  EXPECT_EQ(store_->CreateGroup(dup).status().code(), Status::Code::kAlreadyExists);
  Group orphan;
  orphan.id = Hex24(7);
  orphan.name = "orphan";
  orphan.parent = Hex24(8);
  auto r = store_->CreateGroup(orphan);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(Hex24(8)), std::string::npos);
  Group bad;
  bad.id = "a/b";
  EXPECT_EQ(store_->CreateGroup(bad).status().code(), Status::Code::kInvalidInput);
  bad.id = "";
  EXPECT_EQ(store_->CreateGroup(bad).status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(store_->GetGroup(Hex24(9)).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, Users) {
  Group root = MakeGroup(1, "");
  Group other = MakeGroup(2, root.id);
  User u;
  u.id = Hex24(0x501);
  u.group = root.id;
  u.email = "ann@example.com";
  u.name = "Ann";
  u.timezone = "Europe/Paris";
  u.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA";
  u.roles = {"ADMIN", "READER"};
  u.creation_time = 10;
  u.update_time = 11;
  ASSERT_TRUE(store_->CreateUser(u).ok());
  User v = u;
  v.id = Hex24(0x502);
  v.email = "bob@example.com";
  v.roles = {};
  v.password_hash = "";
  ASSERT_TRUE(store_->CreateUser(v).ok());
  User w = u;
  w.id = Hex24(0x503);
  w.email = "cy@example.com";
  w.group = other.id;
  ASSERT_TRUE(store_->CreateUser(w).ok());

  EXPECT_EQ(*store_->GetUser(u.id), u);
  EXPECT_EQ(*store_->ListUsersByEmail("bob@example.com"), std::vector<User>{v});
  auto list = store_->ListUsers(root.id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], u);
  EXPECT_EQ((*list)[1], v);

  User same_email = v;
  same_email.id = Hex24(0x504);
  EXPECT_EQ(store_->CreateUser(same_email).code(), Status::Code::kAlreadyExists);
  User same_id = v;
  same_id.email = "other@example.com";
  EXPECT_EQ(store_->CreateUser(same_id).code(), Status::Code::kAlreadyExists);
  User no_group = v;
  no_group.id = Hex24(0x505);
  no_group.email = "x@example.com";
  no_group.group = Hex24(77);
  EXPECT_EQ(store_->CreateUser(no_group).code(), Status::Code::kInvalidInput);
  User bad_role = no_group;
  bad_role.group = root.id;
  bad_role.roles = {"A,B"};
  EXPECT_EQ(store_->CreateUser(bad_role).code(), Status::Code::kInvalidInput);

  UserPatch rename;
  rename.name = "Ann B.";
  rename.roles = Roles{"DEVICE_MANAGER"};
  rename.update_time = 99;
  ASSERT_TRUE(store_->PatchUser(u.id, rename).ok());
  User expected = u;
  expected.name = "Ann B.";
  expected.roles = {"DEVICE_MANAGER"};
  expected.update_time = 99;
  EXPECT_EQ(*store_->GetUser(u.id), expected);
  User ghost = v;
  ghost.id = Hex24(0x5ff);

  // A patch writes the fields it gives and keeps the rest.
  UserPatch patch;
  patch.timezone = "UTC";
  patch.update_time = 100;
  auto patched = store_->PatchUser(u.id, patch);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  expected.timezone = "UTC";
  expected.update_time = 100;
  EXPECT_EQ(*patched, expected);
  EXPECT_EQ(*store_->GetUser(u.id), expected);
  patch = UserPatch{};
  patch.roles = Roles{"READER", "FACTORY"};
  patch.password_hash = "$argon2id$x";
  patched = store_->PatchUser(u.id, patch);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  EXPECT_EQ(patched->roles, (Roles{"READER", "FACTORY"}));
  EXPECT_EQ(patched->password_hash, "$argon2id$x");
  EXPECT_EQ(patched->name, "Ann B.");
  EXPECT_EQ(store_->PatchUser(ghost.id, patch).status().code(), Status::Code::kNotFound);
  patch.roles = Roles{"A,B"};
  EXPECT_EQ(store_->PatchUser(u.id, patch).status().code(), Status::Code::kInvalidInput);

  ASSERT_TRUE(store_->DeleteUser(v.id).ok());
  EXPECT_EQ(store_->GetUser(v.id).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->ListUsersByEmail("bob@example.com")->empty());
  EXPECT_EQ(store_->DeleteUser(v.id).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, AnEmailIsUniqueWithinAGroupOnly) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group b = MakeGroup(3, root.id);
  User u;
  u.id = Hex24(0x601);
  u.group = a.id;
  u.email = "sam@example.com";
  u.name = "Sam";
  u.timezone = "UTC";
  u.roles = {"READER"};
  ASSERT_TRUE(store_->CreateUser(u).ok());
  User in_b = u;
  in_b.id = Hex24(0x602);
  in_b.group = b.id;
  ASSERT_TRUE(store_->CreateUser(in_b).ok());
  User again_in_a = u;
  again_in_a.id = Hex24(0x603);
  EXPECT_EQ(store_->CreateUser(again_in_a).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*store_->ListUsersByEmail("sam@example.com"), (std::vector<User>{u, in_b}));
}

TEST_P(StoreTest, ApiUsers) {
  Group root = MakeGroup(1, "");
  Group child = MakeGroup(2, root.id);
  ApiUser a;
  a.login = Hex24(0xa1);
  a.name = "integration";
  a.group = root.id;
  a.password_hash = "opaque\x01hash";
  a.roles = {"DEVICE_MANAGER"};
  a.creation_time = 3;
  ASSERT_TRUE(store_->CreateApiUser(a).ok());
  ApiUser b = a;
  b.login = Hex24(0xa0);
  b.group = child.id;
  ASSERT_TRUE(store_->CreateApiUser(b).ok());
  EXPECT_EQ(*store_->GetApiUser(a.login), a);
  EXPECT_EQ(store_->CreateApiUser(a).code(), Status::Code::kAlreadyExists);
  auto list = store_->ListApiUsers(root.id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], a);
  ApiUser orphan = a;
  orphan.login = Hex24(0xa2);
  orphan.group = Hex24(0xdead);
  EXPECT_EQ(store_->CreateApiUser(orphan).code(), Status::Code::kInvalidInput);
  ASSERT_TRUE(store_->DeleteApiUser(a.login).ok());
  EXPECT_EQ(store_->GetApiUser(a.login).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteApiUser(a.login).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, GroupDescriptionSubtreeUpdateAndDelete) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group b = MakeGroup(3, root.id);
  Group a1 = MakeGroup(4, a.id);
  Group described;
  described.id = Hex24(5);
  described.name = "described";
  described.description = "with a description";
  described.parent = a1.id;
  described.creation_time = 7;
  auto made = store_->CreateGroup(described);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(store_->GetGroup(described.id)->description, "with a description");

  auto sub = store_->ListGroupsInSubtree(a.id);
  ASSERT_TRUE(sub.ok()) << sub.status().message();
  std::vector<std::string> ids;
  for (const auto& g : *sub) ids.push_back(g.id);
  EXPECT_EQ(ids, (std::vector<std::string>{a.id, a1.id, described.id}));
  EXPECT_EQ((*sub)[2], *made);
  auto all = store_->ListGroupsInSubtree(root.id);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ(store_->ListGroupsInSubtree(Hex24(99)).status().code(), Status::Code::kNotFound);

  Group edited = *made;
  edited.name = "renamed";
  edited.description = "";
  edited.parent = b.id;  // ignored: groups do not move
  auto updated = store_->UpdateGroup(edited, *made);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_TRUE(*updated);
  auto got = store_->GetGroup(edited.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "renamed");
  EXPECT_EQ(got->description, "");
  EXPECT_EQ(got->parent, a1.id);
  // An edit that started from the version before: nothing changes.
  Group stale = *made;
  stale.description = "from the stale read";
  updated = store_->UpdateGroup(stale, *made);
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(*updated);
  EXPECT_EQ(store_->GetGroup(edited.id)->description, "");
  Group ghost = edited;
  ghost.id = Hex24(98);
  EXPECT_EQ(store_->UpdateGroup(ghost, ghost).status().code(), Status::Code::kNotFound);

  // Refused while it holds anything; the message names what.
  Status st = store_->DeleteGroup(a.id);
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_NE(st.message().find("1 child groups"), std::string::npos) << st.message();
  DeviceType t = MakeType(1, b.id);
  const User u = MakeUser(0x601, b.id, "u@example.com", {"READER"});
  const ApiUser api = MakeApiUser(0x602, b.id, {"READER"});
  Device d;
  d.id = SigfoxId{0x42};
  d.type = t.id;
  d.group = b.id;
  d.pac = "0000000000000000";
  ASSERT_TRUE(store_->InsertDevice(d).ok());
  st = store_->DeleteGroup(b.id);
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  for (const char* what : {"1 device types", "1 devices", "1 users", "1 API users"}) {
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  }
  ASSERT_TRUE(store_->DeleteDevice(0x42).ok());
  ASSERT_TRUE(store_->DeleteDeviceType(t.id).ok());
  ASSERT_TRUE(store_->DeleteUser(u.id).ok());
  ASSERT_TRUE(store_->DeleteApiUser(api.login).ok());
  // A finished job of the group is history that goes with it.
  Job job;
  job.id = Hex24(0x603);
  job.kind = "test";
  job.group = b.id;
  job.params = "{}";
  ASSERT_TRUE(store_->CreateJob(job, std::vector<std::string>{}, 10).ok());
  ASSERT_TRUE(store_->DeleteGroup(b.id).ok());
  EXPECT_EQ(store_->GetGroup(b.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetJob(job.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteGroup(b.id).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->DeleteGroup(described.id).ok());
  ASSERT_TRUE(store_->DeleteGroup(a1.id).ok());
  ASSERT_TRUE(store_->DeleteGroup(a.id).ok());
  EXPECT_EQ(store_->ListGroupsInSubtree(root.id)->size(), 1u);
}

TEST_P(StoreTest, UsersAndApiUsersOfASubtree) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group a1 = MakeGroup(3, a.id);
  Group b = MakeGroup(4, root.id);
  int n = 0;
  for (const Group* g : {&root, &a, &a1, &b}) {
    MakeUser(0x700 + n, g->id, "u" + std::to_string(n) + "@example.com", {"READER"});
    MakeApiUser(0x800 - n, g->id, {"READER"});
    ++n;
  }
  auto users = store_->ListUsersInSubtree(a.id);
  ASSERT_TRUE(users.ok()) << users.status().message();
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].id, Hex24(0x701));
  EXPECT_EQ((*users)[1].id, Hex24(0x702));
  EXPECT_EQ(store_->ListUsersInSubtree(root.id)->size(), 4u);
  auto apis = store_->ListApiUsersInSubtree(a.id);
  ASSERT_TRUE(apis.ok()) << apis.status().message();
  ASSERT_EQ(apis->size(), 2u);
  EXPECT_EQ((*apis)[0].login, Hex24(0x800 - 2));  // ordered by login
  EXPECT_EQ((*apis)[1].login, Hex24(0x800 - 1));
  EXPECT_EQ(store_->ListUsersInSubtree(Hex24(99)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->ListApiUsersInSubtree(Hex24(99)).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, PasswordTokensAreTakenOnceAndReplaced) {
  Group root = MakeGroup(1, "");
  const User u = MakeUser(0x901, root.id, "new@example.com", {"READER"});
  UserToken first{std::string(64, 'a'), u.id, 5000, 1000};
  ASSERT_TRUE(store_->ReplacePasswordToken(first).ok());
  UserToken second{std::string(64, 'b'), u.id, 6000, 2000};
  ASSERT_TRUE(store_->ReplacePasswordToken(second).ok());
  // The first stopped working when the second was issued.
  EXPECT_EQ(store_->FindPasswordToken(first.token_hash).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->TakePasswordToken(first.token_hash).status().code(), Status::Code::kNotFound);
  // Finding leaves the token in place.
  for (int i = 0; i < 2; ++i) {
    auto found = store_->FindPasswordToken(second.token_hash);
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ(*found, second);
  }
  auto taken = store_->TakePasswordToken(second.token_hash);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_EQ(*taken, second);
  EXPECT_EQ(store_->TakePasswordToken(second.token_hash).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->FindPasswordToken(second.token_hash).status().code(), Status::Code::kNotFound);

  UserToken orphan{std::string(64, 'c'), Hex24(0x9ff), 6000, 2000};
  EXPECT_EQ(store_->ReplacePasswordToken(orphan).code(), Status::Code::kInvalidInput);

  UserToken third{std::string(64, 'd'), u.id, 6000, 2000};
  ASSERT_TRUE(store_->ReplacePasswordToken(third).ok());
  ASSERT_TRUE(store_->DeletePasswordTokens(u.id).ok());
  EXPECT_EQ(store_->TakePasswordToken(third.token_hash).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->DeletePasswordTokens(u.id).ok());  // none left: still fine

  // Deleting the user deletes its token.
  ASSERT_TRUE(store_->ReplacePasswordToken(third).ok());
  ASSERT_TRUE(store_->DeleteUser(u.id).ok());
  EXPECT_EQ(store_->TakePasswordToken(third.token_hash).status().code(), Status::Code::kNotFound);
}

// Links asked for at once: only the one stored last is valid.
TEST_P(StoreTest, ConcurrentPasswordLinksLeaveOneValid) {
  Group root = MakeGroup(1, "");
  const User u = MakeUser(0x912, root.id, "links@example.com", {"READER"});
  for (int round = 0; round < 10; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        UserToken t{std::string(60, 'f') + std::to_string(round * 10 + i) + "xx", u.id, 9000, 1000};
        t.token_hash.resize(64, 'x');
        EXPECT_TRUE(store_->ReplacePasswordToken(t).ok());
      });
    }
    for (auto& t : threads) t.join();
    int valid = 0;
    for (int i = 0; i < 4; ++i) {
      std::string hash = std::string(60, 'f') + std::to_string(round * 10 + i) + "xx";
      hash.resize(64, 'x');
      if (store_->FindPasswordToken(hash).ok()) ++valid;
    }
    EXPECT_EQ(valid, 1) << "round " << round;
  }
}

TEST_P(StoreTest, AnEditorWhoNoLongerHoldsAdminChangesNothing) {
  Group root = MakeGroup(1, "");
  const User ann = MakeUser(0x921, root.id, "ann@example.com", {"ADMIN"});
  const User bob = MakeUser(0x922, root.id, "bob@example.com", {"READER"});
  const User cy = MakeUser(0x923, root.id, "cy@example.com", {"ADMIN", "READER"});
  UserPatch demote;
  demote.roles = Roles{"READER"};
  demote.admin_editor = bob.id;  // bob is no administrator
  auto refused = store_->PatchUser(cy.id, demote);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kAlreadyExists);
  EXPECT_NE(refused.status().message().find("no longer holds ADMIN"), std::string::npos);
  EXPECT_EQ(store_->GetUser(cy.id)->roles, (Roles{"ADMIN", "READER"}));
  EXPECT_EQ(store_->DeleteUser(cy.id, bob.id).code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(store_->GetUser(cy.id).ok());
  demote.admin_editor = Hex24(0x9ff);  // an editor deleted meanwhile
  EXPECT_EQ(store_->PatchUser(cy.id, demote).status().code(), Status::Code::kAlreadyExists);
  demote.admin_editor = ann.id;
  auto done = store_->PatchUser(cy.id, demote);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->roles, Roles{"READER"});
  EXPECT_EQ(store_->PatchUser(Hex24(0x9fe), demote).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->DeleteUser(bob.id, ann.id).ok());
  EXPECT_EQ(store_->DeleteUser(bob.id, ann.id).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, TwoAdministratorsDemotingEachOtherAtOnceLeaveOne) {
  Group root = MakeGroup(1, "");
  for (int round = 0; round < 10; ++round) {
    const User a =
        MakeUser(0x930 + round * 2, root.id, "a" + std::to_string(round) + "@x.example", {"ADMIN"});
    const User b =
        MakeUser(0x931 + round * 2, root.id, "b" + std::to_string(round) + "@x.example", {"ADMIN"});
    std::atomic<int> refused{0};
    auto demote = [&](const User& editor, const User& target) {
      UserPatch p;
      p.roles = Roles{"READER"};
      p.admin_editor = editor.id;
      auto r = store_->PatchUser(target.id, p);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Status::Code::kAlreadyExists) << r.status().message();
        ++refused;
      }
    };
    std::thread one([&] { demote(a, b); });
    std::thread two([&] { demote(b, a); });
    one.join();
    two.join();
    const bool a_admin = store_->GetUser(a.id)->roles == Roles{"ADMIN"};
    const bool b_admin = store_->GetUser(b.id)->roles == Roles{"ADMIN"};
    EXPECT_EQ(refused.load(), 1) << "round " << round;
    EXPECT_NE(a_admin, b_admin) << "round " << round << ": exactly one stays an administrator";
  }
}

TEST_P(StoreTest, ConcurrentTakesOfOnePasswordTokenSucceedOnce) {
  Group root = MakeGroup(1, "");
  const User u = MakeUser(0x911, root.id, "race@example.com", {"READER"});
  for (int round = 0; round < 5; ++round) {
    UserToken t{std::string(63, 'e') + std::to_string(round), u.id, 9000, 1000};
    ASSERT_TRUE(store_->ReplacePasswordToken(t).ok());
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        auto r = store_->TakePasswordToken(t.token_hash);
        if (r.ok()) {
          ++won;
        } else if (r.status().code() == Status::Code::kNotFound) {
          ++lost;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(lost.load(), 3);
  }
}

TEST_P(StoreTest, Sessions) {
  Group root = MakeGroup(1, "");
  const User u = MakeUser(0xa01, root.id, "s@example.com", {"ADMIN"});
  UserToken old{std::string(64, '1'), u.id, 1500, 1000};
  UserToken a{std::string(64, '2'), u.id, 50000, 2000};
  UserToken b{std::string(64, '3'), u.id, 50000, 2000};
  UserToken c{std::string(64, '4'), u.id, 50000, 2000};
  ASSERT_TRUE(store_->CreateSession(old).ok());
  EXPECT_EQ(*store_->GetSession(old.token_hash), old);
  // Creating a session at t=2000 removes the one that expired at 1500.
  ASSERT_TRUE(store_->CreateSession(a).ok());
  EXPECT_EQ(store_->GetSession(old.token_hash).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(*store_->GetSession(a.token_hash), a);
  EXPECT_EQ(store_->CreateSession(a).code(), Status::Code::kAlreadyExists);
  UserToken orphan{std::string(64, '5'), Hex24(0xaff), 50000, 2000};
  EXPECT_EQ(store_->CreateSession(orphan).code(), Status::Code::kInvalidInput);
  ASSERT_TRUE(store_->CreateSession(b).ok());
  ASSERT_TRUE(store_->CreateSession(c).ok());

  ASSERT_TRUE(store_->DeleteSession(a.token_hash).ok());
  EXPECT_EQ(store_->GetSession(a.token_hash).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteSession(a.token_hash).code(), Status::Code::kNotFound);

  auto n = store_->DeleteUserSessions(u.id, c.token_hash);  // keep c
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store_->GetSession(b.token_hash).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->GetSession(c.token_hash).ok());
  // Deleting the user ends its sessions.
  ASSERT_TRUE(store_->DeleteUser(u.id).ok());
  EXPECT_EQ(store_->GetSession(c.token_hash).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, ALoginWhileAnAdministratorDeletesThatUserNeverDeadlocks) {
  Group root = MakeGroup(1, "");
  const User admin = MakeUser(0xa10, root.id, "admin@example.com", {"ADMIN"});
  for (int round = 0; round < 12; ++round) {
    const User u =
        MakeUser(0xa20 + round, root.id, "gone" + std::to_string(round) + "@x.example", {"READER"});
    // Expired sessions of that user: a login sweeps them while the delete
    // removes them with the user.
    for (int i = 0; i < 200; ++i) {
      char hash[65];
      std::snprintf(hash, sizeof hash, "%02x%062d", round, i);
      ASSERT_TRUE(store_->CreateSession(UserToken{hash, u.id, 1500, 1000}).ok());
    }
    Status login, removal;
    std::thread one([&] {
      login = store_->CreateSession(
          UserToken{std::string(63, 'f') + std::to_string(round % 10), u.id, 90000, 5000});
    });
    std::thread two([&] { removal = store_->DeleteUser(u.id, admin.id); });
    one.join();
    two.join();
    EXPECT_TRUE(removal.ok()) << "round " << round << ": " << removal.message();
    // The login either came first (and its session went with the user) or
    // found the user gone.
    EXPECT_TRUE(login.ok() || login.code() == Status::Code::kInvalidInput)
        << "round " << round << ": " << login.message();
    EXPECT_EQ(store_->GetUser(u.id).status().code(), Status::Code::kNotFound);
  }
}

TEST_P(StoreTest, DeviceTypes) {
  Group root = MakeGroup(1, "");
  Group child = MakeGroup(2, root.id);
  Group sibling = MakeGroup(3, root.id);
  DeviceType t1 = MakeType(1, root.id);
  DeviceType t2 = MakeType(2, child.id);
  DeviceType t3 = MakeType(3, sibling.id);
  EXPECT_EQ(*store_->GetDeviceType(t2.id), t2);
  EXPECT_EQ(store_->CreateDeviceType(t1).code(), Status::Code::kAlreadyExists);
  DeviceType orphan = t1;
  orphan.id = Hex24(0x100099);
  orphan.group = Hex24(0x99);
  EXPECT_EQ(store_->CreateDeviceType(orphan).code(), Status::Code::kInvalidInput);

  auto all = store_->ListDeviceTypes(root.id);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto below_child = store_->ListDeviceTypes(child.id);
  ASSERT_TRUE(below_child.ok());
  ASSERT_EQ(below_child->size(), 1u);
  EXPECT_EQ((*below_child)[0], t2);
  auto everything = store_->ListDeviceTypes("");
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->size(), 3u);
  EXPECT_EQ(store_->ListDeviceTypes(Hex24(0x98)).status().code(), Status::Code::kNotFound);

  t1.name = "renamed";
  t1.payload_type = PayloadType::kString;
  t1.downlink_mode = DownlinkMode::kNone;
  t1.automatic_renewal = false;
  const EpochMillis read_update_time = store_->GetDeviceType(t1.id)->update_time;
  t1.update_time = 77;
  auto updated = store_->UpdateDeviceType(t1, read_update_time);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_TRUE(*updated);
  EXPECT_EQ(*store_->GetDeviceType(t1.id), t1);
  // An edit that started from the version before: nothing changes.
  DeviceType stale = t1;
  stale.name = "from the stale read";
  stale.update_time = 78;
  updated = store_->UpdateDeviceType(stale, read_update_time);
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(*updated);
  EXPECT_EQ(*store_->GetDeviceType(t1.id), t1);
  DeviceType ghost = t1;
  ghost.id = Hex24(0x1000ff);
  EXPECT_EQ(store_->UpdateDeviceType(ghost, 77).status().code(), Status::Code::kNotFound);

  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x10, t3)).ok());
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x11, t3)).ok());
  EXPECT_EQ(*store_->CountDevices(t3.id), 2);
  EXPECT_EQ(*store_->CountDevices(t1.id), 0);
  Status refused = store_->DeleteDeviceType(t3.id);
  EXPECT_EQ(refused.code(), Status::Code::kInvalidInput);
  EXPECT_NE(refused.message().find("2 devices"), std::string::npos) << refused.message();
  ASSERT_TRUE(store_->DeleteDevice(0x10).ok());
  ASSERT_TRUE(store_->DeleteDevice(0x11).ok());
  ASSERT_TRUE(store_->DeleteDeviceType(t3.id).ok());
  EXPECT_EQ(store_->GetDeviceType(t3.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteDeviceType(t3.id).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, GetDevicesReadsABatchInOneCall) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  Device a = MakeDevice(0xC031, t);
  a.lat = 1.5;
  a.sequence_number = 7;
  Device b = MakeDevice(0xFFFFFFFF, t, "b");
  ASSERT_TRUE(store_->InsertDevice(a).ok());
  ASSERT_TRUE(store_->InsertDevice(b).ok());
  const std::vector<uint32_t> ids = {0xFFFFFFFF, 0x99, 0xC031, 0xFFFFFFFF};
  auto got = store_->GetDevices(ids);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0], b);
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], a);
  EXPECT_EQ((*got)[3], b);
  auto none = store_->GetDevices({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, DeviceRoundTripUpdateDelete) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  DeviceType t2 = MakeType(2, root.id);
  Device d = MakeDevice(0xC031, t, "test-device-C031");
  d.product_certificate = "P_0004_D356_03";
  d.lat = 48.8566;
  d.lng = -2.25e-7;
  d.activation_time = 1700000000123;
  d.state = DeviceState::kWarn;
  d.token_renew_forbidden = true;
  d.last = 1700000000999;
  d.average_snr = 12.5;
  d.average_rssi = -120.25;
  d.sequence_number = 4095;
  d.dev_eui = "010203fffe040506";
  d.join_eui = "70b3d57ed0000000";
  d.provision_id = "ABCDEFGHIJKLMNOPQRST";
  d.serial_number = "SN-1";
  d.model = "M1";
  ASSERT_TRUE(store_->InsertDevice(d).ok());
  EXPECT_EQ(*store_->GetDevice(0xC031), d);

  Device minimal = MakeDevice(0xFFFFFFFF, t);
  ASSERT_TRUE(store_->InsertDevice(minimal).ok());
  EXPECT_EQ(*store_->GetDevice(0xFFFFFFFF), minimal);

  Status dup = store_->InsertDevice(d);
  EXPECT_EQ(dup.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(dup.message().find("C031"), std::string::npos);
  EXPECT_EQ(dup.message().find(d.pac), std::string::npos);
  Device bad_type = MakeDevice(0x1, t);
  bad_type.type = Hex24(0xabc);
  EXPECT_EQ(store_->InsertDevice(bad_type).code(), Status::Code::kInvalidInput);

  d.type = t2.id;
  d.name = "moved";
  d.lat.reset();
  d.average_snr.reset();
  d.pac = "FEDCBA9876543210";
  d.creation_time = 1;  // ignored by update
  ASSERT_TRUE(store_->UpdateDevice(d).ok());
  Device expected = d;
  expected.creation_time = 42;
  EXPECT_EQ(*store_->GetDevice(0xC031), expected);
  Device ghost = MakeDevice(0x77, t);
  EXPECT_EQ(store_->UpdateDevice(ghost).code(), Status::Code::kNotFound);
  d.type = Hex24(0xabc);
  EXPECT_EQ(store_->UpdateDevice(d).code(), Status::Code::kInvalidInput);

  ASSERT_TRUE(store_->DeleteDevice(0xC031).ok());
  EXPECT_EQ(store_->GetDevice(0xC031).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteDevice(0xC031).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, PatchDevicesChangesOnlyGivenFieldsWhileTheDeviceIsAsExpected) {
  Group root = MakeGroup(1, "");
  Group other = MakeGroup(2, root.id);
  DeviceType t = MakeType(1, root.id);
  DeviceType t2 = MakeType(2, root.id);
  DeviceType foreign = MakeType(3, other.id);
  Device a = MakeDevice(0xA, t, "a");
  a.lat = 1.5;
  a.lng = 2.5;
  a.product_certificate = "P_0004_D356_03";
  a.average_snr = 7;
  Device b = MakeDevice(0xB, t, "b");
  ASSERT_TRUE(store_->InsertDevices(std::vector<Device>{a, b}).ok());

  // Only the given fields change; the others (and the unrelated columns) stay.
  DevicePatch rename;
  rename.id = 0xA;
  rename.expect_group = root.id;
  rename.name = "renamed";
  rename.lat = std::optional<double>();  // clears
  rename.type = t2.id;
  rename.token_renew_forbidden = true;
  auto r = store_->PatchDevices(std::vector<DevicePatch>{rename});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
  Device want = a;
  want.name = "renamed";
  want.lat.reset();
  want.type = t2.id;
  want.token_renew_forbidden = true;
  EXPECT_EQ(*store_->GetDevice(0xA), want);

  // Compare-and-set: a wrong group, a wrong PAC, an unknown id and a repeated id
  // are reported and not applied; the rest of the batch is.
  DevicePatch wrong_group = rename;
  wrong_group.expect_group = other.id;
  wrong_group.name = "nope";
  DevicePatch transfer;
  transfer.id = 0xB;
  transfer.expect_group = root.id;
  transfer.expect_pac = "0123456789ABCDEF";
  transfer.group = other.id;
  transfer.type = foreign.id;
  transfer.pac = "FEDCBA9876543210";
  transfer.product_certificate = "";
  transfer.lng = 3.25;
  DevicePatch replay = transfer;  // the same transfer again: its PAC is consumed
  DevicePatch ghost;
  ghost.id = 0x77;
  ghost.expect_group = root.id;
  ghost.name = "ghost";
  r = store_->PatchDevices(std::vector<DevicePatch>{wrong_group, transfer, replay, ghost});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(store_->GetDevice(0xA)->name, "renamed");
  Device moved = *store_->GetDevice(0xB);
  EXPECT_EQ(moved.group, other.id);
  EXPECT_EQ(moved.type, foreign.id);
  EXPECT_EQ(moved.pac, "FEDCBA9876543210");
  EXPECT_EQ(moved.lng, 3.25);
  EXPECT_EQ(moved.name, "b");
  replay.expect_group = other.id;
  r = store_->PatchDevices(std::vector<DevicePatch>{replay});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<size_t>{0}));  // old PAC no longer matches

  // Any other failure applies nothing.
  DevicePatch ok_part;
  ok_part.id = 0xA;
  ok_part.expect_group = root.id;
  ok_part.name = "should not stay";
  DevicePatch bad_type;
  bad_type.id = 0xB;
  bad_type.expect_group = other.id;
  bad_type.type = Hex24(0xabc);
  r = store_->PatchDevices(std::vector<DevicePatch>{ok_part, bad_type});
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(store_->GetDevice(0xA)->name, "renamed");
  auto none = store_->PatchDevices({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, BatchInsertReportsConflictsAndInsertsTheRest) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(5, t)).ok());
  std::vector<Device> batch;
  for (uint32_t id = 1; id <= 10; ++id) batch.push_back(MakeDevice(id, t));
  batch.push_back(MakeDevice(3, t, "repeated"));  // repeated within the batch
  auto r = store_->InsertDevices(batch);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->inserted, 9);
  EXPECT_EQ(r->conflicts, (std::vector<size_t>{4, 10}));
  EXPECT_EQ(store_->GetDevice(3)->name, "dev-00000003");
  EXPECT_EQ(*store_->CountDevices(t.id), 10);

  auto empty = store_->InsertDevices({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->inserted, 0);

  // Any other failure inserts nothing.
  std::vector<Device> broken = {MakeDevice(100, t), MakeDevice(101, t)};
  broken[1].group = Hex24(0x404);
  EXPECT_EQ(store_->InsertDevices(broken).status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(store_->GetDevice(100).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, DevicePositionsAreListedOrCountedInCells) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group a1 = MakeGroup(3, a.id);
  Group b = MakeGroup(4, root.id);
  DeviceType ta = MakeType(1, a.id);
  DeviceType tb = MakeType(2, b.id);

  DevicePositionQuery query;
  query.type = ta.id;
  query.group_subtree = root.id;
  auto none = store_->ListDevicePositions(query);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->total, 0);
  EXPECT_FALSE(none->bounds);
  EXPECT_TRUE(none->devices.empty() && none->cells.empty());

  // Three clusters far from the edges of a 4 x 4 world grid (45 degrees by 90),
  // the world's corners, devices without a position, some in a subgroup, and
  // another type's devices at the same places.
  struct Cluster {
    double lat, lng;
    int n;
  };
  const std::vector<Cluster> clusters{{10.5, 20.5, 120}, {-30.25, -60.25, 200}, {60.0, 100.0, 30}};
  std::vector<Device> devices;
  uint32_t next_id = 0x1000;
  std::map<uint32_t, std::pair<double, double>> positioned;  // of ta
  std::set<uint32_t> in_a1;
  for (const auto& c : clusters) {
    for (int i = 0; i < c.n; ++i) {
      Device d = MakeDevice(next_id++, ta);
      d.lat = c.lat + (i % 10) * 0.001 - 0.005;
      d.lng = c.lng - (i / 10) * 0.0007;
      if (i % 7 == 0) {
        d.group = a1.id;
        in_a1.insert(d.id.value);
      }
      positioned[d.id.value] = {*d.lat, *d.lng};
      devices.push_back(d);
      Device other = MakeDevice(0x900000 + next_id, tb);
      other.lat = d.lat;
      other.lng = d.lng;
      devices.push_back(other);
    }
  }
  for (auto [lat, lng] : {std::pair{90.0, 180.0}, {-90.0, -180.0}, {90.0, -180.0}}) {
    Device d = MakeDevice(next_id++, ta);
    d.lat = lat;
    d.lng = lng;
    positioned[d.id.value] = {lat, lng};
    devices.push_back(d);
  }
  for (int i = 0; i < 40; ++i) devices.push_back(MakeDevice(next_id++, ta));  // no position
  Device half = MakeDevice(next_id++, ta);
  half.lat = 1.0;  // a latitude alone is no position
  devices.push_back(half);
  ASSERT_TRUE(store_->InsertDevices(devices).ok());
  const int64_t total = static_cast<int64_t>(positioned.size());

  // Few enough: listed one by one, in id order, positions exact.
  query.max_listed = kMaxPositionsListed;
  auto listed = store_->ListDevicePositions(query);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(listed->total, total);
  EXPECT_TRUE(listed->cells.empty());
  ASSERT_EQ(listed->devices.size(), positioned.size());
  auto want = positioned.begin();
  for (const auto& d : listed->devices) {
    EXPECT_EQ(d.id, want->first);
    EXPECT_EQ(d.lat, want->second.first);
    EXPECT_EQ(d.lng, want->second.second);
    EXPECT_EQ(d.name, "dev-" + SigfoxId{d.id}.ToFile());
    ++want;
  }
  ASSERT_TRUE(listed->bounds);
  EXPECT_EQ(listed->bounds->south, -90.0);
  EXPECT_EQ(listed->bounds->north, 90.0);
  EXPECT_EQ(listed->bounds->west, -180.0);
  EXPECT_EQ(listed->bounds->east, 180.0);

  // Past max_listed: counted in the cells of the world's 4 x 4 grid.
  query.max_listed = 100;
  query.grid = 4;
  query.area = PositionArea{};
  auto counted = store_->ListDevicePositions(query);
  ASSERT_TRUE(counted.ok()) << counted.status().message();
  EXPECT_TRUE(counted->devices.empty());
  EXPECT_EQ(counted->total, total);
  // Each cell: its devices' count, bounds and mean; the clusters fall in
  // distinct cells of the 45 x 90 degree grid, the corner (90, 180) with the
  // cluster at (60, 100).
  std::map<int64_t, PositionCell> by_count;
  int64_t sum = 0;
  for (const auto& c : counted->cells) {
    EXPECT_LE(c.bounds.south, c.lat);
    EXPECT_GE(c.bounds.north, c.lat);
    EXPECT_LE(c.bounds.west, c.lng);
    EXPECT_GE(c.bounds.east, c.lng);
    if (c.count > 1) by_count[c.count] = c;
    sum += c.count;
  }
  EXPECT_EQ(sum, total);
  EXPECT_EQ(counted->cells.size(), 5u);
  ASSERT_EQ(by_count.size(), 3u);
  const PositionCell& first_cluster = by_count[120];
  EXPECT_EQ(first_cluster.bounds.south, 10.5 - 0.005);
  EXPECT_EQ(first_cluster.bounds.north, 10.5 + 9 * 0.001 - 0.005);
  const PositionCell& south = by_count[200];
  EXPECT_NEAR(south.lat, -30.25 - 0.0005, 1e-6);  // the cluster's mean
  EXPECT_LE(south.bounds.north, -30.2);
  const PositionCell& north = by_count[31];
  EXPECT_EQ(north.bounds.north, 90.0);
  EXPECT_EQ(north.bounds.east, 180.0);
  EXPECT_LT(north.bounds.south, 60.0);

  // Without an area, the grid covers the devices' bounds.
  query.area.reset();
  query.grid = 64;
  auto whole = store_->ListDevicePositions(query);
  ASSERT_TRUE(whole.ok());
  sum = 0;
  for (const auto& c : whole->cells) sum += c.count;
  EXPECT_EQ(sum, total);
  EXPECT_EQ(whole->total, total);

  // An area: only what lies inside it; listed again when few enough.
  query.area = PositionArea{-31, -61, -29, -59};
  auto one = store_->ListDevicePositions(query);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->total, 200);
  EXPECT_FALSE(one->cells.empty());
  query.max_listed = 200;
  one = store_->ListDevicePositions(query);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->devices.size(), 200u);
  EXPECT_GE(one->bounds->south, -31.0);
  EXPECT_LE(one->bounds->north, -29.0);

  // A subtree sees its own devices only.
  query.area.reset();
  query.group_subtree = a1.id;
  auto sub = store_->ListDevicePositions(query);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->total, static_cast<int64_t>(in_a1.size()));
  for (const auto& d : sub->devices) EXPECT_TRUE(in_a1.count(d.id)) << d.id;
  query.group_subtree = b.id;
  sub = store_->ListDevicePositions(query);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->total, 0);

  DevicePositionQuery bad;
  EXPECT_EQ(store_->ListDevicePositions(bad).status().code(), Status::Code::kInvalidInput);
  bad.type = ta.id;
  for (int v : {0, kMaxPositionsListed + 1}) {
    bad.max_listed = v;
    EXPECT_EQ(store_->ListDevicePositions(bad).status().code(), Status::Code::kInvalidInput);
  }
  bad.max_listed = 10;
  for (int v : {0, kMaxPositionGrid + 1}) {
    bad.grid = v;
    EXPECT_EQ(store_->ListDevicePositions(bad).status().code(), Status::Code::kInvalidInput);
  }
  bad.grid = 4;
  for (PositionArea area :
       {PositionArea{10, 0, 5, 1}, PositionArea{0, 10, 1, 5}, PositionArea{-91, 0, 0, 1},
        PositionArea{0, 0, 0, 181}, PositionArea{std::nan(""), 0, 1, 1}}) {
    bad.area = area;
    EXPECT_EQ(store_->ListDevicePositions(bad).status().code(), Status::Code::kInvalidInput);
  }
}

// The map's count in the area in view (ListDevicePositions, without a
// subtree) reads the positions index over the latitudes in view, not every
// positioned device of the type.
TEST_P(StoreTest, AMapsAreaIsReadFromThePositionIndex) {
  const std::string plan = PlanOf(
      GetParam(), location_,
      "SELECT count(*), min(lat), max(lat), min(lng), max(lng) FROM devices WHERE type_id = $1 "
      "AND lat IS NOT NULL AND lng IS NOT NULL AND lat >= $2 AND lat <= $3 AND lng >= $4 AND "
      "lng <= $5",
      "('t', 43.0, 44.0, 1.0, 2.0)");
  EXPECT_NE(plan.find("devices_type_position "), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN devices\n"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
}

TEST_P(StoreTest, KeysetPaginationAndFilters) {
  Group root = MakeGroup(1, "");
  Group a = MakeGroup(2, root.id);
  Group a1 = MakeGroup(3, a.id);
  Group b = MakeGroup(4, root.id);
  DeviceType ta = MakeType(1, a.id);
  DeviceType ta1 = MakeType(2, a1.id);
  DeviceType tb = MakeType(3, b.id);
  std::vector<Device> devices;
  // 2500 devices, ids spread over the whole range, inserted out of order.
  for (uint32_t i = 0; i < 2500; ++i) {
    const uint32_t id = (i * 2654435761u) | 1u;
    const DeviceType& t = i % 3 == 0 ? ta : i % 3 == 1 ? ta1 : tb;
    devices.push_back(MakeDevice(id, t, (i % 2 ? "odd-" : "even-") + std::to_string(i)));
  }
  auto ins = store_->InsertDevices(devices);
  ASSERT_TRUE(ins.ok()) << ins.status().message();
  ASSERT_EQ(ins->inserted, 2500);

  auto walk = [&](DeviceQuery q) {
    std::vector<uint32_t> ids;
    int pages = 0;
    for (;;) {
      auto page = store_->ListDevices(q);
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok()) break;
      ++pages;
      for (const auto& d : page->devices) ids.push_back(d.id.value);
      EXPECT_LE(page->devices.size(), static_cast<size_t>(q.limit));
      if (!page->next) break;
      EXPECT_EQ(page->devices.size(), static_cast<size_t>(q.limit));
      EXPECT_EQ(*page->next, page->devices.back().id.value);
      q.after = page->next;
      // A name filter pages by (name, id): the cursor has both halves.
      EXPECT_EQ(page->next_name.has_value(), !q.name_prefix.empty());
      q.after_name = page->next_name;
      if (pages > 3000) {
        ADD_FAILURE() << "paging does not end";
        break;
      }
    }
    // Name-ordered walks come in (name, id) order; the expectations are by id.
    if (!q.name_prefix.empty()) std::sort(ids.begin(), ids.end());
    return std::make_pair(ids, pages);
  };
  auto expect = [&](auto pred) {
    std::vector<uint32_t> ids;
    for (const auto& d : devices) {
      if (pred(d)) ids.push_back(d.id.value);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };

  DeviceQuery all;
  all.limit = 1000;
  auto [ids, pages] = walk(all);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids, expect([](const Device&) { return true; }));

  DeviceQuery by_root;
  by_root.group_subtree = root.id;
  by_root.limit = 700;
  EXPECT_EQ(walk(by_root).first, expect([](const Device&) { return true; }));

  DeviceQuery by_a;
  by_a.group_subtree = a.id;
  by_a.limit = 333;
  EXPECT_EQ(walk(by_a).first,
            expect([&](const Device& d) { return d.group == a.id || d.group == a1.id; }));

  DeviceQuery by_a1;
  by_a1.group_subtree = a1.id;
  EXPECT_EQ(walk(by_a1).first, expect([&](const Device& d) { return d.group == a1.id; }));

  DeviceQuery by_type;
  by_type.type = tb.id;
  by_type.limit = 250;
  auto [type_ids, type_pages] = walk(by_type);
  EXPECT_EQ(type_ids, expect([&](const Device& d) { return d.type == tb.id; }));
  EXPECT_GE(type_pages, 4);

  DeviceQuery by_prefix;
  by_prefix.id_prefix = "a";
  by_prefix.limit = 10;
  EXPECT_EQ(walk(by_prefix).first,
            expect([](const Device& d) { return (d.id.value >> 28) == 0xA; }));
  by_prefix.id_prefix = "A3";
  EXPECT_EQ(walk(by_prefix).first,
            expect([](const Device& d) { return (d.id.value >> 24) == 0xA3; }));

  DeviceQuery by_name;
  by_name.name_prefix = "odd-1";
  by_name.limit = 50;
  EXPECT_EQ(walk(by_name).first,
            expect([](const Device& d) { return d.name.rfind("odd-1", 0) == 0; }));

  DeviceQuery combined;
  combined.group_subtree = a.id;
  combined.type = ta.id;
  combined.name_prefix = "even-";
  combined.id_prefix = "1";
  combined.limit = 7;
  EXPECT_EQ(walk(combined).first, expect([&](const Device& d) {
              return d.type == ta.id && d.name.rfind("even-", 0) == 0 && (d.id.value >> 28) == 1;
            }));

  DeviceQuery none;
  none.group_subtree = b.id;
  none.type = ta.id;
  auto empty = store_->ListDevices(none);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->devices.empty());
  EXPECT_FALSE(empty->next);

  DeviceQuery bad;
  bad.limit = 0;
  EXPECT_EQ(store_->ListDevices(bad).status().code(), Status::Code::kInvalidInput);
  bad.limit = kMaxPageSize + 1;
  EXPECT_EQ(store_->ListDevices(bad).status().code(), Status::Code::kInvalidInput);
  bad.limit = 10;
  bad.id_prefix = "xyz";
  EXPECT_EQ(store_->ListDevices(bad).status().code(), Status::Code::kInvalidInput);
  bad.id_prefix = "123456789";
  EXPECT_EQ(store_->ListDevices(bad).status().code(), Status::Code::kInvalidInput);
  bad.id_prefix = "";
  bad.group_subtree = Hex24(0x404);
  EXPECT_EQ(store_->ListDevices(bad).status().code(), Status::Code::kNotFound);
}

// The state and last-seen filters, alone and with the others, across pages.
TEST_P(StoreTest, StateAndLastSeenFilters) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  std::vector<Device> all;
  for (uint32_t i = 0; i < 30; ++i) {
    Device d = MakeDevice(0x100 + i, t);
    d.state = i % 3 == 0 ? DeviceState::kDead : DeviceState::kOk;
    if (i % 2 == 0) d.last = EpochMillis{1000 + i};  // odd ones never seen
    ASSERT_TRUE(store_->InsertDevice(d).ok());
    all.push_back(d);
  }
  auto walk = [&](DeviceQuery q) {
    std::vector<uint32_t> ids;
    q.limit = 4;
    for (;;) {
      auto page = store_->ListDevices(q);
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok()) break;
      for (const auto& d : page->devices) ids.push_back(d.id.value);
      if (!page->next) break;
      q.after = page->next;
    }
    return ids;
  };
  auto expect = [&](auto pred) {
    std::vector<uint32_t> ids;
    for (const auto& d : all) {
      if (pred(d)) ids.push_back(d.id.value);
    }
    return ids;
  };
  DeviceQuery dead;
  dead.state = DeviceState::kDead;
  EXPECT_EQ(walk(dead), expect([](const Device& d) { return d.state == DeviceState::kDead; }));
  DeviceQuery since;
  since.last_since = 1010;
  EXPECT_EQ(walk(since), expect([](const Device& d) { return d.last && *d.last >= 1010; }));
  DeviceQuery range;
  range.last_since = 1004;
  range.last_before = 1020;
  range.state = DeviceState::kOk;
  EXPECT_EQ(walk(range), expect([](const Device& d) {
              return d.last && *d.last >= 1004 && *d.last < 1020 && d.state == DeviceState::kOk;
            }));
  DeviceQuery none;
  none.state = DeviceState::kSuspended;
  EXPECT_TRUE(walk(none).empty());
}

TEST_P(StoreTest, Credentials) {
  Credential a;
  a.device_id.value = 0x0041A2F0;
  a.sealed_key = {0x00, 0xFF, 0x10, 0x00, 0x5C, 0x22, 0x7B};
  a.initial_pac = "6FEE95A9E3756E43";
  a.creation_time = 1;
  Credential b = a;
  b.device_id.value = 7;
  b.sealed_key.assign(60, 0xAB);
  ASSERT_TRUE(store_->UpsertCredentials(std::vector<Credential>{a, b}).ok());
  EXPECT_EQ(*store_->GetCredential(a.device_id.value), a);
  a.sealed_key = {1, 2, 3};
  a.initial_pac = "0000000000000001";
  ASSERT_TRUE(store_->UpsertCredentials(std::span<const Credential>(&a, 1)).ok());
  EXPECT_EQ(*store_->GetCredential(a.device_id.value), a);
  Status missing = store_->GetCredential(8).status();
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);

  std::vector<uint32_t> ids = {7, 8, a.device_id.value, 7};
  auto many = store_->GetCredentials(ids);
  ASSERT_TRUE(many.ok()) << many.status().message();
  ASSERT_EQ(many->size(), 4u);
  EXPECT_EQ((*many)[0], b);
  EXPECT_FALSE((*many)[1]);
  EXPECT_EQ((*many)[2], a);
  EXPECT_EQ((*many)[3], b);
}

// Insert-if-absent: a stored credential is never replaced, and the caller learns which ones
// were left alone (a repeat within the batch too).
TEST_P(StoreTest, InsertNewCredentialsKeepsStoredOnes) {
  Credential a;
  a.device_id.value = 0x0041A2F0;
  a.sealed_key = {0x00, 0xFF, 0x10};
  a.initial_pac = "6FEE95A9E3756E43";
  a.creation_time = 1;
  auto first = store_->InsertNewCredentials(std::span<const Credential>(&a, 1));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->empty());

  Credential replaced = a;
  replaced.sealed_key = {9, 9, 9};
  replaced.initial_pac = "0000000000000001";
  Credential b = a;
  b.device_id.value = 7;
  Credential b_again = b;
  b_again.initial_pac = "0000000000000002";
  auto second = store_->InsertNewCredentials(std::vector<Credential>{b, replaced, b_again});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(*second, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(*store_->GetCredential(a.device_id.value), a);
  EXPECT_EQ(*store_->GetCredential(7), b);
  auto none = store_->InsertNewCredentials({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// A batch the size of an import chunk, binary keys included, half of it stored already.
TEST_P(StoreTest, InsertNewCredentialsInBulk) {
  auto make = [](uint32_t id, uint8_t seed) {
    Credential c;
    c.device_id.value = id;
    c.sealed_key = {0x00, seed, 0xFF, 0x5C, 0x00, 0x0A, 0x09, 0x22};
    c.initial_pac = "00000000000" + std::to_string(10000 + id % 10000);
    c.creation_time = 1700000000000 + id;
    return c;
  };
  std::vector<Credential> first;
  for (uint32_t id = 0; id < 10000; id += 2) first.push_back(make(id, 1));
  auto r = store_->InsertNewCredentials(first);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
  std::vector<Credential> all;
  for (uint32_t id = 0; id < 10000; ++id) all.push_back(make(id, 2));
  r = store_->InsertNewCredentials(all);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 5000u);
  for (size_t k = 0; k < r->size(); ++k) ASSERT_EQ((*r)[k], 2 * k);
  EXPECT_EQ(*store_->GetCredential(4), make(4, 1));  // kept, not replaced
  EXPECT_EQ(*store_->GetCredential(9999), make(9999, 2));
  EXPECT_EQ(store_->GetCredential(10000).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, ProductCertificatesUpsertGetAndSearch) {
  auto cert = [](std::string key, std::string maker, std::string product, EpochMillis t) {
    ProductCertificate pc;
    pc.key = std::move(key);
    pc.manufacturer = std::move(maker);
    pc.product_name = std::move(product);
    pc.revision = "03";
    pc.link = "https://example.com/c";
    pc.notes = "line one\nline two";
    pc.creation_time = t;
    pc.update_time = t;
    return pc;
  };
  std::vector<ProductCertificate> certs = {
      cert("P_0004_D356_03", "Acme Sensors", "TempTag", 10),
      cert("P_0001_AFAF_01", "Élan Devices", "Door Watch", 10),
      cert("P_00AB_0001_02", "Nordic Things, Inc.", "acme-compatible relay", 10)};
  ASSERT_TRUE(store_->UpsertProductCertificates(certs).ok());
  auto got = store_->GetProductCertificate("P_0004_D356_03");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, certs[0]);
  auto missing = store_->GetProductCertificate("P_0004_D356_04");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("P_0004_D356_04"), std::string::npos);

  // Upsert replaces the fields and keeps the first creation time.
  ProductCertificate changed = cert("P_0004_D356_03", "Acme Sensors SA", "TempTag 2", 20);
  changed.link = "";
  ASSERT_TRUE(store_->UpsertProductCertificates(std::span(&changed, 1)).ok());
  ProductCertificate expected = changed;
  expected.creation_time = 10;
  EXPECT_EQ(*store_->GetProductCertificate("P_0004_D356_03"), expected);

  auto keys = [&](CertificateQuery q) {
    auto page = store_->SearchProductCertificates(q);
    EXPECT_TRUE(page.ok()) << page.status().message();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& pc : page->certificates) out.push_back(pc.key);
      if (page->next) out.push_back("next=" + *page->next);
    }
    return out;
  };
  using V = std::vector<std::string>;
  // All, ordered by key.
  EXPECT_EQ(keys({}), (V{"P_0001_AFAF_01", "P_0004_D356_03", "P_00AB_0001_02"}));
  // Case-insensitive on manufacturer and product name.
  EXPECT_EQ(keys({"ACME", "", 100}), (V{"P_0004_D356_03", "P_00AB_0001_02"}));
  EXPECT_EQ(keys({"door w", "", 100}), (V{"P_0001_AFAF_01"}));
  EXPECT_EQ(keys({"things, inc", "", 100}), (V{"P_00AB_0001_02"}));
  // The key in any spelling, partial too.
  EXPECT_EQ(keys({"p 0004 d356", "", 100}), (V{"P_0004_D356_03"}));
  EXPECT_EQ(keys({"0004-D356-03", "", 100}), (V{"P_0004_D356_03"}));
  EXPECT_EQ(keys({"p0001afaf", "", 100}), (V{"P_0001_AFAF_01"}));
  EXPECT_EQ(keys({"_0001_", "", 100}), (V{"P_0001_AFAF_01", "P_00AB_0001_02"}));
  EXPECT_EQ(keys({"ab_0001", "", 100}), (V{"P_00AB_0001_02"}));
  EXPECT_EQ(keys({"nothing like this", "", 100}), V{});
  // Case folding is ASCII only: other bytes match exactly.
  EXPECT_EQ(keys({"Élan", "", 100}), (V{"P_0001_AFAF_01"}));
  EXPECT_EQ(keys({"élan", "", 100}), V{});
  // Keyset paging.
  EXPECT_EQ(keys({"", "", 2}), (V{"P_0001_AFAF_01", "P_0004_D356_03", "next=P_0004_D356_03"}));
  EXPECT_EQ(keys({"", "P_0004_D356_03", 2}), (V{"P_00AB_0001_02"}));
  EXPECT_EQ(keys({"acme", "P_0004_D356_03", 1}), (V{"P_00AB_0001_02"}));
  // Bad queries.
  EXPECT_EQ(store_->SearchProductCertificates({"", "", 0}).status().code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(store_->SearchProductCertificates({"", "", kMaxPageSize + 1}).status().code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(store_->SearchProductCertificates({"a\nb", "", 10}).status().code(),
            Status::Code::kInvalidInput);
  // Survives a reopen.
  Open();
  EXPECT_EQ(*store_->GetProductCertificate("P_00AB_0001_02"), certs[2]);
}

TEST_P(StoreTest, DisengageFlagsEveryDeviceOfTheTypeUntilCleared) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  DeviceType other = MakeType(2, root.id);
  DeviceType empty = MakeType(3, root.id);
  for (uint32_t id : {1u, 2u, 3u}) ASSERT_TRUE(store_->InsertDevice(MakeDevice(id, t)).ok());
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(9, other)).ok());

  // Nothing flagged yet.
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(1));
  auto n = store_->DisengageSequenceCheck(t.id, 1000);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(*store_->DisengageSequenceCheck(empty.id, 1000), 0);
  EXPECT_EQ(store_->DisengageSequenceCheck(Hex24(0xdead), 1000).status().code(),
            Status::Code::kNotFound);
  // Again: the same devices count again.
  EXPECT_EQ(*store_->DisengageSequenceCheck(t.id, 2000), 3);

  // The flag is consumed once per device; other types are untouched.
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(9));
  EXPECT_TRUE(*store_->ClearSequenceCheckDisengaged(1));
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(1));
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(0x12345678));  // no such device

  // Persisted; a deleted device loses its flag (registering it again starts clean).
  Open();
  ASSERT_TRUE(store_->DeleteDevice(2).ok());
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(2, t)).ok());
  EXPECT_FALSE(*store_->ClearSequenceCheckDisengaged(2));
  EXPECT_TRUE(*store_->ClearSequenceCheckDisengaged(3));
  // Deleting a type whose devices were flagged still works once they are gone.
  ASSERT_TRUE(store_->DeleteDevice(1).ok());
  ASSERT_TRUE(store_->DeleteDevice(2).ok());
  ASSERT_TRUE(store_->DeleteDevice(3).ok());
  EXPECT_TRUE(store_->DeleteDeviceType(t.id).ok());
}

TEST_P(StoreTest, ConcurrentClearersConsumeADisengageOnce) {
  Group root = MakeGroup(1, "");
  DeviceType t = MakeType(1, root.id);
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(5, t)).ok());
  for (int round = 0; round < 5; ++round) {
    ASSERT_EQ(*store_->DisengageSequenceCheck(t.id, round), 1);
    std::atomic<int> seen{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        auto cleared = store_->ClearSequenceCheckDisengaged(5);
        EXPECT_TRUE(cleared.ok()) << cleared.status().message();
        if (cleared.ok() && *cleared) ++seen;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(seen.load(), 1) << "round " << round;
  }
}

class JobTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);
  }
  Job MakeJob(int n, int64_t items, int64_t chunk, EpochMillis created = 100) {
    Job j;
    j.id = Hex24(0x7000 + n);
    j.kind = "devices.bulk_create";
    j.group = root_.id;
    j.params = R"({"prefix":"test-device-"})";
    j.creation_time = created;
    std::vector<std::string> list;
    for (int64_t i = 0; i < items; ++i) list.push_back(std::to_string(n * 100000 + i));
    Status st = store_->CreateJob(j, list, chunk);
    EXPECT_TRUE(st.ok()) << st.message();
    j.total = items;
    return j;
  }
  Group root_;
  DeviceType type_;
};

TEST_P(JobTest, ChunksAreClaimedInOrderAndCompleted) {
  Job job = MakeJob(1, 25, 10);
  auto got = store_->GetJob(job.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, job);
  auto st = store_->GetJobStatus(job.id);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->done);
  EXPECT_EQ(st->total, 25);
  EXPECT_EQ(st->processed, 0);

  std::vector<int64_t> firsts;
  for (int k = 0; k < 3; ++k) {
    auto c = store_->ClaimChunk("w1", 1000, 60000);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_TRUE(c->has_value());
    JobClaim& claim = **c;
    EXPECT_EQ(claim.job, job);
    EXPECT_EQ(claim.chunk, k);
    EXPECT_EQ(claim.first_item, k * 10);
    ASSERT_EQ(claim.items.size(), k < 2 ? 10u : 5u);
    EXPECT_EQ(claim.items[0], std::to_string(100000 + k * 10));
    firsts.push_back(claim.first_item);
    ChunkOutcome out;
    if (k == 0) {
      out.failed.push_back({"BAD1", "bad PAC"});
      out.insert.push_back(MakeDevice(0x100, type_));
      out.insert.push_back(MakeDevice(0x100, type_));  // duplicate in the request
    }
    if (k == 2) {
      ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x200, type_)).ok());
      out.insert.push_back(MakeDevice(0x200, type_));  // already registered
      out.insert.push_back(MakeDevice(0x201, type_));
    }
    ASSERT_TRUE(store_->CompleteChunk(claim, out).ok());
    EXPECT_EQ(store_->CompleteChunk(claim, out).code(), Status::Code::kNotFound);
  }
  auto none = store_->ClaimChunk("w1", 1000, 60000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  st = store_->GetJobStatus(job.id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->processed, 25);
  EXPECT_EQ(st->success, 22);
  ASSERT_EQ(st->failed.size(), 3u);
  EXPECT_EQ(st->failed[0], (JobFailure{"BAD1", "bad PAC"}));
  EXPECT_EQ(st->failed[1], (JobFailure{"100", "already registered"}));
  EXPECT_EQ(st->failed[2], (JobFailure{"200", "already registered"}));
  EXPECT_TRUE(store_->GetDevice(0x100).ok());
  EXPECT_TRUE(store_->GetDevice(0x201).ok());

  EXPECT_EQ(store_->GetJob(Hex24(1)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetJobStatus(Hex24(1)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->CreateJob(job, {}, 10).code(), Status::Code::kAlreadyExists);
  Job other = job;
  other.id = Hex24(0x7777);
  EXPECT_EQ(store_->CreateJob(other, {}, 0).code(), Status::Code::kInvalidInput);
}

TEST_P(JobTest, EmptyJobIsDoneAndOlderJobsGoFirst) {
  Job empty = MakeJob(1, 0, 10, 50);
  auto st = store_->GetJobStatus(empty.id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->total, 0);
  Job newer = MakeJob(2, 3, 10, 300);
  Job older = MakeJob(3, 3, 10, 200);
  auto c = store_->ClaimChunk("w", 1000, 100);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->job.id, older.id);
  c = store_->ClaimChunk("w", 1000, 100);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->job.id, newer.id);
}

TEST_P(JobTest, ExpiredLeaseIsTakenOverAndTheOldWorkerCannotComplete) {
  Job job = MakeJob(1, 4, 2);
  auto dead = store_->ClaimChunk("dying", 1000, 500);  // lease until 1500
  ASSERT_TRUE(dead.ok() && dead->has_value());
  EXPECT_EQ((*dead)->chunk, 0);
  auto next = store_->ClaimChunk("alive", 1200, 500);  // chunk 0 still leased
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->chunk, 1);
  auto nothing = store_->ClaimChunk("alive", 1400, 500);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->has_value());
  auto taken = store_->ClaimChunk("alive", 1501, 500);  // the dying worker's lease expired
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->chunk, 0);
  EXPECT_EQ((*taken)->items, (*dead)->items);

  ChunkOutcome late;
  late.insert.push_back(MakeDevice(0x900, type_));
  Status lost = store_->CompleteChunk(**dead, late);
  EXPECT_EQ(lost.code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetDevice(0x900).status().code(), Status::Code::kNotFound);  // rolled back

  ASSERT_TRUE(store_->CompleteChunk(**taken, ChunkOutcome{}).ok());
  ASSERT_TRUE(store_->CompleteChunk(**next, ChunkOutcome{}).ok());
  auto st = store_->GetJobStatus(job.id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->success, 4);
}

TEST_P(JobTest, ChunkPatchesApplyWithTheCompletionOnlyAndMismatchesAreReported) {
  ASSERT_TRUE(store_->InsertDevice(MakeDevice(0x10, type_, "before")).ok());
  Job job = MakeJob(1, 2, 2);
  auto dead = store_->ClaimChunk("dying", 1000, 500);
  ASSERT_TRUE(dead.ok() && dead->has_value());
  auto taken = store_->ClaimChunk("alive", 1501, 500);
  ASSERT_TRUE(taken.ok() && taken->has_value());

  DevicePatch p;
  p.id = 0x10;
  p.expect_group = root_.id;
  p.name = "after";
  DevicePatch ghost = p;
  ghost.id = 0x11;
  ChunkOutcome out;
  out.patch = {p, ghost};
  out.patch_mismatch = "not found";
  ASSERT_TRUE(store_->CompleteChunk(**taken, out).ok());
  EXPECT_EQ(store_->GetDevice(0x10)->name, "after");

  // The worker that lost its lease writes nothing, not even its patches.
  ChunkOutcome late;
  DevicePatch stale = p;
  stale.name = "stale";
  late.patch = {stale};
  EXPECT_EQ(store_->CompleteChunk(**dead, late).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetDevice(0x10)->name, "after");

  auto st = store_->GetJobStatus(job.id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->processed, 2);
  EXPECT_EQ(st->success, 1);
  ASSERT_EQ(st->failed.size(), 1u);
  EXPECT_EQ(st->failed[0], (JobFailure{"11", "not found"}));
}

TEST_P(JobTest, TwoConcurrentClaimersNeverProcessAnItemTwice) {
  constexpr int kItems = 300;
  Job job = MakeJob(1, kItems, 3);
  // The claimers reopen the same database as a second instance would.
  std::unique_ptr<Store> second;
  {
    auto s = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    second = std::move(*s);
  }
  std::mutex mu;
  std::multiset<std::string> seen;
  std::atomic<int> errors{0};
  auto worker = [&](Store* store, std::string name) {
    for (;;) {
      auto c = store->ClaimChunk(name, 1000, 600000);
      if (!c.ok()) {
        ++errors;
        ADD_FAILURE() << c.status().message();
        return;
      }
      if (!c->has_value()) return;
      ChunkOutcome out;
      for (const auto& item : (*c)->items) {
        out.insert.push_back(MakeDevice(static_cast<uint32_t>(std::stoul(item)), type_));
      }
      {
        std::lock_guard lock(mu);
        seen.insert((*c)->items.begin(), (*c)->items.end());
      }
      Status st = store->CompleteChunk(**c, out);
      if (!st.ok()) {
        ++errors;
        ADD_FAILURE() << st.message();
      }
    }
  };
  std::thread t1(worker, store_.get(), "one");
  std::thread t2(worker, second.get(), "two");
  worker(store_.get(), "three");
  t1.join();
  t2.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(kItems));
  auto st = store_->GetJobStatus(job.id);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->success, kItems);
  EXPECT_TRUE(st->failed.empty());
  EXPECT_EQ(*store_->CountDevices(type_.id), kItems);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values("sqlite", "postgresql"), EngineName);
// A worker completing a chunk of a job holds the chunk's row, then registers
// devices in the job's group (a key share on the group's row, taken here by
// hand so that the order is certain). Deleting that group meanwhile used to
// lock the group, then wait for the chunk (its jobs' delete): PostgreSQL found
// the deadlock and aborted one side. Now the delete waits for the worker.
TEST_P(JobTest, DeletingAGroupWhileAWorkerRegistersItsDevicesNeverDeadlocks) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite has one writer at a time";
  Group child = MakeGroup(2, root_.id);
  Job job = MakeJob(1, 10, 10);
  {
    auto raw = driver::PostgresOpener(location_)();
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    auto moved = (*raw)->Prepare("UPDATE jobs SET group_id = $1 WHERE id = $2", "test");
    ASSERT_TRUE(moved.ok() && moved->Bind(1, child.id).Bind(2, job.id).Run().ok());
  }
  auto worker = driver::PostgresOpener(location_)();
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  driver::Connection& w = **worker;
  ASSERT_TRUE(w.Exec("BEGIN", "test").ok());
  auto chunk = w.Prepare("UPDATE job_chunks SET state = state WHERE job_id = $1", "test");
  ASSERT_TRUE(chunk.ok() && chunk->Bind(1, job.id).Run().ok());
  Status removal;
  std::thread admin([&] { removal = store_->DeleteGroup(child.id); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the delete is waiting
  auto group = w.Prepare("SELECT 1 FROM groups WHERE id = $1 FOR KEY SHARE", "test");
  ASSERT_TRUE(group.ok());
  const Status registering = group->Bind(1, child.id).Run();
  const Status committed = w.Exec(registering.ok() ? "COMMIT" : "ROLLBACK", "test");
  admin.join();
  EXPECT_TRUE(registering.ok()) << registering.message();
  EXPECT_TRUE(committed.ok()) << committed.message();
  EXPECT_TRUE(removal.ok()) << removal.message();
  EXPECT_EQ(store_->GetJob(job.id).status().code(), Status::Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, JobTest, ::testing::Values("sqlite", "postgresql"), EngineName);

}  // namespace
}  // namespace roost::storage
