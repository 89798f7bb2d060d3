// /api/provisioning/...: the HTTP face of registry::ProvisioningRegistry, the
// Provision IDs of LoRaWAN zero-touch provisioning and the devices they became.
#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/provisioning_json.h"
#include "core/text.h"
#include "factory/label.h"
#include "factory/provision_csv.h"
#include "registry/provisioning.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Response Unavailable() {
  return Response::Error(503, "provisioning is not available");
}

// Who read keys, for the audit line: never a secret.
std::string Who(const Principal& p) {
  return p.login.empty() ? "user " + p.user_id : "api user " + p.login;
}

// The report's problems as a 400 naming each line, as the import answers them.
Response ReportErrors(const std::vector<factory::CsvError>& errors, std::string_view what) {
  ApiError e;
  e.message =
      "the report has " + std::to_string(errors.size()) + " problem(s); " + std::string(what);
  for (const factory::CsvError& err : errors) {
    e.errors.push_back(http::ErrorDetail::Line(static_cast<int64_t>(err.line), err.message));
  }
  return e.ToResponse();
}

// Keys in clear: no cache (a browser's on disk) may keep them.
Response NotStored(Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

Response RenderProvisionLabels(ApiContext&, const Principal&, const Request& req) {
  const std::string format = AsciiLower(req.QueryParam("format").value_or("svg"));
  if (format != "svg") return ApiError::BadField("format", "must be svg").ToResponse();
  auto content_type = req.Header("Content-Type");
  if (!content_type || !StartsWithIgnoreCase(*content_type, "text/csv")) {
    return ApiError::BadField("Content-Type", "must be text/csv (a Provision ID report)")
        .ToResponse();
  }
  factory::ProvisionCsvParse parsed = factory::ParseProvisionCsv(req.body_view());
  if (!parsed.ok()) return ReportErrors(parsed.errors, "no labels were made");
  if (parsed.csv.rows.empty()) {
    return ApiError::BadField("body", "the report lists no devices").ToResponse();
  }
  if (parsed.csv.rows.size() > kMaxLabelsPerSheet) {
    return ApiError::BadField("body", "the report lists " + std::to_string(parsed.csv.rows.size()) +
                                          " devices; at most " +
                                          std::to_string(kMaxLabelsPerSheet) +
                                          " labels per request (split the report)")
        .ToResponse();
  }
  // Minimal labels, exactly as `roost label --report` makes them by default.
  std::vector<factory::CsvError> errors;
  std::vector<factory::LabelContent> labels;
  labels.reserve(parsed.csv.rows.size());
  for (const auto& row : parsed.csv.rows) {
    if (row.provision_id.empty()) {
      errors.push_back({row.line, "no Provision ID (this is a request; labels need a report)"});
      continue;
    }
    auto label = factory::MakeMinimalLabel(row.provision_id);
    if (!label.ok()) {
      errors.push_back({row.line, std::string(label.status().message())});
      continue;
    }
    labels.push_back(std::move(*label));
  }
  if (!errors.empty()) return ReportErrors(errors, "no labels were made");
  auto pages = factory::RenderSheetSvg(labels);
  if (!pages.ok()) return FromStatus(pages.status()).ToResponse();
  // Every A4 page of the sheet in one document, each page a nested <svg> one
  // under the other, so that one response is the whole sheet.
  std::string body;
  if (pages->size() == 1) {
    body = std::move(pages->front());
  } else {
    body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"210mm\" "
        "height=\"" +
        std::to_string(297 * pages->size()) + "mm\" viewBox=\"0 0 210 " +
        std::to_string(297 * pages->size()) + "\">\n";
    for (size_t i = 0; i < pages->size(); ++i) {
      std::string& page = (*pages)[i];
      // The page's root tag (after the XML declaration) becomes a nested <svg>
      // at the page's offset; its content stays as RenderSheetSvg made it.
      const size_t content = page.find('>', page.find("<svg ")) + 1;
      body += "<svg y=\"" + std::to_string(297 * i) +
              "\" width=\"210\" height=\"297\" viewBox=\"0 0 210 297\">" + page.substr(content);
    }
    body += "</svg>\n";
  }
  Response r = Response::Text(200, std::move(body), "image/svg+xml");
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"labels.svg\"");
  return r;
}

