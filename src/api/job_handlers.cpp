// /api/jobs/{jobId} (docs/api.md): the status of a bulk job, and what the
// per-resource status routes share. A job of another group is 404.
#include <string>

#include "api/handlers.h"
#include "api/json/job_json.h"
#include "core/text.h"

namespace roost::api {

using http::Request;
using http::Response;

Response JobStatusOf(ApiContext& ctx, const Principal& p, std::string_view job_id) {
  auto status = ctx.devices.BulkStatus(p.group, job_id);
  if (!status.ok()) {
    if (status.status().code() == Status::Code::kNotFound) {
      return ApiError{404, "job " + QuoteForMessage(job_id) + " not found", {}}.ToResponse();
    }
    return FromStatus(status.status()).ToResponse();
  }
  return JsonResponse(200, JobStatusJson(*status));
}

Response GetJob(ApiContext& ctx, const Principal& p, const Request& req) {
  return JobStatusOf(ctx, p, req.Param("jobId"));
}

}  // namespace roost::api
