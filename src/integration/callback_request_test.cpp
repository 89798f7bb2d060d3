#include "integration/callback_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace roost::integration {
namespace {

::testing::AssertionResult StartsWith(const std::string& text, std::string_view prefix) {
  if (std::string_view(text).starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not start with '" << prefix << "'";
}

::testing::AssertionResult HasSubstr(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// Two stations heard the frame; the second one's report came 80 ms later.
Message TwoStationMessage() {
  Message m;
  m.device = SigfoxId{0x2C};
  m.type = "5f1e2d3c4b5a697887960a1b";
  m.time = 1440578526789;
  m.seq_number = 1234;
  m.data = "0a1b2c";
  Reception first;
  first.station = "0A1B";
  first.rssi = -99.126;
  first.snr = 10.5;
  first.lat = 43.5465;
  first.lng = 1.398912345;
  Reception second;
  second.station = "0B2C";
  second.rssi = -120.5;
  second.snr = 12.0;
  second.delay = 80;
  second.lat = 44.25;
  second.lng = -0.5;
  m.rinfos = {first, second};
  m.ack = true;
  // Between the two stations: the callbacks' {lat} and {lng} are a station's.
  m.computed_location = ComputedLocation{.lat = 43.9, .lng = 0.45, .radius = 500};
  return m;
}

Delivery FirstDelivery() {
  Delivery d;
  d.id = 7;
  d.callback = "cb1";
  d.device = 0x2C;
  d.message_time = 1440578526789;
  d.seq_number = 1234;
  d.station = "0A1B";
  return d;
}

Callback UrlCallback() {
  Callback c;
  c.id = "cb1";
  c.type = "5f1e2d3c4b5a697887960a1b";
  c.url = "https://example.com/up";
  c.http_method = "POST";
  c.content_type = "text/plain";
  return c;
}

// One delivery's request of a URL callback, compiled on the spot.
Result<HttpRequest> BuildCallbackRequest(const Callback& c, const Message& m, const Delivery& d) {
  if (c.channel != CallbackChannel::kUrl) return Status::InvalidInput("not a URL callback");
  auto compiled = CompileCallback(c);
  if (!compiled.ok()) return compiled.status();
  return compiled->Render(m, d);
}

HttpRequest MustBuild(const Callback& c, const Message& m, const Delivery& d) {
  auto r = BuildCallbackRequest(c, m, d);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : HttpRequest{};
}

std::string HeaderOf(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

std::string ErrorOf(const Callback& c) {
  Status s = ValidateCallback(c);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  return s.message();
}

constexpr std::string_view kEveryVariable =
    "device={device}|type={deviceTypeId}|time={time}|data={data}|seq={seqNumber}|"
    "dup={duplicate}|snr={snr}|avgSnr={avgSnr}|rssi={rssi}|station={station}|lat={lat}|"
    "lng={lng}|ack={ack}|lp={longPolling}";

TEST(CompiledCallbacks, KeepACompilationForItsDefinitionOnly) {
  CompiledCallbacks kept(2);
  Callback cb = UrlCallback();
  auto first = kept.Get(cb);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(kept.Get(cb)->get(), first->get()) << "compiled once";
  cb.dead = true;  // its state is not its definition
  cb.enabled = false;
  cb.downlink_hook = true;
  EXPECT_EQ(kept.Get(cb)->get(), first->get());
  cb.url += "&again=1";  // edited: compiled again, for the new definition
  auto edited = kept.Get(cb);
  ASSERT_TRUE(edited.ok());
  EXPECT_NE(edited->get(), first->get());
  EXPECT_NE((*edited)->Render(TwoStationMessage(), FirstDelivery()).url.find("again=1"),
            std::string::npos);
  cb.url = "http://[bad";
  EXPECT_FALSE(kept.Get(cb).ok()) << "refusals are CompileCallback's";
}

TEST(CallbackRequest, EveryVariableHasItsValue) {
  Callback c = UrlCallback();
  c.body_template = kEveryVariable;
  HttpRequest r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://example.com/up");
  EXPECT_EQ(r.body,
            "device=2C|type=5f1e2d3c4b5a697887960a1b|time=1440578526|data=0a1b2c|seq=1234|"
            "dup=false|snr=10.50|avgSnr=10.50|rssi=-99.13|station=0A1B|lat=43.546500|"
            "lng=1.398912|ack=true|lp=false");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain");
}

TEST(CallbackRequest, DuplicateDeliveryUsesTheReportingStation) {
  Callback c = UrlCallback();
  c.body_template = "{duplicate} {station} {rssi} {snr} {avgSnr} {lat} {lng}";
  Delivery d = FirstDelivery();
  d.duplicate = true;
  d.station = "0B2C";
  // Its own signal and position; the mean of the stations so far, itself included.
  EXPECT_EQ(MustBuild(c, TwoStationMessage(), d).body,
            "true 0B2C -120.50 12.00 11.25 44.250000 -0.500000");
  // A station the message does not list (never queued so): the first station's values.
  d.station = "0FFF";
  EXPECT_EQ(MustBuild(c, TwoStationMessage(), d).body,
            "true 0FFF -99.13 10.50 10.50 43.546500 1.398912");
}

TEST(CallbackRequest, APublicBaseStationsDuplicateIsNotTakenForTheListedStationOfItsId) {
  // The Sigfox Cloud's base station 0B2C and a listed station 0B2C both heard
  // the frame: the public one's duplicate (station "public:0B2C") carries its
  // own signal, and {station} is the id alone.
  Message m = TwoStationMessage();
  Reception cloud = m.rinfos[1];
  cloud.public_network = true;
  cloud.rssi = -140;
  cloud.snr = 3;
  cloud.lat.reset();
  cloud.lng.reset();
  cloud.delay = 120;
  m.rinfos.push_back(cloud);
  Callback c = UrlCallback();
  c.body_template = "{station} {rssi} {snr}";
  Delivery d = FirstDelivery();
  d.duplicate = true;
  d.station = ReceptionKey("0B2C", true);
  EXPECT_EQ(MustBuild(c, m, d).body, "0B2C -140.00 3.00");
  d.station = ReceptionKey("0B2C", false);
  EXPECT_EQ(MustBuild(c, m, d).body, "0B2C -120.50 12.00");
}

// A message's delivery is sent with the values it was queued with, however
// many stations join the message before an attempt: a retry renders the
// stored message, which may list more stations than the first attempt's.
TEST(CallbackRequest, EveryAttemptSendsTheSameRadioValues) {
  Callback c = UrlCallback();
  c.body_template = "{station} {rssi} {snr} {avgSnr} {lat} {lng}";
  Message first_heard = TwoStationMessage();
  first_heard.rinfos.resize(1);
  first_heard.computed_location = ComputedLocation{.lat = 43.5465, .lng = 1.398912, .radius = 9000};
  const std::string at_first = MustBuild(c, first_heard, FirstDelivery()).body;
  EXPECT_EQ(at_first, "0A1B -99.13 10.50 10.50 43.546500 1.398912");
  Message later = TwoStationMessage();
  Reception third;
  third.station = "0C3D";
  third.rssi = -80;  // a better signal than the first station's
  third.snr = 30;
  third.delay = 200;
  later.rinfos.push_back(third);
  EXPECT_EQ(MustBuild(c, later, FirstDelivery()).body, at_first);
  Delivery dup = FirstDelivery();
  dup.duplicate = true;
  dup.station = "0B2C";
  EXPECT_EQ(MustBuild(c, later, dup).body, MustBuild(c, TwoStationMessage(), dup).body);
}

TEST(CallbackRequest, AvgSignalIsTheOlderNameOfAvgSnr) {
  Callback c = UrlCallback();
  c.body_template = "{avgSignal}/{avgSnr}";
  Delivery d = FirstDelivery();
  d.station = "0B2C";
  EXPECT_EQ(MustBuild(c, TwoStationMessage(), d).body, "11.25/11.25");
}

TEST(CallbackRequest, MissingValuesExpandToNothing) {
  Callback c = UrlCallback();
  c.body_template = "[{lat}][{lng}]";
  Message m = TwoStationMessage();
  m.rinfos.front().lat.reset();  // a station without a position
  EXPECT_EQ(MustBuild(c, m, FirstDelivery()).body, "[][]");
  m.rinfos.front().lat = 1.0;
  m.rinfos.front().lng.reset();
  EXPECT_EQ(MustBuild(c, m, FirstDelivery()).body, "[][]");
}

TEST(CallbackRequest, ServiceAndErrorDeliveriesCarryTheirOwnValues) {
  Callback c = UrlCallback();
  c.callback_type = CallbackType::kService;
  c.subtype = CallbackSubtype::kStatus;
  c.body_template = "{device} {time} {station} {temp} {batt} [{snr}][{rssi}][{lat}]";
  Message about;  // a service report has no stored message: no radio values
  about.device = SigfoxId{0x2C};
  about.time = 1440578526789;
  Delivery d = FirstDelivery();
  d.variables = R"({"temp": "21.50", "batt": "3.10"})";
  EXPECT_EQ(MustBuild(c, about, d).body, "2C 1440578526 0A1B 21.50 3.10 [][][]");

  c.callback_type = CallbackType::kError;
  c.subtype = CallbackSubtype::kNone;
  c.body_template = "{severity}: {info} ({device})";
  d.variables = R"({"info": "No message received since 2026-12-01", "severity": "ERROR"})";
  EXPECT_EQ(MustBuild(c, about, d).body, "ERROR: No message received since 2026-12-01 (2C)");
  // An event has no sequence number (the key's -1): none is written.
  about.seq_number = -1;
  c.body_template = "[{seqNumber}]";
  EXPECT_EQ(MustBuild(c, about, d).body, "[]");
  c.body_template = "{\"seq\":{seqNumber}}";
  c.content_type = "application/json";
  EXPECT_EQ(MustBuild(c, about, d).body, "{\"seq\":null}");
  c.body_template = "{severity}: {info} ({device})";
  c.content_type = "text/plain";
  // Values that are not an object of strings are ignored, never an error.
  d.variables = R"(["ERROR"])";
  EXPECT_EQ(MustBuild(c, about, d).body, ":  (2C)");
}

TEST(CallbackRequest, TimeIsEpochSecondsRoundedDown) {
  Callback c = UrlCallback();
  c.body_template = "{time}";
  Message m = TwoStationMessage();
  m.time = 999;
  EXPECT_EQ(MustBuild(c, m, FirstDelivery()).body, "0");
  m.time = -1;
  EXPECT_EQ(MustBuild(c, m, FirstDelivery()).body, "-1");
}

// n: 4 characters a " & LF; t: 18; f: true.
constexpr std::string_view kCustomFormat = "n:0:char:4 t:4:uint:8 f:5:bool:7";
constexpr std::string_view kCustomData = "6122260a1280";

TEST(CallbackRequest, CustomDataIsEscapedForWhereItLands) {
  Callback c = UrlCallback();
  c.payload_config = kCustomFormat;
  c.url = "https://example.com/{device}/x?n={customData#n}&t={customData#t}";
  c.headers = {{"X-N", "<{customData#n}>"}, {"X-F", "{customData#f}"}};
  c.content_type = "application/json; charset=utf-8";
  c.body_template =
      R"({"n":"{customData#n}","t":{customData#t},"f":{customData#f},"d":"{device}"})";
  Message m = TwoStationMessage();
  m.data = kCustomData;
  HttpRequest r = MustBuild(c, m, FirstDelivery());
  EXPECT_EQ(r.url, "https://example.com/2C/x?n=a%22%26%0A&t=18");
  EXPECT_EQ(HeaderOf(r, "X-N"), "<a\"&>");
  EXPECT_EQ(HeaderOf(r, "X-F"), "true");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json; charset=utf-8");
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r.body;
  EXPECT_EQ(body["n"], "a\"&\n");
  EXPECT_EQ(body["t"], 18);
  EXPECT_EQ(body["f"], true);
  EXPECT_EQ(body["d"], "2C");

  c.content_type = "application/x-www-form-urlencoded";
  c.body_template = "n={customData#n}&t={customData#t}";
  EXPECT_EQ(MustBuild(c, m, FirstDelivery()).body, "n=a%22%26%0A&t=18");
}

TEST(CallbackRequest, CompiledOnceRendersEachMessageOnItsOwn) {
  Callback c = UrlCallback();
  c.payload_config = kCustomFormat;
  c.body_template = "{data}:{customData#t}:{customData#f}";
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  EXPECT_EQ(compiled->id(), "cb1");
  EXPECT_EQ(compiled->kind(), CallbackKind::kDataUplink);
  Message m = TwoStationMessage();
  m.data = kCustomData;
  EXPECT_EQ(compiled->Render(m, FirstDelivery()).body, "6122260a1280:18:true");
  // Too short for t and f: their values must not linger from the last message.
  m.data = "61222600";
  EXPECT_EQ(compiled->Render(m, FirstDelivery()).body, "61222600::");
}

// Each rendering formats only what its own patterns use; what a pattern uses
// is never missing, wherever else it is used or not.
TEST(CallbackRequest, OnlyTheVariablesThePatternsUseAreFormatted) {
  Callback c = UrlCallback();
  c.payload_config = kCustomFormat;
  c.url = "https://example.com/{device}?t={customData#t}&r={rssi}";
  c.body_template = "{snr}";
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Message m = TwoStationMessage();
  m.data = kCustomData;

  Variables some;
  VariableSet needed;
  needed.variables = (1u << static_cast<unsigned>(Variable::kDevice)) |
                     (1u << static_cast<unsigned>(Variable::kSnr));
  compiled->FillVariables(m, FirstDelivery(), some, needed);
  EXPECT_EQ(some.Get(Variable::kDevice), "2C");
  EXPECT_EQ(some.Get(Variable::kSnr), "10.50");
  EXPECT_EQ(some.Get(Variable::kRssi), "");
  EXPECT_EQ(some.Get(Variable::kLat), "");
  EXPECT_EQ(some.GetCustomData("t"), "");
  Variables all;
  compiled->FillVariables(m, FirstDelivery(), all);
  EXPECT_EQ(all.Get(Variable::kRssi), "-99.13");
  EXPECT_EQ(all.Get(Variable::kLat), "43.546500");
  EXPECT_EQ(all.GetCustomData("t"), "18");

  // The url alone (a delivery's destination) and the whole request.
  EXPECT_EQ(compiled->Destination(m, FirstDelivery()), "https://example.com/2C?t=18&r=-99.13");
  HttpRequest r = compiled->Render(m, FirstDelivery());
  EXPECT_EQ(r.url, "https://example.com/2C?t=18&r=-99.13");
  EXPECT_EQ(r.body, "10.50");

  Callback mail;
  mail.id = "cb2";
  mail.type = c.type;
  mail.channel = CallbackChannel::kEmail;
  mail.recipient = "ops+{device}@example.com";
  mail.subject = "{seqNumber}";
  mail.message = "{data} {lat}";
  auto compiled_mail = CompileCallback(mail);
  ASSERT_TRUE(compiled_mail.ok()) << compiled_mail.status().message();
  EXPECT_EQ(compiled_mail->Destination(m, FirstDelivery()), "ops+2C@example.com");
  EmailParts email = compiled_mail->RenderEmail(m, FirstDelivery());
  EXPECT_EQ(email.recipient, "ops+2C@example.com");
  EXPECT_EQ(email.subject, "1234");
  EXPECT_EQ(email.body, std::string(kCustomData) + " 43.546500");
}

TEST(CallbackRequest, DefaultBodies) {
  Callback c = UrlCallback();
  c.content_type = "application/x-www-form-urlencoded";
  HttpRequest r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(r.body, "device=2C&data=0a1b2c&time=1440578526");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/x-www-form-urlencoded");

  c.content_type = "Application/JSON";
  r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body, nlohmann::json::parse(R"({"device":"2C","data":"0a1b2c","time":1440578526})"));

  // No default for other types: an empty body, still labelled.
  c.content_type = "text/plain";
  r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain");

  c.content_type = "";
  r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "<absent>");
}

TEST(CallbackRequest, GetHasNoBodyAndNoContentType) {
  Callback c = UrlCallback();
  c.http_method = "GET";
  c.content_type = "application/json";
  c.url = "http://example.com/get?d={device}&s={snr}&lat={lat}";
  HttpRequest r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "http://example.com/get?d=2C&s=10.50&lat=43.546500");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "<absent>");
}

TEST(CallbackRequest, PutSendsTheBody) {
  Callback c = UrlCallback();
  c.http_method = "PUT";
  c.body_template = "{seqNumber}";
  HttpRequest r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.body, "1234");
}

