#include "pipeline/ingest_body.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include "core/hex.h"
#include "core/json_place.h"
#include "core/text.h"

namespace roost::pipeline {

namespace od = simdjson::ondemand;

namespace {

// What each field must be. The ranges repeat ingest_body.h's constants.
constexpr std::string_view kDeviceProblem = "must be a device ID of 1 to 8 hex digits";
constexpr std::string_view kSeqProblem = "must be an integer 0..4095";
constexpr std::string_view kDataProblem = "must be 0 to 12 bytes as an even number of hex digits";
constexpr std::string_view kTimeMsProblem =
    "must be epoch milliseconds, an integer 1..253402300799999";
constexpr std::string_view kTimeSecondsProblem =
    "must be epoch seconds, an integer 1..253402300799";
constexpr std::string_view kStationProblem = "must be a station ID of 4 hex digits";
constexpr std::string_view kRssiProblem = "must be a number -200..0 (dBm)";
constexpr std::string_view kSnrProblem = "must be a number -50..100 (dB)";
constexpr std::string_view kFreqProblem = "must be an integer 0..6000000000 (Hz)";
constexpr std::string_view kBoolProblem = "must be true or false";
constexpr std::string_view kLatProblem = "must be a number -90..90";
constexpr std::string_view kLngProblem = "must be a number -180..180";
constexpr std::string_view kTypeProblem = "must be STATUS or ACKNOWLEDGE";
constexpr std::string_view kTempProblem = "must be a number -100..200 (°C)";
constexpr std::string_view kBattProblem = "must be a number 0..100 (V)";

constexpr std::string_view kRequired = "required";
constexpr std::string_view kRepeated = "given more than once";
constexpr std::string_view kNotJson = "not valid JSON";
constexpr std::string_view kNotObject = "must be a JSON object";
constexpr std::string_view kNestedUnknown =
    "an unknown member holds an object or array (reports are flat)";
constexpr std::string_view kBadUnknownNumber = "an unknown member holds an unreadable number";
constexpr std::string_view kNulUnknown = "an unknown member contains a NUL byte";

// Whether numbers and booleans may come as strings: the Sigfox Cloud writes
// its variables into the user's body template, quoted or not.
enum class Types { kStrict, kTextToo };

// One member's value, read in place: strings point into the parser's buffer
// (or the form decoder's), nothing is allocated.
struct Scalar {
  enum class Kind { kString, kNumber, kBadNumber, kBool, kNull, kNested };
  Kind kind = Kind::kNull;
  std::string_view text;  // kString: unescaped
  bool boolean = false;
  bool integral = false;  // kNumber written as an integer that fits int64_t
  int64_t integer = 0;
  double number = 0;
};

// Where a report sits: a batch names its index, a single report nothing.
struct Where {
  bool in_batch = false;
  size_t index = 0;
};

std::string ReportName(const Where& w) {
  return "reports[" + std::to_string(w.index) + "]";
}

Status FieldFault(const Where& w, std::string_view field, std::string_view problem) {
  std::string m = w.in_batch ? ReportName(w) + "." : std::string();
  m.append(field).append(": ").append(problem);
  return Status::InvalidInput(std::move(m));
}

Status WholeFault(const Where& w, std::string_view problem) {
  std::string m = w.in_batch ? ReportName(w) : std::string("body");
  m.append(": ").append(problem);
  return Status::InvalidInput(std::move(m));
}

// --- values ------------------------------------------------------------------

// Reads (and so validates) a scalar; an object or array is left unread as
// kNested, so nothing is ever walked deeper than the format needs. False
// where the JSON is malformed.
bool ReadScalar(od::value v, Scalar& s) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::string:
      s.kind = Scalar::Kind::kString;
      return !v.get_string().get(s.text);
    case od::json_type::number: {
      s.kind = Scalar::Kind::kNumber;
      // raw_json_token only looks; an integer literal is read exactly.
      if (v.raw_json_token().find_first_of(".eE") == std::string_view::npos) {
        if (!v.get_int64().get(s.integer)) {
          s.integral = true;
          s.number = static_cast<double>(s.integer);
          return true;
        }
        // Else too large for 64 bits (simdjson says so in more than one way):
        // read as a double.
      }
      if (v.get_double().get(s.number)) s.kind = Scalar::Kind::kBadNumber;
      return true;
    }
    case od::json_type::boolean:
      s.kind = Scalar::Kind::kBool;
      return !v.get_bool().get(s.boolean);
    case od::json_type::null: {
      bool null = false;
      s.kind = Scalar::Kind::kNull;
      return !v.is_null().get(null) && null;
    }
    case od::json_type::array:
    case od::json_type::object:
      s.kind = Scalar::Kind::kNested;
      return true;
  }
  return false;
}

