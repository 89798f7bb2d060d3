// The ID/PAC file: clear-text list of Sigfox device IDs and their PACs, the file
// a customer receives to register devices.
//
// Input: one device per line, "ID<sep>PAC" with <sep> one of ';' ',' TAB or
// spaces. Blank lines and '#' comments are skipped, and so is one header line
// (the first non-comment line, when its first field is not a device ID). CRLF
// accepted. Every line, comments included, must be UTF-8 without NUL ("line N:
// column pac: contains a NUL byte"). Any other malformed line fails the parse
// with its line number; input is quoted escaped (core/text.h QuoteForMessage).
// Output: "0041A2F0;6FEE95A9E3756E43\n" per device (ID zero-padded to 8).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "core/status.h"

namespace roost::factory {

struct IdPac {
  SigfoxId id;
  std::string pac;  // 16 uppercase hex digits
  bool operator==(const IdPac&) const = default;
};

// Parses a whole ID/PAC file. Duplicate IDs are an error (naming both lines).
Result<std::vector<IdPac>> ParseIdPacFile(std::string_view text);

// Renders one line, newline included.
std::string FormatIdPacLine(const IdPac& entry);

}  // namespace roost::factory
