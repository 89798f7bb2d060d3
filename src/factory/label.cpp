#include "factory/label.h"

#include <png.h>
#include <qrencode.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/identifiers.h"
#include "core/text.h"

namespace roost::factory {
namespace {

// Checks that `s` is well-formed UTF-8 (no overlong forms, no surrogates, at
// most U+10FFFF) without C0/C1 control characters or DEL. Returns an empty
// string when fine, otherwise what is wrong and where.
std::string CheckPrintableUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const std::string where = " at byte " + std::to_string(i + 1);
    uint32_t cp = 0;
    size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1Fu;
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0Fu;
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07u;
      len = 4;
    } else {
      return "invalid UTF-8" + where;
    }
    if (i + len > s.size()) return "truncated UTF-8 sequence" + where;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return "invalid UTF-8" + where;
      cp = cp << 6 | (b & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return "overlong or out-of-range UTF-8" + where;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return "UTF-8 encoded surrogate" + where;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return "control character" + where;
    i += len;
  }
  return "";
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// A number for SVG: up to 3 decimals, no trailing zeros.
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

const char* EcName(QrErrorCorrection ec) {
  switch (ec) {
    case QrErrorCorrection::kL:
      return "L";
    case QrErrorCorrection::kM:
      return "M";
    case QrErrorCorrection::kQ:
      return "Q";
    case QrErrorCorrection::kH:
      return "H";
  }
  return "?";
}

QRecLevel ToQrLevel(QrErrorCorrection ec) {
  switch (ec) {
    case QrErrorCorrection::kL:
      return QR_ECLEVEL_L;
    case QrErrorCorrection::kM:
      return QR_ECLEVEL_M;
    case QrErrorCorrection::kQ:
      return QR_ECLEVEL_Q;
    case QrErrorCorrection::kH:
      return QR_ECLEVEL_H;
  }
  return QR_ECLEVEL_M;
}

// A label drawn in module units, without the <svg> wrapper, so that single
// labels and sheets share it.
struct LabelBody {
  std::string elements;
  double width = 0;   // modules
  double height = 0;  // modules
};

LabelBody DrawLabel(const QrMatrix& qr, const LabelContent& label, bool text) {
  LabelBody body;
  const int side = qr.size + 2 * kQuietZone;
  body.width = side;
  body.height = side;

  std::vector<std::string> lines;
  double font = 0;
  if (text) {
    lines = LabelTextLines(label);
    size_t longest = 1;
    for (const auto& l : lines) longest = std::max(longest, CodePoints(l));
    // A monospace glyph is about 0.6 em wide; keep 5% of the width as margin.
    font = std::min(3.0, 0.95 * side / (0.6 * static_cast<double>(longest)));
    body.height = side + font * (1.2 * static_cast<double>(lines.size()) + 0.3);
  }

  std::string& out = body.elements;
  out += "<rect x=\"0\" y=\"0\" width=\"" + Num(body.width) + "\" height=\"" + Num(body.height) +
         "\" fill=\"#fff\"/>\n";
  out += "<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"";
  bool first = true;
  for (int y = 0; y < qr.size; ++y) {
    int x = 0;
    while (x < qr.size) {
      if (!qr.Dark(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < qr.size && qr.Dark(x + run, y)) ++run;
      if (!first) out += ' ';
      first = false;
      out += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) + "h" +
             std::to_string(run) + "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  out += "\"/>\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    const double baseline = side + font * (0.95 + 1.2 * static_cast<double>(i));
    out += "<text x=\"" + Num(side / 2.0) + "\" y=\"" + Num(baseline) +
           "\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"" + Num(font) +
           "\" text-anchor=\"middle\" fill=\"#000\">" + XmlEscape(lines[i]) + "</text>\n";
  }
  return body;
}

void PngWrite(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}
void PngFlush(png_structp) {}

}  // namespace

Result<QrErrorCorrection> ParseQrErrorCorrection(std::string_view text) {
  std::string_view s = TrimSpace(text);
  if (s.size() == 1) {
    switch (s[0]) {
      case 'l':
      case 'L':
        return QrErrorCorrection::kL;
      case 'm':
      case 'M':
        return QrErrorCorrection::kM;
      case 'q':
      case 'Q':
        return QrErrorCorrection::kQ;
      case 'h':
      case 'H':
        return QrErrorCorrection::kH;
      default:
        break;
    }
  }
  return Status::InvalidInput("error correction level '" + std::string(s) +
                              "': expected L, M, Q or H");
}

Result<LabelContent> MakeMinimalLabel(std::string_view provision_id) {
  auto pid = ParseProvisionId(provision_id);
  if (!pid.ok()) return pid.status();
  LabelContent label;
  label.provision_id = std::move(pid).value();
  return label;
}

Result<LabelContent> MakeLongLabel(std::string_view provision_id, std::string_view brand,
                                   std::string_view model, std::string_view serial_number) {
  auto label = MakeMinimalLabel(provision_id);
  if (!label.ok()) return label.status();
  const std::pair<const char*, std::string_view> fields[] = {
      {"brand", brand}, {"model", model}, {"serial number", serial_number}};
  for (const auto& [name, value] : fields) {
    std::string why = CheckPrintableUtf8(value);
    if (!why.empty()) return Status::InvalidInput(std::string(name) + ": " + why);
  }
  label->long_form = true;
  label->brand = brand;
  label->model = model;
  label->serial_number = serial_number;
  return label;
}

std::string LabelPayload(const LabelContent& label) {
  if (!label.long_form) return label.provision_id;
  // Built by hand to fix the key order; each value is escaped by nlohmann-json
  // (UTF-8 kept as is; MakeLongLabel guarantees it is valid).
  auto str = [](const std::string& v) {
    return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  return "{\"PROVID\":" + str(label.provision_id) + ",\"BRAND\":" + str(label.brand) +
         ",\"MODEL\":" + str(label.model) + ",\"SN\":" + str(label.serial_number) + "}";
}

std::vector<std::string> LabelTextLines(const LabelContent& label) {
  std::vector<std::string> lines{label.provision_id};
  if (!label.long_form) return lines;
  std::string brand_model = label.brand;
  if (!label.brand.empty() && !label.model.empty()) brand_model += ' ';
  brand_model += label.model;
  if (!brand_model.empty()) lines.push_back(brand_model);
  if (!label.serial_number.empty()) lines.push_back("SN: " + label.serial_number);
  return lines;
}

Result<QrMatrix> EncodeQr(std::string_view payload, QrErrorCorrection ec) {
  if (payload.empty()) return Status::InvalidInput("nothing to encode in the QR code");
  std::unique_ptr<QRinput, decltype(&QRinput_free)> input(QRinput_new2(0, ToQrLevel(ec)),
                                                          &QRinput_free);
  if (!input) return Status::Internal("QR encoder: out of memory");
  const bool ascii = std::all_of(payload.begin(), payload.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  // ECI 26 tells readers the bytes are UTF-8; plain ASCII needs no header.
  if (!ascii && QRinput_appendECIheader(input.get(), 26) != 0) {
    return Status::Internal("QR encoder: cannot add the UTF-8 ECI header");
  }
  if (QRinput_append(input.get(), QR_MODE_8, static_cast<int>(payload.size()),
                     reinterpret_cast<const unsigned char*>(payload.data())) != 0) {
    return Status::InvalidInput("cannot encode " + std::to_string(payload.size()) +
                                " bytes in a QR code");
  }
  errno = 0;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(QRcode_encodeInput(input.get()),
                                                       &QRcode_free);
  if (!code) {
    if (errno == ERANGE) {
      return Status::InvalidInput("label content of " + std::to_string(payload.size()) +
                                  " bytes is too long for a QR code at error correction level " +
                                  EcName(ec));
    }
    return Status::Internal("QR encoder failed");
  }
  QrMatrix qr;
  qr.version = code->version;
  qr.size = code->width;
  const size_t n = static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size);
  qr.modules.resize(n);
  for (size_t i = 0; i < n; ++i) qr.modules[i] = (code->data[i] & 1) != 0;
  return qr;
}

std::string RenderLabelSvg(const QrMatrix& qr, const LabelContent& label,
                           const SvgLabelOptions& options) {
  LabelBody body = DrawLabel(qr, label, options.text);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
         Num(body.width * options.module_mm) + "mm\" height=\"" +
         Num(body.height * options.module_mm) + "mm\" viewBox=\"0 0 " + Num(body.width) + " " +
         Num(body.height) + "\">\n";
  out += "<title>" + XmlEscape(label.provision_id) + "</title>\n";
  out += body.elements;
  out += "</svg>\n";
  return out;
}

Result<std::string> RenderLabelPng(const QrMatrix& qr, int scale) {
  if (scale < 1 || scale > 100) {
    return Status::InvalidInput("PNG scale " + std::to_string(scale) +
                                ": expected 1 to 100 pixels per module");
  }
  const int modules = qr.size + 2 * kQuietZone;
  const auto side = static_cast<png_uint_32>(modules * scale);
  // Rows are 1 bit per pixel, most significant bit first, 1 = white.
  const size_t stride = (side + 7) / 8;
  std::vector<png_byte> pixels(stride * side, 0xff);
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size; ++x) {
      if (!qr.Dark(x, y)) continue;
      for (int dy = 0; dy < scale; ++dy) {
        const size_t row = static_cast<size_t>((y + kQuietZone) * scale + dy);
        for (int dx = 0; dx < scale; ++dx) {
          const size_t col = static_cast<size_t>((x + kQuietZone) * scale + dx);
          pixels[row * stride + col / 8] &= static_cast<png_byte>(~(0x80u >> (col % 8)));
        }
      }
    }
  }
  std::vector<png_bytep> rows(side);
  for (size_t r = 0; r < side; ++r) rows[r] = pixels.data() + r * stride;

