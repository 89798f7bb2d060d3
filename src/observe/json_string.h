// JSON string literals, for the log lines and the HTTP layer's error bodies
// (both written without a JSON library).
#pragma once

#include <string>
#include <string_view>

namespace roost::observe {

// Appends `s` to `out` as a quoted JSON string. Control characters are escaped
// as \uXXXX; valid UTF-8 is copied as it is, and each byte that is not part of
// a valid sequence becomes U+FFFD, so the output is valid JSON whatever `s` held
// (a log line or an error message quoting a client's bytes).
void AppendJsonString(std::string& out, std::string_view s);
std::string JsonString(std::string_view s);

}  // namespace roost::observe
