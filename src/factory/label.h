// QR-code labels for LoRaWAN devices: what a label encodes, the QR matrix, and
// its rendering as SVG text, PNG bytes or a printable A4 SVG sheet.
//
// Pure: nothing here touches files; callers write the returned text/bytes.
//
// What a label encodes (byte mode, 8-bit):
// - minimal label: the canonical (uppercase) Provision ID, nothing else;
// - long label: one line of compact JSON with this fixed key order and no
//   whitespace: {"PROVID":"...","BRAND":"...","MODEL":"...","SN":"..."}.
//   Strings are escaped as JSON requires ('"', '\\'); non-ASCII text is kept
//   as UTF-8 and the QR code then carries an ECI 26 (UTF-8) header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace roost::factory {

// QR error correction level; M unless the caller asks otherwise.
enum class QrErrorCorrection { kL, kM, kQ, kH };
// "L", "M", "Q" or "H", any case.
Result<QrErrorCorrection> ParseQrErrorCorrection(std::string_view text);

struct LabelContent {
  std::string provision_id;  // canonical uppercase, 20 Base32 characters
  bool long_form = false;    // false: minimal label (the Provision ID only)
  std::string brand;         // long labels only; UTF-8
  std::string model;
  std::string serial_number;
};

// A minimal label. The Provision ID is validated with core ParseProvisionId.
Result<LabelContent> MakeMinimalLabel(std::string_view provision_id);
// A long label. Brand, model and serial number must be valid UTF-8 without
// control characters (they are printed under the code); each may be empty.
Result<LabelContent> MakeLongLabel(std::string_view provision_id, std::string_view brand,
                                   std::string_view model, std::string_view serial_number);

// The exact text the QR code carries (see the header comment).
std::string LabelPayload(const LabelContent& label);
// The human-readable lines printed under the code on SVG labels: the Provision
// ID, then for long labels "BRAND MODEL" and "SN: ..." (empty parts omitted).
std::vector<std::string> LabelTextLines(const LabelContent& label);

// A QR symbol: size x size modules, row-major, true = dark.
struct QrMatrix {
  int version = 0;  // 1..40; size == 17 + 4 * version
  int size = 0;
  std::vector<bool> modules;
  bool Dark(int x, int y) const {
    return modules[static_cast<size_t>(y) * static_cast<size_t>(size) + static_cast<size_t>(x)];
  }
};

// Encodes `payload` in byte mode at the smallest version that fits. Fails when
// the payload is empty or too long for any QR version at that level.
Result<QrMatrix> EncodeQr(std::string_view payload, QrErrorCorrection ec = QrErrorCorrection::kM);

// Modules of white border around the code (the QR specification's minimum).
inline constexpr int kQuietZone = 4;

struct SvgLabelOptions {
  double module_mm = 0.5;  // physical size of one module (sets width/height in mm)
  bool text = true;        // print LabelTextLines under the code
};

// A standalone SVG document: white background, the dark modules as one <path>
// (one "M x y h n v 1 h -n z" rectangle per horizontal run of dark modules, in
// module units, quiet zone of kQuietZone modules), then the text lines under
// the quiet zone, XML-escaped. The viewBox unit is one module.
std::string RenderLabelSvg(const QrMatrix& qr, const LabelContent& label,
                           const SvgLabelOptions& options = {});

// A 1-bit grayscale PNG of the code: `scale` pixels per module (1..100), quiet
// zone of kQuietZone modules, no text. Returns the PNG file's bytes.
Result<std::string> RenderLabelPng(const QrMatrix& qr, int scale = 8);

struct SheetOptions {
  int columns = 4;        // labels per row on the page (1..20)
  double margin_mm = 10;  // page margin
  double gap_mm = 4;      // space between labels
  QrErrorCorrection ec = QrErrorCorrection::kM;
};

// Printable A4 (210 x 297 mm) SVG pages holding every label in order, in a
// grid of options.columns columns with as many rows as fit. All labels on the
// sheet share one module size (the largest that lets the widest label fit its
// column). Returns one SVG document per page; never empty for a non-empty
// input. Fails on an empty list or a label that cannot be encoded.
Result<std::vector<std::string>> RenderSheetSvg(const std::vector<LabelContent>& labels,
                                                const SheetOptions& options = {});

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view text);

}  // namespace roost::factory