bool HasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

bool IsNull(const Scalar& s) {
  return s.kind == Scalar::Kind::kNull;
}

// A Sigfox callback's optional variable left empty: its body template writes
// `lat={lat}` whether or not there is a position (as Roost's own callbacks do).
bool IsNullOrEmpty(const Scalar& s) {
  return IsNull(s) || (s.kind == Scalar::Kind::kString && s.text.empty());
}

bool IntegerIn(const Scalar& s, Types types, int64_t lo, int64_t hi, int64_t& out) {
  int64_t v = 0;
  if (s.kind == Scalar::Kind::kNumber && s.integral) {
    v = s.integer;
  } else if (s.kind == Scalar::Kind::kString && types == Types::kTextToo) {
    const char* end = s.text.data() + s.text.size();
    const auto [p, ec] = std::from_chars(s.text.data(), end, v);
    if (ec != std::errc() || p != end || s.text.empty()) return false;
  } else {
    return false;
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

bool NumberIn(const Scalar& s, Types types, double lo, double hi, double& out) {
  double v = 0;
  if (s.kind == Scalar::Kind::kNumber) {
    v = s.number;
  } else if (s.kind == Scalar::Kind::kString && types == Types::kTextToo) {
    const char* end = s.text.data() + s.text.size();
    const auto [p, ec] = std::from_chars(s.text.data(), end, v, std::chars_format::general);
    if (ec != std::errc() || p != end || s.text.empty()) return false;
  } else {
    return false;
  }
  // The comparisons are false for NaN, so only finite values in range pass.
  if (!(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

bool BoolOf(const Scalar& s, Types types, bool& out) {
  if (s.kind == Scalar::Kind::kBool) {
    out = s.boolean;
    return true;
  }
  if (s.kind != Scalar::Kind::kString || types != Types::kTextToo) return false;
  if (EqualsIgnoreCase(s.text, "true")) {
    out = true;
    return true;
  }
  if (EqualsIgnoreCase(s.text, "false")) {
    out = false;
    return true;
  }
  return false;
}

// 1 to 8 hex digits, either case (the API writes "2C").
bool DeviceOf(const Scalar& s, SigfoxId& out) {
  if (s.kind != Scalar::Kind::kString || s.text.empty() || s.text.size() > 8) return false;
  uint32_t v = 0;
  for (char c : s.text) {
    const int d = HexValue(c);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  out.value = v;
  return true;
}

// Hex digits, `out` in the case given by `fold`; the length is checked by the caller.
template <char (*fold)(char)>
bool HexOf(std::string_view text, std::string& out) {
  if (!std::all_of(text.begin(), text.end(), IsHexDigit)) return false;
  out.resize(text.size());
  std::transform(text.begin(), text.end(), out.begin(), fold);
  return true;
}

bool DataOf(const Scalar& s, std::string& out) {
  return s.kind == Scalar::Kind::kString && s.text.size() % 2 == 0 &&
         s.text.size() <= 2 * kMaxDataBytes && HexOf<AsciiLower>(s.text, out);
}

bool StationOf(const Scalar& s, std::string& out) {
  return s.kind == Scalar::Kind::kString && s.text.size() == 4 && HexOf<AsciiUpper>(s.text, out);
}

// --- members -----------------------------------------------------------------

struct FieldName {
  std::string_view name;
  unsigned bit;
};

template <size_t N>
const FieldName* FindField(const FieldName (&table)[N], std::string_view name) {
  for (const FieldName& f : table) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The bookkeeping every member shares: once only, no NUL, then the field's
// own verdict.
Status Take(unsigned& seen, const FieldName& f, const Scalar& s, const Where& w, bool ok,
            std::string_view problem) {
  if (seen & f.bit) return FieldFault(w, f.name, kRepeated);
  seen |= f.bit;
  if (s.kind == Scalar::Kind::kString && HasNul(s.text)) return FieldFault(w, f.name, kNulProblem);
  if (!ok) return FieldFault(w, f.name, problem);
  return Status::Ok();
}

Status Unknown(std::string_view key, const Scalar& s, const Where& w) {
  if (s.kind == Scalar::Kind::kNested) return WholeFault(w, kNestedUnknown);
  if (s.kind == Scalar::Kind::kBadNumber) return WholeFault(w, kBadUnknownNumber);
  if (HasNul(key) || (s.kind == Scalar::Kind::kString && HasNul(s.text))) {
    return WholeFault(w, kNulUnknown);
  }
  return Status::Ok();
}

// Feeds each member of a JSON object to `on_member(key, scalar)` (returning
// Status), stopping at the first fault.
template <typename OnMember>
Status ReadMembers(od::object object, const Where& w, OnMember&& on_member) {
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return WholeFault(w, kNotJson);
    od::value v;
    if (field.value().get(v)) return WholeFault(w, kNotJson);
    Scalar s;
    if (!ReadScalar(v, s)) return WholeFault(w, kNotJson);
    ROOST_RETURN_IF_ERROR(on_member(key, s));
  }
  return Status::Ok();
}

enum UplinkBit : unsigned {
  kDevice = 1u << 0,
  kSeq = 1u << 1,
  kData = 1u << 2,
  kTime = 1u << 3,
  kStation = 1u << 4,
  kRssi = 1u << 5,
  kSnr = 1u << 6,
  kFreq = 1u << 7,
  kAck = 1u << 8,
  kAvgSnr = 1u << 9,
  kLat = 1u << 10,
  kLng = 1u << 11,
  kDuplicate = 1u << 12,
};

// In the order a missing one is reported.
constexpr FieldName kUplinkFields[] = {{"device", kDevice}, {"seqNumber", kSeq},   {"data", kData},
                                       {"time", kTime},     {"station", kStation}, {"rssi", kRssi},
                                       {"snr", kSnr},       {"freq", kFreq},       {"ack", kAck}};
constexpr unsigned kUplinkRequired = kDevice | kSeq | kData | kTime | kStation | kRssi | kSnr;
// A Sigfox callback's extra variables.
constexpr FieldName kSigfoxExtraFields[] = {
    {"avgSnr", kAvgSnr}, {"lat", kLat}, {"lng", kLng}, {"duplicate", kDuplicate}};

// One uplink report, member by member, from JSON or form fields.
class UplinkReader {
 public:
  UplinkReader(UplinkReport& report, const Where& where, bool sigfox)
      : report_(report), where_(where), sigfox_(sigfox) {}

  bool Knows(std::string_view key) const { return Find(key) != nullptr; }

  Status Member(std::string_view key, const Scalar& s) {
    const FieldName* f = Find(key);
    if (f == nullptr) return Unknown(key, s, where_);
    const Types types = sigfox_ ? Types::kTextToo : Types::kStrict;
    UplinkReport& r = report_;
    bool ok = false;
    std::string_view problem;
    switch (f->bit) {
      case kDevice:
        ok = DeviceOf(s, r.device);
        problem = kDeviceProblem;
        break;
      case kSeq:
        ok = IntegerIn(s, types, 0, 4095, r.seq_number);
        problem = kSeqProblem;
        break;
      case kData:
        ok = DataOf(s, r.data);
        problem = kDataProblem;
        break;
      case kTime:
        if (sigfox_) {
          ok = IntegerIn(s, types, 1, kMaxEpochSeconds, r.time);
          r.time *= 1000;
          problem = kTimeSecondsProblem;
        } else {
          ok = IntegerIn(s, types, 1, kMaxEpochMillis, r.time);
          problem = kTimeMsProblem;
        }
        break;
      case kStation:
        ok = StationOf(s, r.station);
        problem = kStationProblem;
        break;
      case kRssi:
        ok = NumberIn(s, types, kMinRssi, kMaxRssi, r.rssi);
        problem = kRssiProblem;
        break;
      case kSnr:
        ok = NumberIn(s, types, kMinSnr, kMaxSnr, r.snr);
        problem = kSnrProblem;
        break;
      case kFreq:
        ok = IsNull(s) || IntegerIn(s, types, 0, kMaxFreq, r.freq);
        problem = kFreqProblem;
        break;
      case kAck:
        ok = IsNull(s) || BoolOf(s, types, r.ack);
        problem = kBoolProblem;
        break;
      case kAvgSnr: {
        // The Sigfox Cloud writes {avgSnr} as "N/A" until a device has sent
        // 15 messages: every new device's first frames carry it.
        double ignored = 0;
        ok = IsNullOrEmpty(s) || (s.kind == Scalar::Kind::kString && s.text == "N/A") ||
             NumberIn(s, types, kMinSnr, kMaxSnr, ignored);
        problem = kSnrProblem;
        break;
      }
      case kLat: {
        double ignored = 0;
        ok = IsNullOrEmpty(s) || NumberIn(s, types, -90, 90, ignored);
        problem = kLatProblem;
        break;
      }
      case kLng: {
        double ignored = 0;
        ok = IsNullOrEmpty(s) || NumberIn(s, types, -180, 180, ignored);
        problem = kLngProblem;
        break;
      }
      case kDuplicate: {
        bool ignored = false;
        ok = IsNullOrEmpty(s) || BoolOf(s, types, ignored);
        problem = kBoolProblem;
        break;
      }
      default:
        break;
    }
    return Take(seen_, *f, s, where_, ok, problem);
  }

  Status Finish() const {
    for (const FieldName& f : kUplinkFields) {
      if ((kUplinkRequired & f.bit) && !(seen_ & f.bit))
        return FieldFault(where_, f.name, kRequired);
    }
    return Status::Ok();
  }

 private:
  const FieldName* Find(std::string_view key) const {
    if (const FieldName* f = FindField(kUplinkFields, key)) return f;
    return sigfox_ ? FindField(kSigfoxExtraFields, key) : nullptr;
  }

  UplinkReport& report_;
  Where where_;
  bool sigfox_;
  unsigned seen_ = 0;
};

// --- documents ---------------------------------------------------------------

// The parser and the padded copy of the input, per thread: their buffers stay
// for the next body, so a steady stream of requests allocates nothing here.
// A body above kKeptBodySize gets its own, so that one huge body does not pin
// its memory in every handler thread.
struct Scratch {
  od::parser parser;
  std::string text;
};
constexpr size_t kKeptBodySize = size_t{1} << 20;

// Outside the template: a thread_local there would be one per instantiation.
Scratch& KeptScratch() {
  thread_local Scratch kept;
  return kept;
}

// Runs `read(document)` (returning Status) on `body`, then refuses anything
// after the root value.
// Where a body that is not valid JSON stops being JSON: " at line L, column C
// (byte offset O)", as the other routes say it, or "" should that reader
// accept it. On the refusal's path only: simdjson's on-demand reader tells
// that something is wrong, not where.
std::string JsonErrorPlace(std::string_view body) {
  auto offset = JsonStopOffset(body);
  return offset ? DescribePlace(body, *offset) : "";
}

// `status`, with where the body stops being JSON when that is what it says.
Status PlacedIfNotJson(Status status, std::string_view body) {
  if (status.ok() || !status.message().ends_with(kNotJson)) return status;
  return Status::InvalidInput(status.message() + JsonErrorPlace(body));
}

template <typename Read>
Status WithDocument(std::string_view body, Read&& read) {
  std::optional<Scratch> own;
  Scratch& scratch = body.size() <= kKeptBodySize ? KeptScratch() : own.emplace();
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; spaces there
  // keep those reads defined.
  scratch.text.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  scratch.text.assign(body);
  scratch.text.append(simdjson::SIMDJSON_PADDING, ' ');
  od::document doc;
  const simdjson::error_code e =
      scratch.parser.iterate(scratch.text.data(), body.size(), scratch.text.size()).get(doc);
  if (e == simdjson::UTF8_ERROR)
    return Status::InvalidInput("body: " + std::string(kNotUtf8Problem));
  if (e == simdjson::EMPTY) return Status::InvalidInput("body: empty; a JSON value is required");
  if (e) return PlacedIfNotJson(Status::InvalidInput("body: " + std::string(kNotJson)), body);
  ROOST_RETURN_IF_ERROR(PlacedIfNotJson(read(doc), body));
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Status::InvalidInput("body: text after the JSON value");
  }
  return Status::Ok();
}

// The type of the root, refusing malformed JSON.
Result<od::json_type> RootType(od::document& doc) {
  od::json_type type;
  if (doc.type().get(type)) return Status::InvalidInput("body: " + std::string(kNotJson));
  return type;
}

Status ReadUplinkObject(od::object object, const Where& w, UplinkReport& out) {
  UplinkReader reader(out, w, /*sigfox=*/false);
  ROOST_RETURN_IF_ERROR(ReadMembers(
      object, w, [&](std::string_view key, const Scalar& s) { return reader.Member(key, s); }));
  return reader.Finish();
}

// --- forms -------------------------------------------------------------------

// application/x-www-form-urlencoded: percent escapes, '+' for a space. False
// on a malformed escape.
bool FormDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (in.size() - i < 3) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    }
  }
  return true;
}

template <typename Reader>  // UplinkReader or ServiceReader
Status ReadForm(std::string_view body, Reader& reader) {
  const Where whole;
  std::string name;
  std::string value;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!FormDecode(pair.substr(0, eq), name)) {
      return WholeFault(whole, "a field name has a malformed percent escape");
    }
    if (auto fault = FindTextFault(name)) {
      return WholeFault(whole, "a field name: " + std::string(fault->problem));
    }
    // Only a known name may be quoted in a message: it is then one of ours.
    const bool known = reader.Knows(name);
    if (!FormDecode(raw_value, value)) {
      return known ? FieldFault(whole, name, "malformed percent escape")
                   : WholeFault(whole, "an unknown field has a malformed percent escape");
    }
    if (auto fault = FindTextFault(value)) {
      return known ? FieldFault(whole, name, fault->problem)
                   : WholeFault(whole, "an unknown field: " + std::string(fault->problem));
    }
    Scalar s;
    s.kind = Scalar::Kind::kString;
    s.text = value;
    ROOST_RETURN_IF_ERROR(reader.Member(name, s));
  }
  return Status::Ok();
}

