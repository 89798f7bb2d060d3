#include "integration/callback_template.h"

#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace roost::integration {
namespace {

const std::vector<std::string> kNoFields;

constexpr std::array<CallbackKind, 5> kAllKinds = {
    CallbackKind::kDataUplink, CallbackKind::kDataBidir, CallbackKind::kServiceStatus,
    CallbackKind::kServiceAcknowledge, CallbackKind::kError};

CompiledTemplate MustCompile(std::string_view pattern,
                             CallbackKind kind = CallbackKind::kDataUplink,
                             const std::vector<std::string>& fields = kNoFields) {
  auto t = Compile(pattern, kind, fields);
  EXPECT_TRUE(t.ok()) << pattern << ": " << t.status().message();
  return t.ok() ? *t : *Compile("", kind, fields);
}

std::string ErrorOf(std::string_view pattern, CallbackKind kind = CallbackKind::kDataUplink,
                    const std::vector<std::string>& fields = kNoFields) {
  auto t = Compile(pattern, kind, fields);
  EXPECT_FALSE(t.ok()) << pattern;
  return t.ok() ? std::string() : t.status().message();
}

std::string ExpandText(std::string_view pattern, const Variables& values,
                       Escaping escaping = Escaping::kText,
                       CallbackKind kind = CallbackKind::kDataUplink,
                       const std::vector<std::string>& fields = kNoFields) {
  return Expand(MustCompile(pattern, kind, fields), values, escaping);
}

// A message as the pipeline fills it.
Variables UplinkValues() {
  Variables v;
  v.Set(Variable::kDevice, "2C");
  v.Set(Variable::kDeviceTypeId, "5f1a2b3c4d5e6f7a8b9c0d1e");
  v.Set(Variable::kTime, "1440578526");
  v.Set(Variable::kData, "0102abcd");
  v.Set(Variable::kSeqNumber, "1234");
  v.Set(Variable::kDuplicate, "false");
  v.Set(Variable::kSnr, "11.20");
  v.Set(Variable::kAvgSnr, "9.75");
  v.Set(Variable::kRssi, "-121.50");
  v.Set(Variable::kStation, "0A1B");
  v.Set(Variable::kLat, "43.5");
  v.Set(Variable::kLng, "1.4");
  v.Set(Variable::kAck, "true");
  v.Set(Variable::kLongPolling, "false");
  return v;
}

// Quotes, backslash, CR/LF, tab, non-ASCII UTF-8, and the URL/form separators.
constexpr std::string_view kHostile = "a\"b\\c\r\nd\te é€ & = % # + / ? ;";

TEST(CallbackTemplate, ExpandsEveryCommonVariable) {
  const Variables v = UplinkValues();
  EXPECT_EQ(ExpandText("{device}|{deviceTypeId}|{time}|{data}|{seqNumber}|{duplicate}|{snr}|"
                       "{avgSnr}|{rssi}|{station}|{lat}|{lng}|{ack}|{longPolling}",
                       v),
            "2C|5f1a2b3c4d5e6f7a8b9c0d1e|1440578526|0102abcd|1234|false|11.20|9.75|-121.50|0A1B|"
            "43.5|1.4|true|false");
}

TEST(CallbackTemplate, EveryKindHasTheCommonVariables) {
  const Variables v = UplinkValues();
  for (const CallbackKind kind : kAllKinds) {
    EXPECT_EQ(ExpandText("{device}/{time}/{longPolling}", v, Escaping::kText, kind),
              "2C/1440578526/false")
        << CallbackKindName(kind);
  }
}

TEST(CallbackTemplate, KindSpecificVariables) {
  Variables v = UplinkValues();
  v.Set(Variable::kTemp, "21.5");
  v.Set(Variable::kBatt, "3.27");
  v.Set(Variable::kDownlinkAck, "true");
  v.Set(Variable::kInfo, "No message received since 2026-01-01");
  v.Set(Variable::kSeverity, "ERROR");
  EXPECT_EQ(ExpandText("t={temp} b={batt}", v, Escaping::kText, CallbackKind::kServiceStatus),
            "t=21.5 b=3.27");
  EXPECT_EQ(ExpandText("{downlinkAck}", v, Escaping::kText, CallbackKind::kServiceAcknowledge),
            "true");
  EXPECT_EQ(ExpandText("{severity}: {info}", v, Escaping::kText, CallbackKind::kError),
            "ERROR: No message received since 2026-01-01");
}

// A device's char field may hold any byte: text keeps TAB, CR and LF and loses
// NUL and the other controls of values; the pattern's own text goes as written.
TEST(CallbackTemplate, TextLosesNulAndOtherControlsOfValues) {
  Variables v = UplinkValues();
  v.Set(Variable::kInfo, std::string("a\tb\r\nc\0d\x01\x1b[1m\x7f"
                                     "e",
                                     15));
  EXPECT_EQ(ExpandText("[{info}]", v, Escaping::kText, CallbackKind::kError), "[a\tb\r\ncd[1me]");
  EXPECT_EQ(ExpandText("{info}", v, Escaping::kHeader, CallbackKind::kError), "abcd[1me");
  EXPECT_EQ(ExpandText("a\x01\tb{info}", v, Escaping::kText, CallbackKind::kError),
            "a\x01\tba\tb\r\ncd[1me");
}

TEST(CallbackTemplate, IsAllowedMatchesTheSpecTable) {
  for (const CallbackKind kind : kAllKinds) {
    for (size_t i = 0; i <= static_cast<size_t>(Variable::kLongPolling); ++i) {
      EXPECT_TRUE(IsAllowed(static_cast<Variable>(i), kind));
    }
    EXPECT_EQ(IsAllowed(Variable::kTemp, kind), kind == CallbackKind::kServiceStatus);
    EXPECT_EQ(IsAllowed(Variable::kBatt, kind), kind == CallbackKind::kServiceStatus);
    EXPECT_EQ(IsAllowed(Variable::kDownlinkAck, kind), kind == CallbackKind::kServiceAcknowledge);
    EXPECT_EQ(IsAllowed(Variable::kInfo, kind), kind == CallbackKind::kError);
    EXPECT_EQ(IsAllowed(Variable::kSeverity, kind), kind == CallbackKind::kError);
    EXPECT_TRUE(IsAllowed(Variable::kAvgSignal, kind));
  }
  EXPECT_EQ(VariableName(Variable::kAvgSnr), "avgSnr");
  EXPECT_EQ(VariableName(Variable::kAvgSignal), "avgSignal");
  EXPECT_EQ(VariableName(Variable::kSeverity), "severity");
}

TEST(CallbackTemplate, EveryVariableNameCompilesForSomeKind) {
  for (size_t i = 0; i < kVariableCount; ++i) {
    const auto variable = static_cast<Variable>(i);
    const std::string pattern = "{" + std::string(VariableName(variable)) + "}";
    bool compiled = false;
    for (const CallbackKind kind : kAllKinds) {
      auto t = Compile(pattern, kind, kNoFields);
      EXPECT_EQ(t.ok(), IsAllowed(variable, kind)) << pattern << " " << CallbackKindName(kind);
      if (t.ok()) {
        compiled = true;
        ASSERT_EQ(t->parts().size(), 1u);
        EXPECT_EQ(t->parts()[0].kind, CompiledTemplate::Part::Kind::kVariable);
        EXPECT_EQ(t->parts()[0].variable, variable);
      }
    }
    EXPECT_TRUE(compiled) << pattern;
  }
}

TEST(CallbackTemplate, MissingValuesExpandToNothing) {
  Variables v;
  v.Set(Variable::kDevice, "2C");
  EXPECT_EQ(ExpandText("d={device}&lat={lat}&lng={lng}", v), "d=2C&lat=&lng=");
  EXPECT_EQ(ExpandText("[{customData#t}]", v, Escaping::kText, CallbackKind::kDataUplink, {"t"}),
            "[]");
}

TEST(CallbackTemplate, VariablesReuseAndReplace) {
  Variables v = UplinkValues();
  v.Set(Variable::kDevice, "41A2F0");
  v.SetCustomData("t", "1");
  v.SetCustomData("t", "2");
  EXPECT_EQ(v.Get(Variable::kDevice), "41A2F0");
  EXPECT_EQ(v.GetCustomData("t"), "2");
  v.Clear();
  EXPECT_EQ(v.Get(Variable::kDevice), "");
  EXPECT_EQ(v.Get(Variable::kTime), "");
  EXPECT_EQ(v.GetCustomData("t"), "");
}

TEST(CallbackTemplate, LiteralJsonBracesAroundVariables) {
  const Variables v = UplinkValues();
  const std::string body = ExpandText(
      R"({"dev":"{device}","m":{"seq":{seqNumber},"ack":{ack}},"e":{}})", v, Escaping::kJson);
  EXPECT_EQ(body, R"({"dev":"2C","m":{"seq":1234,"ack":true},"e":{}})");
  const auto doc = nlohmann::json::parse(body);
  EXPECT_EQ(doc["m"]["seq"], 1234);
  EXPECT_EQ(doc["m"]["ack"], true);
  // A space after '{' makes it literal text, not a variable.
  EXPECT_EQ(ExpandText("{ device }", v), "{ device }");
  EXPECT_EQ(ExpandText("{{device}}", v), "{2C}");
  EXPECT_EQ(ExpandText("", v), "");
  EXPECT_EQ(ExpandText("no variables", v), "no variables");
}

TEST(CallbackTemplate, CompiledOnceIntoParts) {
  auto t = Compile("https://x.example/{device}?t={time}", CallbackKind::kDataUplink, kNoFields);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->parts().size(), 4u);
  using Kind = CompiledTemplate::Part::Kind;
  EXPECT_EQ(t->parts()[0].kind, Kind::kLiteral);
  EXPECT_EQ(t->text().substr(t->parts()[0].offset, t->parts()[0].length), "https://x.example/");
  EXPECT_EQ(t->parts()[1].variable, Variable::kDevice);
  EXPECT_EQ(t->text().substr(t->parts()[2].offset, t->parts()[2].length), "?t=");
  EXPECT_EQ(t->parts()[3].variable, Variable::kTime);
  // Expanded many times with different values.
  Variables v = UplinkValues();
  EXPECT_EQ(Expand(*t, v, Escaping::kUrl), "https://x.example/2C?t=1440578526");
  v.Set(Variable::kDevice, "41A2F0");
  EXPECT_EQ(Expand(*t, v, Escaping::kUrl), "https://x.example/41A2F0?t=1440578526");
}

