// The bulk bodies (POST .../devices/bulk/create/async and /api/devices/bulk/edit)
// read straight from their text with simdjson's On-Demand parser: they carry
// hundreds of thousands of items, and building an nlohmann tree of them first
// was most of the time before the 202.
//
// Contract: the result, and every error, are exactly those of ParseJsonObject +
// ParseBulkCreate (ParseJsonValue + ParseBulkEdit). The fast path accepts only
// bodies it can read in full without doubt; anything else — malformed or too
// deeply nested JSON, invalid UTF-8, a NUL in a string, a repeated or unknown
// key, a value of another type, any value the slow path would refuse — is
// parsed again by those functions, whose answer (the located syntax error, the
// field named) is returned.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "registry/devices.h"

namespace roost::api {

Parsed<registry::BulkCreateRequest> ParseBulkCreateBody(std::string_view body,
                                                        std::string_view type_id);
Parsed<std::vector<registry::DeviceEdit>> ParseBulkEditBody(std::string_view body);

// The fast paths alone (for tests): nullopt where they defer to the slow one.
std::optional<registry::BulkCreateRequest> FastBulkCreate(std::string_view body,
                                                          std::string_view type_id);
std::optional<std::vector<registry::DeviceEdit>> FastBulkEdit(std::string_view body);

}  // namespace roost::api
