#include "pipeline/ingest_body.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roost::pipeline {
namespace {

constexpr std::string_view kReport =
    R"({"device":"2c","seqNumber":1234,"data":"0102AbCd","time":1440578526000,)"
    R"("station":"0a1b","rssi":-121.5,"snr":11.2,"freq":868130000,"ack":true})";

// kReport with `member` (a "name":value text, or "" to drop it) instead of the
// member of that name.
std::string ReportWith(std::string_view name, std::string_view member) {
  std::string text(kReport);
  const size_t at = text.find("\"" + std::string(name) + "\":");
  EXPECT_NE(at, std::string::npos) << name;
  size_t end = at;
  // Members of kReport hold no ',' or '}' inside their values.
  while (text[end] != ',' && text[end] != '}') ++end;
  if (member.empty()) {
    if (text[end] == ',')
      ++end;
    else if (text[at - 1] == ',')
      return text.erase(at - 1, end - at + 1);
    return text.erase(at, end - at);
  }
  return text.replace(at, end - at, member);
}

std::string ErrorOf(std::string_view body) {
  auto parsed = ParseUplinkReports(body);
  EXPECT_FALSE(parsed.ok()) << body;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidInput);
  return parsed.status().message();
}

std::string BatchOf(const std::vector<std::string>& reports) {
  std::string text = "[";
  for (const auto& r : reports) text += (text.size() > 1 ? "," : "") + r;
  return text + "]";
}

TEST(ParseUplinkReports, ReadsOneReportWithCanonicalCase) {
  auto parsed = ParseUplinkReports(kReport);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 1u);
  const UplinkReport& r = (*parsed)[0];
  EXPECT_EQ(r.device, SigfoxId{0x2C});
  EXPECT_EQ(r.seq_number, 1234);
  EXPECT_EQ(r.data, "0102abcd");
  EXPECT_EQ(r.time, 1440578526000);
  EXPECT_EQ(r.station, "0A1B");
  EXPECT_DOUBLE_EQ(r.rssi, -121.5);
  EXPECT_DOUBLE_EQ(r.snr, 11.2);
  EXPECT_EQ(r.freq, 868130000);
  EXPECT_TRUE(r.ack);
}

TEST(ParseUplinkReports, OptionalMembersDefaultAndNullMeansDefault) {
  auto parsed = ParseUplinkReports(ReportWith("ack", "\"ack\":null"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_FALSE((*parsed)[0].ack);
  parsed = ParseUplinkReports(ReportWith("freq", ""));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].freq, 0);
  parsed = ParseUplinkReports(ReportWith("freq", "\"freq\":null"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].freq, 0);
}

TEST(ParseUplinkReports, EmptyDataAndLongestData) {
  auto parsed = ParseUplinkReports(ReportWith("data", R"("data":"")"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].data, "");
  parsed = ParseUplinkReports(ReportWith("data", R"("data":"00112233445566778899AABB")"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].data, "00112233445566778899aabb");
}

TEST(ParseUplinkReports, IgnoresUnknownScalarMembersAndReadsEscapedKeys) {
  // Integers too large for 64 bits are valid JSON numbers too.
  std::string body =
      ReportWith("device", R"("dev\u0069ce":"FFFFFFFF","note":"x","n":1.5e3,)"
                           R"("b":false,"z":null,"big":123456789012345678901234567890,)"
                           R"("small":-123456789012345678901234567890)");
  auto parsed = ParseUplinkReports(body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].device, SigfoxId{0xFFFFFFFF});
}

TEST(ParseUplinkReports, ReadsABatchInOrder) {
  std::vector<std::string> reports;
  for (int i = 0; i < 3; ++i) {
    reports.push_back(ReportWith("seqNumber", "\"seqNumber\":" + std::to_string(i)));
  }
  auto parsed = ParseUplinkReports(BatchOf(reports));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*parsed)[i].seq_number, i);
}

TEST(ParseUplinkReports, BatchLimit) {
  std::vector<std::string> reports(kMaxReportsPerRequest, std::string(kReport));
  auto parsed = ParseUplinkReports(BatchOf(reports));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->size(), kMaxReportsPerRequest);
  reports.emplace_back(kReport);
  EXPECT_EQ(ErrorOf(BatchOf(reports)), "reports: at most 1000 reports per request");
  EXPECT_EQ(ErrorOf("[]"), "reports: at least one report is required");
}