// --- escaping ---------------------------------------------------------------

Variables Hostile() {
  Variables v;
  v.Set(Variable::kInfo, kHostile);
  return v;
}

TEST(CallbackTemplateEscaping, UrlPercentEncodesEverythingButUnreserved) {
  EXPECT_EQ(
      ExpandText("https://x.example/a?i={info}#f", Hostile(), Escaping::kUrl, CallbackKind::kError),
      "https://x.example/a?i=a%22b%5Cc%0D%0Ad%09e%20%C3%A9%E2%82%AC%20%26%20%3D%20%25%20%23"
      "%20%2B%20%2F%20%3F%20%3B#f");
  Variables v;
  v.Set(Variable::kInfo, "AZaz09-._~");
  EXPECT_EQ(ExpandText("{info}", v, Escaping::kUrl, CallbackKind::kError), "AZaz09-._~");
}

TEST(CallbackTemplateEscaping, AUrlValueOfDotsOnlyIsNoDotSegment) {
  // "/p/{info}/x" with ".." would be "/p/../x", which a sender resolves to
  // "/x": the device's data would choose the resource.
  Variables v;
  for (const char* dots : {".", "..", "..."}) {
    v.Set(Variable::kInfo, dots);
    const std::string url = ExpandText("https://x.example/p/{info}/x?q={info}", v, Escaping::kUrl,
                                       CallbackKind::kError);
    std::string encoded;
    for (size_t i = 0; i < std::strlen(dots); ++i) encoded += "%2E";
    EXPECT_EQ(url, "https://x.example/p/" + encoded + "/x?q=" + encoded);
  }
  // Dots among other characters stay: no dot segment can come of them.
  v.Set(Variable::kInfo, "a..b.");
  EXPECT_EQ(ExpandText("/p/{info}", v, Escaping::kUrl, CallbackKind::kError), "/p/a..b.");
  // Other escapings keep them.
  v.Set(Variable::kInfo, "..");
  EXPECT_EQ(ExpandText("/p/{info}", v, Escaping::kText, CallbackKind::kError), "/p/..");
}