TEST(CallbackRequest, HeaderPatternCannotSplitTheHeader) {
  Callback c = UrlCallback();
  c.headers = {{"Authorization", "Bearer abc\r\nX-Evil: 1"}};
  HttpRequest r = MustBuild(c, TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(HeaderOf(r, "Authorization"), "Bearer abcX-Evil: 1");
  EXPECT_EQ(HeaderOf(r, "X-Evil"), "<absent>");
}

TEST(CallbackRequest, RefusalsNameThePattern) {
  Callback c = UrlCallback();
  c.url = "https://example.com/{foo}";
  EXPECT_TRUE(
      StartsWith(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).status().message(),
                 "url: position 21: unknown variable {foo}"));
  c = UrlCallback();
  c.headers = {{"X-Key", "{temp}"}};
  EXPECT_TRUE(
      StartsWith(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).status().message(),
                 "header X-Key: position 1: unknown variable {temp} for DATA UPLINK"));
  c = UrlCallback();
  c.headers = {{"X Key", "v"}};
  EXPECT_EQ(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).status().message(),
            "headers: 'X Key' is not a header name");
  c = UrlCallback();
  c.body_template = "{ack";
  EXPECT_TRUE(
      StartsWith(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).status().message(),
                 "bodyTemplate: position 1:"));
  c = UrlCallback();
  c.channel = CallbackChannel::kEmail;
  EXPECT_FALSE(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).ok());
}

