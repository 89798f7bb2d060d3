// A job's status as GET /api/jobs/{jobId} and the bulk status routes answer it:
// {"jobDone", "total", "status": {"success", "failed": [{"id", "message"}]}}.
#pragma once

#include <nlohmann/json.hpp>

#include "model/job.h"

namespace roost::api {

nlohmann::json JobStatusJson(const JobStatus& status);

}  // namespace roost::api