struct BadValue {
  std::string_view name;
  std::string_view value;  // JSON text
  std::string_view problem;
};

const BadValue kBadValues[] = {
    {"device", R"("")", "must be a device ID of 1 to 8 hex digits"},
    {"device", R"("123456789")", "must be a device ID of 1 to 8 hex digits"},
    {"device", R"("2G")", "must be a device ID of 1 to 8 hex digits"},
    {"device", R"("0x2C")", "must be a device ID of 1 to 8 hex digits"},
    {"device", "44", "must be a device ID of 1 to 8 hex digits"},
    {"device", "null", "must be a device ID of 1 to 8 hex digits"},
    {"seqNumber", "4096", "must be an integer 0..4095"},
    {"seqNumber", "-1", "must be an integer 0..4095"},
    {"seqNumber", "1.0", "must be an integer 0..4095"},
    {"seqNumber", "1e2", "must be an integer 0..4095"},
    {"seqNumber", R"("12")", "must be an integer 0..4095"},
    {"seqNumber", "99999999999999999999999", "must be an integer 0..4095"},
    {"seqNumber", "true", "must be an integer 0..4095"},
    {"seqNumber", "[1]", "must be an integer 0..4095"},
    {"data", R"("010")", "must be 0 to 12 bytes as an even number of hex digits"},
    {"data", R"("00112233445566778899aabbcc")",
     "must be 0 to 12 bytes as an even number of hex digits"},
    {"data", R"("0g")", "must be 0 to 12 bytes as an even number of hex digits"},
    {"data", R"("01 2")", "must be 0 to 12 bytes as an even number of hex digits"},
    {"data", "{}", "must be 0 to 12 bytes as an even number of hex digits"},
    {"time", "0", "must be epoch milliseconds, an integer 1..253402300799999"},
    {"time", "253402300800000", "must be epoch milliseconds, an integer 1..253402300799999"},
    {"time", "1440578526000.5", "must be epoch milliseconds, an integer 1..253402300799999"},
    {"time", R"("1440578526000")", "must be epoch milliseconds, an integer 1..253402300799999"},
    {"station", R"("0A1")", "must be a station ID of 4 hex digits"},
    {"station", R"("0A1B2")", "must be a station ID of 4 hex digits"},
    {"station", R"("0A1Z")", "must be a station ID of 4 hex digits"},
    {"station", "1234", "must be a station ID of 4 hex digits"},
    {"rssi", "0.5", "must be a number -200..0 (dBm)"},
    {"rssi", "-200.01", "must be a number -200..0 (dBm)"},
    {"rssi", "-1e400", "must be a number -200..0 (dBm)"},
    {"rssi", R"("-121.5")", "must be a number -200..0 (dBm)"},
    {"snr", "100.5", "must be a number -50..100 (dB)"},
    {"snr", "-51", "must be a number -50..100 (dB)"},
    {"snr", "null", "must be a number -50..100 (dB)"},
    {"freq", "-1", "must be an integer 0..6000000000 (Hz)"},
    {"freq", "868130000.5", "must be an integer 0..6000000000 (Hz)"},
    {"freq", "6000000001", "must be an integer 0..6000000000 (Hz)"},
    {"ack", "1", "must be true or false"},
    {"ack", R"("true")", "must be true or false"},
};

TEST(ParseUplinkReports, EachBadValueIsNamedInASingleReport) {
  for (const BadValue& b : kBadValues) {
    const std::string member = "\"" + std::string(b.name) + "\":" + std::string(b.value);
    EXPECT_EQ(ErrorOf(ReportWith(b.name, member)),
              std::string(b.name) + ": " + std::string(b.problem))
        << member;
  }
}

TEST(ParseUplinkReports, EachBadValueIsNamedWithItsIndexInABatch) {
  for (const BadValue& b : kBadValues) {
    const std::string member = "\"" + std::string(b.name) + "\":" + std::string(b.value);
    const std::string body =
        BatchOf({std::string(kReport), std::string(kReport), std::string(kReport),
                 ReportWith(b.name, member), "\"never read\""});
    EXPECT_EQ(ErrorOf(body), "reports[3]." + std::string(b.name) + ": " + std::string(b.problem))
        << member;
  }
}