TEST(CallbackRequest, BidirKindFollowsTheSubtype) {
  Callback c = UrlCallback();
  c.subtype = CallbackSubtype::kBidir;
  c.url = "https://example.com/{downlinkAck}";
  EXPECT_TRUE(
      HasSubstr(BuildCallbackRequest(c, TwoStationMessage(), FirstDelivery()).status().message(),
                "for DATA BIDIR callbacks"));
  c.url = "https://example.com/";
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->kind(), CallbackKind::kDataBidir);
}

TEST(ValidateCallback, AcceptsWellFormedCallbacks) {
  Callback c = UrlCallback();
  c.payload_config = kCustomFormat;
  c.url = "https://example.com/{device}?n={customData#n}";
  c.headers = {{"Authorization", "Bearer {deviceTypeId}"}};
  c.content_type = "application/json";
  c.body_template = std::string("{\"all\":\"") + std::string(kEveryVariable) + "\"}";
  EXPECT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();

  Callback status = UrlCallback();
  status.callback_type = CallbackType::kService;
  status.subtype = CallbackSubtype::kStatus;
  status.body_template = "{temp} {batt}";
  EXPECT_TRUE(ValidateCallback(status).ok()) << ValidateCallback(status).message();

  Callback mail;
  mail.channel = CallbackChannel::kEmail;
  mail.recipient = "ops@example.com";
  mail.subject = "{device} says {data}";
  mail.message = "at {time}";
  EXPECT_TRUE(ValidateCallback(mail).ok()) << ValidateCallback(mail).message();

  Callback batch = UrlCallback();
  batch.channel = CallbackChannel::kBatchUrl;
  batch.line_pattern = "{device};{data}";
  EXPECT_TRUE(ValidateCallback(batch).ok()) << ValidateCallback(batch).message();

  Callback hook = UrlCallback();
  hook.subtype = CallbackSubtype::kBidir;
  hook.downlink_hook = true;
  EXPECT_TRUE(ValidateCallback(hook).ok()) << ValidateCallback(hook).message();
}

