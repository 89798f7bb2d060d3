#include "api/json/credential_json.h"

#include <utility>

namespace roost::api {

using nlohmann::json;

json ImportReportJson(const registry::ImportReport& report) {
  json refused = json::array();
  for (const auto& r : report.refused) {
    refused.push_back({{"id", r.id.ToApi()}, {"message", r.message}});
  }
  return json{{"imported", report.imported},
              {"unchanged", report.unchanged},
              {"skipped", report.skipped},
              {"refusedCount", report.refused_count},
              {"refused", std::move(refused)}};
}
}  // namespace roost::api