TEST(ParseUplinkReports, ExtremesOfEachRangeAreAccepted) {
  for (std::string_view member :
       {R"("seqNumber":0)", R"("seqNumber":4095)", R"("time":1)", R"("time":253402300799999)",
        R"("rssi":-200)", R"("rssi":0)", R"("snr":-50)", R"("snr":100)", R"("freq":0)",
        R"("freq":6000000000)", R"("device":"0")", R"("device":"ffffffff")"}) {
    const std::string name(member.substr(1, member.find('"', 1) - 1));
    auto parsed = ParseUplinkReports(ReportWith(name, member));
    EXPECT_TRUE(parsed.ok()) << member << ": " << parsed.status().message();
  }
}

TEST(ParseUplinkReports, MissingAndRepeatedMembers) {
  for (std::string_view name : {"device", "seqNumber", "data", "time", "station", "rssi", "snr"}) {
    EXPECT_EQ(ErrorOf(ReportWith(name, "")), std::string(name) + ": required");
    EXPECT_EQ(ErrorOf(BatchOf({std::string(kReport), ReportWith(name, "")})),
              "reports[1]." + std::string(name) + ": required");
  }
  std::string twice = ReportWith("ack", R"("ack":false,"ack":true)");
  EXPECT_EQ(ErrorOf(twice), "ack: given more than once");
  EXPECT_EQ(ErrorOf(ReportWith("device", R"("device":"2C","dev\u0069ce":"2C")")),
            "device: given more than once");
}

TEST(ParseUplinkReports, WrongShapes) {
  EXPECT_EQ(ErrorOf("42"), "body: must be a JSON object or an array of objects");
  EXPECT_EQ(ErrorOf(R"("2C")"), "body: must be a JSON object or an array of objects");
  EXPECT_EQ(ErrorOf(BatchOf({std::string(kReport), "[]"})), "reports[1]: must be a JSON object");
  EXPECT_EQ(ErrorOf(BatchOf({"1"})), "reports[0]: must be a JSON object");
  EXPECT_EQ(ErrorOf(""), "body: empty; a JSON value is required");
  EXPECT_EQ(ErrorOf("  \n"), "body: empty; a JSON value is required");
  EXPECT_EQ(ErrorOf(std::string(kReport) + " {}"), "body: text after the JSON value");
  EXPECT_EQ(ErrorOf(R"({"device":"2C",)"),
            "body: not valid JSON at line 1, column 16 (byte offset 15)");
  EXPECT_EQ(ErrorOf(R"({"device" "2C"})"),
            "body: not valid JSON at line 1, column 14 (byte offset 13)");
  EXPECT_EQ(ErrorOf(BatchOf({std::string(kReport), R"({"device":"2C" "x":1})"})),
            "reports[1]: not valid JSON at line 1, column 161 (byte offset 160)");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("ack":tru)")),
            "body: not valid JSON at line 1, column 140 (byte offset 139)");
  EXPECT_EQ(ErrorOf("[" + std::string(kReport)),
            "body: not valid JSON at line 1, column 143 (byte offset 142)");
  EXPECT_EQ(ErrorOf("[" + std::string(kReport) + ",]"),
            "reports[1]: not valid JSON at line 1, column 144 (byte offset 143)");
  EXPECT_EQ(ErrorOf(BatchOf({std::string(kReport)}) + "]"), "body: text after the JSON value");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("ack":true,)")),
            "body: not valid JSON at line 1, column 142 (byte offset 141)");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("note":"\q")")),
            "body: not valid JSON at line 1, column 140 (byte offset 139)");
}

TEST(ParseUplinkReports, UnknownMembersMustBeFlatScalars) {
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("meta":{"a":1})")),
            "body: an unknown member holds an object or array (reports are flat)");
  EXPECT_EQ(ErrorOf(BatchOf({ReportWith(
                "ack", "\"meta\":" + std::string(100000, '[') + std::string(100000, ']'))})),
            "reports[0]: an unknown member holds an object or array (reports are flat)");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("x":1e999)")),
            "body: an unknown member holds an unreadable number");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("x":nul)")),
            "body: not valid JSON at line 1, column 138 (byte offset 137)");
}

