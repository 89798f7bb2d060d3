#include "storage/testing/pg_fixture.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

namespace roost::storage::testing {
namespace {

Result<std::string> ReadConninfo(const std::string& state_dir) {
  std::ifstream in(state_dir + "/conninfo");
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return Status::IoError(
        "test PostgreSQL: " + state_dir +
        "/conninfo missing: the server was not started (tests/support/pgfixture.py)");
  }
  return line;
}

int RunFixture(const std::string& cmd, const std::string& state_dir) {
  const std::string line =
      std::string("python3 '") + ROOST_PGFIXTURE_PY + "' " + cmd + " '" + state_dir + "'";
  return std::system(line.c_str());
}

}  // namespace

Result<PgServer*> PgServer::Shared() {
  static std::mutex mu;
  static std::unique_ptr<PgServer> server;
  std::lock_guard lock(mu);
  if (server) return server.get();
  auto s = std::unique_ptr<PgServer>(new PgServer());
  std::string state_dir;
  if (const char* env = std::getenv("ROOST_TEST_PG_STATE"); env != nullptr && *env != '\0') {
    state_dir = env;
  } else {
    char tmpl[] = "/tmp/roost-pgstate-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::IoError("test PostgreSQL: mkdtemp failed");
    state_dir = tmpl;
    s->owned_state_dir_ = state_dir;
    if (RunFixture("start", state_dir) != 0) {
      std::filesystem::remove_all(state_dir);
      return Status::IoError("test PostgreSQL: could not start a server (see the message above)");
    }
  }
  auto conninfo = ReadConninfo(state_dir);
  if (!conninfo.ok()) return conninfo.status();
  s->base_ = *conninfo;
  server = std::move(s);
  return server.get();
}

PgServer::~PgServer() {
  if (!owned_state_dir_.empty()) {
    RunFixture("stop", owned_state_dir_);
    std::error_code ec;
    std::filesystem::remove_all(owned_state_dir_, ec);
  }
}

Result<std::string> PgServer::CreateDatabase(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::string name;
  for (char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    name += ok ? c : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : '_';
  }
  name = "t_" + name.substr(0, 40) + "_" + std::to_string(getpid()) + "_" +
         std::to_string(counter.fetch_add(1));
  PGconn* conn = PQconnectdb((base_ + " dbname=postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::IoError("test PostgreSQL: connect: " + msg);
  }
  // A database name cannot be a parameter; `name` is built above from [a-z0-9_] only.
  PGresult* res = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
  if (!ok) return Status::IoError("test PostgreSQL: create database: " + msg);
  return base_ + " dbname=" + name;
}

}  // namespace roost::storage::testing