TEST(ValidateCallback, UrlRefusals) {
  Callback c = UrlCallback();
  c.url = "";
  EXPECT_EQ(ErrorOf(c), "url: required");
  for (const char* bad :
       {"ftp://example.com/", "example.com/x", "https:///x", "http://", "{url}"}) {
    c.url = bad;
    EXPECT_EQ(ErrorOf(c), "url: must start with http:// or https:// and name a host") << bad;
  }
  c.url = "https://example.com/{foo}";
  EXPECT_EQ(ErrorOf(c), "url: position 21: unknown variable {foo} for DATA UPLINK callbacks");
  c.url = "https://example.com/a b";
  EXPECT_EQ(ErrorOf(c), "url: position 22: spaces and control characters must be percent-encoded");
  c.url = "HTTPS://example.com/{device}";
  EXPECT_TRUE(ValidateCallback(c).ok());
  // The authority as written: a port no request can go to is refused when saved.
  for (const char* bad : {"http://h:99999/x", "http://h:0/", "http://h:/", "http://h:8o/",
                          "http://u:pw?@127.0.0.1:9/x", "http://u:pw/@127.0.0.1:9/x",
                          "http://a:b:c/", "http://[::1]:65536/", "http://[::1]x/"}) {
    c.url = bad;
    EXPECT_EQ(ErrorOf(c).substr(0, 5), "url: ") << bad;
    EXPECT_FALSE(ValidateCallback(c).ok()) << bad;
  }
  c.url = "http://u:pw?@127.0.0.1:9/x";
  EXPECT_EQ(ErrorOf(c), "url: the port must be a number 1..65535") << "the password is not quoted";
  for (const char* good :
       {"http://h:65535/", "http://user:p%40ss@h:8080/x", "http://[::1]:80/", "http://[::1]/",
        "https://h/?a=b:c@d", "http://{device}.example.com:1/"}) {
    c.url = good;
    EXPECT_TRUE(ValidateCallback(c).ok()) << good << ": " << ValidateCallback(c).message();
  }
}

