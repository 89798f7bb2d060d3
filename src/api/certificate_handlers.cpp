#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/certificate_json.h"
#include "core/text.h"
#include "registry/certificates.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

bool IsCsv(const Request& req) {
  auto type = req.Header("Content-Type");
  return type && StartsWithIgnoreCase(*type, "text/csv");
}

// 415 unless the body is JSON (or untyped) or CSV.
bool IsJsonOrUntyped(const Request& req) {
  auto type = req.Header("Content-Type");
  return !type || StartsWithIgnoreCase(*type, "application/json");
}

// The refusal of an upload: every listed problem with its line (CSV) or field
// "[index].member" (JSON); the message names the first one.
Response UploadRefused(const registry::CertificateUpload& upload, bool csv) {
  std::vector<http::ErrorDetail> errors;
  std::string first;
  for (const auto& problem : upload.problems) {
    std::string located;
    if (csv) {
      located = "line " + std::to_string(problem.position) + ": " + problem.message;
      errors.push_back(http::ErrorDetail::Line(problem.position, problem.message));
    } else if (!problem.field.empty()) {
      located = problem.field + ": " + problem.message;
      errors.push_back(http::ErrorDetail::Field(problem.field, problem.message));
    } else {
      located = problem.message;
    }
    if (first.empty()) first = located;
  }
  std::string message = "certificate upload refused, nothing imported: " + first;
  if (upload.problem_count > 1) {
    message += " (and " + std::to_string(upload.problem_count - 1) + " more problem" +
               (upload.problem_count > 2 ? "s" : "") + ")";
  }
  return Response::Error(400, message, errors);
}

}  // namespace

Response ImportCertificates(ApiContext& ctx, const Principal&, const Request& req) {
  const bool csv = IsCsv(req);
  if (!csv && !IsJsonOrUntyped(req)) {
    return Response::Error(415, "Content-Type must be application/json or text/csv");
  }
  registry::CertificateUpload upload;
  if (csv) {
    upload = registry::ParseCertificateCsv(req.body_view());
  } else {
    auto body = ParseJsonValue(req.body_view());
    if (!body.ok()) return body.error().ToResponse();
    upload = registry::ParseCertificateJson(*body);
  }
  if (!upload.ok()) return UploadRefused(upload, csv);
  auto imported = ctx.certificates.Import(std::move(upload.certificates));
  if (!imported.ok()) return FromStatus(imported.status()).ToResponse();
  return JsonResponse(200, json{{"imported", *imported}});
}

Response SearchCertificates(ApiContext& ctx, const Principal&, const Request& req) {
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error().ToResponse();
  const std::string text = req.QueryParam("search").value_or("");
  const std::string after = req.QueryParam("after").value_or("");
  auto page = ctx.certificates.Search(text, after, window->limit, window->offset);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json data = json::array();
  for (const auto& pc : page->certificates) data.push_back(CertificateJson(pc));
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (page->next) body["paging"]["next"] = NextUrl(req, {"search"}, window->limit, *page->next);
  return JsonResponse(200, body);
}

Response GetCertificate(ApiContext& ctx, const Principal&, const Request& req) {
  auto pc = ctx.certificates.Get(req.Param("key"));
  if (!pc.ok()) return FromStatus(pc.status()).ToResponse();
  return JsonResponse(200, CertificateJson(*pc));
}

}  // namespace roost::api