// --- service reports ---------------------------------------------------------

enum ServiceBit : unsigned {
  kServiceDevice = 1u << 0,
  kServiceType = 1u << 1,
  kServiceTime = 1u << 2,
  kServiceStation = 1u << 3,
  kServiceSeq = 1u << 4,
  kServiceTemp = 1u << 5,
  kServiceBatt = 1u << 6,
  kServiceAck = 1u << 7,
};

constexpr FieldName kServiceFields[] = {{"device", kServiceDevice}, {"type", kServiceType},
                                        {"time", kServiceTime},     {"station", kServiceStation},
                                        {"seqNumber", kServiceSeq}, {"temp", kServiceTemp},
                                        {"batt", kServiceBatt},     {"downlinkAck", kServiceAck}};

std::string_view ServiceFieldName(unsigned bit) {
  for (const FieldName& f : kServiceFields) {
    if (f.bit == bit) return f.name;
  }
  return {};
}

// A Sigfox Cloud SERVICE callback's other variables: checked as scalars, not
// kept (Roost de-duplicates by itself; the signal of a service frame is not
// recorded).
enum ServiceExtraBit : unsigned {
  kServiceDuplicate = 1u << 8,
  kServiceSnr = 1u << 9,
  kServiceRssi = 1u << 10,
  kServiceAvgSnr = 1u << 11,
  kServiceLat = 1u << 12,
  kServiceLng = 1u << 13,
  kServiceInfoCode = 1u << 14,
  kServiceInfoMessage = 1u << 15,
};
constexpr FieldName kSigfoxServiceExtraFields[] = {{"duplicate", kServiceDuplicate},
                                                   {"snr", kServiceSnr},
                                                   {"rssi", kServiceRssi},
                                                   {"avgSnr", kServiceAvgSnr},
                                                   {"lat", kServiceLat},
                                                   {"lng", kServiceLng},
                                                   {"infoCode", kServiceInfoCode},
                                                   {"infoMessage", kServiceInfoMessage}};

