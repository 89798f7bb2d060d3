// roost label: QR-code labels for Provision IDs
//
//   roost label --pid PID [--long] [--brand B] [--model M] [--sn S] [--format svg|png] -o FILE
//   roost label --report REPORT.csv -o SHEET.svg [--long] [--brand B] [--columns N]
//   roost label --report REPORT.csv --out-dir DIR [--format svg|png] [--long] [--brand B]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/text.h"
#include "factory/label.h"
#include "factory/provision_csv.h"

namespace roost::cmd {
namespace {

struct LabelArgs {
  std::string pid;
  std::string report;
  std::string output;
  std::string out_dir;
  std::string format;
  std::string ec = "M";
  std::string brand;
  std::string model;
  std::string sn;
  bool long_form = false;
  bool no_text = false;
  int scale = 8;
  double module_mm = 0.5;
  int columns = 4;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

// svg or png: --format when given, otherwise from the output file's extension.
std::string PickFormat(const LabelArgs& a, const std::string& path) {
  std::string f = AsciiLower(a.format);
  if (f.empty()) f = EndsWith(AsciiLower(path), ".png") ? "png" : "svg";
  if (f != "svg" && f != "png") Fail("--format '" + a.format + "': expected svg or png");
  return f;
}

// The file's bytes for one label in the chosen format.
std::string RenderOne(const factory::LabelContent& label, const LabelArgs& a,
                      factory::QrErrorCorrection ec, const std::string& format) {
  auto qr = ValueOrFail(factory::EncodeQr(factory::LabelPayload(label), ec),
                        "Provision ID " + label.provision_id);
  if (format == "png") return ValueOrFail(factory::RenderLabelPng(qr, a.scale));
  factory::SvgLabelOptions svg;
  svg.module_mm = a.module_mm;
  svg.text = !a.no_text;
  return factory::RenderLabelSvg(qr, label, svg);
}

void WriteOut(const std::string& path, std::string_view data) {
  if (path == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return;
  }
  FailIfError(WriteWholeFile(path, data));
}

void RunSingle(const LabelArgs& a, factory::QrErrorCorrection ec) {
  if (a.output.empty()) Fail("label: -o FILE is required with --pid");
  if (!a.out_dir.empty()) Fail("label: --out-dir goes with --report; use -o FILE with --pid");
  const bool is_long = a.long_form || !a.brand.empty() || !a.model.empty() || !a.sn.empty();
  auto label = is_long ? factory::MakeLongLabel(a.pid, a.brand, a.model, a.sn)
                       : factory::MakeMinimalLabel(a.pid);
  auto content = ValueOrFail(std::move(label), "--pid");
  WriteOut(a.output, RenderOne(content, a, ec, PickFormat(a, a.output)));
}

std::vector<factory::LabelContent> LoadReport(const LabelArgs& a) {
  const std::string text = ValueOrFail(ReadWholeFile(a.report));
  factory::ProvisionCsvParse parsed = factory::ParseProvisionCsv(text);
  if (!parsed.ok()) {
    std::string msg = parsed.errors.front().ToString();
    if (parsed.errors.size() > 1) {
      msg += " (and " + std::to_string(parsed.errors.size() - 1) + " more errors)";
    }
    Fail(a.report + ": " + msg);
  }
  const bool is_long = a.long_form || !a.brand.empty();
  const std::string brand = a.brand.empty() ? parsed.csv.manufacturer : a.brand;
  std::vector<factory::LabelContent> labels;
  for (const auto& row : parsed.csv.rows) {
    const std::string where = a.report + ": line " + std::to_string(row.line);
    if (row.provision_id.empty()) {
      Fail(where + ": no Provision ID (this is a request; labels need a report)");
    }
    auto label = is_long
                     ? factory::MakeLongLabel(row.provision_id, brand, row.model, row.serial_number)
                     : factory::MakeMinimalLabel(row.provision_id);
    labels.push_back(ValueOrFail(std::move(label), where));
  }
  if (labels.empty()) Fail(a.report + ": no devices in the report");
  return labels;
}

// Writes many label files quickly: each goes to a temp file renamed into place
// (never a half-written label under its real name), and the whole file system
// is flushed once at the end instead of one fsync per file (10 000 fsyncs take
// about a minute; labels hold nothing that a rerun cannot recreate).
class BatchWriter {
 public:
  void Write(const std::string& path, std::string_view data) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Fail(path + ": cannot create: " + std::strerror(errno));
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        Fail(path + ": write failed: " + std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      Fail(path + ": cannot write: " + std::strerror(err));
    }
    if (sync_fd_ < 0) sync_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  // Flushes everything written to disk; fails if that is impossible.
  void Finish() {
    if (sync_fd_ < 0) return;
    const int rc = ::syncfs(sync_fd_);
    ::close(sync_fd_);
    sync_fd_ = -1;
    if (rc != 0) Fail(std::string("cannot flush the labels to disk: ") + std::strerror(errno));
  }
  ~BatchWriter() {
    if (sync_fd_ >= 0) ::close(sync_fd_);
  }

