#include "api/json/job_json.h"

#include <utility>

namespace roost::api {

using nlohmann::json;

json JobStatusJson(const JobStatus& s) {
  json failed = json::array();
  for (const auto& f : s.failed) failed.push_back({{"id", f.id}, {"message", f.message}});
  return json{{"jobDone", s.done},
              {"total", s.total},
              {"status", {{"success", s.success}, {"failed", std::move(failed)}}}};
}
}  // namespace roost::api
