#include "integration/callback_template.h"

#include <algorithm>
#include <optional>

#include "core/text.h"

namespace roost::integration {
namespace {

struct VariableInfo {
  std::string_view name;
  // The only kind that has it; nullopt: every kind has it.
  std::optional<CallbackKind> only_for;
};

constexpr std::array<VariableInfo, kVariableCount> kVariables = {{
    {"device", std::nullopt},
    {"deviceTypeId", std::nullopt},
    {"time", std::nullopt},
    {"data", std::nullopt},
    {"seqNumber", std::nullopt},
    {"duplicate", std::nullopt},
    {"snr", std::nullopt},
    {"avgSnr", std::nullopt},
    {"rssi", std::nullopt},
    {"station", std::nullopt},
    {"lat", std::nullopt},
    {"lng", std::nullopt},
    {"ack", std::nullopt},
    {"longPolling", std::nullopt},
    {"temp", CallbackKind::kServiceStatus},
    {"batt", CallbackKind::kServiceStatus},
    {"downlinkAck", CallbackKind::kServiceAcknowledge},
    {"info", CallbackKind::kError},
    {"severity", CallbackKind::kError},
    {"avgSignal", std::nullopt},
}};

constexpr std::string_view kCustomDataPrefix = "customData#";

// Names longer than this are cut in error messages.
constexpr size_t kMaxNameInMessage = 48;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '#';
}

bool IsFieldNameChar(char c) {
  return c != '#' && IsNameChar(c);
}

// 1-based position in code points of byte `offset`: a person counts characters.
size_t CharacterPosition(std::string_view text, size_t offset) {
  size_t position = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++position;
  }
  return position;
}

std::string ShownName(std::string_view name) {
  if (name.size() <= kMaxNameInMessage) return std::string(name);
  return std::string(name.substr(0, kMaxNameInMessage)) + "...";
}

Status ErrorAt(std::string_view text, size_t offset, const std::string& what) {
  return Status::InvalidInput("position " + std::to_string(CharacterPosition(text, offset)) + ": " +
                              what);
}

std::string_view MediaType(std::string_view content_type) {
  return TrimSpace(content_type.substr(0, content_type.find(';')));
}

constexpr char kHexUpper[] = "0123456789ABCDEF";

bool IsUrlUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsFormKept(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
         c == '-' || c == '.' || c == '_';
}

// Length of the UTF-8 sequence that starts at s[i] when it is well formed, else 0.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (i + len > s.size()) return 0;
  return IsValidUtf8(s.substr(i, len)) ? len : 0;
}

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Short JSON escape of a control character, or '\0' when it needs \u00XX.
char JsonShortEscape(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return '\0';
  }
}

// Escaping::kText keeps a byte unless it is a control other than
// TAB, CR and LF.
bool KeptInText(char c) {
  return c == '\t' || c == '\r' || c == '\n' || !IsControl(c);
}

// A URL value of dots only ("." or "..", or more) has them percent-encoded:
// written as they are, a value that fills a path segment would be a dot
// segment, which the sender resolves (RFC 3986, 5.2.4), so a device's data
// could take the request to another resource of the host.
bool OnlyDots(std::string_view value) {
  return !value.empty() && value.find_first_not_of('.') == std::string_view::npos;
}

// The number of bytes AppendEscaped adds, so Expand allocates once.
size_t EscapedSize(std::string_view value, Escaping escaping) {
  size_t size = 0;
  switch (escaping) {
    case Escaping::kUrl:
      if (OnlyDots(value)) return value.size() * 3;
      for (const char ch : value) size += IsUrlUnreserved(static_cast<unsigned char>(ch)) ? 1 : 3;
      return size;
    case Escaping::kFormBody:
      for (const char ch : value) {
        size += ch == ' ' || IsFormKept(static_cast<unsigned char>(ch)) ? 1 : 3;
      }
      return size;
    case Escaping::kJson:
      for (size_t i = 0; i < value.size();) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c >= 0x80) {
          const size_t len = Utf8SequenceAt(value, i);
          size += len == 0 ? kReplacementCharacter.size() : len;
          i += len == 0 ? 1 : len;
          continue;
        }
        if (c < 0x20 || c == '"' || c == '\\') {
          size += JsonShortEscape(c) != '\0' ? 2 : 6;
        } else {
          ++size;
        }
        ++i;
      }
      return size;
    case Escaping::kHeader:
      for (const char ch : value) size += IsControl(ch) ? 0 : 1;
      return size;
    case Escaping::kText:
      for (const char ch : value) size += KeptInText(ch) ? 1 : 0;
      return size;
  }
  return value.size();
}

