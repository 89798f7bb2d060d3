#include "factory/id_pac.h"

#include <unordered_map>

#include "core/text.h"

namespace roost::factory {
namespace {

// Splits "a<sep>b" where sep is ';', ',', tab or a run of spaces. Returns false
// when the line does not hold exactly two fields.
bool SplitTwoFields(std::string_view line, std::string_view& a, std::string_view& b) {
  size_t sep = line.find_first_of(";,\t ");
  if (sep == std::string_view::npos) return false;
  a = TrimSpace(line.substr(0, sep));
  std::string_view rest = line.substr(sep + 1);
  if (line[sep] == ' ' || line[sep] == '\t') rest = TrimSpace(rest);
  b = TrimSpace(rest);
  if (a.empty() || b.empty()) return false;
  return b.find_first_of(";,\t ") == std::string_view::npos;
}

}  // namespace

Result<std::vector<IdPac>> ParseIdPacFile(std::string_view text) {
  std::vector<IdPac> out;
  std::unordered_map<uint32_t, size_t> line_of_id;
  bool header_possible = true;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto where = [&] { return "line " + std::to_string(line_no) + ": "; };
    if (auto fault = FindTextFault(line)) {
      // Named by the field the byte falls in; comments and headers by the line only.
      std::string_view trimmed = TrimSpace(line);
      std::string column;
      if (!trimmed.empty() && trimmed.front() != '#') {
        size_t sep = line.find_first_of(";,\t ", line.find(trimmed.front()));
        column =
            sep == std::string_view::npos || fault->offset < sep ? "column id: " : "column pac: ";
      }
      return Status::InvalidInput(where() + column + std::string(fault->problem));
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = TrimSpace(line);
    if (line.empty() || line.front() == '#') continue;
    if (header_possible) {
      header_possible = false;
      // The one header line ("ID;PAC") is the first line not starting with an ID.
      if (!ParseSigfoxId(line.substr(0, line.find_first_of(";,\t "))).ok()) continue;
    }
    std::string_view id_text, pac_text;
    if (!SplitTwoFields(line, id_text, pac_text)) {
      return Status::InvalidInput(where() + "expected 'ID;PAC' (two fields), got '" +
                                  QuoteForMessage(line, 60) + "'");
    }
    auto id = ParseSigfoxId(id_text);
    if (!id.ok()) return Status::InvalidInput(where() + id.status().message());
    auto pac = ParsePac(pac_text);
    if (!pac.ok()) return Status::InvalidInput(where() + pac.status().message());
    auto [it, inserted] = line_of_id.emplace(id->value, line_no);
    if (!inserted) {
      return Status::InvalidInput(where() + "device ID " + id->ToFile() +
                                  " already listed on line " + std::to_string(it->second));
    }
    out.push_back(IdPac{*id, std::move(pac).value()});
  }
  return out;
}

std::string FormatIdPacLine(const IdPac& entry) {
  return entry.id.ToFile() + ";" + entry.pac + "\n";
}

}  // namespace roost::factory