// One service report, member by member, from JSON (POST /api/ingest/service)
// or, for a Sigfox Cloud SERVICE callback, from JSON or form fields.
class ServiceReader {
 public:
  ServiceReader(ServiceReport& report, bool sigfox) : report_(report), sigfox_(sigfox) {}

  bool Knows(std::string_view key) const { return Find(key) != nullptr; }

  Status Member(std::string_view key, const Scalar& s) {
    const FieldName* f = Find(key);
    if (f == nullptr) return Unknown(key, s, where_);
    const Types types = sigfox_ ? Types::kTextToo : Types::kStrict;
    ServiceReport& r = report_;
    bool ok = false;
    std::string_view problem;
    switch (f->bit) {
      case kServiceDevice:
        ok = DeviceOf(s, r.device);
        problem = kDeviceProblem;
        break;
      case kServiceType: {
        const auto* entry =
            s.kind == Scalar::Kind::kString ? EnumByName(kServiceReportTypes, s.text) : nullptr;
        ok = entry != nullptr;
        if (ok) r.type = entry->value;
        problem = kTypeProblem;
        break;
      }
      case kServiceTime:
        if (sigfox_) {
          ok = IntegerIn(s, types, 1, kMaxEpochSeconds, r.time);
          r.time *= 1000;
          problem = kTimeSecondsProblem;
        } else {
          ok = IntegerIn(s, types, 1, kMaxEpochMillis, r.time);
          problem = kTimeMsProblem;
        }
        break;
      case kServiceStation:
        ok = StationOf(s, r.station);
        problem = kStationProblem;
        break;
      case kServiceSeq: {
        int64_t seq = 0;
        ok = IsNullOrEmptyIf(s) || IntegerIn(s, types, 0, 4095, seq);
        if (ok && !IsNullOrEmptyIf(s)) r.seq_number = seq;
        problem = kSeqProblem;
        break;
      }
      case kServiceTemp:
        ok = NumberIn(s, types, kMinTemperature, kMaxTemperature, r.temp);
        problem = kTempProblem;
        break;
      case kServiceBatt:
        ok = NumberIn(s, types, kMinBattery, kMaxBattery, r.batt);
        problem = kBattProblem;
        break;
      case kServiceAck:
        ok = BoolOf(s, types, r.downlink_ack);
        problem = kBoolProblem;
        break;
      default:  // a Sigfox callback's other variables: any readable scalar
        ok = s.kind != Scalar::Kind::kNested && s.kind != Scalar::Kind::kBadNumber;
        problem = "must be a text, a number, true, false or null";
        break;
    }
    return Take(seen_, *f, s, where_, ok, problem);
  }