void AppendPercent(std::string& out, unsigned char c) {
  out += '%';
  out += kHexUpper[c >> 4];
  out += kHexUpper[c & 15];
}

void AppendEscaped(std::string& out, std::string_view value, Escaping escaping) {
  switch (escaping) {
    case Escaping::kUrl:
      if (OnlyDots(value)) {
        for (const char ch : value) AppendPercent(out, static_cast<unsigned char>(ch));
        return;
      }
      for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsUrlUnreserved(c)) {
          out += ch;
        } else {
          AppendPercent(out, c);
        }
      }
      return;
    case Escaping::kFormBody:
      for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsFormKept(c)) {
          out += ch;
        } else if (ch == ' ') {
          out += '+';
        } else {
          AppendPercent(out, c);
        }
      }
      return;
    case Escaping::kJson:
      for (size_t i = 0; i < value.size();) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c >= 0x80) {
          const size_t len = Utf8SequenceAt(value, i);
          if (len == 0) {
            out += kReplacementCharacter;
            ++i;
          } else {
            out.append(value.substr(i, len));
            i += len;
          }
          continue;
        }
        if (c < 0x20 || c == '"' || c == '\\') {
          out += '\\';
          if (const char e = JsonShortEscape(c); e != '\0') {
            out += e;
          } else {
            out += "u00";
            out += kHexUpper[c >> 4];
            out += kHexUpper[c & 15];
          }
        } else {
          out += value[i];
        }
        ++i;
      }
      return;
    case Escaping::kHeader:
      for (const char ch : value) {
        if (!IsControl(ch)) out += ch;
      }
      return;
    case Escaping::kText:
      for (const char ch : value) {
        if (KeptInText(ch)) out += ch;
      }
      return;
  }
}

}  // namespace

std::string_view CallbackKindName(CallbackKind kind) {
  switch (kind) {
    case CallbackKind::kDataUplink:
      return "DATA UPLINK";
    case CallbackKind::kDataBidir:
      return "DATA BIDIR";
    case CallbackKind::kServiceStatus:
      return "SERVICE STATUS";
    case CallbackKind::kServiceAcknowledge:
      return "SERVICE ACKNOWLEDGE";
    case CallbackKind::kError:
      return "ERROR";
  }
  return "?";
}

std::string_view VariableName(Variable variable) {
  return kVariables[static_cast<size_t>(variable)].name;
}

bool IsAllowed(Variable variable, CallbackKind kind) {
  const VariableInfo& info = kVariables[static_cast<size_t>(variable)];
  return !info.only_for.has_value() || *info.only_for == kind;
}

void Variables::Set(Variable variable, std::string_view value) {
  values_[static_cast<size_t>(variable)].assign(value);
}

void Variables::SetCustomData(std::string_view field, std::string_view value) {
  for (auto& [name, stored] : custom_data_) {
    if (name == field) {
      stored.assign(value);
      return;
    }
  }
  custom_data_.emplace_back(std::string(field), std::string(value));
}

void Variables::Clear() {
  for (std::string& v : values_) v.clear();
  custom_data_.clear();
}

std::string_view Variables::Get(Variable variable) const {
  return values_[static_cast<size_t>(variable)];
}

std::string_view Variables::GetCustomData(std::string_view field) const {
  for (const auto& [name, value] : custom_data_) {
    if (name == field) return value;
  }
  return {};
}

