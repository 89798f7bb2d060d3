// The registry API's OpenAPI 3 document (src/api/openapi.json, compiled in),
// served at GET /api/openapi.json without authentication: the route list and
// the roles each route needs are not secret.
//
// Contract, kept by openapi_test.cpp: every route of ApiRoutes() has an
// operation with the same method and path, its path parameters declared,
// `x-roles` equal to the route's roles and `x-access` to its Access ("roles",
// "authenticated", "public"); the document has no operation without a
// route; every `$ref` resolves.
#pragma once

#include <string_view>

namespace roost::api {

std::string_view OpenApiDocument();

}  // namespace roost::api
