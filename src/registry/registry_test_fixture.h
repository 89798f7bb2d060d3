// The set-up the registry's unit tests share: a fresh SQLite store in a
// temporary directory, a clock the test moves by hand, and helpers that put
// groups and device types straight into the store. Test-only.
//
// RegistryEngineTest runs a test on each engine: a parameterized suite instantiated
// with ::testing::Values("sqlite", "postgres") gets a fresh database of that engine
// (PostgreSQL: a new database on the run's throwaway server, storage/testing/pg_fixture.h).
//
// A test class derives from RegistryTest and, when it needs services, makes them
// in its own SetUp after calling RegistryTest::SetUp(). Services are members of
// the derived class, so they are destroyed before the store they point at; the
// store and its directory go last, in ~RegistryTest.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "model/object_id.h"
#include "registry/devices.h"
#include "storage/store.h"
#include "storage/testing/pg_fixture.h"

namespace roost::registry::testing {

class RegistryTest : public ::testing::Test {
 protected:
  ~RegistryTest() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void SetUp() override { OpenStoreOn("sqlite"); }

  // A fresh store of `engine` ("sqlite" or "postgres").
  void OpenStoreOn(const std::string& engine) {
    if (engine == "sqlite") {
      char tmpl[] = "/tmp/roost-registry-test-XXXXXX";
      const char* dir = mkdtemp(tmpl);
      ASSERT_NE(dir, nullptr);
      dir_ = dir;
      auto store = storage::OpenSqliteStore(dir_);
      ASSERT_TRUE(store.ok()) << store.status().message();
      store_ = std::move(store).value();
      return;
    }
    ASSERT_EQ(engine, "postgres");
    auto server = storage::testing::PgServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().message();
    auto db =
        (*server)->CreateDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto store = storage::OpenPostgresStore(*db);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  // A group under `parent` ("" = a root group); returns its id.
  std::string MakeGroup(const std::string& name, const std::string& parent) {
    Group g;
    g.id = NewObjectId();
    g.name = name;
    g.parent = parent;
    auto created = store_->CreateGroup(g);
    EXPECT_TRUE(created.ok()) << created.status().message();
    return g.id;
  }

  // A device type named "type" in `group`; returns its id.
  std::string MakeType(const std::string& group) {
    DeviceType t;
    t.id = NewObjectId();
    t.name = "type";
    t.group = group;
    EXPECT_TRUE(store_->CreateDeviceType(t).ok());
    return t.id;
  }

  // Runs chunks of bulk jobs until none is left, then returns the status of
  // `job_id` as `group` sees it.
  static JobStatus RunAllChunks(DeviceRegistry& registry, const std::string& job_id,
                                const std::string& group) {
    for (int guard = 0; guard < 100; ++guard) {
      auto more = registry.RunOneChunk("worker-1");
      EXPECT_TRUE(more.ok()) << more.status().message();
      if (!more.ok() || !*more) break;
    }
    auto status = registry.BulkStatus(group, job_id);
    EXPECT_TRUE(status.ok()) << status.status().message();
    return status.ok() ? *status : JobStatus{};
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  EpochMillis now_ = 1700000000000;
};

// A registry test run once per engine (the parameter: "sqlite" or "postgres").
class RegistryEngineTest : public RegistryTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { OpenStoreOn(GetParam()); }
};

}  // namespace roost::registry::testing
