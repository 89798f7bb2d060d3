// Devices as the registry API reads and writes them (docs/api.md,
// /api/devices…): registration, bulk creation, edits, series uploads and the
// device object.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "model/device.h"
#include "registry/devices.h"

namespace roost::api {

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

}  // namespace roost::api