 private:
  int sync_fd_ = -1;  // any file on the output file system, for syncfs()
};

// SHEET.svg for one page; SHEET-1.svg, SHEET-2.svg, ... for several.
std::string PagePath(const std::string& sheet, size_t page, size_t pages) {
  if (pages == 1) return sheet;
  const bool svg_ext = EndsWith(AsciiLower(sheet), ".svg");
  const std::string stem = svg_ext ? sheet.substr(0, sheet.size() - 4) : sheet;
  return stem + "-" + std::to_string(page + 1) + (svg_ext ? sheet.substr(sheet.size() - 4) : "");
}

void RunReport(const LabelArgs& a, factory::QrErrorCorrection ec) {
  if (!a.model.empty() || !a.sn.empty()) {
    Fail("label: --model and --sn come from the report; only --brand may be given with --report");
  }
  if (a.output.empty() == a.out_dir.empty()) {
    Fail("label: with --report give either -o SHEET.svg or --out-dir DIR");
  }
  auto labels = LoadReport(a);
  std::vector<std::pair<std::string, std::string>> files;  // path, bytes
  if (!a.out_dir.empty()) {
    struct stat st {};
    if (::stat(a.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      Fail(a.out_dir + ": not a directory");
    }
    const std::string format = PickFormat(a, "");
    Progress progress("labels", labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      files.emplace_back(a.out_dir + "/" + labels[i].provision_id + "." + format,
                         RenderOne(labels[i], a, ec, format));
      progress.Update(i + 1);
    }
    progress.Finish();
  } else {
    if (a.output == "-") Fail("label: a sheet may have several pages; -o must name a file");
    if (!a.format.empty() && AsciiLower(a.format) != "svg") {
      Fail("label: a sheet is SVG only; use --out-dir DIR --format png for PNG files");
    }
    factory::SheetOptions opt;
    opt.columns = a.columns;
    opt.ec = ec;
    auto pages = ValueOrFail(factory::RenderSheetSvg(labels, opt), a.report);
    for (size_t p = 0; p < pages.size(); ++p) {
      files.emplace_back(PagePath(a.output, p, pages.size()), std::move(pages[p]));
    }
  }
  BatchWriter writer;
  for (const auto& [path, data] : files) writer.Write(path, data);
  writer.Finish();
  for (const auto& [path, data] : files) std::cout << path << "\n";
}

}  // namespace

void AddLabelCommands(CLI::App& app) {
  auto* label = app.add_subcommand("label", "Render QR-code labels (SVG, PNG, printable sheet)");
  label->footer(
      "A minimal label encodes only the Provision ID. A long label (--long, or any of\n"
      "--brand/--model/--sn) encodes one line of JSON in this order, without spaces:\n"
      "  {\"PROVID\":\"...\",\"BRAND\":\"...\",\"MODEL\":\"...\",\"SN\":\"...\"}\n"
      "(missing fields are empty strings). SVG labels print the Provision ID (and brand,\n"
      "model, serial number) under the code; PNG labels carry the code only, no text.\n"
      "With --report, -o SHEET.svg writes A4 pages: SHEET.svg when one page is enough,\n"
      "otherwise SHEET-1.svg, SHEET-2.svg, ...; --out-dir writes DIR/<PID>.svg|png.\n"
      "Report mode prints each file written. Long labels from a report take MODEL and SN\n"
      "from the rows and BRAND from --brand (default: the report's manufacturerName).");
  auto a = std::make_shared<LabelArgs>();
  auto* pid = label->add_option("--pid", a->pid, "Provision ID (20 Base32 characters)");
  auto* report = label->add_option("--report", a->report,
                                   "Provision ID report CSV: labels for every device in it");
  pid->excludes(report);
  label->add_option("-o,--output", a->output,
                    "Output file ('-' = stdout for one label); with --report, the sheet");
  label->add_option("--out-dir", a->out_dir, "With --report: one file per device in this dir");
  label->add_option("--format", a->format, "svg or png (default: from the -o extension, else svg)");
  label->add_flag("--long", a->long_form, "Long label: JSON with PROVID, BRAND, MODEL, SN");
  label->add_option("--brand", a->brand, "BRAND of a long label");
  label->add_option("--model", a->model, "MODEL of a long label (--pid only)");
  label->add_option("--sn", a->sn, "SN (serial number) of a long label (--pid only)");
  label->add_option("--ec", a->ec, "QR error correction level: L, M, Q or H")
      ->capture_default_str();
  label->add_option("--scale", a->scale, "PNG: pixels per module (1-100)")->capture_default_str();
  label->add_option("--module-mm", a->module_mm, "SVG label: size of one module in mm")
      ->capture_default_str();
  label->add_flag("--no-text", a->no_text, "SVG label: no text under the code");
  label->add_option("--columns", a->columns, "Sheet: labels per row (1-20)")->capture_default_str();
  label->callback([a, pid, report] {
    if (pid->count() == 0 && report->count() == 0) {
      Fail("label: give --pid PID or --report REPORT.csv");
    }
    if (!(a->module_mm > 0 && a->module_mm <= 100)) {
      Fail("label: --module-mm must be more than 0 and at most 100");
    }
    auto ec = ValueOrFail(factory::ParseQrErrorCorrection(a->ec), "--ec");
    if (report->count() > 0) {
      RunReport(*a, ec);
    } else {
      RunSingle(*a, ec);
    }
  });
}

}  // namespace roost::cmd
