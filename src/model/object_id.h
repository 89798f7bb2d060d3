// Minting the identifiers of groups, device types, users, API users and jobs.
#pragma once

#include <string>

#include "model/time.h"

namespace roost {

// A fresh object id: kObjectIdLength lowercase hex digits from the CSPRNG, so
// ids reveal nothing about creation order or count and never collide in practice.
std::string NewObjectId();

}  // namespace roost