TEST(ValidateCallback, HeadersAreFewAndNamedOnce) {
  Callback c = UrlCallback();
  c.headers = {{"X-Key", "a"}, {"Accept", "b"}, {"x-key", "c"}};
  EXPECT_EQ(ErrorOf(c), "headers: 'x-key' is given more than once");
  c.headers.clear();
  for (size_t i = 0; i < kMaxCallbackHeaders; ++i) {
    c.headers.emplace_back("X-H" + std::to_string(i), "v");
  }
  EXPECT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();
  c.headers.emplace_back("X-One-More", "v");
  EXPECT_EQ(ErrorOf(c), "headers: at most 32");
}

TEST(ValidateCallback, MethodHeaderAndBodyRefusals) {
  Callback c = UrlCallback();
  c.http_method = "DELETE";
  EXPECT_EQ(ErrorOf(c), "httpMethod: must be GET, POST or PUT");
  c.http_method = "post";
  EXPECT_EQ(ErrorOf(c), "httpMethod: must be GET, POST or PUT");

  c = UrlCallback();
  c.headers = {{"X Key", "v"}};
  EXPECT_EQ(ErrorOf(c), "headers: 'X Key' is not a header name");
  c.headers = {{"", "v"}};
  EXPECT_EQ(ErrorOf(c), "headers: '' is not a header name");
  c.headers = {{"X-Key\r\nEvil", "v"}};
  EXPECT_EQ(ErrorOf(c), "headers: 'X-Key??Evil' is not a header name");
  c.headers = {{"content-type", "text/plain"}};
  EXPECT_EQ(ErrorOf(c), "headers: Content-Type is set by contentType");
  for (const char* reserved : {"Host", "content-length", "Transfer-Encoding", "CONNECTION"}) {
    c.headers = {{reserved, "x"}};
    EXPECT_TRUE(HasSubstr(ErrorOf(c), "is set by Roost")) << reserved;
  }
  c.headers = {{"X-Key", "{bar}"}};
  EXPECT_EQ(ErrorOf(c),
            "header X-Key: position 1: unknown variable {bar} for DATA UPLINK callbacks");
  // A value's own text with a control character could never be sent as written.
  c.headers = {{"X-Key", "é\r\nInjected: yes"}};
  EXPECT_EQ(ErrorOf(c),
            "header X-Key: position 2: control characters (CR, LF, ...) cannot be sent in a "
            "header");
  c.headers = {{"X-Key", std::string("a\0b", 3)}};
  EXPECT_TRUE(StartsWith(ErrorOf(c), "header X-Key: position 2: control characters"));

  for (const char* bad :
       {"json", "application/", "/json", "application/json\r\nX: 1", "application /json"}) {
    c = UrlCallback();
    c.content_type = bad;
    EXPECT_EQ(ErrorOf(c), "contentType: must be a media type such as application/json") << bad;
  }
  c.content_type = "application/json; charset=utf-8";
  EXPECT_TRUE(ValidateCallback(c).ok());

  c = UrlCallback();
  c.http_method = "GET";
  c.body_template = "{device}";
  EXPECT_EQ(ErrorOf(c), "bodyTemplate: a GET callback sends no body");
  c.http_method = "POST";
  c.body_template = "{\"a\":{severity}}";
  EXPECT_TRUE(StartsWith(ErrorOf(c), "bodyTemplate: position 6: unknown variable {severity}"));
}