Response ImportProvisionIds(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  // The owner first: a foreign group is 404 whatever the body is.
  const std::string group = req.QueryParam("groupId").value_or("");
  if (!group.empty()) {
    if (auto e = CheckVisible(ctx, p, group, "group " + group)) return e->ToResponse();
  }
  auto content_type = req.Header("Content-Type");
  if (!content_type || !StartsWithIgnoreCase(*content_type, "text/csv")) {
    return ApiError::BadField("Content-Type", "must be text/csv (a Provision ID report)")
        .ToResponse();
  }
  auto imported = ctx.provisioning->ImportReport(p.group, group, req.body_view());
  if (!imported.ok()) return NotFoundOr(imported.status(), "group " + group).ToResponse();
  if (!imported->errors.empty()) {
    ApiError e;
    e.message = "the report has " + std::to_string(imported->errors.size()) +
                " problem(s); nothing was imported";
    for (const factory::CsvError& err : imported->errors) {
      e.errors.push_back(http::ErrorDetail::Line(static_cast<int64_t>(err.line), err.message));
    }
    return e.ToResponse();
  }
  return JsonResponse(200, json{{"imported", imported->imported}});
}

Response ListProvisionIds(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error().ToResponse();
  storage::ProvisionIdQuery query;
  query.group_subtree = p.group;
  query.limit = window->limit;
  query.offset = window->offset;
  query.after = req.QueryParam("after").value_or("");
  if (auto state = req.QueryParam("state")) {
    query.state = storage::ParseProvisionIdState(*state);
    if (!query.state) {
      return ApiError::BadField("state", "must be pending, provisioned or disabled").ToResponse();
    }
  }
  auto page = ctx.provisioning->ListIds(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json data = json::array();
  for (const storage::ProvisionIdRow& row : page->ids) data.push_back(ProvisionIdJson(row));
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (page->next) body["paging"]["next"] = NextUrl(req, {"state"}, query.limit, *page->next);
  return JsonResponse(200, body);
}

Response DisableProvisionId(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  const std::string pid = AsciiUpper(req.Param("pid"));
  auto row = ctx.provisioning->Disable(p.group, pid);
  if (!row.ok()) return NotFoundOr(row.status(), "Provision ID " + pid).ToResponse();
  return JsonResponse(200, ProvisionIdJson(*row));
}

Response ListProvisionedDevices(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error().ToResponse();
  storage::ProvisionedQuery query;
  query.group_subtree = p.group;
  query.limit = window->limit;
  query.offset = window->offset;
  query.after = req.QueryParam("after").value_or("");
  auto page = ctx.provisioning->ListDevices(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json data = json::array();
  for (const auto& d : page->devices) data.push_back(ProvisionedDeviceJson(d));
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (page->next) body["paging"]["next"] = NextUrl(req, {}, query.limit, *page->next);
  return JsonResponse(200, body);
}

Response GetProvisionedDevice(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  const std::string dev_eui(req.Param("devEui"));
  auto device = ctx.provisioning->GetDevice(p.group, dev_eui);
  if (!device.ok()) return NotFoundOr(device.status(), "device " + dev_eui).ToResponse();
  return JsonResponse(200, ProvisionedDeviceJson(*device));
}

Response GetProvisionedKeys(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  const std::string dev_eui(req.Param("devEui"));
  auto keys = ctx.provisioning->Keys(p.group, Who(p), dev_eui);
  if (!keys.ok()) return NotFoundOr(keys.status(), "device " + dev_eui).ToResponse();
  return NotStored(JsonResponse(200, DeviceKeysJson(*keys)));
}

Response ExportProvisionedKeys(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.provisioning == nullptr) return Unavailable();
  const std::string format_name = req.QueryParam("format").value_or("json");
  auto format = registry::ParseExportFormat(format_name);
  if (!format) return ApiError::BadField("format", "must be json or csv").ToResponse();
  auto text = ctx.provisioning->Export(p.group, Who(p), *format);
  if (!text.ok()) return FromStatus(text.status()).ToResponse();
  if (*format == registry::ExportFormat::kCsv) {
    return NotStored(Response::Text(200, std::move(*text), "text/csv; charset=utf-8"));
  }
  return NotStored(Response::Json(200, std::move(*text)));
}

Response GetProvisioningSummary(ApiContext& ctx, const Principal& p, const Request&) {
  if (ctx.provisioning == nullptr) return Unavailable();
  auto summary = ctx.provisioning->Summary(p.group);
  if (!summary.ok()) return FromStatus(summary.status()).ToResponse();
  return JsonResponse(200, ProvisioningSummaryJson(*summary));
}

}  // namespace roost::api
