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

Result<std::optional<IdPacLine>> IdPacReader::Next() {
  if (!error_.ok()) return error_;
  while (pos_ < text_.size()) {
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_no_;
    if (auto fault = FindTextFault(line)) {
      // Named by the field the byte falls in; comments and headers by the line only.
      std::string_view trimmed = TrimSpace(line);
      std::string column;
      if (!trimmed.empty() && trimmed.front() != '#') {
        size_t sep = line.find_first_of(";,\t ", line.find(trimmed.front()));
        column =
            sep == std::string_view::npos || fault->offset < sep ? "column id: " : "column pac: ";
      }
      error_ = Status::InvalidInput("line " + std::to_string(line_no_) + ": " + column +
                                    std::string(fault->problem));
      return error_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = TrimSpace(line);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& message) {
      error_ = Status::InvalidInput("line " + std::to_string(line_no_) + ": " + message);
      return error_;
    };
    if (header_possible_) {
      header_possible_ = false;
      // The one header line ("ID;PAC") is the first line not starting with an ID.
      if (!ParseSigfoxId(line.substr(0, line.find_first_of(";,\t "))).ok()) continue;
    }
    std::string_view id_text, pac_text;
    if (!SplitTwoFields(line, id_text, pac_text)) {
      // The line is not quoted: it may hold a PAC.
      return fail("expected 'ID;PAC' (two fields separated by ';', ',', a tab or a space)");
    }
    auto id = ParseSigfoxId(id_text);
    if (!id.ok()) return fail(id.status().message());
    auto pac = ParsePac(pac_text);
    if (!pac.ok()) return fail(pac.status().message());
    return std::optional<IdPacLine>(IdPacLine{IdPac{*id, std::move(pac).value()}, line_no_});
  }
  return std::optional<IdPacLine>();
}

Status RepeatedIdError(SigfoxId id, size_t line, size_t first_line) {
  return Status::InvalidInput("line " + std::to_string(line) + ": device ID " + id.ToFile() +
                              " already listed on line " + std::to_string(first_line));
}

Result<std::vector<IdPac>> ParseIdPacFile(std::string_view text) {
  std::vector<IdPac> out;
  std::unordered_map<uint32_t, size_t> line_of_id;
  IdPacReader reader(text);
  for (;;) {
    auto next = reader.Next();
    if (!next.ok()) return next.status();
    if (!*next) break;
    IdPacLine& l = **next;
    auto [it, inserted] = line_of_id.emplace(l.entry.id.value, l.line);
    if (!inserted) return RepeatedIdError(l.entry.id, l.line, it->second);
    out.push_back(std::move(l.entry));
  }
  return out;
}

std::string FormatIdPacLine(const IdPac& entry) {
  return entry.id.ToFile() + ";" + entry.pac + "\n";
}

}  // namespace roost::factory
