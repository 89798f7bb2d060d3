// Fuzzes the product-certificate CSV import parser: any text must parse or be
// refused with located problems (never crash), and what parses must survive
// being written back as CSV (every field quoted) and parsed again unchanged,
// with every field UTF-8 without NUL.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"
#include "registry/certificates.h"

namespace {

std::string Quoted(std::string_view field) {
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  registry::CertificateUpload upload = registry::ParseCertificateCsv(text);
  if (!upload.ok()) {
    if (upload.problems.empty() || !upload.certificates.empty()) __builtin_trap();
    if (upload.problems.size() > registry::kMaxImportProblems) __builtin_trap();
    for (const auto& p : upload.problems) {
      if (p.position < 1 || p.message.empty()) __builtin_trap();
    }
    return 0;
  }
  if (upload.certificates.empty()) __builtin_trap();
  std::string csv = "key,manufacturer,productName,revision,link,notes\n";
  for (const auto& pc : upload.certificates) {
    if (pc.key.size() != 14 || pc.manufacturer.empty() || pc.product_name.empty()) {
      __builtin_trap();
    }
    // Accepted fields are text: they are stored and written back as JSON.
    for (const std::string* field :
         {&pc.manufacturer, &pc.product_name, &pc.revision, &pc.link, &pc.notes}) {
      if (FindTextFault(*field)) __builtin_trap();
    }
    csv += Quoted(pc.key) + "," + Quoted(pc.manufacturer) + "," + Quoted(pc.product_name) + "," +
           Quoted(pc.revision) + "," + Quoted(pc.link) + "," + Quoted(pc.notes) + "\n";
  }
  registry::CertificateUpload again = registry::ParseCertificateCsv(csv);
  if (!again.ok() || again.certificates != upload.certificates) __builtin_trap();
  return 0;
}
