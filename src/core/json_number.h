// JSON numbers for the places that write JSON text without a JSON library (the
// stored rinfos column, message pages): the shortest text that reads back as
// the same double, and null where JSON has no number (NaN, infinities), as
// nlohmann::json writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace roost {

void AppendJsonNumber(std::string& out, double v);
void AppendJsonNumber(std::string& out, const std::optional<double>& v);  // null when empty
void AppendJsonInt(std::string& out, int64_t v);

}  // namespace roost
