#include "factory/device_series.h"

#include <algorithm>

#include "core/identifiers.h"
#include "core/text.h"

namespace roost::factory {
namespace {

// A field without surrounding blanks and one pair of surrounding double quotes.
std::string_view Field(std::string_view s) {
  s = TrimBlanks(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"')
    s = TrimBlanks(s.substr(1, s.size() - 2));
  return s;
}

enum class Column { kId, kPac, kOther };

Column HeaderColumn(std::string_view field) {
  std::string name = AsciiLower(Field(field));
  if (name == "id" || name == "device id" || name == "deviceid" || name == "device_id") {
    return Column::kId;
  }
  if (name == "pac") return Column::kPac;
  return Column::kOther;
}

// Splits at every `sep`.
std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = line.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, at - start));
    start = at + 1;
  }
}

}  // namespace

Result<DeviceSeries> ParseDeviceSeries(std::string_view text, size_t* error_line) {
  DeviceSeries series;
  bool separator_known = false;
  bool first_line = true;
  bool pac_first = false;
  size_t line_no = 0;
  size_t pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  auto fail = [&](size_t line, std::string what) -> Status {
    if (error_line != nullptr) *error_line = line;
    return Status::InvalidInput("line " + std::to_string(line) + ": " + what);
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (auto fault = FindTextFault(line)) {
      // Named by the column the byte falls in: the separator (known, or the
      // first one on this line) counts the fields before it.
      char sep = separator_known ? series.separator : ';';
      if (!separator_known) {
        size_t at = line.find_first_of(";,");
        if (at != std::string_view::npos) sep = line[at];
      }
      std::string_view before = line.substr(0, fault->offset);
      const auto index = static_cast<size_t>(std::count(before.begin(), before.end(), sep));
      std::string column = "column " + std::to_string(index + 1);
      if (index < 2) column = "column " + std::string((index == 1) != pac_first ? "pac" : "id");
      return fail(line_no, column + ": " + std::string(fault->problem));
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = TrimBlanks(line);
    if (line.empty()) continue;
    if (!separator_known) {
      size_t at = line.find_first_of(";,");
      if (at == std::string_view::npos) {
        return fail(line_no, "expected 'ID;PAC' or 'ID,PAC' (or a header such as 'id;pac')");
      }
      series.separator = line[at];
      separator_known = true;
    }
    const char sep = series.separator;
    const char other = sep == ';' ? ',' : ';';
    std::vector<std::string_view> fields = Split(line, sep);
    if (first_line) {
      first_line = false;
      if (fields.size() == 2) {
        Column a = HeaderColumn(fields[0]);
        Column b = HeaderColumn(fields[1]);
        if ((a == Column::kId && b == Column::kPac) || (a == Column::kPac && b == Column::kId)) {
          series.has_header = true;
          pac_first = a == Column::kPac;
          continue;
        }
      }
    }
    if (fields.size() != 2) {
      if (fields.size() == 1 && line.find(other) != std::string_view::npos) {
        return fail(line_no, std::string("expected '") + sep + "' between ID and PAC: this file " +
                                 "separates fields with '" + sep + "'");
      }
      return fail(line_no, "expected 2 fields (ID" + std::string(1, sep) + "PAC), got " +
                               std::to_string(fields.size()));
    }
    std::string_view id_text = Field(fields[pac_first ? 1 : 0]);
    std::string_view pac_text = Field(fields[pac_first ? 0 : 1]);
    if (id_text.empty()) return fail(line_no, "the device ID is empty");
    if (pac_text.empty()) return fail(line_no, "the PAC is empty");
    auto id = ParseSigfoxId(id_text);
    if (!id.ok()) return fail(line_no, id.status().message());
    auto pac = ParsePac(pac_text);
    if (!pac.ok()) return fail(line_no, pac.status().message());
    series.entries.push_back(SeriesEntry{std::string(id_text), std::move(pac).value(), line_no});
  }
  if (series.entries.empty()) {
    return fail(line_no, "no device: expected one 'ID;PAC' or 'ID,PAC' line per device");
  }
  return series;
}

}  // namespace roost::factory