// A value the message lacks is empty; in a JSON body, outside the pattern's
// strings (where it would stand for a number or true/false), it is `null`, so
// that the body stays JSON. Inside a string it stays "".
TEST(CallbackTemplateEscaping, AMissingBareValueInAJsonBodyIsNull) {
  Variables v;
  v.Set(Variable::kDevice, "2C");
  v.Set(Variable::kTime, "1440578526");
  const std::string pattern =
      R"({"d":"{device}","lat":{lat},"q":"a\"{lng}\"b","n":[{avgSnr}, {time}]})";
  const std::string body = ExpandText(pattern, v, Escaping::kJson);
  EXPECT_EQ(body, R"({"d":"2C","lat":null,"q":"a\"\"b","n":[null, 1440578526]})");
  EXPECT_TRUE(nlohmann::json::accept(body)) << body;
  // Other content types get the value as it is: empty.
  EXPECT_EQ(ExpandText("lat={lat}", v, Escaping::kText), "lat=");
  EXPECT_EQ(ExpandText(R"({"lat":{lat}})", v, Escaping::kFormBody), R"({"lat":})");
}

TEST(CallbackTemplateEscaping, JsonEscapesInsideAString) {
  const std::string body =
      ExpandText(R"({"info":"{info}"})", Hostile(), Escaping::kJson, CallbackKind::kError);
  EXPECT_EQ(body, "{\"info\":\"a\\\"b\\\\c\\r\\nd\\te é€ & = % # + / ? ;\"}");
  const auto doc = nlohmann::json::parse(body);
  EXPECT_EQ(doc["info"], std::string(kHostile));
}

