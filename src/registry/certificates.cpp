#include "registry/certificates.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/identifiers.h"
#include "core/text.h"

namespace roost::registry {
namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxRevisionLength = 50;
constexpr size_t kMaxTextLength = 2000;
constexpr size_t kMaxSearchLength = 200;

// The columns/members of a certificate, by API name.
enum class Column { kKey, kManufacturer, kProductName, kRevision, kLink, kNotes };
constexpr std::pair<std::string_view, Column> kColumns[] = {{"key", Column::kKey},
                                                            {"manufacturer", Column::kManufacturer},
                                                            {"productName", Column::kProductName},
                                                            {"revision", Column::kRevision},
                                                            {"link", Column::kLink},
                                                            {"notes", Column::kNotes}};

std::string_view ColumnName(Column c) {
  for (const auto& [name, column] : kColumns) {
    if (column == c) return name;
  }
  return "";
}

// Collects problems, listing at most kMaxImportProblems.
class Problems {
 public:
  explicit Problems(CertificateUpload& upload) : upload_(upload) {}
  void Add(int64_t position, std::string_view field, std::string message) {
    ++upload_.problem_count;
    if (upload_.problems.size() < kMaxImportProblems) {
      upload_.problems.push_back({position, std::string(field), std::move(message)});
    }
  }

