// A "series" of devices to register, uploaded as a text/CSV file (the console's
// "New series", POST /api/devicetypes/{id}/devices/bulk/create/series): a pure
// parser, no I/O.
//
// Input: UTF-8 text, one device per line, "ID;PAC" or "ID,PAC".
// - The separator is ';' or ',' for the whole file: the one the header uses, or
//   else the first data line. A data line using the other one is an error.
// - The first non-blank line may be a header naming the columns: "id;pac",
//   "pac,id", "ID ; PAC", "device id;pac", "deviceId;pac", "device_id;pac"
//   (case-insensitive). Its column order then applies to every line.
// - Blank lines (only spaces/tabs) are skipped; CRLF and LF both end lines; a
//   UTF-8 byte order mark at the start is skipped. Spaces and tabs around a
//   field are ignored, and so is one pair of double quotes around it.
// - ID: 1-8 hex digits, optional 0x (core/identifiers.h); PAC: 16 hex digits.
// - Every line is UTF-8 without NUL; otherwise "line N: column pac: not valid
//   UTF-8" (or "contains a NUL byte"), the column named by its position.
// Any other line fails the whole parse: the error message is
// "line N: <what is wrong>" and `error_line` receives N. An input with no data
// line fails too (line 0 when empty).
// Duplicate IDs are not an error here: the registration job reports them per
// device, as it does for the JSON bulk request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost::factory {

struct SeriesEntry {
  std::string id;   // as written (trimmed, unquoted): failures are reported with it
  std::string pac;  // canonical: 16 uppercase hex digits
  size_t line = 0;  // 1-based line number in the input
  bool operator==(const SeriesEntry&) const = default;
};

struct DeviceSeries {
  std::vector<SeriesEntry> entries;
  char separator = ';';
  bool has_header = false;
};

Result<DeviceSeries> ParseDeviceSeries(std::string_view text, size_t* error_line = nullptr);

}  // namespace roost::factory
