// Reading request bodies and query parameters of the registry API: one JSON
// object (or value) with located syntax errors, typed members whose errors name
// the field, and the paging limit. Pure: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"

namespace roost::api {

// Arrays and objects nest at most this deep in a request body (Roost's own
// bodies need 4); deeper is refused before parsing.
inline constexpr int kMaxJsonDepth = 32;
// The offset of the first '[' or '{' (outside strings) that opens level
// `max_depth` + 1 of `text`, if any. Linear, allocates nothing.
std::optional<size_t> FindJsonTooDeep(std::string_view text, int max_depth);

// Parses a request body that must be one JSON object. Malformed JSON is 400
// "malformed JSON at line L, column C (byte offset O): ..."; an empty body,
// another top-level value, or nesting deeper than kMaxJsonDepth is 400 too.
Parsed<nlohmann::json> ParseJsonObject(std::string_view body);
// The same for a body that may be any JSON value (e.g. a bare array).
Parsed<nlohmann::json> ParseJsonValue(std::string_view body);

// 400 naming the first member of `object` that is not in `allowed`, as a
// member of `where` when given ("data[0]" names "data[0].foo").
std::optional<ApiError> RejectUnknownFields(const nlohmann::json& object,
                                            const std::vector<std::string_view>& allowed,
                                            std::string_view where = "");

// "null", "a boolean", "a number", "a string", "an array" or "an object".
std::string_view JsonTypeName(const nlohmann::json& v);
// 400 "<field>: must be <expected>, not <JsonTypeName(v)>".
ApiError WrongType(std::string_view field, std::string_view expected, const nlohmann::json& v);
// A string value of at most `max` characters without control characters, into `out`.
std::optional<ApiError> ReadString(const nlohmann::json& v, std::string_view field, size_t max,
                                   std::string& out);
// A string member: absent → nullopt (or 400 when `required`); anything but a
// string (null included) → 400 naming the field; over `max` characters → 400.
// Control characters are the caller's business.
Parsed<std::optional<std::string>> StringField(const nlohmann::json& body, std::string_view field,
                                               bool required, size_t max = 1024);

// An integer query parameter `name`: absent → `fallback`; decimal digits (a
// leading '-' allowed) from lo to hi → their value; anything else → 400 naming
// `name`, "must be an integer from lo to hi (hint)".
Parsed<int64_t> ParseBoundedInt(const std::optional<std::string>& text, std::string_view name,
                                int64_t lo, int64_t hi, int64_t fallback,
                                std::string_view hint = {});

// `limit` query parameter: absent → 100; 1..1000, otherwise 400 naming "limit".
Parsed<int> ParseLimit(const std::optional<std::string>& text);

// The keys a keyset page of an in-memory list is ordered by.
enum class PageKey {
  kObjectId,   // groups, users, API users: kObjectIdLength hex digits, stored lowercase
  kStationId,  // stations: 4 hex digits, stored uppercase
};
// The "after" query parameter `text` of such a page, normalised as its keys are
// stored: "" when absent; BadField "after" when it cannot be a key of `kind`.
Parsed<std::string> ParsePageCursor(const std::optional<std::string>& text, PageKey kind);

}  // namespace roost::api
