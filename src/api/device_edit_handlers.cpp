// Device edits (POST /api/devices/edit, bulk edit jobs) and series uploads
// (POST /api/devicetypes/{id}/devices/bulk/create/series).
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/bulk_json.h"
#include "api/json/device_json.h"
#include "api/json/job_json.h"
#include "core/text.h"
#include "http/multipart.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The media type of a Content-Type header, lowercased, without parameters.
std::string MediaType(std::optional<std::string_view> header) {
  if (!header) return "";
  return AsciiLower(TrimBlanks(header->substr(0, header->find(';'))));
}

}  // namespace

Response EditDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto edit = ParseDeviceEdit(*body);
  if (!edit.ok()) return edit.error().ToResponse();
  auto device = ctx.devices.Edit(p.group, *edit);
  if (!device.ok()) return FromStatus(device.status()).ToResponse();
  return JsonResponse(200, DeviceJson(*device, SeesPac(p)));
}

Response BulkEdit(ApiContext& ctx, const Principal& p, const Request& req) {
  auto edits = ParseBulkEditBody(req.body);
  if (!edits.ok()) return edits.error().ToResponse();
  auto job = ctx.devices.StartBulkEdit(p.group, *edits);
  if (!job.ok()) return FromStatus(job.status()).ToResponse();
  return JsonResponse(202, json{{"total", job->total}, {"jobId", job->id}});
}

Response BulkEditStatus(ApiContext& ctx, const Principal& p, const Request& req) {
  const std::string job_id(req.Param("jobId"));
  auto job = ctx.devices.GetJob(job_id);
  if (!job.ok() && job.status().code() != Status::Code::kNotFound) {
    return FromStatus(job.status()).ToResponse();
  }
  // Another kind of job is not a bulk edit: answered like an unknown one.
  if (!job.ok() || job->kind != registry::kBulkEditJob) {
    return ApiError{404, "job " + QuoteForMessage(job_id) + " not found", {}}.ToResponse();
  }
  return JobStatusOf(ctx, p, job_id);
}

Response BulkCreateSeries(ApiContext& ctx, const Principal& p, const Request& req) {
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  const std::string media = MediaType(req.Header("Content-Type"));
  std::string_view file;
  std::optional<std::string> prefix;
  std::optional<std::string> certificate;
  std::vector<http::FormPart> parts;
  if (media == "multipart/form-data") {
    auto parsed = http::ParseMultipart(*req.Header("Content-Type"), req.body_view());
    if (!parsed.ok()) {
      return ApiError{400, "request body: " + parsed.status().message(), {}}.ToResponse();
    }
    parts = std::move(*parsed);
    bool has_file = false;
    for (size_t i = 0; i < parts.size(); ++i) {
      const http::FormPart& part = parts[i];
      for (size_t j = 0; j < i; ++j) {
        if (parts[j].name == part.name) {
          return ApiError::BadField(QuoteForMessage(part.name), "form field given twice")
              .ToResponse();
        }
      }
      if (part.name == "file") {
        file = part.data;
        has_file = true;
      } else if (part.name == "prefix") {
        prefix = std::string(part.data);
      } else if (part.name == "productCertificate") {
        certificate = std::string(part.data);
      } else {
        return ApiError::BadField(QuoteForMessage(part.name),
                                  "unknown form field (expected file, prefix, productCertificate)")
            .ToResponse();
      }
    }
    if (!has_file) return ApiError::BadField("file", "is required").ToResponse();
  } else if (media == "text/plain" || media == "text/csv") {
    file = req.body_view();
    prefix = req.QueryParam("prefix");
    certificate = req.QueryParam("productCertificate");
  } else {
    return ApiError{415,
                    "Content-Type must be multipart/form-data (a \"file\" field), text/plain or "
                    "text/csv",
                    {}}
        .ToResponse();
  }
  auto request = ParseSeriesUpload(type->id, file, prefix, certificate);
  if (!request.ok()) return request.error().ToResponse();
  auto job = ctx.devices.StartBulkCreate(p.group, *request);
  if (!job.ok()) return FromStatus(job.status()).ToResponse();
  return JsonResponse(202, json{{"total", job->total}, {"jobId", job->id}});
}

}  // namespace roost::api