Escaping EscapingFor(PatternPlace place, std::string_view content_type) {
  switch (place) {
    case PatternPlace::kUrl:
      return Escaping::kUrl;
    case PatternPlace::kHeader:
      return Escaping::kHeader;
    case PatternPlace::kEmail:
      return Escaping::kText;
    case PatternPlace::kBody:
      break;
  }
  const std::string_view media = MediaType(content_type);
  // JSON by any of its names: a structured suffix (RFC 6839, `application/ld+json`)
  // says the body is JSON, and a value left unescaped there could add members.
  constexpr std::string_view kJsonSuffix = "+json";
  if (EqualsIgnoreCase(media, "application/json") || EqualsIgnoreCase(media, "text/json") ||
      (media.size() > kJsonSuffix.size() &&
       EqualsIgnoreCase(media.substr(media.size() - kJsonSuffix.size()), kJsonSuffix))) {
    return Escaping::kJson;
  }
  if (EqualsIgnoreCase(media, "application/x-www-form-urlencoded")) return Escaping::kFormBody;
  return Escaping::kText;
}

std::string_view DefaultBodyTemplate(std::string_view content_type) {
  switch (EscapingFor(PatternPlace::kBody, content_type)) {
    case Escaping::kFormBody:
      return "device={device}&data={data}&time={time}";
    case Escaping::kJson:
      return R"({"device":"{device}","data":"{data}","time":{time}})";
    default:
      return "";
  }
}

Result<CompiledTemplate> Compile(std::string_view pattern, CallbackKind kind,
                                 const std::vector<std::string>& custom_data_fields) {
  if (pattern.size() > kMaxPatternBytes) {
    return Status::InvalidInput("the pattern is " + std::to_string(pattern.size()) +
                                " bytes, at most " + std::to_string(kMaxPatternBytes));
  }
  CompiledTemplate out;
  out.text_.assign(pattern);
  const std::string_view text = out.text_;
  // Offsets of literal '{' not closed yet.
  std::vector<size_t> open_braces;
  size_t literal_start = 0;
  // Whether the pattern's own text has a JSON string open (values inside one
  // are escaped, so they never close it).
  bool in_json_string = false;
  bool json_escape = false;
  auto add_literal = [&](size_t end) {
    for (size_t k = literal_start; k < end; ++k) {
      if (json_escape) {
        json_escape = false;
      } else if (in_json_string && text[k] == '\\') {
        json_escape = true;
      } else if (text[k] == '"') {
        in_json_string = !in_json_string;
      }
    }
    if (end > literal_start) {
      out.parts_.push_back({CompiledTemplate::Part::Kind::kLiteral, Variable::kDevice,
                            static_cast<uint32_t>(literal_start),
                            static_cast<uint32_t>(end - literal_start)});
      out.literal_bytes_ += end - literal_start;
    }
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (open_braces.empty()) return ErrorAt(text, i, "'}' without a matching '{'");
      open_braces.pop_back();
      continue;
    }
    if (c != '{') continue;
    if (i + 1 >= text.size() || !IsNameChar(text[i + 1])) {
      open_braces.push_back(i);
      continue;
    }
    size_t end = i + 1;
    while (end < text.size() && IsNameChar(text[end])) ++end;
    const std::string_view name = text.substr(i + 1, end - i - 1);
    if (end >= text.size() || text[end] != '}') {
      return ErrorAt(text, i, "variable {" + ShownName(name) + " never closed by '}'");
    }
    const std::string shown = "{" + ShownName(name) + "}";
    CompiledTemplate::Part part{CompiledTemplate::Part::Kind::kVariable, Variable::kDevice, 0, 0};
    if (name.starts_with(kCustomDataPrefix)) {
      const std::string_view field = name.substr(kCustomDataPrefix.size());
      if (field.empty()) return ErrorAt(text, i, "{customData#} needs a field name");
      if (!std::all_of(field.begin(), field.end(), IsFieldNameChar)) {
        return ErrorAt(text, i,
                       "bad field name in " + shown +
                           ": a payloadConfig field name is letters, digits, '-' and '_'");
      }
      if (custom_data_fields.empty()) {
        return ErrorAt(text, i, shown + " but the callback has no payloadConfig");
      }
      if (std::find(custom_data_fields.begin(), custom_data_fields.end(), field) ==
          custom_data_fields.end()) {
        return ErrorAt(
            text, i,
            shown + ": no field '" + ShownName(field) + "' in the callback's payloadConfig");
      }
      part.kind = CompiledTemplate::Part::Kind::kCustomData;
      part.offset = static_cast<uint32_t>(i + 1 + kCustomDataPrefix.size());
      part.length = static_cast<uint32_t>(field.size());
    } else {
      const auto known = std::find_if(kVariables.begin(), kVariables.end(),
                                      [&](const VariableInfo& v) { return v.name == name; });
      const std::string unknown = "unknown variable " + shown + " for " +
                                  std::string(CallbackKindName(kind)) + " callbacks";
      if (known == kVariables.end()) return ErrorAt(text, i, unknown);
      part.variable = static_cast<Variable>(known - kVariables.begin());
      if (!IsAllowed(part.variable, kind)) {
        return ErrorAt(text, i,
                       unknown + " (only " + std::string(CallbackKindName(*known->only_for)) +
                           " callbacks have it)");
      }
    }
    add_literal(i);
    part.bare_in_json = !in_json_string;
    out.parts_.push_back(part);
    i = end;
    literal_start = end + 1;
  }
  if (!open_braces.empty()) {
    return ErrorAt(text, open_braces.front(), "'{' without a matching '}'");
  }
  add_literal(text.size());
  return out;
}

