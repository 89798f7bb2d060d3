#include "factory/provision_csv.h"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "core/hex.h"
#include "core/text.h"
#include "crypto/random.h"

namespace roost::factory {
namespace {

constexpr std::array<std::string_view, 6> kRequestColumns = {
    "provisionId", "model", "serialNumber", "fixedDevEUI", "devEUI", "appEUI"};
constexpr std::string_view kHashColumn = "provisionIdHash";
constexpr std::string_view kManufacturerLabel = "manufacturerName";
constexpr size_t kRequestWidth = kRequestColumns.size();
constexpr size_t kReportWidth = kRequestWidth + 1;
enum Column : size_t { kPid, kModel, kSerial, kFixed, kDevEui, kAppEui, kHash };

// One CSV record: its cells and the line it starts on. `error` is set when the
// record could not be split into cells (bad quoting).
struct Record {
  size_t line = 0;
  std::vector<std::string> cells;
  std::string error;
};

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out += s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s);
  out += "'";
  return out;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

// Splits `text` into RFC 4180 records. Line ends are LF, CRLF or CR.
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  // The line the next record would start on.
  size_t line() const { return line_; }

  // Returns false at the end of the text.
  bool Next(Record& rec) {
    if (pos_ >= text_.size()) return false;
    rec = Record{};
    rec.line = line_;
    while (true) {
      std::string cell;
      if (!ReadCell(cell, rec)) {
        SkipRestOfLine();
        return true;
      }
      rec.cells.push_back(std::move(cell));
      if (pos_ >= text_.size()) return true;
      char c = text_[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      ConsumeLineEnd();
      return true;
    }
  }

 private:
  bool AtLineEnd() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }

  void ConsumeLineEnd() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  void SkipRestOfLine() {
    while (pos_ < text_.size() && !AtLineEnd()) ++pos_;
    if (pos_ < text_.size()) ConsumeLineEnd();
  }