  Status Finish() {
    ServiceReport& r = report_;
    for (unsigned bit : {kServiceDevice, kServiceType, kServiceTime, kServiceStation}) {
      // A Sigfox callback may say its kind by its variables alone.
      if (bit == kServiceType && sigfox_) continue;
      if (!(seen_ & bit)) return FieldFault(where_, ServiceFieldName(bit), kRequired);
    }
    if (!(seen_ & kServiceType)) {
      // {downlinkAck} is ACKNOWLEDGE's, {temp} and {batt} STATUS's.
      r.type = (seen_ & kServiceAck) ? ServiceReportType::kAcknowledge : ServiceReportType::kStatus;
    }
    const bool status = r.type == ServiceReportType::kStatus;
    for (unsigned bit : {kServiceTemp, kServiceBatt}) {
      if (status && !(seen_ & bit)) return FieldFault(where_, ServiceFieldName(bit), kRequired);
      if (!status && (seen_ & bit))
        return FieldFault(where_, ServiceFieldName(bit), "only in a STATUS report");
    }
    if (!status && !(seen_ & kServiceAck)) return FieldFault(where_, "downlinkAck", kRequired);
    if (status && (seen_ & kServiceAck)) {
      return FieldFault(where_, "downlinkAck", "only in an ACKNOWLEDGE report");
    }
    return Status::Ok();
  }

