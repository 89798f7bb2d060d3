// Provision ID request and report CSV files (LoRaWAN). Pure: no I/O.
//
// A request (what a device maker sends) and a report (what comes back) look like:
//
//   MatchX Device Provisioning,,,,,
//   manufacturerName,MatchX GmbH,,,,
//   provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI
//   ,M-1234,S000000,Y,000000fffe000000,0000000000000000
//   ,M-1234,S000001,N,,0000000000000000
//
// A report has the extra header column `provisionIdHash` (so 7 columns), every
// provisionId filled, and the lowercase hex SHA256(provisionId + suffix) in it.
//
// Input tolerance (real files come out of spreadsheets):
// - a UTF-8 byte order mark before line 1 is skipped;
// - lines end in LF, CRLF or a lone CR;
// - fields follow RFC 4180: a field may be double-quoted, `""` inside quotes is
//   one quote, a quoted field may span lines; a quote inside an unquoted field
//   or text after a closing quote is an error;
// - unquoted fields are trimmed of spaces and tabs; every field value is trimmed
//   before it is checked;
// - empty cells past the last column (spreadsheet padding) are ignored, and so
//   are missing cells at the end of a row (they count as empty); a non-empty
//   cell past the last column is an error;
// - the signature must be exactly `MatchX Device Provisioning`; the
//   `manufacturerName` label and the header names are matched ignoring case;
// - after the header, rows whose cells are all empty (`,,,,,`, blank lines,
//   trailing blank lines) are skipped; lines 1-3 must be the signature, the
//   manufacturer and the header, with nothing before them;
// - fixedDevEUI is `Y` or `N` in either case; EUIs are 16 hex digits in either
//   case, with or without `-`/`:` between bytes; Provision IDs are matched
//   ignoring case and stored uppercase; a report's hash is matched ignoring case.
//
// The parse is all-or-nothing: every problem is collected (each with the line
// where its record starts) and, if there is any, the caller must not use the rows.
//
// Output: LF line endings, canonical forms (Provision IDs uppercase, EUIs and
// hashes lowercase hex without separators, fixedDevEUI `Y`/`N`), the signature
// and manufacturer lines padded with commas to the column count, fields that
// hold `,`, `"`, CR or LF quoted per RFC 4180.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "provisioning/provision_id.h"

namespace roost::factory {

inline constexpr std::string_view kProvisionCsvSignature = "MatchX Device Provisioning";

struct ProvisionRow {
  size_t line = 0;           // line where the record starts in the parsed text (0 if built)
  std::string provision_id;  // canonical uppercase, or empty (request only: assign one later)
  std::string model;
  std::string serial_number;
  bool fixed_dev_eui = false;    // Y: dev_eui is set; N: dev_eui is empty
  std::optional<Eui64> dev_eui;  // set exactly when fixed_dev_eui
  Eui64 app_eui;
  std::string provision_id_hash;  // report only: 64 lowercase hex digits
  bool operator==(const ProvisionRow&) const = default;
};

struct ProvisionCsv {
  std::string manufacturer;
  bool is_report = false;
  std::vector<ProvisionRow> rows;
  bool operator==(const ProvisionCsv&) const = default;
};

struct CsvError {
  size_t line = 0;  // 1-based
  std::string message;
  // "line N: message"
  std::string ToString() const;
};

struct ProvisionCsvParse {
  ProvisionCsv csv;              // only meaningful when ok()
  std::vector<CsvError> errors;  // in line order
  bool ok() const { return errors.empty(); }
};

struct ProvisionCsvOptions {
  // The suffix a report's provisionIdHash is checked against.
  std::string hash_suffix{provisioning::kDefaultHashSuffix};
};

// Parses a request or a report (the header tells which). Checks every row:
// required model and serial, fixedDevEUI Y with a valid devEUI or N with none,
// a valid appEUI, a valid Provision ID when given (always, in a report), a
// report's hash equal to the Provision ID's hash, and no serial, Provision ID or
// devEUI listed twice (the error names the earlier line).
ProvisionCsvParse ParseProvisionCsv(std::string_view text, const ProvisionCsvOptions& options = {});

// Writes a request file (6 columns). Rows without a Provision ID get an empty
// cell. The caller passes valid rows (as ParseProvisionCsv would accept them).
std::string WriteRequestCsv(const ProvisionCsv& csv);

// Writes a report file (7 columns). Every row must have provision_id and
// provision_id_hash set (see MakeReport).
std::string WriteReportCsv(const ProvisionCsv& csv);

// Turns a parsed request into a report: keeps the rows in order, gives each row
// without a Provision ID a new one from `new_id` (drawing again when it would
// repeat an ID already in the file), and fills every provision_id_hash with
// SHA256(provisionId + hash_suffix). `new_id` defaults to RandomProvisionId.
// Fails (Internal) only when `new_id` returns an invalid ID or keeps repeating.
Result<ProvisionCsv> MakeReport(ProvisionCsv request,
                                std::string_view hash_suffix = provisioning::kDefaultHashSuffix,
                                const std::function<std::string()>& new_id = {});

// A random Provision ID: 20 characters of A-Z2-7 from the CSPRNG.
std::string RandomProvisionId();
// `count` distinct random Provision IDs.
std::vector<std::string> RandomProvisionIds(size_t count);

}  // namespace roost::factory