 private:
  CertificateUpload& upload_;
};

// Notes may span lines: line breaks and tabs are allowed there, no other control.
bool IsControl(char c, bool allow_line_breaks) {
  if (allow_line_breaks && (c == '\n' || c == '\r' || c == '\t')) return false;
  return roost::IsControl(c);
}

// Checks one field's value (already trimmed); returns the problem or nullopt.
std::optional<std::string> CheckValue(Column column, std::string_view value) {
  const std::string name(ColumnName(column));
  size_t max = kMaxTextLength;
  bool required = false;
  if (column == Column::kManufacturer || column == Column::kProductName) {
    max = kMaxNameLength;
    required = true;
  } else if (column == Column::kRevision) {
    max = kMaxRevisionLength;
  }
  if (required && value.empty()) return name + " must not be empty";
  if (CountCharacters(value) > max) {
    return name + " must be at most " + std::to_string(max) + " characters";
  }
  const bool notes = column == Column::kNotes;
  if (std::any_of(value.begin(), value.end(), [&](char c) { return IsControl(c, notes); })) {
    return name + " must not contain control characters";
  }
  if (column == Column::kLink && !value.empty() && !value.starts_with("http://") &&
      !value.starts_with("https://")) {
    return "link must be an http:// or https:// URL";
  }
  return std::nullopt;
}

// Builds a certificate from named values; reports each bad one at `position`.
// `given` lists every column the row/item named (also those whose value was
// refused before reaching here), so that only absent required ones are reported
// as missing. Returns nullopt when anything was wrong.
std::optional<ProductCertificate> BuildCertificate(
    const std::vector<std::pair<Column, std::string>>& values, const std::vector<Column>& given,
    int64_t position, std::string_view field_prefix, Problems& problems) {
  ProductCertificate pc;
  bool ok = true;
  for (const auto& [column, raw] : values) {
    const std::string value(column == Column::kNotes ? std::string_view(raw) : TrimSpace(raw));
    const std::string field = std::string(field_prefix) + std::string(ColumnName(column));
    if (column == Column::kKey) {
      auto key = ParseProductCertificate(value);
      if (!key.ok()) {
        problems.Add(position, field, "key: " + key.status().message());
        ok = false;
      } else {
        pc.key = *key;
      }
      continue;
    }
    if (auto problem = CheckValue(column, value)) {
      problems.Add(position, field, *problem);
      ok = false;
      continue;
    }
    switch (column) {
      case Column::kManufacturer:
        pc.manufacturer = value;
        break;
      case Column::kProductName:
        pc.product_name = value;
        break;
      case Column::kRevision:
        pc.revision = value;
        break;
      case Column::kLink:
        pc.link = value;
        break;
      case Column::kNotes:
        pc.notes = value;
        break;
      case Column::kKey:
        break;
    }
  }
  for (Column required : {Column::kKey, Column::kManufacturer, Column::kProductName}) {
    if (std::find(given.begin(), given.end(), required) != given.end()) continue;
    const std::string name(ColumnName(required));
    problems.Add(position, std::string(field_prefix) + name, name + " is required");
    ok = false;
  }
  if (!ok) return std::nullopt;
  if (pc.revision.empty()) pc.revision = pc.key.substr(pc.key.size() - 2);
  return pc;
}

// Reports keys repeated within the upload (positions parallel to certificates).
// `field_of(position)` names the key field of a row/item.
template <typename FieldOf>
void CheckRepeatedKeys(const std::vector<ProductCertificate>& certificates,
                       const std::vector<int64_t>& positions, std::string_view unit,
                       FieldOf field_of, Problems& problems) {
  std::unordered_map<std::string, int64_t> first;
  for (size_t i = 0; i < certificates.size(); ++i) {
    auto [it, fresh] = first.emplace(certificates[i].key, positions[i]);
    if (!fresh) {
      problems.Add(positions[i], field_of(positions[i]),
                   "key " + certificates[i].key + " repeats " + std::string(unit) + " " +
                       std::to_string(it->second));
    }
  }
}

// --- CSV -------------------------------------------------------------------

struct CsvRecord {
  int64_t line = 0;  // where the record starts
  std::vector<std::string> fields;
  std::vector<bool> quoted;
};

// Splits CSV text into records. Problems (unterminated quotes, text after a
// closing quote) are reported and the offending record is dropped.
std::vector<CsvRecord> SplitCsv(std::string_view text, char sep, Problems& problems) {
  std::vector<CsvRecord> records;
  size_t i = 0;
  int64_t line = 1;
  const size_t n = text.size();
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    bool bad = false;
    std::string field;
    bool field_quoted = false;
    bool at_field_start = true;
    bool end_of_record = false;
    while (!end_of_record) {
      if (i >= n) {
        end_of_record = true;
        break;
      }
      char c = text[i];
      if (at_field_start && c == '"') {
        field_quoted = true;
        at_field_start = false;
        const int64_t quote_line = line;
        ++i;
        bool closed = false;
        while (i < n) {
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (!closed) {
          problems.Add(quote_line, "", "quoted field is not closed");
          return records;
        }
        // Only spaces may follow the closing quote before a separator or line end.
        while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (i < n && text[i] != sep && text[i] != '\n' && text[i] != '\r') {
          problems.Add(line, "", "unexpected text after a closing quote");
          bad = true;
          while (i < n && text[i] != '\n') ++i;
        }
        continue;
      }
      if (c == sep) {
        rec.fields.push_back(std::move(field));
        rec.quoted.push_back(field_quoted);
        field.clear();
        field_quoted = false;
        at_field_start = true;
        ++i;
        continue;
      }
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') {
        ++i;
        continue;
      }
      if (c == '\n') {
        ++i;
        ++line;
        end_of_record = true;
        break;
      }
      if (!(at_field_start && (c == ' ' || c == '\t'))) at_field_start = false;
      field += c;
      ++i;
    }
    rec.fields.push_back(std::move(field));
    rec.quoted.push_back(field_quoted);
    if (bad) continue;
    const bool blank = rec.fields.size() == 1 && !rec.quoted[0] && TrimSpace(rec.fields[0]).empty();
    if (!blank) records.push_back(std::move(rec));
  }
  return records;
}

std::string HeaderKey(std::string_view name) {
  std::string out;
  for (char c : TrimSpace(name)) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

}  // namespace

