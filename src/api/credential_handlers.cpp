// POST /api/credentials/import: the HTTP face of registry::ImportCredentials
// (the same import as `roost credentials import`).
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/credential_json.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "crypto/seal.h"
#include "http/multipart.h"
#include "registry/credentials.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The fields a client may send; anything else is refused so that a typo
// ("idpac") is not silently ignored.
constexpr std::string_view kFields[] = {"encryptionKey", "idKey", "idPac", "mode"};

// A whole-file error from ImportCredentials names the file as "ID/KEY file: …"
// or "ID/PAC file: …"; the API names the form field instead.
ApiError ImportError(const Status& status) {
  const std::string& message = status.message();
  if (status.code() != Status::Code::kInvalidInput) return FromStatus(status);
  if (message.rfind("ID/KEY file: ", 0) == 0) {
    return ApiError::BadField("idKey", message.substr(13));
  }
  if (message.rfind("ID/PAC file: ", 0) == 0) {
    return ApiError::BadField("idPac", message.substr(13));
  }
  return FromStatus(status);
}

}  // namespace

Response ImportCredentials(ApiContext& ctx, const Principal&, const Request& req) {
  if (ctx.sealer == nullptr) return Response::Error(503, "credentials import is not available");
  auto content_type = req.Header("Content-Type");
  if (!content_type) {
    return ApiError::BadField("Content-Type", "must be multipart/form-data").ToResponse();
  }
  auto parts = http::ParseMultipart(*content_type, req.body_view());
  if (!parts.ok()) return ApiError{400, parts.status().message(), {}}.ToResponse();
  for (const http::FormPart& part : *parts) {
    bool known = false;
    for (std::string_view f : kFields) known = known || part.name == f;
    if (!known)
      return ApiError::BadField(QuoteForMessage(part.name), "unknown form field").ToResponse();
  }
  for (std::string_view f : kFields) {
    int count = 0;
    for (const http::FormPart& part : *parts) count += part.name == f ? 1 : 0;
    if (count > 1) return ApiError::BadField(f, "given more than once").ToResponse();
  }
  const http::FormPart* enc = http::FindPart(*parts, "encryptionKey");
  const http::FormPart* id_key = http::FindPart(*parts, "idKey");
  const http::FormPart* id_pac = http::FindPart(*parts, "idPac");
  if (enc == nullptr) return ApiError::BadField("encryptionKey", "is required").ToResponse();
  if (id_key == nullptr) return ApiError::BadField("idKey", "is required").ToResponse();
  if (id_pac == nullptr) return ApiError::BadField("idPac", "is required").ToResponse();
  factory::CraMode mode = factory::CraMode::kEcb;
  if (const http::FormPart* m = http::FindPart(*parts, "mode")) {
    auto parsed = factory::ParseCraMode(m->data);
    if (!parsed.ok()) return ApiError::BadField("mode", "must be ecb or cbc").ToResponse();
    mode = *parsed;
  }
  auto key = ParseKey128(enc->data);
  if (!key.ok()) {
    // The message of ParseKey128 never repeats the key's digits.
    return ApiError::BadField("encryptionKey", key.status().message()).ToResponse();
  }
  auto report = ctx.devices.ImportCredentials(
      *ctx.sealer, *key,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(id_key->data.data()),
                               id_key->data.size()),
      id_pac->data, mode, ctx.now_ms());
  crypto::Cleanse(key->data(), key->size());
  if (!report.ok()) return ImportError(report.status()).ToResponse();
  return JsonResponse(200, ImportReportJson(*report));
}

}  // namespace roost::api
