// The fixture of the Store contract's tests: each test, once per engine, gets a
// fresh database (a new SQLite directory, a new PostgreSQL database of the shared
// throwaway server) and helpers that store a group, a device type, a device.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "storage/driver/driver.h"
#include "storage/store.h"
#include "storage/testing/pg_fixture.h"

namespace roost::storage {

inline std::string Hex24(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%024x", n);
  return buf;
}

// The plan of a query whose first parameter is text, as each engine would run
// it from a prepared statement: SQLite's EXPLAIN QUERY PLAN; PostgreSQL's
// generic plan (the parameters unknown, as for a statement reused by the pool)
// with sequential scans priced out, so a usable index is always taken.
// `pg_values`: the parameters PostgreSQL's EXPLAIN EXECUTE passes, "(...)".
inline std::string PlanOf(const std::string& engine, const std::string& location, std::string sql,
                          const std::string& pg_values = "('70b3d57ed0000001')") {
  const bool sqlite = engine == "sqlite";
  driver::Pool pool(
      1, sqlite ? driver::SqliteOpener(location + "/roost.db") : driver::PostgresOpener(location));
  auto c = pool.Acquire();
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return "";
  std::string text = "EXPLAIN QUERY PLAN " + sql;
  if (!sqlite) {
    for (size_t at = sql.find("$1"); at != std::string::npos; at = sql.find("$1", at)) {
      sql.replace(at, 2, "$1::text");
      at += 8;
    }
    const Status st = (*c)->Exec(
        "SET plan_cache_mode = force_generic_plan; SET enable_seqscan "
        "= off; PREPARE planned AS " +
            sql,
        "plan");
    EXPECT_TRUE(st.ok()) << st.message();
    text = "EXPLAIN EXECUTE planned" + pg_values;
  }
  auto q = (*c)->Prepare(text, "plan");
  EXPECT_TRUE(q.ok()) << q.status().message();
  if (!q.ok()) return "";
  std::string plan;
  for (;;) {
    auto row = q->Next();
    EXPECT_TRUE(row.ok()) << row.status().message();
    if (!row.ok() || !*row) break;
    plan += q->Text(sqlite ? 3 : 0) + "\n";
  }
  return plan;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (GetParam() == "sqlite") {
      char tmpl[] = "/tmp/roost-store-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      location_ = dir_ + "/data";
    } else {
      auto server = testing::PgServer::Shared();
      ASSERT_TRUE(server.ok()) << server.status().message();
      auto db = (*server)->CreateDatabase(info->name());
      ASSERT_TRUE(db.ok()) << db.status().message();
      location_ = *db;
    }
    Open();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Open() {
    store_.reset();
    auto s = GetParam() == "sqlite" ? OpenSqliteStore(location_) : OpenPostgresStore(location_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    ASSERT_EQ(store_->engine(), GetParam());
  }

  Group MakeGroup(int n, const std::string& parent) {
    Group g;
    g.id = Hex24(n);
    g.name = "group " + std::to_string(n);
    g.parent = parent;
    g.creation_time = 1000 + n;
    auto r = store_->CreateGroup(g);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : g;
  }

  DeviceType MakeType(int n, const std::string& group) {
    DeviceType t;
    t.id = Hex24(0x100000 + n);
    t.name = "type " + std::to_string(n);
    t.description = "for tests";
    t.group = group;
    t.keep_alive = 3600;
    t.alert_email = "ops@example.com";
    t.payload_type = PayloadType::kCustom;
    t.payload_config = "temp::int:16:little-endian";
    t.downlink_mode = DownlinkMode::kCallback;
    t.downlink_data_string = "{tapId}";
    t.automatic_renewal = true;
    t.creation_time = 5;
    t.update_time = 6;
    EXPECT_TRUE(store_->CreateDeviceType(t).ok());
    return t;
  }

  // A user or API user of `group` with only what every account has; the
  // tests that need more build their own.
  User MakeUser(int n, const std::string& group, const std::string& email, Roles roles) {
    User u;
    u.id = Hex24(n);
    u.group = group;
    u.email = email;
    u.roles = std::move(roles);
    Status s = store_->CreateUser(u);
    EXPECT_TRUE(s.ok()) << s.message();
    return u;
  }

  ApiUser MakeApiUser(int n, const std::string& group, Roles roles) {
    ApiUser a;
    a.login = Hex24(n);
    a.group = group;
    a.roles = std::move(roles);
    Status s = store_->CreateApiUser(a);
    EXPECT_TRUE(s.ok()) << s.message();
    return a;
  }

  static Device MakeDevice(uint32_t id, const DeviceType& type, const std::string& name = "") {
    Device d;
    d.id.value = id;
    d.name = name.empty() ? "dev-" + SigfoxId{id}.ToFile() : name;
    d.type = type.id;
    d.group = type.group;
    d.pac = "0123456789ABCDEF";
    d.creation_time = 42;
    return d;
  }

  std::string dir_;
  std::string location_;
  std::unique_ptr<Store> store_;
};

// "sqlite" / "postgresql" as the test name's suffix.
inline std::string EngineName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace roost::storage