TEST(CallbackTemplateEscaping, JsonControlCharactersAndInvalidUtf8) {
  Variables v;
  v.Set(Variable::kInfo, std::string_view("\x01\x1f\b\f\x7f\0z", 7));
  EXPECT_EQ(ExpandText("{info}", v, Escaping::kJson, CallbackKind::kError),
            "\\u0001\\u001F\\b\\f\x7f\\u0000z");
  // A lone continuation byte, a truncated sequence and an overlong form each
  // become U+FFFD; the valid sequence between them is kept.
  v.Set(Variable::kInfo,
        "a\x80"
        "b\xE2\x82"
        "c\xC0\xAF"
        "é");
  const std::string out = ExpandText("\"{info}\"", v, Escaping::kJson, CallbackKind::kError);
  EXPECT_EQ(out,
            "\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD"
            "é\"");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(CallbackTemplateEscaping, JsonNumbersAndBooleansAsText) {
  const std::string body =
      ExpandText(DefaultBodyTemplate("application/json"), UplinkValues(), Escaping::kJson);
  EXPECT_EQ(body, R"({"device":"2C","data":"0102abcd","time":1440578526})");
  const auto doc = nlohmann::json::parse(body);
  EXPECT_EQ(doc["time"], 1440578526);
  EXPECT_EQ(doc["device"], "2C");
}

TEST(CallbackTemplateEscaping, FormBody) {
  EXPECT_EQ(ExpandText("i={info}&d={device}", Hostile(), Escaping::kFormBody, CallbackKind::kError),
            "i=a%22b%5Cc%0D%0Ad%09e+%C3%A9%E2%82%AC+%26+%3D+%25+%23+%2B+%2F+%3F+%3B&d=");
  Variables v;
  v.Set(Variable::kInfo, "AZaz09*-._~");
  EXPECT_EQ(ExpandText("{info}", v, Escaping::kFormBody, CallbackKind::kError), "AZaz09*-._%7E");
}

TEST(CallbackTemplateEscaping, HeaderDropsControlCharacters) {
  const std::string out =
      ExpandText("Bearer {info}", Hostile(), Escaping::kHeader, CallbackKind::kError);
  EXPECT_EQ(out, "Bearer a\"b\\cde é€ & = % # + / ? ;");
  EXPECT_EQ(out.find_first_of("\r\n\t"), std::string::npos);
  // Even the pattern's own text cannot split the header.
  Variables v;
  v.Set(Variable::kDevice, "2C\r\nX-Injected: 1");
  EXPECT_EQ(ExpandText("a\r\nb{device}\x7f", v, Escaping::kHeader), "ab2CX-Injected: 1");
}

TEST(CallbackTemplateEscaping, TextKeepsValuesAsTheyAre) {
  EXPECT_EQ(ExpandText("Alert: {info}", Hostile(), Escaping::kText, CallbackKind::kError),
            "Alert: " + std::string(kHostile));
}

TEST(CallbackTemplateEscaping, ChosenByPlaceAndContentType) {
  EXPECT_EQ(EscapingFor(PatternPlace::kUrl, "application/json"), Escaping::kUrl);
  EXPECT_EQ(EscapingFor(PatternPlace::kHeader, "application/json"), Escaping::kHeader);
  EXPECT_EQ(EscapingFor(PatternPlace::kEmail, "application/json"), Escaping::kText);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "application/json"), Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "Application/JSON; charset=utf-8"), Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, " application/x-www-form-urlencoded ;charset=UTF-8"),
            Escaping::kFormBody);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "text/plain"), Escaping::kText);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "application/jsonp"), Escaping::kText);
  // JSON under its other names too: a value could otherwise add members.
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "application/vnd.api+json"), Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "Application/LD+JSON; charset=utf-8"),
            Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "text/json"), Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "application/+json"), Escaping::kJson);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, "application/json-seq"), Escaping::kText);
  const std::string body = ExpandText(R"({"info":"{info}"})", Hostile(),
                                      EscapingFor(PatternPlace::kBody, "application/vnd.api+json"),
                                      CallbackKind::kError);
  EXPECT_EQ(nlohmann::json::parse(body).at("info"), kHostile);
  EXPECT_EQ(EscapingFor(PatternPlace::kBody, ""), Escaping::kText);
}