  // Reads one cell, leaving pos_ on the ',' / line end after it or at the end.
  bool ReadCell(std::string& cell, Record& rec) {
    size_t start = pos_;
    while (pos_ < text_.size() && IsBlank(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      size_t column = rec.cells.size() + 1;
      ++pos_;
      while (true) {
        if (pos_ >= text_.size()) {
          rec.error = "column " + std::to_string(column) + ": quoted field is never closed";
          return false;
        }
        char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            cell += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\r' || c == '\n') {
          // A quoted line break is part of the value; keep counting lines.
          cell += '\n';
          ConsumeLineEnd();
          continue;
        }
        cell += c;
        ++pos_;
      }
      while (pos_ < text_.size() && IsBlank(text_[pos_])) ++pos_;
      if (pos_ < text_.size() && text_[pos_] != ',' && !AtLineEnd()) {
        rec.error = "column " + std::to_string(column) + ": text after the closing quote";
        return false;
      }
      return true;
    }
    pos_ = start;
    while (pos_ < text_.size() && text_[pos_] != ',' && !AtLineEnd()) {
      if (text_[pos_] == '"') {
        rec.error = "column " + std::to_string(rec.cells.size() + 1) +
                    ": a quote inside an unquoted field (quote the whole field and double "
                    "the quote)";
        return false;
      }
      ++pos_;
    }
    cell = std::string(TrimBlanks(text_.substr(start, pos_ - start)));
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

// Number of cells up to the last non-empty one (after trimming).
size_t UsedWidth(const std::vector<std::string>& cells) {
  size_t n = cells.size();
  while (n > 0 && TrimBlanks(cells[n - 1]).empty()) --n;
  return n;
}

std::string JoinCells(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < UsedWidth(cells); ++i) {
    if (i) out += ',';
    out += cells[i];
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, const ProvisionCsvOptions& options)
      : tok_(text), options_(options) {
    // One row per line, near enough: sizing the duplicate maps once saves rehashing.
    size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    serial_line_.reserve(lines);
    pid_line_.reserve(lines);
    csv_.rows.reserve(lines);
  }

  ProvisionCsvParse Run() {
    Record rec;
    // Line 1: the signature.
    if (!tok_.Next(rec)) {
      AddError(1, "empty file: expected the signature line '" +
                      std::string(kProvisionCsvSignature) + "'");
      return Done();
    }
    if (!rec.error.empty()) {
      AddError(rec.line, rec.error);
    } else if (TrimBlanks(rec.cells[0]) != kProvisionCsvSignature || UsedWidth(rec.cells) != 1) {
      AddError(rec.line, "expected the signature line '" + std::string(kProvisionCsvSignature) +
                             "', got " + Quote(JoinCells(rec.cells)));
    }
    // Line 2: the manufacturer.
    if (!tok_.Next(rec)) {
      AddError(tok_.line(), "missing the line 'manufacturerName,<name>'");
      return Done();
    }
    if (!rec.error.empty()) {
      AddError(rec.line, rec.error);
    } else {
      CheckManufacturer(rec);
    }
    // Line 3: the header, which decides request or report.
    if (!tok_.Next(rec)) {
      AddError(tok_.line(), "missing the header line '" + RequestHeader() + "'");
      return Done();
    }
    if (!rec.error.empty()) {
      AddError(rec.line, rec.error);
      return Done();
    }
    if (!CheckHeader(rec)) return Done();
    const size_t header_line = rec.line;
    // The devices.
    while (tok_.Next(rec)) {
      if (!rec.error.empty()) {
        AddError(rec.line, rec.error);
        continue;
      }
      if (UsedWidth(rec.cells) == 0) continue;
      CheckRow(rec);
    }
    if (errors_.empty() && csv_.rows.empty()) {
      AddError(header_line, "no devices listed after the header");
    }
    return Done();
  }

 private:
  static std::string RequestHeader() {
    std::string h;
    for (auto name : kRequestColumns) {
      if (!h.empty()) h += ',';
      h += name;
    }
    return h;
  }

  void AddError(size_t line, std::string message) {
    errors_.push_back(CsvError{line, std::move(message)});
  }

  ProvisionCsvParse Done() {
    ProvisionCsvParse out;
    if (errors_.empty()) out.csv = std::move(csv_);
    out.errors = std::move(errors_);
    return out;
  }

  void CheckManufacturer(const Record& rec) {
    if (!EqualsIgnoreCase(TrimBlanks(rec.cells[0]), kManufacturerLabel)) {
      AddError(rec.line, "expected 'manufacturerName,<name>', got " + Quote(JoinCells(rec.cells)));
      return;
    }
    std::string_view name = rec.cells.size() > 1 ? TrimBlanks(rec.cells[1]) : std::string_view();
    if (name.empty()) {
      AddError(rec.line, "the manufacturer name is empty");
      return;
    }
    if (HasControl(name)) {
      AddError(rec.line, "the manufacturer name contains a control character");
      return;
    }
    if (!IsValidUtf8(name)) {
      AddError(rec.line, "the manufacturer name is not valid UTF-8");
      return;
    }
    if (UsedWidth(rec.cells) > 2) {
      AddError(rec.line, "unexpected text after the manufacturer name in column " +
                             std::to_string(UsedWidth(rec.cells)));
      return;
    }
    csv_.manufacturer = std::string(name);
  }

  bool CheckHeader(const Record& rec) {
    size_t width = UsedWidth(rec.cells);
    bool ok = width == kRequestWidth || width == kReportWidth;
    for (size_t i = 0; ok && i < kRequestWidth; ++i) {
      ok = EqualsIgnoreCase(TrimBlanks(rec.cells[i]), kRequestColumns[i]);
    }
    if (ok && width == kReportWidth) {
      ok = EqualsIgnoreCase(TrimBlanks(rec.cells[kHash]), kHashColumn);
    }
    if (!ok) {
      AddError(rec.line, "expected the header '" + RequestHeader() + "' (a report adds '," +
                             std::string(kHashColumn) + "'), got " + Quote(JoinCells(rec.cells)));
      return false;
    }
    csv_.is_report = width == kReportWidth;
    width_ = width;
    return true;
  }

  void CheckRow(const Record& rec) {
    const size_t line = rec.line;
    const size_t errors_before = errors_.size();
    auto cell = [&](size_t i) -> std::string_view {
      return i < rec.cells.size() ? TrimBlanks(rec.cells[i]) : std::string_view();
    };
    size_t used = UsedWidth(rec.cells);
    if (used > width_) {
      AddError(line, "unexpected value " + Quote(cell(used - 1)) + " in column " +
                         std::to_string(used) + " (the file has " + std::to_string(width_) +
                         " columns)");
    }
    ProvisionRow row;
    row.line = line;

    std::string_view pid = cell(kPid);
    if (pid.empty()) {
      if (csv_.is_report) AddError(line, "provisionId is empty (a report gives every device one)");
    } else {
      auto parsed = ParseProvisionId(pid);
      if (parsed.ok()) {
        row.provision_id = std::move(parsed).value();
      } else {
        AddError(line, "provisionId: " + parsed.status().message());
      }
    }

    // Stored and shown as text: bytes that are not UTF-8 (a Latin-1 export,
    // say) are refused rather than shown altered.
    row.model = std::string(cell(kModel));
    if (row.model.empty()) AddError(line, "model is empty");
    if (HasControl(row.model)) AddError(line, "model contains a control character");
    if (!IsValidUtf8(row.model)) AddError(line, "model is not valid UTF-8");
    row.serial_number = std::string(cell(kSerial));
    if (row.serial_number.empty()) AddError(line, "serialNumber is empty");
    if (HasControl(row.serial_number)) {
      AddError(line, "serialNumber contains a control character");
    }
    if (!IsValidUtf8(row.serial_number)) AddError(line, "serialNumber is not valid UTF-8");

    std::string_view fixed = cell(kFixed);
    std::string_view dev_eui = cell(kDevEui);
    bool fixed_known = true;
    if (EqualsIgnoreCase(fixed, "Y")) {
      row.fixed_dev_eui = true;
    } else if (EqualsIgnoreCase(fixed, "N")) {
      row.fixed_dev_eui = false;
    } else {
      fixed_known = false;
      AddError(line, "fixedDevEUI must be Y or N, got " + Quote(fixed));
    }
    if (row.fixed_dev_eui && dev_eui.empty()) {
      AddError(line, "fixedDevEUI is Y but devEUI is empty");
    } else if (fixed_known && !row.fixed_dev_eui && !dev_eui.empty()) {
      AddError(line, "fixedDevEUI is N but devEUI is given (" + Quote(dev_eui) +
                         "); leave devEUI blank or set fixedDevEUI to Y");
    } else if (!dev_eui.empty()) {
      auto eui = ParseEui64(dev_eui);
      if (eui.ok()) {
        if (fixed_known) row.dev_eui = *eui;
      } else {
        AddError(line, "devEUI: " + eui.status().message());
      }
    }

    std::string_view app_eui = cell(kAppEui);
    if (app_eui.empty()) {
      AddError(line, "appEUI is empty (use 0000000000000000)");
    } else {
      auto eui = ParseEui64(app_eui);
      if (eui.ok()) {
        row.app_eui = *eui;
      } else {
        AddError(line, "appEUI: " + eui.status().message());
      }
    }

    if (csv_.is_report) CheckHash(line, cell(kHash), row);

    // Duplicates, against the rows seen so far.
    if (!row.serial_number.empty()) {
      auto [it, inserted] = serial_line_.emplace(row.serial_number, line);
      if (!inserted) {
        AddError(line, "serial number " + Quote(row.serial_number) + " already on line " +
                           std::to_string(it->second));
      }
    }
    if (!row.provision_id.empty()) {
      auto [it, inserted] = pid_line_.emplace(row.provision_id, line);
      if (!inserted) {
        AddError(line, "Provision ID " + row.provision_id + " already on line " +
                           std::to_string(it->second));
      }
    }
    if (row.dev_eui) {
      auto [it, inserted] = eui_line_.emplace(row.dev_eui->ToU64(), line);
      if (!inserted) {
        AddError(line, "devEUI " + row.dev_eui->ToString() + " already on line " +
                           std::to_string(it->second));
      }
    }
    if (errors_.size() == errors_before) csv_.rows.push_back(std::move(row));
  }

  void CheckHash(size_t line, std::string_view hash, ProvisionRow& row) {
    if (hash.empty()) {
      AddError(line, "provisionIdHash is empty");
      return;
    }
    bool hex = hash.size() == 64;
    for (char c : hash) hex = hex && IsHexDigit(c);
    if (!hex) {
      AddError(line, "provisionIdHash " + Quote(hash) + ": expected 64 hex digits");
      return;
    }
    row.provision_id_hash = AsciiLower(hash);
    if (row.provision_id.empty()) return;  // already reported
    std::string want = ToHex(provisioning::ProvisionIdHash(row.provision_id, options_.hash_suffix));
    if (row.provision_id_hash != want) {
      AddError(line, "provisionIdHash does not match Provision ID " + row.provision_id +
                         " (expected " + want + " with suffix " + Quote(options_.hash_suffix) +
                         ")");
    }
  }

  Tokenizer tok_;
  const ProvisionCsvOptions& options_;
  ProvisionCsv csv_;
  std::vector<CsvError> errors_;
  size_t width_ = 0;
  std::unordered_map<std::string, size_t> serial_line_;
  std::unordered_map<std::string, size_t> pid_line_;
  std::unordered_map<uint64_t, size_t> eui_line_;
};

void AppendField(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string WriteCsv(const ProvisionCsv& csv, bool report) {
  const size_t width = report ? kReportWidth : kRequestWidth;
  std::string out;
  out.reserve(128 + csv.rows.size() * (report ? 150 : 80));
  out += kProvisionCsvSignature;
  out.append(width - 1, ',');
  out += '\n';
  out += kManufacturerLabel;
  out += ',';
  AppendField(out, csv.manufacturer);
  out.append(width - 2, ',');
  out += '\n';
  for (size_t i = 0; i < kRequestWidth; ++i) {
    if (i) out += ',';
    out += kRequestColumns[i];
  }
  if (report) {
    out += ',';
    out += kHashColumn;
  }
  out += '\n';
  for (const ProvisionRow& row : csv.rows) {
    out += row.provision_id;
    out += ',';
    AppendField(out, row.model);
    out += ',';
    AppendField(out, row.serial_number);
    out += row.fixed_dev_eui ? ",Y," : ",N,";
    if (row.dev_eui) out += row.dev_eui->ToString();
    out += ',';
    out += row.app_eui.ToString();
    if (report) {
      out += ',';
      out += row.provision_id_hash;
    }
    out += '\n';
  }
  return out;
}

// Random Provision IDs, drawing CSPRNG bytes in batches (one call per ID is
// several times slower for a big report).
class RandomIdSource {
 public:
  explicit RandomIdSource(size_t expected)
      : buffer_(std::min<size_t>(std::max<size_t>(expected, 1), 1024) * kProvisionIdLength) {}

  std::string Next() {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    if (used_ == buffer_.size()) {
      crypto::RandomBytes(buffer_);
      used_ = 0;
    }
    std::string id(kProvisionIdLength, 'A');
    // 256 is a multiple of 32, so the low 5 bits of a uniform byte are uniform.
    for (size_t i = 0; i < kProvisionIdLength; ++i) id[i] = kAlphabet[buffer_[used_ + i] & 0x1f];
    used_ += kProvisionIdLength;
    return id;
  }

 private:
  std::vector<uint8_t> buffer_;
  size_t used_ = buffer_.size();
};

}  // namespace

std::string CsvError::ToString() const {
  return "line " + std::to_string(line) + ": " + message;
}

ProvisionCsvParse ParseProvisionCsv(std::string_view text, const ProvisionCsvOptions& options) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  return Parser(text, options).Run();
}