CertificateUpload ParseCertificateCsv(std::string_view text) {
  CertificateUpload upload;
  Problems problems(upload);
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  // The separator: ';' when the header line has ';' and no ','.
  std::string_view first_line = text.substr(0, text.find('\n'));
  const char sep = first_line.find(',') == std::string_view::npos &&
                           first_line.find(';') != std::string_view::npos
                       ? ';'
                       : ',';
  std::vector<CsvRecord> records = SplitCsv(text, sep, problems);
  if (records.empty()) {
    if (upload.ok())
      problems.Add(1, "", "no header line: expected key,manufacturer,productName,revision");
    return upload;
  }
  // Every cell must be text before anything reads or quotes it: bad bytes would
  // be stored, and invalid UTF-8 cannot be written back as JSON.
  const CsvRecord& header = records.front();
  bool text_ok = true;
  for (size_t r = 0; r < records.size(); ++r) {
    for (size_t f = 0; f < records[r].fields.size(); ++f) {
      auto fault = FindTextFault(records[r].fields[f]);
      if (!fault) continue;
      // A data cell is named by its header; the header's own cells by number.
      std::string column = "column " + std::to_string(f + 1);
      std::string field;
      if (r > 0 && f < header.fields.size() && !FindTextFault(header.fields[f])) {
        field = QuoteForMessage(TrimSpace(header.fields[f]));
        column = "column " + field;
      }
      problems.Add(records[r].line, field, column + ": " + std::string(fault->problem));
      text_ok = false;
    }
  }
  if (!text_ok) return upload;
  // The header.
  std::vector<Column> columns;
  bool header_ok = true;
  for (size_t f = 0; f < header.fields.size(); ++f) {
    const std::string key = HeaderKey(header.fields[f]);
    std::optional<Column> column;
    for (const auto& [name, c] : kColumns) {
      if (HeaderKey(name) == key) column = c;
    }
    if (!column) {
      if (f == 0 && ParseProductCertificate(header.fields[f]).ok()) {
        problems.Add(header.line, "",
                     "the first line must be a header: key,manufacturer,productName,revision");
      } else {
        problems.Add(header.line, "",
                     "unknown column \"" + std::string(TrimSpace(header.fields[f])) +
                         "\" (expected key, manufacturer, productName, revision, link, notes)");
      }
      header_ok = false;
      break;
    }
    if (std::find(columns.begin(), columns.end(), *column) != columns.end()) {
      problems.Add(header.line, "",
                   "column " + std::string(ColumnName(*column)) + " appears twice in the header");
      header_ok = false;
      break;
    }
    columns.push_back(*column);
  }
  if (header_ok) {
    for (Column required : {Column::kKey, Column::kManufacturer, Column::kProductName}) {
      if (std::find(columns.begin(), columns.end(), required) == columns.end()) {
        problems.Add(header.line, "",
                     "the header has no " + std::string(ColumnName(required)) + " column");
        header_ok = false;
      }
    }
  }
  if (!header_ok) return upload;

  std::vector<int64_t> positions;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() != columns.size()) {
      problems.Add(rec.line, "",
                   "expected " + std::to_string(columns.size()) + " fields, found " +
                       std::to_string(rec.fields.size()));
      continue;
    }
    std::vector<std::pair<Column, std::string>> values;
    values.reserve(columns.size());
    for (size_t f = 0; f < columns.size(); ++f) values.emplace_back(columns[f], rec.fields[f]);
    if (auto pc = BuildCertificate(values, columns, rec.line, "", problems)) {
      upload.certificates.push_back(std::move(*pc));
      positions.push_back(rec.line);
    }
  }
  CheckRepeatedKeys(
      upload.certificates, positions, "line", [](int64_t) { return std::string("key"); }, problems);
  if (upload.ok() && upload.certificates.empty()) {
    problems.Add(header.line, "", "no certificates after the header line");
  }
  if (!upload.ok()) upload.certificates.clear();
  return upload;
}

