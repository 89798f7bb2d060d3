#include "factory/label.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/identifiers.h"

namespace roost::factory {
namespace {

constexpr const char* kPid = "PROVISIONIDOOOOOOOOO";

LabelContent Minimal(const char* pid = kPid) {
  auto label = MakeMinimalLabel(pid);
  EXPECT_TRUE(label.ok()) << label.status().message();
  return *label;
}

LabelContent Long(const std::string& brand, const std::string& model, const std::string& sn) {
  auto label = MakeLongLabel(kPid, brand, model, sn);
  EXPECT_TRUE(label.ok()) << label.status().message();
  return *label;
}

QrMatrix Encode(const std::string& payload, QrErrorCorrection ec = QrErrorCorrection::kM) {
  auto qr = EncodeQr(payload, ec);
  EXPECT_TRUE(qr.ok()) << qr.status().message();
  return *qr;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// --- content ---------------------------------------------------------------------------------

TEST(LabelContent, ErrorCorrectionLevels) {
  EXPECT_EQ(*ParseQrErrorCorrection("L"), QrErrorCorrection::kL);
  EXPECT_EQ(*ParseQrErrorCorrection("m"), QrErrorCorrection::kM);
  EXPECT_EQ(*ParseQrErrorCorrection(" Q "), QrErrorCorrection::kQ);
  EXPECT_EQ(*ParseQrErrorCorrection("h"), QrErrorCorrection::kH);
  for (const char* bad : {"", "X", "LM", "medium", "0"}) {
    auto ec = ParseQrErrorCorrection(bad);
    ASSERT_FALSE(ec.ok()) << bad;
    EXPECT_NE(ec.status().message().find("expected L, M, Q or H"), std::string::npos);
  }
}

TEST(LabelContent, MinimalLabelIsTheCanonicalPid) {
  LabelContent label = Minimal("  provisionidOOOOOOOOO\t");
  EXPECT_EQ(label.provision_id, kPid);
  EXPECT_FALSE(label.long_form);
  EXPECT_EQ(LabelPayload(label), kPid);
  EXPECT_EQ(LabelTextLines(label), std::vector<std::string>{kPid});
}

TEST(LabelContent, BadProvisionIdsAreRejected) {
  const char* bad[] = {
      "",
      "PROVISIONIDOOOOOOOO",    // 19
      "PROVISIONIDOOOOOOOOOO",  // 21
      "PROVISIONIDOOOOOOOO0",   // 0 is not Base32
      "PROVISIONIDOOOOOOOO1",   // 1
      "PROVISIONIDOOOOOOOO8",   // 8
      "PROVISIONIDOOOOOOOO=",   // padding
      "PROVISION IDOOOOOOOO",   // inner space
  };
  for (const char* pid : bad) {
    EXPECT_FALSE(MakeMinimalLabel(pid).ok()) << pid;
    EXPECT_FALSE(MakeLongLabel(pid, "b", "m", "s").ok()) << pid;
  }
  auto r = MakeMinimalLabel("PROVISIONIDOOOOOOOO9");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("position 20"), std::string::npos) << r.status().message();
}

TEST(LabelContent, LongPayloadHasFixedKeyOrderAndNoSpaces) {
  LabelContent label = Long("MatchX", "MX1234", "S123456");
  EXPECT_TRUE(label.long_form);
  EXPECT_EQ(LabelPayload(label),
            "{\"PROVID\":\"PROVISIONIDOOOOOOOOO\",\"BRAND\":\"MatchX\",\"MODEL\":\"MX1234\","
            "\"SN\":\"S123456\"}");
  EXPECT_EQ(LabelTextLines(label),
            (std::vector<std::string>{kPid, "MatchX MX1234", "SN: S123456"}));
}

TEST(LabelContent, LongPayloadEscapesOddCharacters) {
  const std::string brand = "Say \"hi\" \\ <&>";
  const std::string model = "Müller/Ω";
  const std::string sn = "{\"SN\":1}";
  LabelContent label = Long(brand, model, sn);
  const std::string payload = LabelPayload(label);
  auto json = nlohmann::json::parse(payload);
  EXPECT_EQ(json["PROVID"], kPid);
  EXPECT_EQ(json["BRAND"], brand);
  EXPECT_EQ(json["MODEL"], model);
  EXPECT_EQ(json["SN"], sn);
  EXPECT_EQ(json.size(), 4u);
  // Key order is part of the contract.
  const size_t p = payload.find("\"PROVID\""), b = payload.find("\"BRAND\""),
               m = payload.find("\"MODEL\""), s = payload.find("\"SN\":\"");
  EXPECT_EQ(p, 1u);
  EXPECT_LT(p, b);
  EXPECT_LT(b, m);
  EXPECT_LT(m, s);
  EXPECT_NE(payload.find("Müller"), std::string::npos) << "UTF-8 is kept, not \\u-escaped";
}

TEST(LabelContent, EmptyLongFieldsAreEmptyStringsAndOmittedFromText) {
  LabelContent label = Long("", "", "");
  EXPECT_EQ(LabelPayload(label),
            "{\"PROVID\":\"PROVISIONIDOOOOOOOOO\",\"BRAND\":\"\",\"MODEL\":\"\",\"SN\":\"\"}");
  EXPECT_EQ(LabelTextLines(label), std::vector<std::string>{kPid});
  EXPECT_EQ(LabelTextLines(Long("", "MX", "")), (std::vector<std::string>{kPid, "MX"}));
}

TEST(LabelContent, BadTextFieldsAreRejectedNamingTheField) {
  struct Case {
    std::string brand, model, sn, field, why;
  };
  const Case cases[] = {
      {"a\nb", "m", "s", "brand", "control character at byte 2"},
      {"b", "tab\there", "s", "model", "control character at byte 4"},
      {"b", "m", std::string("x\x7f"), "serial number", "control character"},
      {"b", "m", "\xc2\x85", "serial number", "control character"},  // U+0085 (C1)
      {"\xff", "m", "s", "brand", "invalid UTF-8 at byte 1"},
      {"ab\xc3", "m", "s", "brand", "truncated"},
      {"\xc0\xaf", "m", "s", "brand", "invalid UTF-8"},          // overlong '/'
      {"\xe0\x80\xaf", "m", "s", "brand", "overlong"},           // overlong '/'
      {"b", "\xed\xa0\x80", "s", "model", "surrogate"},          // U+D800
      {"b", "m", "\xf4\x90\x80\x80", "serial number", "range"},  // > U+10FFFF
      {"b", "m", "\xc3(", "serial number", "invalid UTF-8"},
  };
  for (const auto& c : cases) {
    auto r = MakeLongLabel(kPid, c.brand, c.model, c.sn);
    ASSERT_FALSE(r.ok()) << c.why;
    EXPECT_EQ(r.status().message().rfind(c.field + ": ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(c.why), std::string::npos) << r.status().message();
  }
  // Valid multi-byte text of every length is accepted.
  EXPECT_TRUE(MakeLongLabel(kPid, "é", "€", "😀").ok());
}

// --- QR matrix -------------------------------------------------------------------------------

TEST(QrEncode, SizeMatchesVersionAndCapacity) {
  // 20 bytes in byte mode: version 1 holds 17/14/11/7 bytes at L/M/Q/H, version 2 holds
  // 32/26/20/14 and version 3 holds 53/42/32/24 (ISO/IEC 18004 table 7).
  const std::pair<QrErrorCorrection, int> want[] = {{QrErrorCorrection::kL, 2},
                                                    {QrErrorCorrection::kM, 2},
                                                    {QrErrorCorrection::kQ, 2},
                                                    {QrErrorCorrection::kH, 3}};
  for (const auto& [ec, version] : want) {
    QrMatrix qr = Encode(kPid, ec);
    EXPECT_EQ(qr.version, version);
    EXPECT_EQ(qr.size, 17 + 4 * qr.version);
    EXPECT_EQ(qr.modules.size(), static_cast<size_t>(qr.size * qr.size));
  }
  EXPECT_EQ(Encode(std::string(14, 'A'), QrErrorCorrection::kM).version, 1);
  EXPECT_EQ(Encode(std::string(15, 'A'), QrErrorCorrection::kM).version, 2);
  // The largest byte-mode symbol: version 40-L holds 2953 bytes.
  EXPECT_EQ(Encode(std::string(2953, 'A'), QrErrorCorrection::kL).version, 40);
}

TEST(QrEncode, FinderPatternsSitInThreeCorners) {
  QrMatrix qr = Encode(kPid);
  auto finder_at = [&](int ox, int oy) {
    for (int y = 0; y < 7; ++y) {
      for (int x = 0; x < 7; ++x) {
        const bool ring = x == 0 || y == 0 || x == 6 || y == 6;
        const bool core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
        if (qr.Dark(ox + x, oy + y) != (ring || core)) return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(finder_at(0, 0));
  EXPECT_TRUE(finder_at(qr.size - 7, 0));
  EXPECT_TRUE(finder_at(0, qr.size - 7));
  EXPECT_FALSE(finder_at(qr.size - 7, qr.size - 7));
}

TEST(QrEncode, DifferentContentGivesDifferentModules) {
  EXPECT_NE(Encode(kPid).modules, Encode("PROVISIONIDOOOOOOOOP").modules);
  EXPECT_EQ(Encode(kPid).modules, Encode(kPid).modules);
}

TEST(QrEncode, EmptyAndOversizedPayloadsAreRejected) {
  EXPECT_FALSE(EncodeQr("").ok());
  auto too_long = EncodeQr(std::string(2954, 'A'), QrErrorCorrection::kL);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("too long"), std::string::npos);
  auto too_long_h = EncodeQr(std::string(1300, 'A'), QrErrorCorrection::kH);
  ASSERT_FALSE(too_long_h.ok());
  EXPECT_NE(too_long_h.status().message().find("level H"), std::string::npos);
}

// --- SVG -------------------------------------------------------------------------------------

// Rebuilds the module matrix from the path of a single-label SVG.
std::vector<bool> ModulesFromSvg(const std::string& svg, int size) {
  std::vector<bool> modules(static_cast<size_t>(size * size), false);
  const std::regex piece("M(\\d+) (\\d+)h(\\d+)v1h-(\\d+)z");
  const size_t d = svg.find(" d=\"");
  const std::string path = svg.substr(d + 4, svg.find('"', d + 4) - d - 4);
  size_t pieces = 0;
  for (auto it = std::sregex_iterator(path.begin(), path.end(), piece);
       it != std::sregex_iterator(); ++it) {
    const int x = std::stoi((*it)[1]) - kQuietZone, y = std::stoi((*it)[2]) - kQuietZone;
    const int run = std::stoi((*it)[3]);
    EXPECT_EQ(run, std::stoi((*it)[4]));
    EXPECT_GE(x, 0);
    EXPECT_LE(x + run, size);
    EXPECT_GE(y, 0);
    EXPECT_LT(y, size);
    for (int i = 0; i < run; ++i) modules[static_cast<size_t>(y * size + x + i)] = true;
    pieces += 1;
  }
  // Nothing but whole pieces separated by single spaces.
  EXPECT_EQ(std::regex_replace(path, piece, ""), std::string(pieces - 1, ' '));
  return modules;
}

TEST(LabelSvg, PathReproducesTheMatrixInsideTheQuietZone) {
  for (auto ec : {QrErrorCorrection::kL, QrErrorCorrection::kH}) {
    LabelContent label = Long("MatchX", "MX1234", "S123456");
    QrMatrix qr = Encode(LabelPayload(label), ec);
    const std::string svg = RenderLabelSvg(qr, label);
    EXPECT_EQ(ModulesFromSvg(svg, qr.size), qr.modules);
    const int side = qr.size + 2 * kQuietZone;
    EXPECT_NE(svg.find("viewBox=\"0 0 " + std::to_string(side) + " "), std::string::npos);
  }
}

TEST(LabelSvg, DocumentIsWellFormedWithTextUnderTheCode) {
  LabelContent label = Minimal();
  QrMatrix qr = Encode(LabelPayload(label));
  const std::string svg = RenderLabelSvg(qr, label);
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(Count(svg, "<svg "), 1u);
  EXPECT_EQ(Count(svg, "<path "), 1u);
  EXPECT_EQ(Count(svg, "<text "), 1u);
  EXPECT_EQ(Count(svg, "</text>"), 1u);
  EXPECT_NE(svg.find(">PROVISIONIDOOOOOOOOO</text>"), std::string::npos);
  // Width in mm: (25 + 8) modules of 0.5 mm for a version-2 code.
  EXPECT_NE(svg.find("width=\"16.5mm\""), std::string::npos);
  // The text sits below the code and its quiet zone.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<text x=\"[0-9.]+\" y=\"([0-9.]+)\"")));
  EXPECT_GT(std::stod(m[1]), qr.size + 2 * kQuietZone);

  SvgLabelOptions opt;
  opt.text = false;
  opt.module_mm = 1;
  const std::string bare = RenderLabelSvg(qr, label, opt);
  EXPECT_EQ(Count(bare, "<text "), 0u);
  EXPECT_NE(bare.find("width=\"33mm\" height=\"33mm\" viewBox=\"0 0 33 33\""), std::string::npos);
}

TEST(LabelSvg, TextIsXmlEscaped) {
  LabelContent label = Long("A&B <Co>", "\"M\"", "it's");
  const std::string svg = RenderLabelSvg(Encode(LabelPayload(label)), label);
  EXPECT_NE(svg.find(">A&amp;B &lt;Co&gt; &quot;M&quot;</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">SN: it&apos;s</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<Co>"), std::string::npos);
  EXPECT_EQ(XmlEscape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  EXPECT_EQ(XmlEscape("plain ü"), "plain ü");
}

// --- PNG -------------------------------------------------------------------------------------

struct DecodedPng {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<std::vector<uint8_t>> gray;  // 0 = black, 255 = white
};

DecodedPng DecodePng(const std::string& bytes) {
  DecodedPng out;
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  EXPECT_NE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), 0);
  // Header fields straight from IHDR (bytes 16..25).
  auto be32 = [&](size_t at) {
    return static_cast<png_uint_32>(
        static_cast<uint8_t>(bytes[at]) << 24 | static_cast<uint8_t>(bytes[at + 1]) << 16 |
        static_cast<uint8_t>(bytes[at + 2]) << 8 | static_cast<uint8_t>(bytes[at + 3]));
  };
  out.width = be32(16);
  out.height = be32(20);
  out.bit_depth = bytes[24];
  out.color_type = bytes[25];
  image.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> buf(PNG_IMAGE_SIZE(image));
  EXPECT_NE(png_image_finish_read(&image, nullptr, buf.data(), 0, nullptr), 0);
  for (png_uint_32 y = 0; y < image.height; ++y) {
    out.gray.emplace_back(buf.begin() + y * image.width, buf.begin() + (y + 1) * image.width);
  }
  return out;
}

TEST(LabelPng, PixelsMatchTheMatrixAtTheScale) {
  QrMatrix qr = Encode(kPid);
  for (int scale : {1, 3, 8}) {
    auto png = RenderLabelPng(qr, scale);
    ASSERT_TRUE(png.ok()) << png.status().message();
    ASSERT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    DecodedPng img = DecodePng(*png);
    const auto side = static_cast<png_uint_32>((qr.size + 2 * kQuietZone) * scale);
    EXPECT_EQ(img.width, side);
    EXPECT_EQ(img.height, side);
    EXPECT_EQ(img.bit_depth, 1);
    EXPECT_EQ(img.color_type, PNG_COLOR_TYPE_GRAY);
    ASSERT_EQ(img.gray.size(), side);
    for (png_uint_32 y = 0; y < side; ++y) {
      for (png_uint_32 x = 0; x < side; ++x) {
        const int mx = static_cast<int>(x) / scale - kQuietZone;
        const int my = static_cast<int>(y) / scale - kQuietZone;
        const bool dark = mx >= 0 && my >= 0 && mx < qr.size && my < qr.size && qr.Dark(mx, my);
        ASSERT_EQ(img.gray[y][x], dark ? 0 : 255) << "pixel " << x << "," << y;
      }
    }
  }
}

TEST(LabelPng, ScaleOutOfRangeIsRejected) {
  QrMatrix qr = Encode(kPid);
  for (int scale : {0, -1, 101}) {
    auto png = RenderLabelPng(qr, scale);
    ASSERT_FALSE(png.ok());
    EXPECT_NE(png.status().message().find("scale"), std::string::npos);
  }
  EXPECT_TRUE(RenderLabelPng(qr, 100).ok());
}

// --- sheets ----------------------------------------------------------------------------------

std::string PidFor(size_t i) {
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string pid = "SHEET";
  while (pid.size() < kProvisionIdLength) {
    pid += alphabet[i % 32];
    i /= 32;
  }
  return pid;
}

TEST(LabelSheet, LabelsFlowOverA4PagesInOrder) {
  std::vector<LabelContent> labels;
  for (size_t i = 0; i < 45; ++i) labels.push_back(Minimal(PidFor(i).c_str()));
  auto pages = RenderSheetSvg(labels);
  ASSERT_TRUE(pages.ok()) << pages.status().message();
  ASSERT_GT(pages->size(), 1u);
  const size_t per_page = Count((*pages)[0], "<g transform=");
  EXPECT_EQ(pages->size(), (labels.size() + per_page - 1) / per_page);
  size_t total = 0, next = 0;
  for (size_t p = 0; p < pages->size(); ++p) {
    const std::string& svg = (*pages)[p];
    EXPECT_NE(svg.find("width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\""),
              std::string::npos);
    EXPECT_EQ(Count(svg, "<g transform="), Count(svg, "</g>"));
    EXPECT_NE(svg.find("page " + std::to_string(p + 1) + " of " + std::to_string(pages->size())),
              std::string::npos);
    total += Count(svg, "<g transform=");
    size_t pos = 0;
    for (size_t n = Count(svg, "<g transform="); n > 0; --n, ++next) {
      pos = svg.find(">" + labels[next].provision_id + "</text>", pos);
      ASSERT_NE(pos, std::string::npos) << "label " << next << " on page " << p + 1;
    }
  }
  EXPECT_EQ(total, labels.size());
}

TEST(LabelSheet, MoreColumnsFitMoreLabelsPerPage) {
  std::vector<LabelContent> labels;
  for (size_t i = 0; i < 200; ++i) labels.push_back(Minimal(PidFor(i).c_str()));
  SheetOptions three;
  three.columns = 3;
  SheetOptions six;
  six.columns = 6;
  auto a = RenderSheetSvg(labels, three);
  auto b = RenderSheetSvg(labels, six);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Count((*a)[0], "<g transform=") % 3, 0u);
  EXPECT_EQ(Count((*b)[0], "<g transform=") % 6, 0u);
  EXPECT_LT(b->size(), a->size());
}

TEST(LabelSheet, BadInputIsRejected) {
  EXPECT_FALSE(RenderSheetSvg({}).ok());
  std::vector<LabelContent> one{Minimal()};
  for (int columns : {0, 21, -3}) {
    SheetOptions opt;
    opt.columns = columns;
    auto r = RenderSheetSvg(one, opt);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("columns"), std::string::npos);
  }
  SheetOptions wide;
  wide.margin_mm = 120;
  EXPECT_FALSE(RenderSheetSvg(one, wide).ok());
  // A label whose content cannot be encoded names its position in the list.
  std::vector<LabelContent> labels{Minimal(), Long(std::string(3000, 'x'), "m", "s")};
  auto r = RenderSheetSvg(labels);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("label 2: ", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace roost::factory
