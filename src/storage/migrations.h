// The schema migrations: src/storage/migrations/NNNN_name.sql, compiled in as
// text by CMake (migrations_data.cpp in the build tree), numbered from 1 and
// never edited once released — a change is a new file.
//
// Each file is written once for both engines; the dialect tokens listed in
// 0001_init.sql are replaced by ForDialect(), as is {{POSTGRES_ONLY}} at the
// start of a one-line statement that only PostgreSQL runs (SQLite sees a comment).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace roost::storage {

struct Migration {
  int version = 0;
  std::string_view name;
  std::string_view sql;  // with dialect tokens
};

// All migrations, ordered by version.
const std::vector<Migration>& Migrations();

enum class Dialect { kSqlite, kPostgres };
// The migration text with the dialect tokens replaced.
std::string ForDialect(std::string_view sql, Dialect dialect);

}  // namespace roost::storage