TEST(ValidateCallback, PayloadConfigAndCustomData) {
  Callback c = UrlCallback();
  c.payload_config = "x:0:uint:9";
  EXPECT_TRUE(StartsWith(ErrorOf(c), "payloadConfig: position "));
  c.payload_config = "t:0:uint:8";
  c.body_template = "{customData#t} {customData#hum}";
  EXPECT_EQ(ErrorOf(c),
            "bodyTemplate: position 16: {customData#hum}: no field 'hum' in the callback's "
            "payloadConfig");
  c.payload_config = "";
  c.body_template = "{customData#t}";
  EXPECT_TRUE(StartsWith(ErrorOf(c), "bodyTemplate: position 1:"));
}

TEST(ValidateCallback, ChannelFieldsAndKinds) {
  Callback batch = UrlCallback();
  batch.channel = CallbackChannel::kBatchUrl;
  EXPECT_EQ(ErrorOf(batch), "linePattern: required");
  batch.line_pattern = "{device};{nope}";
  EXPECT_TRUE(StartsWith(ErrorOf(batch), "linePattern: position 10: unknown variable {nope}"));
  batch.line_pattern = "{device}";
  batch.url = "";
  EXPECT_EQ(ErrorOf(batch), "url: required");

  Callback mail;
  mail.channel = CallbackChannel::kEmail;
  mail.subject = "s";
  mail.message = "m";
  EXPECT_EQ(ErrorOf(mail), "recipient: required");
  mail.recipient = "not an address";
  EXPECT_TRUE(StartsWith(ErrorOf(mail), "recipient: "));
  mail.recipient = "ops@example.com";
  mail.subject = "";
  EXPECT_EQ(ErrorOf(mail), "subject: required");
  mail.subject = "{info}";
  EXPECT_TRUE(StartsWith(ErrorOf(mail), "subject: position 1: unknown variable {info}"));
  mail.subject = "Alert\nBcc: victim@example.com";
  EXPECT_EQ(ErrorOf(mail),
            "subject: position 6: control characters (CR, LF, ...) cannot be sent in a header");
  mail.recipient = "ops@example.com\r\nBcc: victim@example.com";
  mail.subject = "s";
  EXPECT_TRUE(StartsWith(ErrorOf(mail), "recipient: "));
  mail.recipient = "ops@example.com";
  mail.subject = "s";
  mail.message = "";
  EXPECT_EQ(ErrorOf(mail), "message: required");
  mail.message = "{temp";
  EXPECT_TRUE(StartsWith(ErrorOf(mail), "message: position 1:"));

  Callback c = UrlCallback();
  c.subtype = CallbackSubtype::kStatus;
  EXPECT_EQ(ErrorOf(c), "callbackSubtype: STATUS does not go with callbackType DATA");
  c.callback_type = CallbackType::kError;
  c.subtype = CallbackSubtype::kUplink;
  EXPECT_EQ(ErrorOf(c), "callbackSubtype: UPLINK does not go with callbackType ERROR");
  c.subtype = CallbackSubtype::kNone;
  c.body_template = "{info} {severity}";
  EXPECT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();

  Callback hook = UrlCallback();
  hook.downlink_hook = true;
  EXPECT_EQ(ErrorOf(hook), "downlinkHook: only a DATA BIDIR URL callback answers downlinks");
}