 private:
  // A Sigfox callback writes an absent {seqNumber} as an empty text.
  bool IsNullOrEmptyIf(const Scalar& s) const { return sigfox_ ? IsNullOrEmpty(s) : IsNull(s); }

  const FieldName* Find(std::string_view key) const {
    if (const FieldName* f = FindField(kServiceFields, key)) return f;
    return sigfox_ ? FindField(kSigfoxServiceExtraFields, key) : nullptr;
  }

  ServiceReport& report_;
  bool sigfox_;
  Where where_;
  unsigned seen_ = 0;
};

Status ReadService(od::object object, ServiceReport& r) {
  ServiceReader reader(r, /*sigfox=*/false);
  ROOST_RETURN_IF_ERROR(ReadMembers(object, Where{}, [&](std::string_view key, const Scalar& s) {
    return reader.Member(key, s);
  }));
  return reader.Finish();
}

// A Sigfox Cloud callback's body, fed member by member to `reader` (an
// UplinkReader or a ServiceReader): form fields or a JSON object, by its
// Content-Type.
template <typename Reader>
Status ReadSigfoxBody(std::string_view body, std::string_view content_type, Reader& reader) {
  const std::string_view media = TrimSpace(content_type.substr(0, content_type.find(';')));
  if (EqualsIgnoreCase(media, "application/x-www-form-urlencoded")) {
    ROOST_RETURN_IF_ERROR(ReadForm(body, reader));
    return reader.Finish();
  }
  if (!EqualsIgnoreCase(media, "application/json")) {
    return Status::InvalidInput(
        "Content-Type: must be application/json or application/x-www-form-urlencoded");
  }
  return WithDocument(body, [&](od::document& doc) -> Status {
    auto type = RootType(doc);
    if (!type.ok()) return type.status();
    od::object object;
    if (*type != od::json_type::object)
      return Status::InvalidInput("body: " + std::string(kNotObject));
    if (doc.get_object().get(object)) return Status::InvalidInput("body: " + std::string(kNotJson));
    ROOST_RETURN_IF_ERROR(ReadMembers(object, Where{}, [&](std::string_view key, const Scalar& s) {
      return reader.Member(key, s);
    }));
    return reader.Finish();
  });
}

}  // namespace

