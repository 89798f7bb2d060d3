#include "api/json/group_json.h"

#include <algorithm>
#include <utility>

#include "core/text.h"

namespace roost::api {

using nlohmann::json;

json GroupJson(const Group& g, std::string_view viewer_group) {
  json path = json::array();
  auto own = std::find(g.path.begin(), g.path.end(), viewer_group);
  if (g.id != viewer_group && own != g.path.end()) {
    for (auto it = own; it != g.path.end(); ++it) path.push_back(*it);
  }
  json out{{"id", g.id},
           {"name", g.name},
           {"description", g.description},
           {"path", std::move(path)},
           {"creationTime", g.creation_time},
           {"nameCI", AsciiLower(g.name)},
           // Sigfox fields Roost does not track: group types, time zones and
           // network operators belong to Sigfox's own hierarchy.
           {"type", nullptr},
           {"timezone", nullptr},
           {"bssId", nullptr},
           {"networkOperatorId", nullptr}};
  if (g.id != viewer_group && !g.parent.empty()) out["parentId"] = g.parent;
  return out;
}

}  // namespace roost::api
