// A throwaway PostgreSQL server for tests, shared by the tests of one run.
//
// The server comes from tests/support/pgfixture.py (Debian's postgresql binaries,
// run as the `postgres` user when root). Under CTest, the `storage.pg_start`
// fixture starts one server and names its state directory in
// $ROOST_TEST_PG_STATE; a test binary run by hand without that variable starts
// its own server on first use and stops it at exit. Missing binaries are an
// error, never a skip.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace roost::storage::testing {

class PgServer {
 public:
  // The server of this test run, started on first use when the environment names none.
  static Result<PgServer*> Shared();

  // Creates a fresh, empty database named after `prefix` (plus pid and a counter)
  // and returns its libpq conninfo.
  Result<std::string> CreateDatabase(std::string_view prefix);

  // libpq keywords of the server without dbname ("host=... port=... user=...").
  const std::string& base_conninfo() const { return base_; }

  ~PgServer();

 private:
  PgServer() = default;
  std::string base_;
  std::string owned_state_dir_;  // set when this process started the server
};

}  // namespace roost::storage::testing
