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

#include <cstddef>
#include <optional>
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

// One device line of an ID/PAC file.
struct IdPacLine {
  IdPac entry;
  size_t line = 0;  // 1-based
};

// Reads the device lines of an ID/PAC file one at a time, in file order, holding
// nothing but the line at hand, so that a file of a million devices is read in
// place. It skips and refuses exactly what ParseIdPacFile does, with the same
// messages, except repeated IDs: finding those is left to the caller, with the
// memory it can afford (ParseIdPacFile uses a hash map; a million-device import
// sorts compact IDs). After an error, Next() keeps returning that error.
class IdPacReader {
 public:
  explicit IdPacReader(std::string_view text) : text_(text) {}

  // The next device line; nullopt at the end of the file.
  Result<std::optional<IdPacLine>> Next();

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
  bool header_possible_ = true;
  Status error_;
};

// The error of a device ID listed twice: on `line`, first on `first_line`.
Status RepeatedIdError(SigfoxId id, size_t line, size_t first_line);

// Renders one line, newline included.
std::string FormatIdPacLine(const IdPac& entry);

}  // namespace roost::factory
