// The report of a credentials import as POST /api/credentials/import and
// `roost credentials import` print it.
#pragma once

#include <nlohmann/json.hpp>

#include "registry/credentials.h"

namespace roost::api {

// {"imported", "unchanged", "skipped", "refusedCount", "refused": [{"id", "message"}]}
// (the first 1 000 refused IDs listed): the answer of POST /api/credentials/import
// and `roost credentials import`.
nlohmann::json ImportReportJson(const registry::ImportReport& report);

}  // namespace roost::api