std::string WriteRequestCsv(const ProvisionCsv& csv) {
  return WriteCsv(csv, false);
}

std::string WriteReportCsv(const ProvisionCsv& csv) {
  return WriteCsv(csv, true);
}

Result<ProvisionCsv> MakeReport(ProvisionCsv request, std::string_view hash_suffix,
                                const std::function<std::string()>& new_id) {
  constexpr int kMaxDraws = 1000;
  std::unordered_set<std::string> used;
  used.reserve(request.rows.size());
  RandomIdSource random(request.rows.size());
  for (const ProvisionRow& row : request.rows) {
    if (!row.provision_id.empty()) used.insert(row.provision_id);
  }
  for (ProvisionRow& row : request.rows) {
    if (row.provision_id.empty()) {
      int draws = 0;
      while (row.provision_id.empty()) {
        if (++draws > kMaxDraws) {
          return Status::Internal("the Provision ID generator keeps repeating IDs");
        }
        std::string candidate = new_id ? new_id() : random.Next();
        auto parsed = ParseProvisionId(candidate);
        if (!parsed.ok()) {
          return Status::Internal("generated an invalid Provision ID: " +
                                  parsed.status().message());
        }
        if (used.insert(*parsed).second) row.provision_id = std::move(parsed).value();
      }
    }
    row.provision_id_hash = ToHex(provisioning::ProvisionIdHash(row.provision_id, hash_suffix));
  }
  request.is_report = true;
  return request;
}

std::string RandomProvisionId() {
  return RandomIdSource(1).Next();
}

std::vector<std::string> RandomProvisionIds(size_t count) {
  RandomIdSource source(count);
  std::vector<std::string> ids;
  ids.reserve(count);
  std::unordered_set<std::string> seen;
  seen.reserve(count);
  while (ids.size() < count) {
    std::string id = source.Next();
    if (seen.insert(id).second) ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace roost::factory