TEST(CallbackRequest, EmailIsItsPatternsExpanded) {
  Callback c;
  c.id = "cb1";
  c.type = "5f1e2d3c4b5a697887960a1b";
  c.channel = CallbackChannel::kEmail;
  c.recipient = "ops+{device}@example.com";
  c.subject = "Message {seqNumber} of {device}";
  c.message = "data={data}\nstation={station}\n{\"json\": \"{data}\"} & <{rssi}>";
  ASSERT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  EXPECT_EQ(compiled->channel(), CallbackChannel::kEmail);
  EmailParts email = compiled->RenderEmail(TwoStationMessage(), FirstDelivery());
  EXPECT_EQ(email.recipient, "ops+2C@example.com");
  EXPECT_EQ(email.subject, "Message 1234 of 2C");
  // The message is text: values go in as they are, nothing escaped.
  EXPECT_EQ(email.body, "data=0a1b2c\nstation=0A1B\n{\"json\": \"0a1b2c\"} & <-99.13>");
}

TEST(CallbackRequest, EmailSubjectAndRecipientCannotCarryLineBreaks) {
  Callback c;
  c.id = "cb1";
  c.type = "5f1e2d3c4b5a697887960a1b";
  c.channel = CallbackChannel::kEmail;
  c.payload_config = kCustomFormat;
  c.recipient = "ops@example.com{customData#n}";
  c.subject = "Alert {customData#n}Bcc: victim@example.com";
  c.message = "n={customData#n}";
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Message m = TwoStationMessage();
  m.data = kCustomData;  // field n holds a"&\n
  EmailParts email = compiled->RenderEmail(m, FirstDelivery());
  EXPECT_EQ(email.subject, "Alert a\"&Bcc: victim@example.com");
  EXPECT_EQ(email.subject.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(email.recipient.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(email.body, "n=a\"&\n");
}

TEST(CallbackRequest, BatchLinesAreJoinedIntoOneRequest) {
  Callback c = UrlCallback();
  c.channel = CallbackChannel::kBatchUrl;
  c.content_type = "";
  c.headers = {{"Authorization", "Bearer k"}};
  c.line_pattern = "{device};{seqNumber};{data};{duplicate}";
  ASSERT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Message m = TwoStationMessage();
  Delivery dup = FirstDelivery();
  dup.duplicate = true;
  std::vector<std::string> lines = {compiled->RenderLine(m, FirstDelivery()),
                                    compiled->RenderLine(m, dup)};
  EXPECT_EQ(lines[0], "2C;1234;0a1b2c;false");
  HttpRequest r = compiled->RenderBatch(lines);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://example.com/up");
  EXPECT_EQ(r.body, "2C;1234;0a1b2c;false\n2C;1234;0a1b2c;true");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain");
  EXPECT_EQ(HeaderOf(r, "Authorization"), "Bearer k");
}

TEST(CallbackRequest, ABatchLineIsOneLineWhateverItsValues) {
  Callback c = UrlCallback();
  c.channel = CallbackChannel::kBatchUrl;
  c.payload_config = kCustomFormat;
  c.line_pattern = "{device} {customData#n}";
  auto compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Message m = TwoStationMessage();
  m.data = kCustomData;  // field n ends with a line break
  EXPECT_EQ(compiled->RenderLine(m, FirstDelivery()), "2C a\"&");
  // Lines of JSON are JSON-escaped, so they stay one line too.
  c.line_pattern = "{\"n\":\"{customData#n}\"}";
  c.content_type = "application/json";
  compiled = CompileCallback(c);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->RenderLine(m, FirstDelivery()), "{\"n\":\"a\\\"&\\n\"}");
}

TEST(ValidateCallback, ABatchUrlVariesOnlyInItsLines) {
  Callback c = UrlCallback();
  c.channel = CallbackChannel::kBatchUrl;
  c.line_pattern = "{device}";
  c.url = "https://example.com/{device}";
  EXPECT_EQ(ErrorOf(c),
            "url: a BATCH_URL callback's url has no variables (its lines carry the messages)");
  c.url = "https://example.com/batch";
  c.headers = {{"X-Device", "{device}"}};
  EXPECT_EQ(ErrorOf(c), "header X-Device: a BATCH_URL callback's headers have no variables");
  c.headers = {};
  c.http_method = "GET";
  EXPECT_EQ(ErrorOf(c), "httpMethod: a BATCH_URL callback sends its lines with POST or PUT");
  c.http_method = "PUT";
  EXPECT_TRUE(ValidateCallback(c).ok()) << ValidateCallback(c).message();
  c.line_pattern = "{device}\n{data}";
  EXPECT_EQ(ErrorOf(c), "linePattern: one line per message: no line breaks");
}

}  // namespace
}  // namespace roost::integration
