// What the in-process store benchmarks share: the engine they run on, a fresh
// store on it, ids, and how they give up.
//
// ROOST_BENCH_ENGINE=postgresql runs them on PostgreSQL (a throwaway server,
// or the one named by $ROOST_TEST_PG_STATE); anything else on SQLite.
#pragma once

#include <errno.h>  // program_invocation_short_name

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "storage/store.h"
#include "storage/testing/pg_fixture.h"

namespace roost::bench {

// Prints "<program>: <what>: <status>" and exits 1.
[[noreturn]] inline void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what.c_str(),
               st.message().c_str());
  std::exit(1);
}

inline bool OnPostgres() {
  const char* engine = std::getenv("ROOST_BENCH_ENGINE");
  return engine != nullptr && std::string_view(engine) == "postgresql";
}

// A new directory under /tmp, "<prefix>-XXXXXX"; the caller removes it.
inline std::string TempDir(const std::string& prefix) {
  std::string path = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) Die("mkdtemp", Status::IoError(path));
  return path;
}

// A 24-hex-digit id (groups, device types, callbacks).
inline std::string Hex24(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%024x", n);
  return buf;
}

// A fresh store on the chosen engine: SQLite in `dir`, or a new database
// `name` of the PostgreSQL server.
inline Result<std::unique_ptr<storage::Store>> OpenBenchStore(const std::string& dir,
                                                              const std::string& name) {
  if (!OnPostgres()) return storage::OpenSqliteStore(dir);
  auto server = storage::testing::PgServer::Shared();
  if (!server.ok()) return server.status();
  auto conninfo = (*server)->CreateDatabase(name);
  if (!conninfo.ok()) return conninfo.status();
  return storage::OpenPostgresStore(*conninfo);
}

}  // namespace roost::bench
