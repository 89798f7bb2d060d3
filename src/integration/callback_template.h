// Callback patterns: the url, header values, body template, BATCH_URL line
// pattern and email subject/message of a device type's callbacks, with
// variables in braces ("https://example.com/{device}?t={time}").
//
// A pattern is checked and compiled once, when the callback is saved or
// loaded, into a list of literal and variable parts; expanding it for a
// message is then a single pass into one reserved string. Pure: no I/O.
//
// Syntax. A variable is '{' + name + '}' where the name is letters, digits,
// '_', '-' and '#' ("{device}", "{customData#temp}"); names are case-sensitive,
// as Sigfox's. Any other brace is literal text (the braces of a JSON body),
// but literal braces must pair up. So "{device" and "{device }" are refused
// (a variable never closed), "{ device }" is literal text.
//
// Variables per kind (pipeline.md):
//   every kind      {device} {deviceTypeId} {time} {data} {seqNumber}
//                   {duplicate} {snr} {avgSnr} {rssi} {station} {lat} {lng}
//                   {ack} {longPolling} {customData#<field>}
//   SERVICE STATUS  adds {temp} {batt}
//   SERVICE ACK     adds {downlinkAck}
//   ERROR           adds {info} {severity}
// {customData#<field>} names a field of the callback's own payloadConfig.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace roost::integration {

// What a callback fires for: decides which variables its patterns may use.
enum class CallbackKind : uint8_t {
  kDataUplink,          // callbackType 0, subtype 2
  kDataBidir,           // callbackType 0, subtype 3
  kServiceStatus,       // callbackType 1, subtype 0
  kServiceAcknowledge,  // callbackType 1, subtype 4
  kError,               // callbackType 2
};

// "DATA UPLINK", "DATA BIDIR", "SERVICE STATUS", "SERVICE ACKNOWLEDGE", "ERROR".
std::string_view CallbackKindName(CallbackKind kind);

// Every variable but {customData#<field>}, which is looked up by field name.
enum class Variable : uint8_t {
  kDevice,
  kDeviceTypeId,
  kTime,
  kData,
  kSeqNumber,
  kDuplicate,
  kSnr,
  kAvgSnr,
  kRssi,
  kStation,
  kLat,
  kLng,
  kAck,
  kLongPolling,
  kTemp,
  kBatt,
  kDownlinkAck,
  kInfo,
  kSeverity,
  kAvgSignal,  // the Sigfox callbacks' older name of avgSnr
};
inline constexpr size_t kVariableCount = 20;

// The name as written between the braces: "device", "avgSnr", ...
std::string_view VariableName(Variable variable);

// True when patterns of `kind` may use `variable`.
bool IsAllowed(Variable variable, CallbackKind kind);

// The values of one message (or event) as text, already formatted the way they
// are sent: time "1440578526", snr "11.20", booleans "true"/"false", data as
// lowercase hex. A value never set expands to the empty string: a message
// without a position has no {lat}, an uplink no {temp}, and the callback still
// goes out rather than failing on a value the pattern cannot always have.
// Filled for one rendering (CompiledCallback::FillVariables fills only what
// that rendering's patterns use); Clear keeps the fixed variables' storage
// for the next one.
class Variables {
 public:
  void Set(Variable variable, std::string_view value);
  // Adds or replaces the value of {customData#<field>}.
  void SetCustomData(std::string_view field, std::string_view value);
  void Clear();

  // "" when not set.
  std::string_view Get(Variable variable) const;
  std::string_view GetCustomData(std::string_view field) const;

 private:
  std::array<std::string, kVariableCount> values_;
  std::vector<std::pair<std::string, std::string>> custom_data_;
};