void CompiledTemplate::AddUsesTo(VariableSet& set) const {
  for (const Part& part : parts_) {
    if (part.kind == Part::Kind::kVariable) {
      set.variables |= uint32_t{1} << static_cast<unsigned>(part.variable);
    } else if (part.kind == Part::Kind::kCustomData) {
      set.custom_data = true;
    }
  }
}

std::string Expand(const CompiledTemplate& compiled, const Variables& values, Escaping escaping) {
  using Kind = CompiledTemplate::Part::Kind;
  const std::string_view text = compiled.text_;
  auto value_of = [&](const CompiledTemplate::Part& part) {
    return part.kind == Kind::kVariable
               ? values.Get(part.variable)
               : values.GetCustomData(text.substr(part.offset, part.length));
  };

  // A header must not be split by the pattern's own text either.
  const Escaping literal_escaping =
      escaping == Escaping::kHeader ? Escaping::kHeader : Escaping::kText;
  // A JSON body's bare value that the message lacks is `null`.
  constexpr std::string_view kNull = "null";
  auto is_null = [&](const CompiledTemplate::Part& part, std::string_view value) {
    return escaping == Escaping::kJson && part.bare_in_json && value.empty();
  };
  size_t size = literal_escaping == Escaping::kText ? compiled.literal_bytes_ : 0;
  for (const CompiledTemplate::Part& part : compiled.parts_) {
    if (part.kind != Kind::kLiteral) {
      const std::string_view value = value_of(part);
      size += is_null(part, value) ? kNull.size() : EscapedSize(value, escaping);
    } else if (literal_escaping == Escaping::kHeader) {
      size += EscapedSize(text.substr(part.offset, part.length), Escaping::kHeader);
    }
  }
  std::string out;
  out.reserve(size);
  for (const CompiledTemplate::Part& part : compiled.parts_) {
    if (part.kind == Kind::kLiteral) {
      // The pattern's own text, as its owner wrote it, but for a header.
      if (literal_escaping == Escaping::kHeader) {
        AppendEscaped(out, text.substr(part.offset, part.length), Escaping::kHeader);
      } else {
        out.append(text.substr(part.offset, part.length));
      }
    } else if (const std::string_view value = value_of(part); is_null(part, value)) {
      out += kNull;
    } else {
      AppendEscaped(out, value, escaping);
    }
  }
  return out;
}

}  // namespace roost::integration