  // Everything with a destructor lives above setjmp and stays in scope, so a
  // longjmp from libpng skips no destructor.
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return Status::Internal("PNG encoder: out of memory");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return Status::Internal("PNG encoder: out of memory");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return Status::Internal("PNG encoder failed");
  }
  png_set_write_fn(png, &out, &PngWrite, &PngFlush);
  png_set_IHDR(png, info, side, side, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

Result<std::vector<std::string>> RenderSheetSvg(const std::vector<LabelContent>& labels,
                                                const SheetOptions& options) {
  constexpr double kPageWidth = 210;
  constexpr double kPageHeight = 297;
  if (labels.empty()) return Status::InvalidInput("no labels to put on the sheet");
  if (options.columns < 1 || options.columns > 20) {
    return Status::InvalidInput("columns " + std::to_string(options.columns) +
                                ": expected 1 to 20");
  }
  if (options.margin_mm < 0 || options.gap_mm < 0) {
    return Status::InvalidInput("margin and gap must not be negative");
  }
  const double cell_width =
      (kPageWidth - 2 * options.margin_mm - (options.columns - 1) * options.gap_mm) /
      options.columns;
  if (cell_width <= 0) return Status::InvalidInput("margin and gap leave no room for labels");

  std::vector<LabelBody> bodies;
  bodies.reserve(labels.size());
  double widest = 0;
  double tallest = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    auto qr = EncodeQr(LabelPayload(labels[i]), options.ec);
    if (!qr.ok()) return qr.status().WithPrefix("label " + std::to_string(i + 1));
    bodies.push_back(DrawLabel(*qr, labels[i], true));
    widest = std::max(widest, bodies.back().width);
    tallest = std::max(tallest, bodies.back().height);
  }
  const double module_mm = cell_width / widest;
  const double cell_height = tallest * module_mm;
  const double usable_height = kPageHeight - 2 * options.margin_mm - 6;  // 6 mm for the footer
  const int rows =
      static_cast<int>((usable_height + options.gap_mm) / (cell_height + options.gap_mm));
  if (rows < 1) return Status::InvalidInput("labels too tall for the page; use more columns");
  const size_t per_page = static_cast<size_t>(rows) * static_cast<size_t>(options.columns);
  const size_t pages = (bodies.size() + per_page - 1) / per_page;

  std::vector<std::string> out;
  for (size_t page = 0; page < pages; ++page) {
    std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg +=
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"210mm\" "
        "height=\"297mm\" viewBox=\"0 0 210 297\">\n";
    svg += "<rect x=\"0\" y=\"0\" width=\"210\" height=\"297\" fill=\"#fff\"/>\n";
    const size_t end = std::min(bodies.size(), (page + 1) * per_page);
    for (size_t i = page * per_page; i < end; ++i) {
      const size_t slot = i - page * per_page;
      const auto col = static_cast<double>(slot % static_cast<size_t>(options.columns));
      const auto row = static_cast<double>(slot / static_cast<size_t>(options.columns));
      const double x = options.margin_mm + col * (cell_width + options.gap_mm) +
                       (cell_width - bodies[i].width * module_mm) / 2;
      const double y = options.margin_mm + row * (cell_height + options.gap_mm);
      svg += "<g transform=\"translate(" + Num(x) + " " + Num(y) + ") scale(" +
             std::to_string(module_mm) + ")\">\n";
      svg += bodies[i].elements;
      svg += "</g>\n";
    }
    svg += "<text x=\"105\" y=\"" + Num(kPageHeight - options.margin_mm) +
           "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"3\" text-anchor=\"middle\" "
           "fill=\"#888\">page " +
           std::to_string(page + 1) + " of " + std::to_string(pages) + "</text>\n";
    svg += "</svg>\n";
    out.push_back(std::move(svg));
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace roost::factory
