// Fuzzes callback patterns and the escaping of their values. Input: one byte
// choosing the callback kind, the pattern, a NUL, then a value (any bytes).
// A pattern must compile or fail with a located error; a compiled pattern's
// parts must lie within its text and expand under every escaping, a header
// never holding a control character. Each escaping of the value must undo to
// the value (URL, form), parse back inside a JSON string (JSON), or lose only
// control characters (header).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/hex.h"
#include "core/text.h"
#include "integration/callback_template.h"

namespace {

using namespace roost;
using namespace roost::integration;

constexpr Escaping kEscapings[] = {Escaping::kUrl, Escaping::kJson, Escaping::kFormBody,
                                   Escaping::kHeader, Escaping::kText};

// Undoes %XX (and '+' as space when `plus_is_space`); traps on anything the
// encoder must not have written.
std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) __builtin_trap();
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) __builtin_trap();
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      const bool letter_or_digit =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      const bool kept = plus_is_space ? (c == '*' || c == '-' || c == '.' || c == '_')
                                      : (c == '-' || c == '.' || c == '_' || c == '~');
      if (!letter_or_digit && !kept) __builtin_trap();
      out += c;
    }
  }
  return out;
}

void CheckValueEscaping(std::string_view value) {
  const auto tmpl = Compile("{device}", CallbackKind::kDataUplink, {});
  if (!tmpl.ok()) __builtin_trap();
  Variables values;
  values.Set(Variable::kDevice, value);

  if (PercentDecode(Expand(*tmpl, values, Escaping::kUrl), false) != value) __builtin_trap();
  if (PercentDecode(Expand(*tmpl, values, Escaping::kFormBody), true) != value) __builtin_trap();

  // Quoted in the pattern: a bare variable whose value is empty is `null`.
  const auto quoted = Compile("\"{device}\"", CallbackKind::kDataUplink, {});
  if (!quoted.ok()) __builtin_trap();
  const std::string json_text = Expand(*quoted, values, Escaping::kJson);
  const nlohmann::json parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_string()) __builtin_trap();
  if (IsValidUtf8(value) && parsed.get_ref<const std::string&>() != value) __builtin_trap();

  std::string without_controls;
  std::string text;  // kText keeps TAB, CR and LF
  for (const char c : value) {
    if (!IsControl(c)) without_controls += c;
    if (!IsControl(c) || c == '\t' || c == '\r' || c == '\n') text += c;
  }
  if (Expand(*tmpl, values, Escaping::kHeader) != without_controls) __builtin_trap();
  if (Expand(*tmpl, values, Escaping::kText) != text) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto kind = static_cast<CallbackKind>(data[0] % 5);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = input.find('\0');
  const std::string_view pattern = input.substr(0, nul);
  const std::string_view value =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

  CheckValueEscaping(value);

  const std::vector<std::string> fields = {"temp", "a-b_c"};
  const auto tmpl = Compile(pattern, kind, fields);
  if (!tmpl.ok()) {
    const std::string& m = tmpl.status().message();
    if (m.rfind("position ", 0) != 0 && m.rfind("the pattern is ", 0) != 0) __builtin_trap();
    return 0;
  }
  for (const CompiledTemplate::Part& part : tmpl->parts()) {
    if (size_t{part.offset} + part.length > tmpl->text().size()) __builtin_trap();
    if (part.kind == CompiledTemplate::Part::Kind::kVariable && !IsAllowed(part.variable, kind)) {
      __builtin_trap();
    }
  }

  size_t literal_bytes = 0;
  for (const CompiledTemplate::Part& part : tmpl->parts()) {
    if (part.kind == CompiledTemplate::Part::Kind::kLiteral) literal_bytes += part.length;
  }

  // Values of several lengths, so variables differ from each other.
  Variables values;
  for (size_t i = 0; i < kVariableCount; ++i) {
    values.Set(static_cast<Variable>(i), value.substr(0, i * 3));
  }
  values.SetCustomData("temp", value);
  for (const Escaping escaping : kEscapings) {
    const std::string out = Expand(*tmpl, values, escaping);
    if (escaping == Escaping::kHeader && HasControl(out)) __builtin_trap();
    if (escaping == Escaping::kText && out.size() < literal_bytes) __builtin_trap();
  }
  // With no values, only the literal text is left.
  if (Expand(*tmpl, Variables(), Escaping::kText).size() != literal_bytes) __builtin_trap();
  return 0;
}