Result<std::vector<UplinkReport>> ParseUplinkReports(std::string_view body) {
  std::vector<UplinkReport> out;
  Status status = WithDocument(body, [&](od::document& doc) -> Status {
    auto type = RootType(doc);
    if (!type.ok()) return type.status();
    if (*type == od::json_type::object) {
      od::object object;
      if (doc.get_object().get(object))
        return Status::InvalidInput("body: " + std::string(kNotJson));
      return ReadUplinkObject(object, Where{}, out.emplace_back());
    }
    if (*type != od::json_type::array) {
      return Status::InvalidInput("body: must be a JSON object or an array of objects");
    }
    od::array items;
    if (doc.get_array().get(items)) return Status::InvalidInput("body: " + std::string(kNotJson));
    // The shortest report takes about 80 bytes of text; so no reallocation.
    out.reserve(std::min(kMaxReportsPerRequest, body.size() / 80 + 1));
    size_t index = 0;
    for (auto element : items) {
      const Where w{true, index};
      if (index == kMaxReportsPerRequest) {
        return Status::InvalidInput("reports: at most " + std::to_string(kMaxReportsPerRequest) +
                                    " reports per request");
      }
      od::json_type t;
      if (element.type().get(t)) return WholeFault(w, kNotJson);
      if (t != od::json_type::object) return WholeFault(w, kNotObject);
      od::object object;
      if (element.get_object().get(object)) return WholeFault(w, kNotJson);
      ROOST_RETURN_IF_ERROR(ReadUplinkObject(object, w, out.emplace_back()));
      ++index;
    }
    if (index == 0) return Status::InvalidInput("reports: at least one report is required");
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return out;
}

Result<UplinkReport> ParseSigfoxCallbackBody(std::string_view body, std::string_view content_type) {
  UplinkReport report;
  UplinkReader reader(report, Where{}, /*sigfox=*/true);
  ROOST_RETURN_IF_ERROR(ReadSigfoxBody(body, content_type, reader));
  return report;
}

Result<ServiceReport> ParseServiceReport(std::string_view body) {
  ServiceReport report;
  ROOST_RETURN_IF_ERROR(WithDocument(body, [&](od::document& doc) -> Status {
    auto type = RootType(doc);
    if (!type.ok()) return type.status();
    od::object object;
    if (*type != od::json_type::object)
      return Status::InvalidInput("body: " + std::string(kNotObject));
    if (doc.get_object().get(object)) return Status::InvalidInput("body: " + std::string(kNotJson));
    return ReadService(object, report);
  }));
  return report;
}

Result<ServiceReport> ParseSigfoxServiceCallbackBody(std::string_view body,
                                                     std::string_view content_type) {
  ServiceReport report;
  ServiceReader reader(report, /*sigfox=*/true);
  ROOST_RETURN_IF_ERROR(ReadSigfoxBody(body, content_type, reader));
  return report;
}

namespace {

Status CheckTime(const Where& w, EpochMillis time, EpochMillis now, int64_t max_age_ms) {
  if (time - now > kMaxTimeAheadMs) {
    return FieldFault(w, "time",
                      "is " + std::to_string((time - now + 999) / 1000) +
                          " s ahead of the server's clock; at most " +
                          std::to_string(kMaxTimeAheadMs / 1000) + " s ahead is taken");
  }
  if (max_age_ms > 0 && now - time > max_age_ms) {
    constexpr int64_t kDayMs = 86'400'000;
    auto days = [](int64_t n) { return std::to_string(n) + (n == 1 ? " day" : " days"); };
    return FieldFault(w, "time",
                      "is " + days((now - time) / kDayMs) + " old; messages are kept " +
                          days((max_age_ms + kDayMs - 1) / kDayMs) +
                          " (pipeline.retention_days), so an older report is not taken");
  }
  return Status::Ok();
}

}  // namespace

Status CheckReportTimes(std::span<const UplinkReport> reports, bool in_batch, EpochMillis now,
                        int64_t max_age_ms) {
  for (size_t i = 0; i < reports.size(); ++i) {
    ROOST_RETURN_IF_ERROR(CheckTime(Where{in_batch, i}, reports[i].time, now, max_age_ms));
  }
  return Status::Ok();
}

Status CheckReportTime(const ServiceReport& report, EpochMillis now, int64_t max_age_ms) {
  return CheckTime(Where{}, report.time, now, max_age_ms);
}

}  // namespace roost::pipeline
