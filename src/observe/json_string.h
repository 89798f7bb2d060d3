// JSON string literals, for the log lines and the HTTP layer's error bodies
// (both written without a JSON library).
#pragma once

#include <string>
#include <string_view>

namespace roost::observe {

// Appends `s` to `out` as a quoted JSON string. Control characters are escaped
// as \uXXXX; bytes >= 0x80 are copied as they are (the caller passes UTF-8).
void AppendJsonString(std::string& out, std::string_view s);
std::string JsonString(std::string_view s);

}  // namespace roost::observe
