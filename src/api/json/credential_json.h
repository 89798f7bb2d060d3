// The report of a credentials import as POST /api/credentials/import and
// `roost credentials import` print it.
#pragma once

#include <nlohmann/json.hpp>

#include "registry/credentials.h"

namespace roost::api {

// {"imported", "unchanged", "skipped", "refused": [{"id", "message"}]}: the
// answer of POST /api/credentials/import and `roost credentials import`.
nlohmann::json ImportReportJson(const registry::ImportReport& report);

}  // namespace roost::api