// Malformed JSON is placed as on the other routes, by line and column.
TEST(ParseUplinkReports, MalformedJsonSaysWhere) {
  EXPECT_EQ(ErrorOf("[\n  {\"device\": \"2C\",\n   \"seqNumber\": 1 2}\n]"),
            "reports[0]: not valid JSON at line 3, column 19 (byte offset 39)");
  EXPECT_EQ(ErrorOf("{\"device\": tru}"),
            "body: not valid JSON at line 1, column 15 (byte offset 14)");
}

TEST(ParseUplinkReports, DeepNestingIsRefusedWithoutWalkingIt) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ErrorOf(deep), "reports[0]: must be a JSON object");
}

TEST(ParseUplinkReports, NulIsRefusedAndNeverEchoed) {
  EXPECT_EQ(ErrorOf(ReportWith("station", R"("station":"0A\u00001B")")),
            "station: contains a NUL byte");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("note":"a\u0000b")")),
            "body: an unknown member contains a NUL byte");
  EXPECT_EQ(ErrorOf(ReportWith("ack", R"("a\u0000b":1)")),
            "body: an unknown member contains a NUL byte");
}

TEST(ParseUplinkReports, InvalidUtf8IsRefusedAnywhere) {
  std::string body = ReportWith("ack", "\"note\":\"\xC3\x28\"");
  EXPECT_EQ(ErrorOf(body), "body: not valid UTF-8");
  body = ReportWith("station", "\"station\":\"0A\xFF\"");
  EXPECT_EQ(ErrorOf(body), "body: not valid UTF-8");
}

TEST(ParseUplinkReports, MessagesNeverQuoteTheInput) {
  const std::string secret = "SECRETSECRET";
  for (std::string_view name : {"device", "data", "station"}) {
    const std::string message =
        ErrorOf(ReportWith(name, "\"" + std::string(name) + "\":\"" + secret + "\""));
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
  }
}

TEST(ParseUplinkReports, ReusesItsBuffersAcrossCallsOfDifferentSizes) {
  std::vector<std::string> big(500, std::string(kReport));
  for (int round = 0; round < 3; ++round) {
    auto batch = ParseUplinkReports(BatchOf(big));
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    EXPECT_EQ(batch->size(), 500u);
    auto one = ParseUplinkReports(kReport);
    ASSERT_TRUE(one.ok()) << one.status().message();
    EXPECT_EQ((*one)[0].station, "0A1B");
  }
}

TEST(ParseUplinkReports, ABodyOverOneMebibyteIsReadToo) {
  const std::string big =
      ReportWith("ack", "\"note\":\"" + std::string(size_t{2} << 20, 'x') + "\"");
  auto parsed = ParseUplinkReports(big);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].device, SigfoxId{0x2C});
  auto small = ParseUplinkReports(ReportWith("seqNumber", "\"seqNumber\":7"));
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_EQ((*small)[0].seq_number, 7);
}

// --- Sigfox callbacks --------------------------------------------------------

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

std::string SigfoxError(std::string_view body, std::string_view type) {
  auto parsed = ParseSigfoxCallbackBody(body, type);
  EXPECT_FALSE(parsed.ok()) << body;
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(ParseSigfoxCallbackBody, JsonWithStringsAndNumbersAndSecondsToMillis) {
  const std::string body =
      R"({"device":"1A2B3C","time":"1440578526","data":"CAFE","seqNumber":"17",)"
      R"("station":"0a1b","rssi":"-121.50","snr":"11.20","avgSnr":"12.5","lat":"43",)"
      R"("lng":1,"ack":"false","duplicate":"true","deviceTypeId":"abc"})";
  auto parsed = ParseSigfoxCallbackBody(body, "Application/JSON; charset=utf-8");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->device, SigfoxId{0x1A2B3C});
  EXPECT_EQ(parsed->time, 1440578526000);
  EXPECT_EQ(parsed->data, "cafe");
  EXPECT_EQ(parsed->seq_number, 17);
  EXPECT_EQ(parsed->station, "0A1B");
  EXPECT_DOUBLE_EQ(parsed->rssi, -121.5);
  EXPECT_DOUBLE_EQ(parsed->snr, 11.2);
  EXPECT_FALSE(parsed->ack);

  const std::string numbers =
      R"({"device":"2C","time":1440578526,"data":"","seqNumber":4095,"station":"FFFF",)"
      R"("rssi":-90,"snr":20.5,"ack":true})";
  parsed = ParseSigfoxCallbackBody(numbers, kJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->time, 1440578526000);
  EXPECT_EQ(parsed->seq_number, 4095);
  EXPECT_TRUE(parsed->ack);
}

