// Time and identifier conventions shared by every model type.
//
// The model's types live in namespace `roost` itself (beside Status and the
// identifiers of core/): they are the project's vocabulary, named the same way by
// storage, the domain services and the API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roost {

// Times are epoch milliseconds everywhere (the Sigfox API's convention).
using EpochMillis = int64_t;

// Identifiers of groups, device types, users, API users and jobs: 24 lowercase hex characters.
inline constexpr size_t kObjectIdLength = 24;

}  // namespace roost