TEST(CallbackTemplate, DefaultBodyTemplates) {
  EXPECT_EQ(DefaultBodyTemplate("application/x-www-form-urlencoded"),
            "device={device}&data={data}&time={time}");
  EXPECT_EQ(DefaultBodyTemplate("application/json; charset=utf-8"),
            R"({"device":"{device}","data":"{data}","time":{time}})");
  EXPECT_EQ(DefaultBodyTemplate("text/plain"), "");
  EXPECT_EQ(ExpandText(DefaultBodyTemplate("application/x-www-form-urlencoded"), UplinkValues(),
                       Escaping::kFormBody),
            "device=2C&data=0102abcd&time=1440578526");
  // Both compile for every kind.
  for (const CallbackKind kind : kAllKinds) {
    EXPECT_TRUE(Compile(DefaultBodyTemplate("application/json"), kind, kNoFields).ok());
    EXPECT_TRUE(
        Compile(DefaultBodyTemplate("application/x-www-form-urlencoded"), kind, kNoFields).ok());
  }
}

TEST(CallbackTemplate, ReservesTheFinalSize) {
  Variables v;
  // Invalid UTF-8 and a pattern with its own CR/LF: sizes that differ by escaping.
  v.Set(Variable::kInfo, std::string(kHostile) + "\xff");
  for (const Escaping e :
       {Escaping::kUrl, Escaping::kJson, Escaping::kFormBody, Escaping::kHeader, Escaping::kText}) {
    const std::string out =
        Expand(MustCompile("x={info}&y={info}\r\n", CallbackKind::kError), v, e);
    // Reserved once at the exact size: growth would have left slack.
    ASSERT_GT(out.size(), 30u);
    EXPECT_EQ(out.capacity(), out.size()) << static_cast<int>(e);
  }
}

// --- custom data --------------------------------------------------------------

TEST(CallbackTemplate, CustomDataFromThePayloadConfig) {
  Variables v = UplinkValues();
  v.SetCustomData("temp", "21.5");
  v.SetCustomData("door_open", "true");
  v.SetCustomData("lvl-2", "a b");
  const std::vector<std::string> fields = {"temp", "door_open", "lvl-2"};
  EXPECT_EQ(ExpandText("{customData#temp}/{customData#door_open}/{customData#lvl-2}", v,
                       Escaping::kUrl, CallbackKind::kDataUplink, fields),
            "21.5/true/a%20b");
  auto t = Compile("{customData#temp}", CallbackKind::kDataBidir, fields);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->parts().size(), 1u);
  EXPECT_EQ(t->parts()[0].kind, CompiledTemplate::Part::Kind::kCustomData);
  EXPECT_EQ(t->text().substr(t->parts()[0].offset, t->parts()[0].length), "temp");
}

TEST(CallbackTemplate, RefusesBadCustomData) {
  const std::vector<std::string> fields = {"temp"};
  EXPECT_EQ(ErrorOf("x{customData#}", CallbackKind::kDataUplink, fields),
            "position 2: {customData#} needs a field name");
  EXPECT_EQ(ErrorOf("{customData#a#b}", CallbackKind::kDataUplink, fields),
            "position 1: bad field name in {customData#a#b}: a payloadConfig field name is "
            "letters, digits, '-' and '_'");
  EXPECT_EQ(ErrorOf("ab{customData#hum}", CallbackKind::kDataUplink, fields),
            "position 3: {customData#hum}: no field 'hum' in the callback's payloadConfig");
  EXPECT_EQ(ErrorOf("{customData#temp}", CallbackKind::kDataUplink, kNoFields),
            "position 1: {customData#temp} but the callback has no payloadConfig");
  EXPECT_EQ(ErrorOf("{customdata#temp}", CallbackKind::kDataUplink, fields),
            "position 1: unknown variable {customdata#temp} for DATA UPLINK callbacks");
}

