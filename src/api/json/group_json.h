// Groups as the registry API shows them (/api/groups…).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "model/accounts.h"

namespace roost::api {

// A group as a principal of `viewer_group` may see it: ancestors above that
// group are left out of "path" (and "parentId"), they are not visible.
nlohmann::json GroupJson(const Group& group, std::string_view viewer_group);

}  // namespace roost::api