// How a value is written into the expanded text. Only the values are escaped;
// literal text of the pattern is copied as written, except under kHeader.
enum class Escaping : uint8_t {
  // RFC 3986 percent-encoding: every byte but ALPHA DIGIT '-' '.' '_' '~'
  // becomes %XX (uppercase hex), so a value cannot add path segments, query
  // parameters or a fragment.
  kUrl,
  // The inside of a JSON string: '"', '\' and C0 controls escaped (\n, \u001f,
  // ...), bytes that are not valid UTF-8 replaced by U+FFFD so the document
  // stays valid JSON. Numbers and booleans are text without any of those, so
  // they come out as written: "time":{time} gives a JSON number.
  kJson,
  // application/x-www-form-urlencoded (WHATWG URL standard): ALPHA DIGIT '*'
  // '-' '.' '_' kept, space as '+', every other byte %XX.
  kFormBody,
  // A header value: C0 controls (CR and LF among them) and DEL removed, from
  // the pattern's literal text too, so no pattern or value can split a header.
  kHeader,
  // As is but for C0 controls other than TAB, CR and LF, and DEL, which are
  // removed from values (a device's `char` field may hold any byte; the
  // pattern's own text, which cannot hold NUL, goes as its owner wrote it):
  // text bodies and email subjects and messages (the mail builder checks its
  // headers and drops controls from the message).
  kText,
};

// Where a pattern is used.
enum class PatternPlace : uint8_t { kUrl, kBody, kHeader, kEmail };

// The escaping for a pattern used at `place`. For kBody it follows the media
// type of `content_type` (parameters such as "; charset=utf-8" and letter case
// ignored): application/json -> kJson, application/x-www-form-urlencoded ->
// kFormBody, anything else -> kText. `content_type` is ignored elsewhere.
Escaping EscapingFor(PatternPlace place, std::string_view content_type);

// The body template a URL callback uses when it has none, as Sigfox's:
//   application/x-www-form-urlencoded  device={device}&data={data}&time={time}
//   application/json                   {"device":"{device}","data":"{data}","time":{time}}
// (media type compared as in EscapingFor). "" for every other content type:
// such a callback sends its own bodyTemplate, or an empty body.
std::string_view DefaultBodyTemplate(std::string_view content_type);

// Which variables some patterns use, so that only those are formatted for a
// message ({snr} is a float to text, {customData#…} a decoding of the payload).
struct VariableSet {
  uint32_t variables = 0;  // bit 1 << Variable
  bool custom_data = false;
  static VariableSet All() { return {~uint32_t{0}, true}; }
  bool Has(Variable v) const { return (variables >> static_cast<unsigned>(v)) & 1u; }
};

class CompiledTemplate {
 public:
  struct Part {
    enum class Kind : uint8_t { kLiteral, kVariable, kCustomData };
    Kind kind;
    Variable variable;  // kVariable only
    // The literal text (kLiteral) or the field name (kCustomData): a range of
    // the pattern text.
    uint32_t offset;
    uint32_t length;
    // A value (not a literal) outside the JSON strings of the pattern's text,
    // such as {time} in "time":{time}: in a JSON body it is written `null`
    // when the message has no value, so that the body stays JSON.
    bool bare_in_json = false;
  };

  const std::string& text() const { return text_; }
  const std::vector<Part>& parts() const { return parts_; }
  // Adds the variables this pattern uses to `set`.
  void AddUsesTo(VariableSet& set) const;

 private:
  friend Result<CompiledTemplate> Compile(std::string_view, CallbackKind,
                                          const std::vector<std::string>&);
  std::string text_;
  std::vector<Part> parts_;
  size_t literal_bytes_ = 0;
  friend std::string Expand(const CompiledTemplate&, const Variables&, Escaping);
};

// Patterns longer than this are refused (a body template is a few hundred bytes).
inline constexpr size_t kMaxPatternBytes = 64 * 1024;

// Checks and compiles `pattern` for callbacks of `kind`. `custom_data_fields`
// are the field names of the callback's payloadConfig (empty when it has none);
// {customData#<field>} must name one of them. Errors name the 1-based position
// in characters (UTF-8 code points) and the variable:
//   "position 12: unknown variable {foo} for DATA UPLINK callbacks"
//   "position 1: variable {device never closed by '}'"
//   "position 7: '}' without a matching '{'"
Result<CompiledTemplate> Compile(std::string_view pattern, CallbackKind kind,
                                 const std::vector<std::string>& custom_data_fields);

// The pattern with every variable replaced by its value in `values`, escaped
// by `escaping`. One allocation: the result is reserved at its final size.
std::string Expand(const CompiledTemplate& compiled, const Variables& values, Escaping escaping);

}  // namespace roost::integration