// --- refusals -------------------------------------------------------------------

TEST(CallbackTemplate, RefusesUnknownVariablesWithThePosition) {
  EXPECT_EQ(ErrorOf("https://a/{foo}"),
            "position 11: unknown variable {foo} for DATA UPLINK callbacks");
  EXPECT_EQ(ErrorOf("{Device}", CallbackKind::kDataBidir),
            "position 1: unknown variable {Device} for DATA BIDIR callbacks");
  // Positions count characters, not bytes.
  EXPECT_EQ(ErrorOf("éé€{x}"), "position 4: unknown variable {x} for DATA UPLINK callbacks");
  const std::string longName(200, 'a');
  const std::string message = ErrorOf("{" + longName + "}");
  EXPECT_EQ(message, "position 1: unknown variable {" + std::string(48, 'a') +
                         "...} for DATA UPLINK callbacks");
}

struct KindOnlyVariable {
  const char* pattern;
  CallbackKind refused_for;
  const char* error;
};

class CallbackTemplateKindOnly : public ::testing::TestWithParam<KindOnlyVariable> {};

TEST_P(CallbackTemplateKindOnly, RefusedForOtherKinds) {
  EXPECT_EQ(ErrorOf(GetParam().pattern, GetParam().refused_for), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CallbackTemplateKindOnly,
    ::testing::Values(
        KindOnlyVariable{"t={temp}", CallbackKind::kDataUplink,
                         "position 3: unknown variable {temp} for DATA UPLINK callbacks (only "
                         "SERVICE STATUS callbacks have it)"},
        KindOnlyVariable{"{batt}", CallbackKind::kServiceAcknowledge,
                         "position 1: unknown variable {batt} for SERVICE ACKNOWLEDGE callbacks "
                         "(only SERVICE STATUS callbacks have it)"},
        KindOnlyVariable{"{downlinkAck}", CallbackKind::kServiceStatus,
                         "position 1: unknown variable {downlinkAck} for SERVICE STATUS callbacks "
                         "(only SERVICE ACKNOWLEDGE callbacks have it)"},
        KindOnlyVariable{"{device} {info}", CallbackKind::kDataBidir,
                         "position 10: unknown variable {info} for DATA BIDIR callbacks (only "
                         "ERROR callbacks have it)"},
        KindOnlyVariable{"{severity}", CallbackKind::kServiceStatus,
                         "position 1: unknown variable {severity} for SERVICE STATUS callbacks "
                         "(only ERROR callbacks have it)"},
        KindOnlyVariable{"{foo}", CallbackKind::kError,
                         "position 1: unknown variable {foo} for ERROR callbacks"}));

TEST(CallbackTemplate, RefusesUnbalancedBraces) {
  EXPECT_EQ(ErrorOf("a/{device"), "position 3: variable {device never closed by '}'");
  EXPECT_EQ(ErrorOf("{device }"), "position 1: variable {device never closed by '}'");
  EXPECT_EQ(ErrorOf("{\"a\":\"{device}\""), "position 1: '{' without a matching '}'");
  EXPECT_EQ(ErrorOf("{device}}"), "position 9: '}' without a matching '{'");
  EXPECT_EQ(ErrorOf("smile :}"), "position 8: '}' without a matching '{'");
  EXPECT_EQ(ErrorOf("{ {"), "position 1: '{' without a matching '}'");
  EXPECT_EQ(ErrorOf("x{"), "position 2: '{' without a matching '}'");
}

TEST(CallbackTemplate, RefusesOverlongPatterns) {
  const std::string pattern(kMaxPatternBytes + 1, 'a');
  EXPECT_EQ(ErrorOf(pattern), "the pattern is 65537 bytes, at most 65536");
  EXPECT_TRUE(
      Compile(std::string(kMaxPatternBytes, 'a'), CallbackKind::kDataUplink, kNoFields).ok());
}

}  // namespace
}  // namespace roost::integration
