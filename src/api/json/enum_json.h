// Enumerations in request bodies: a member may carry the name Roost writes
// ("CALLBACK") or the Sigfox API's integer code (1), so that Sigfox API clients
// work unchanged. The names and codes come from the model's tables
// (model/enum_table.h); writers use the same tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/json/body.h"
#include "model/enum_table.h"

namespace roost::api {

// The value named by `v` (a string name or an integer code). Anything else —
// another type, an unknown name or code — is 400 naming `field` and listing the
// accepted values; a value the table marks unsupported is 400 saying so.
template <typename E, size_t N>
Parsed<E> ReadEnum(const nlohmann::json& v, std::string_view field, const EnumTable<E, N>& table) {
  const EnumEntry<E>* entry = nullptr;
  if (v.is_string()) {
    entry = EnumByName(table, v.get_ref<const std::string&>());
  } else if (v.is_number_integer()) {
    // An unsigned value too large for int64 is no code anyway.
    if (!v.is_number_unsigned() || v.get<uint64_t>() <= INT64_MAX) {
      entry = EnumByCode(table, v.get<int64_t>());
    }
  } else {
    return WrongType(field, "a name or an integer code: " + EnumChoices(table), v);
  }
  if (entry == nullptr) {
    return ApiError::BadField(field, "must be " + EnumChoices(table));
  }
  if (!entry->supported) {
    return ApiError::BadField(field, std::string(entry->name) + " (" + std::to_string(entry->code) +
                                         ") is reserved and not supported by Roost yet; use " +
                                         EnumChoices(table));
  }
  return entry->value;
}

}  // namespace roost::api
