// The JSON side of the registry API: parsing request bodies (with located
// errors), validating device types, and rendering device types, devices and
// job status. Pure: no I/O, no store; the route handlers (routes.h) call these.
//
// Errors are ApiError values (api/errors.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "core/status.h"
#include "http/json_text.h"
#include "http/message.h"
#include "model/device.h"
#include "model/device_type.h"
#include "model/job.h"
#include "registry/credentials.h"
#include "registry/devices.h"

namespace roost::api {

// Parses a request body that must be one JSON object. Malformed JSON is 400
// "malformed JSON at line L, column C (byte offset O): ..."; an empty body or
// another top-level value is 400 too.
Parsed<nlohmann::json> ParseJsonObject(std::string_view body);
// The same for a body that may be any JSON value (e.g. a bare array).
Parsed<nlohmann::json> ParseJsonValue(std::string_view body);

// 400 naming the first member of `object` that is not in `allowed`.
std::optional<ApiError> RejectUnknownFields(const nlohmann::json& object,
                                            const std::vector<std::string_view>& allowed);

// --- device types --------------------------------------------------------

std::string_view PayloadTypeName(PayloadType type);
std::string_view DownlinkModeName(DownlinkMode mode);

// Fields a device type create/edit body may carry (besides "id" for edit).
const std::vector<std::string_view>& DeviceTypeFields();

// Applies the members of `body` to `type`: absent members leave the field as
// it is, an explicit null resets it to its default ("name" cannot be null),
// a wrongly typed or out-of-range value is 400 naming the field. `for_edit`
// additionally allows (and ignores) "id". "group" is read by the caller.
std::optional<ApiError> ApplyDeviceTypeFields(const nlohmann::json& body, bool for_edit,
                                              DeviceType& type);

// Checks a whole device type: a non-empty name, a payloadConfig that compiles
// when payloadType is Custom, a downlinkDataString that compiles when
// downlinkMode is DIRECT and the string is not empty. Errors name the field and
// the position in its text.
std::optional<ApiError> ValidateDeviceType(const DeviceType& type);

nlohmann::json DeviceTypeJson(const DeviceType& type);

// --- devices -------------------------------------------------------------

// Single registration body {"id","pac","name","type","lat","lng","productCertificate"}.
Parsed<registry::RegistrationRequest> ParseRegistration(const nlohmann::json& body);

// Bulk registration body {"prefix","ids":[{"id","pac"}],"productCertificate"}; the
// device type comes from the path. Items that are not {"id": string, "pac": string}
// are refused as a whole with their index (bulk per-item failures are for
// well-formed items whose id/PAC the registry refuses).
Parsed<registry::BulkCreateRequest> ParseBulkCreate(const nlohmann::json& body,
                                                    std::string_view type_id);

// Single edit body {"id", "name", "lat", "lng", "deviceTypeId",
// "tokenRenewForbidden", "productCertificate", "pac"}: "id" is required; absent
// members stay unchanged; null clears lat, lng and productCertificate and resets
// tokenRenewForbidden to false; null is refused for name and deviceTypeId (they
// cannot be cleared). Wrong types and unknown members are 400 naming the field.
Parsed<registry::DeviceEdit> ParseDeviceEdit(const nlohmann::json& body);

// Bulk edit body: a bare array of edit items or {"data": [...]}. Each item is a
// single edit body without "pac" (a transfer is a single edit). A wrong shape
// (not an array, an item that is not an object, a wrong type, an unknown
// member, a missing "id") refuses the whole request with 400 naming the item
// ("data[3].lat"); values the registry refuses are reported per item by the job.
Parsed<std::vector<registry::DeviceEdit>> ParseBulkEdit(const nlohmann::json& body);

// An uploaded series file (factory/device_series.h) with its options, as the
// bulk creation request of device type `type_id`. A file that does not parse is
// 400 "file: line N: ..." with an errors item {"line": N}; a bad prefix or
// certificate is 400 naming it.
Parsed<registry::BulkCreateRequest> ParseSeriesUpload(
    std::string_view type_id, std::string_view file, const std::optional<std::string>& prefix,
    const std::optional<std::string>& certificate);

// `with_pac`: whether the current PAC is shown (ADMIN and DEVICE_MANAGER only).
nlohmann::json DeviceJson(const Device& device, bool with_pac);

nlohmann::json JobStatusJson(const JobStatus& status);

// {"imported", "unchanged", "skipped", "refused": [{"id", "message"}]}: the
// answer of POST /api/credentials/import and `roost credentials import`.
nlohmann::json ImportReportJson(const registry::ImportReport& report);

// --- paging --------------------------------------------------------------

// `limit` query parameter: absent → 100; 1..1000, otherwise 400 naming "limit".
Parsed<int> ParseLimit(const std::optional<std::string>& text);

}  // namespace roost::api
