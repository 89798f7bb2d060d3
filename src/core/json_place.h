// Where a text stops being JSON, for refusals that say where.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace roost {

// The 0-based offset of the byte where `text` stops being one JSON value, as
// nlohmann's reader sees it: malformed syntax, or a number no double holds
// (1e400). nullopt when that reader accepts the whole of `text`. It builds
// nothing and keeps its nesting in a vector, so it is safe on any body a route
// takes; call it on a refusal's path only.
std::optional<size_t> JsonStopOffset(std::string_view text);

}  // namespace roost