CertificateUpload ParseCertificateJson(const nlohmann::json& items) {
  CertificateUpload upload;
  Problems problems(upload);
  if (!items.is_array()) {
    problems.Add(0, "", "the body must be a JSON array of certificates");
    return upload;
  }
  if (items.empty()) {
    problems.Add(0, "", "the array lists no certificates");
    return upload;
  }
  std::vector<int64_t> positions;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto index = static_cast<int64_t>(i);
    const std::string prefix = "[" + std::to_string(i) + "].";
    const nlohmann::json& item = items[i];
    if (!item.is_object()) {
      problems.Add(index, "[" + std::to_string(i) + "]", "must be an object");
      continue;
    }
    std::vector<std::pair<Column, std::string>> values;
    std::vector<Column> given;
    bool bad = false;
    for (const auto& member : item.items()) {
      std::optional<Column> column;
      for (const auto& [name, c] : kColumns) {
        if (name == member.key()) column = c;
      }
      if (!column) {
        const std::string name = QuoteForMessage(member.key());
        problems.Add(index, prefix + name, name + ": unknown field");
        bad = true;
        continue;
      }
      given.push_back(*column);
      if (member.value().is_null() && *column != Column::kKey && *column != Column::kManufacturer &&
          *column != Column::kProductName) {
        continue;  // an explicit null for an optional field: absent
      }
      if (!member.value().is_string()) {
        problems.Add(index, prefix + member.key(), member.key() + " must be a string");
        bad = true;
        continue;
      }
      values.emplace_back(*column, member.value().get<std::string>());
    }
    // Problems of the other members are reported too; a bad item is never added.
    auto pc = BuildCertificate(values, given, index, prefix, problems);
    if (pc && !bad) {
      upload.certificates.push_back(std::move(*pc));
      positions.push_back(index);
    }
  }
  CheckRepeatedKeys(
      upload.certificates, positions, "item",
      [](int64_t index) { return "[" + std::to_string(index) + "].key"; }, problems);
  if (!upload.ok()) upload.certificates.clear();
  return upload;
}

Status CheckKnownCertificate(storage::Store& store, std::string_view canonical_key) {
  auto known = store.GetProductCertificate(canonical_key);
  if (known.ok()) return Status::Ok();
  if (known.status().code() == Status::Code::kNotFound) {
    return Status::InvalidInput("productCertificate: product certificate " +
                                std::string(canonical_key) + " is not in the registry");
  }
  return known.status();
}

CertificateRegistry::CertificateRegistry(storage::Store& store, Clock clock)
    : store_(store), clock_(std::move(clock)) {}

Result<int64_t> CertificateRegistry::Import(std::vector<ProductCertificate> certificates) {
  if (certificates.empty()) return Status::InvalidInput("no certificates to import");
  const EpochMillis now = clock_();
  for (ProductCertificate& pc : certificates) {
    pc.creation_time = now;
    pc.update_time = now;
  }
  ROOST_RETURN_IF_ERROR(store_.UpsertProductCertificates(certificates));
  return static_cast<int64_t>(certificates.size());
}

Result<ProductCertificate> CertificateRegistry::Get(std::string_view key) {
  auto canonical = ParseProductCertificate(key);
  if (!canonical.ok()) return Status::InvalidInput("key: " + canonical.status().message());
  return store_.GetProductCertificate(*canonical);
}

Result<storage::CertificatePage> CertificateRegistry::Search(std::string_view text,
                                                             std::string_view after, int limit,
                                                             int offset) {
  text = TrimSpace(text);
  if (CountCharacters(text) > kMaxSearchLength) {
    return Status::InvalidInput("search: must be at most " + std::to_string(kMaxSearchLength) +
                                " characters");
  }
  if (HasControl(text)) {
    return Status::InvalidInput("search: must not contain control characters");
  }
  storage::CertificateQuery query;
  query.text = std::string(text);
  query.limit = limit;
  query.offset = offset;
  if (!after.empty()) {
    auto key = ParseProductCertificate(after);
    if (!key.ok()) return Status::InvalidInput("after: " + key.status().message());
    query.after = *key;
  }
  return store_.SearchProductCertificates(query);
}

}  // namespace roost::registry