TEST(ParseSigfoxCallbackBody, FormWithPercentEscapesAndPlus) {
  const std::string body =
      "device=1a2b&time=1440578526&data=%63%41fe&seqNumber=17&station=0A1B"
      "&rssi=%2D121.50&snr=11.2&ack=TRUE&note=hello+world%21&&flag";
  auto parsed = ParseSigfoxCallbackBody(body, kForm);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->device, SigfoxId{0x1A2B});
  EXPECT_EQ(parsed->time, 1440578526000);
  EXPECT_EQ(parsed->data, "cafe");
  EXPECT_DOUBLE_EQ(parsed->rssi, -121.5);
  EXPECT_TRUE(parsed->ack);
}

// A callback body template writes its optional variables whether or not they
// have a value: an empty avgSnr, lat, lng or duplicate is absent, not wrong.
TEST(ParseSigfoxCallbackBody, EmptyOptionalVariablesAreAbsent) {
  const std::string base =
      "device=1a2b&time=1440578526&data=&seqNumber=17&station=0A1B&rssi=-121&snr=11";
  auto parsed = ParseSigfoxCallbackBody(base + "&avgSnr=&lat=&lng=&duplicate=", kForm);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->seq_number, 17);
  parsed = ParseSigfoxCallbackBody(
      R"({"device":"1a2b","time":1440578526,"data":"","seqNumber":17,"station":"0A1B",)"
      R"("rssi":-121,"snr":11,"lat":"","lng":""})",
      kJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  // The Sigfox Cloud's {avgSnr} is "N/A" for a device's first 15 messages.
  parsed = ParseSigfoxCallbackBody(base + "&avgSnr=N%2FA", kForm);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  parsed = ParseSigfoxCallbackBody(
      R"({"device":"1a2b","time":1440578526,"data":"","seqNumber":17,"station":"0A1B",)"
      R"("rssi":-121,"snr":11,"avgSnr":"N/A"})",
      kJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(SigfoxError(base + "&avgSnr=n/a", kForm), "avgSnr: must be a number -50..100 (dB)");
  EXPECT_EQ(SigfoxError("device=1a2b&time=1440578526&data=&seqNumber=17&station=0A1B&rssi=-121"
                        "&snr=N%2FA",
                        kForm),
            "snr: must be a number -50..100 (dB)");
  // The required ones and ack stay required to hold a value.
  EXPECT_EQ(SigfoxError("device=1a2b&time=1440578526&data=&seqNumber=17&station=0A1B&rssi=&snr=11",
                        kForm),
            "rssi: must be a number -200..0 (dBm)");
  EXPECT_EQ(SigfoxError(base + "&ack=", kForm), "ack: must be true or false");
}

TEST(ParseSigfoxCallbackBody, FormFaults) {
  const std::string base =
      "device=1a2b&time=1440578526&data=&seqNumber=17&station=0A1B&rssi=-121&snr=11";
  EXPECT_EQ(SigfoxError(base + "&rssi=-120", kForm), "rssi: given more than once");
  EXPECT_EQ(SigfoxError(base + "&duplicate=%2", kForm), "duplicate: malformed percent escape");
  EXPECT_EQ(SigfoxError(base + "&x=%zz", kForm),
            "body: an unknown field has a malformed percent escape");
  EXPECT_EQ(SigfoxError(base + "&x%=1", kForm),
            "body: a field name has a malformed percent escape");
  EXPECT_EQ(SigfoxError(base + "&avgSnr=%00", kForm), "avgSnr: contains a NUL byte");
  EXPECT_EQ(SigfoxError(base + "&lat=%C3%28", kForm), "lat: not valid UTF-8");
  EXPECT_EQ(SigfoxError(base + "&x=%FF", kForm), "body: an unknown field: not valid UTF-8");
  EXPECT_EQ(SigfoxError(base + "&lat=91", kForm), "lat: must be a number -90..90");
  EXPECT_EQ(SigfoxError(base + "&lng=-180.5", kForm), "lng: must be a number -180..180");
  EXPECT_EQ(SigfoxError(base + "&duplicate=yes", kForm), "duplicate: must be true or false");
  EXPECT_EQ(SigfoxError(base + "&avgSnr=nan", kForm), "avgSnr: must be a number -50..100 (dB)");
  EXPECT_EQ(SigfoxError("device=1a2b&time=1440578526", kForm), "seqNumber: required");
  EXPECT_EQ(SigfoxError("", kForm), "device: required");
}

TEST(ParseSigfoxCallbackBody, NumbersInStringsAreStrict) {
  const std::string base = R"({"device":"2C","time":1440578526,"data":"","seqNumber":1,)"
                           R"("station":"0A1B","snr":1,)";
  for (std::string_view rssi :
       {R"("")", R"(" -121")", R"("-121 ")", R"("+5")", R"("-inf")", R"("-12x")", R"("0x10")"}) {
    EXPECT_EQ(SigfoxError(base + R"("rssi":)" + std::string(rssi) + "}", kJson),
              "rssi: must be a number -200..0 (dBm)")
        << rssi;
  }
  EXPECT_EQ(SigfoxError(R"({"seqNumber":"1.0"})", kJson), "seqNumber: must be an integer 0..4095");
}

TEST(ParseSigfoxCallbackBody, TimeIsSeconds) {
  const std::string base =
      R"({"device":"2C","data":"","seqNumber":1,"station":"0A1B","rssi":-100,"snr":1,"time":)";
  // A time in milliseconds is far beyond the last second of year 9999: refused, not misread.
  EXPECT_EQ(SigfoxError(base + "1440578526000}", kJson),
            "time: must be epoch seconds, an integer 1..253402300799");
  EXPECT_EQ(SigfoxError(base + "0}", kJson),
            "time: must be epoch seconds, an integer 1..253402300799");
  auto last = ParseSigfoxCallbackBody(base + "253402300799}", kJson);
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(last->time, kMaxEpochSeconds * 1000);
}

TEST(ParseSigfoxCallbackBody, ContentTypeAndShape) {
  EXPECT_EQ(SigfoxError("{}", "text/plain"),
            "Content-Type: must be application/json or application/x-www-form-urlencoded");
  EXPECT_EQ(SigfoxError("{}", ""),
            "Content-Type: must be application/json or application/x-www-form-urlencoded");
  EXPECT_EQ(SigfoxError(R"([{"device":"2C"}])", kJson), "body: must be a JSON object");
  EXPECT_EQ(SigfoxError("{}", kJson), "device: required");
  EXPECT_EQ(SigfoxError("{\"x\":\"\xF0\x28\x8C\x28\"}", kJson), "body: not valid UTF-8");
}

// --- service reports ---------------------------------------------------------

std::string ServiceError(std::string_view body) {
  auto parsed = ParseServiceReport(body);
  EXPECT_FALSE(parsed.ok()) << body;
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(ParseServiceReport, Status) {
  auto parsed = ParseServiceReport(
      R"({"device":"2c","type":"STATUS","time":1440578526000,"station":"0a1b","temp":24.5,)"
      R"("batt":3.3})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->device, SigfoxId{0x2C});
  EXPECT_EQ(parsed->type, ServiceReportType::kStatus);
  EXPECT_EQ(parsed->time, 1440578526000);
  EXPECT_EQ(parsed->station, "0A1B");
  EXPECT_FALSE(parsed->seq_number.has_value());
  EXPECT_DOUBLE_EQ(parsed->temp, 24.5);
  EXPECT_DOUBLE_EQ(parsed->batt, 3.3);
}

TEST(ParseServiceReport, Acknowledge) {
  auto parsed = ParseServiceReport(
      R"({"device":"2C","type":"ACKNOWLEDGE","time":1,"station":"0A1B","seqNumber":12,)"
      R"("downlinkAck":true})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->type, ServiceReportType::kAcknowledge);
  EXPECT_EQ(parsed->seq_number, 12);
  EXPECT_TRUE(parsed->downlink_ack);
}

TEST(ParseServiceReport, Faults) {
  const std::string head = R"({"device":"2C","time":1,"station":"0A1B",)";
  EXPECT_EQ(ServiceError(head + R"("type":"status","temp":1,"batt":1})"),
            "type: must be STATUS or ACKNOWLEDGE");
  EXPECT_EQ(ServiceError(head + R"("type":"STATUS","batt":1})"), "temp: required");
  EXPECT_EQ(ServiceError(head + R"("type":"STATUS","temp":1})"), "batt: required");
  EXPECT_EQ(ServiceError(head + R"("type":"STATUS","temp":-101,"batt":1})"),
            "temp: must be a number -100..200 (°C)");
  EXPECT_EQ(ServiceError(head + R"("type":"STATUS","temp":1,"batt":-0.1})"),
            "batt: must be a number 0..100 (V)");
  EXPECT_EQ(ServiceError(head + R"("type":"STATUS","temp":1,"batt":1,"downlinkAck":true})"),
            "downlinkAck: only in an ACKNOWLEDGE report");
  EXPECT_EQ(ServiceError(head + R"("type":"ACKNOWLEDGE"})"), "downlinkAck: required");
  EXPECT_EQ(ServiceError(head + R"("type":"ACKNOWLEDGE","downlinkAck":"true"})"),
            "downlinkAck: must be true or false");
  EXPECT_EQ(ServiceError(head + R"("type":"ACKNOWLEDGE","downlinkAck":true,"batt":3})"),
            "batt: only in a STATUS report");
  EXPECT_EQ(ServiceError(head + R"("type":"ACKNOWLEDGE","downlinkAck":true,"seqNumber":4096})"),
            "seqNumber: must be an integer 0..4095");
  EXPECT_EQ(ServiceError(R"({"type":"ACKNOWLEDGE","downlinkAck":true})"), "device: required");
  EXPECT_EQ(ServiceError(R"({"device":"2C","type":"STATUS","temp":1,"batt":1,"station":"0A1B"})"),
            "time: required");
  EXPECT_EQ(ServiceError("[]"), "body: must be a JSON object");
}

std::string SigfoxServiceError(std::string_view body, std::string_view type) {
  auto parsed = ParseSigfoxServiceCallbackBody(body, type);
  EXPECT_FALSE(parsed.ok()) << body;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidInput);
  return parsed.status().message();
}

TEST(ParseSigfoxServiceCallbackBody, StatusAsJsonWithTextsTheKindFromItsVariables) {
  // The variables of a Sigfox Cloud STATUS callback, as its JSON body writes
  // them: numbers in strings, seconds, an empty {seqNumber}.
  auto parsed = ParseSigfoxServiceCallbackBody(
      R"({"device":"2c","time":"1440578526","station":"0a1b","seqNumber":"","temp":"24.50",)"
      R"("batt":"3.30","duplicate":"false","snr":"12.04","rssi":"-120.00","avgSnr":"N/A",)"
      R"("lat":"43","lng":"1"})",
      "application/json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->device, SigfoxId{0x2C});
  EXPECT_EQ(parsed->type, ServiceReportType::kStatus);
  EXPECT_EQ(parsed->time, 1440578526000);
  EXPECT_EQ(parsed->station, "0A1B");
  EXPECT_FALSE(parsed->seq_number.has_value());
  EXPECT_DOUBLE_EQ(parsed->temp, 24.5);
  EXPECT_DOUBLE_EQ(parsed->batt, 3.3);
  EXPECT_TRUE(parsed->public_network_caller.empty());  // the route sets it
}

TEST(ParseSigfoxServiceCallbackBody, AcknowledgeAsAForm) {
  auto parsed = ParseSigfoxServiceCallbackBody(
      "device=2C&time=1440578526&station=0A1B&seqNumber=12&downlinkAck=true&infoCode=0&"
      "infoMessage=Acked+downlink",
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->type, ServiceReportType::kAcknowledge);
  EXPECT_EQ(parsed->seq_number, 12);
  EXPECT_TRUE(parsed->downlink_ack);
  EXPECT_EQ(parsed->time, 1440578526000);
  // `type` may say the kind; it must then agree with the variables.
  auto typed = ParseSigfoxServiceCallbackBody(
      R"({"device":"2C","type":"ACKNOWLEDGE","time":1,"station":"0A1B","downlinkAck":"false"})",
      "application/json");
  ASSERT_TRUE(typed.ok()) << typed.status().message();
  EXPECT_FALSE(typed->downlink_ack);
}

TEST(ParseSigfoxServiceCallbackBody, Faults) {
  const std::string_view json = "application/json";
  EXPECT_EQ(SigfoxServiceError(R"({"device":"2C","time":1,"station":"0A1B","temp":1})", json),
            "batt: required");
  EXPECT_EQ(SigfoxServiceError(R"({"device":"2C","time":1,"station":"0A1B"})", json),
            "temp: required");  // neither kind's variables: a STATUS without them
  EXPECT_EQ(SigfoxServiceError(
                R"({"device":"2C","time":1,"station":"0A1B","downlinkAck":true,"temp":1})", json),
            "temp: only in a STATUS report");
  EXPECT_EQ(SigfoxServiceError(R"({"device":"2C","time":1440578526000,"station":"0A1B",)"
                               R"("temp":1,"batt":1})",
                               json),
            SigfoxServiceError(R"({"device":"2C","time":"x","station":"0A1B","temp":1,"batt":1})",
                               json));  // seconds: milliseconds are out of range
  EXPECT_EQ(SigfoxServiceError(R"({"time":1,"station":"0A1B","temp":1,"batt":1})", json),
            "device: required");
  EXPECT_EQ(
      SigfoxServiceError("device=2C&time=1&temp=1&batt=1", "application/x-www-form-urlencoded"),
      "station: required");
  EXPECT_EQ(SigfoxServiceError("device=2C&time=1&station=0A1B&temp=1&batt=%zz",
                               "application/x-www-form-urlencoded"),
            "batt: malformed percent escape");
  EXPECT_EQ(SigfoxServiceError(R"({"device":"2C"})", "text/plain"),
            "Content-Type: must be application/json or application/x-www-form-urlencoded");
  EXPECT_EQ(SigfoxServiceError(R"({"device":"2C","time":1,"station":"0A1B","temp":1,"batt":1,)"
                               R"("infoMessage":{"x":1}})",
                               json),
            "infoMessage: must be a text, a number, true, false or null");
  // The JSON route's body is not taken without its type.
  EXPECT_EQ(ServiceError(R"({"device":"2C","time":1,"station":"0A1B","temp":1,"batt":1})"),
            "type: required");
}

TEST(ReportTimes, RefusesTheFirstReportPastTenMinutesAheadNamingIt) {
  const EpochMillis now = 1'800'000'000'000;
  std::vector<UplinkReport> reports(3);
  reports[0].time = 1;                               // long past: taken without a retention
  reports[1].time = now + kMaxTimeAheadMs;           // the bound: taken
  reports[2].time = now + kMaxTimeAheadMs + 60'000;  // past it
  EXPECT_TRUE(CheckReportTimes(std::span(reports).first(2), true, now, 0).ok());
  Status s = CheckReportTimes(reports, true, now, 0);
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(s.message(),
            "reports[2].time: is 660 s ahead of the server's clock; at most 600 s ahead is taken");
  EXPECT_EQ(CheckReportTimes(std::span(reports).subspan(2), false, now, 0).message(),
            "time: is 660 s ahead of the server's clock; at most 600 s ahead is taken");
  ServiceReport service;
  service.time = now + kMaxTimeAheadMs + 1;  // rounded up: never "600 s ahead" refused
  EXPECT_EQ(CheckReportTime(service, now, 0).message(),
            "time: is 601 s ahead of the server's clock; at most 600 s ahead is taken");
  service.time = now;
  EXPECT_TRUE(CheckReportTime(service, now, 0).ok());
}

// With a retention, a report older than it is refused: its message would be
// purged by the next pass, maybe before its callbacks went out.
TEST(ReportTimes, RefusesAReportOlderThanTheRetentionNamingIt) {
  const EpochMillis now = 1'800'000'000'000;
  constexpr int64_t kDay = 86'400'000;
  const int64_t retention = 90 * kDay;
  std::vector<UplinkReport> reports(2);
  reports[0].time = now - retention;  // the bound: taken
  reports[1].time = now - retention - 1;
  EXPECT_TRUE(CheckReportTimes(std::span(reports).first(1), true, now, retention).ok());
  EXPECT_EQ(CheckReportTimes(reports, true, now, retention).message(),
            "reports[1].time: is 90 days old; messages are kept 90 days "
            "(pipeline.retention_days), so an older report is not taken");
  ServiceReport service;
  service.time = 1;
  EXPECT_EQ(CheckReportTime(service, now, retention).message(),
            "time: is 20833 days old; messages are kept 90 days (pipeline.retention_days), so "
            "an older report is not taken");
  EXPECT_TRUE(CheckReportTime(service, now, 0).ok());
}

}  // namespace
}  // namespace roost::pipeline
