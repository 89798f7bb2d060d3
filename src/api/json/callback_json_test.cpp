#include "api/json/callback_json.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace roost::api {
namespace {

Callback WithSecrets(std::string url) {
  Callback cb;
  cb.id = "cb";
  cb.url = std::move(url);
  cb.headers = {{"X-Api-Key", "s3cret"}, {"Accept", "application/json"}};
  return cb;
}

TEST(CallbackJson, AReadersViewBlanksHeaderValuesAndUrlCredentials) {
  const Callback cb = WithSecrets("https://user:pa@ss@hooks.example:8443/in/{device}?x=@y");
  const auto full = CallbackJson(cb);
  EXPECT_EQ(full["url"], cb.url);
  EXPECT_EQ(full["headers"]["X-Api-Key"], "s3cret");
  const auto reader = CallbackJson(cb, /*secrets=*/false);
  EXPECT_EQ(reader["url"], "https://***@hooks.example:8443/***/{device}?x=***");
  EXPECT_EQ(reader["headers"], (nlohmann::json{{"X-Api-Key", ""}, {"Accept", ""}}));
  EXPECT_EQ(reader.dump().find("s3cret"), std::string::npos);
  EXPECT_EQ(reader.dump().find("pa@ss"), std::string::npos);
}

TEST(CallbackJson, AUrlWithNothingToMaskIsShownWhole) {
  for (const char* url :
       {"http://hooks.example/{device}?", "http://hooks.example", "http://hooks.example/",
        "http://hooks.example/#", "http://hooks.example//{device}/{data}/"}) {
    EXPECT_EQ(CallbackJson(WithSecrets(url), false)["url"], url) << url;
  }
}

TEST(CallbackJson, AReadersViewMasksThePathsLiteralSegments) {
  for (const auto& [url, shown] : std::vector<std::pair<std::string, std::string>>{
           {"https://hooks.slack.example/services/T0/B0/XXXXsecret",
            "https://hooks.slack.example/***/***/***/***"},
           {"http://hooks.example/a@b", "http://hooks.example/***"},
           {"http://h.example/in/{device}/k3y{data}?a=1#f",
            "http://h.example/***/{device}/***?a=***#***"},
           {"http://h.example/{{device}}/{de}vice}", "http://h.example/***/***"},
           {"http://h.example/{device}/", "http://h.example/{device}/"},
           // A variable's '#' starts no fragment, nor does its '/' or '&' split anything.
           {"https://h.example/in/{device}?t={customData#t}&key=s3cret",
            "https://h.example/***/{device}?t=***&key=***"},
           {"https://h.example/{customData#t}/tok3n", "https://h.example/{customData#t}/***"},
           // Braces that make no variable split as any other text (the template
           // compiler refuses these URLs anyway): every value is still masked.
           {"https://h.example/a{b/c}d/tok3n?x={y&z}&k=s3cret",
            "https://h.example/***/***/***?x=***&***&k=***"},
           {"https://h.example/in?x={&key=s3cret", "https://h.example/***?x=***&key=***"},
           {"https://h.example/{?key=s3cret", "https://h.example/***?key=***"},
           // Literal braces (a '{' not followed by a name) are sent as they are: masked too.
           {"http://h.example/{.T0KEN}/x", "http://h.example/***/***"},
           {"http://h.example/{!s3cret}", "http://h.example/***"},
           {"http://user:pw@h.example{!/s3cret/}x/y", "http://***@h.example{!/***/***/***"}}) {
    EXPECT_EQ(CallbackJson(WithSecrets(url), false)["url"], shown) << url;
    EXPECT_EQ(CallbackJson(WithSecrets(url), true)["url"], url) << url;
  }
}

TEST(CallbackJson, AReadersViewWithholdsTheBodyTemplateAndLinePattern) {
  Callback cb = WithSecrets("http://h.example/{device}");
  cb.body_template = R"({"apiKey":"s3cret","d":"{data}"})";
  cb.line_pattern = "{device};s3cret";
  EXPECT_EQ(CallbackJson(cb)["bodyTemplate"], cb.body_template);
  EXPECT_EQ(CallbackJson(cb)["linePattern"], cb.line_pattern);
  const auto reader = CallbackJson(cb, false);
  EXPECT_EQ(reader["bodyTemplate"], "***");
  EXPECT_EQ(reader["linePattern"], "***");
  EXPECT_EQ(reader.dump().find("s3cret"), std::string::npos);
  cb.body_template.clear();
  EXPECT_EQ(CallbackJson(cb, false)["bodyTemplate"], "");  // none is shown as none
}

TEST(CallbackJson, AReadersViewKeepsTheQuerysNamesButNotItsValues) {
  for (const auto& [url, shown] : std::vector<std::pair<std::string, std::string>>{
           {"http://h.example/{device}?mail=a@b.example", "http://h.example/{device}?mail=***"},
           {"http://h.example/?code=k3y&device={device}", "http://h.example/?code=***&device=***"},
           {"http://h.example/in?k3y", "http://h.example/***?***"},
           {"http://h.example?a=1&&b=#frag", "http://h.example?a=***&***&b=***#***"},
           {"http://hooks.example/#x=1", "http://hooks.example/#***"},
           {"http://u:p@h.example?a=1", "http://***@h.example?a=***"}}) {
    EXPECT_EQ(CallbackJson(WithSecrets(url), false)["url"], shown) << url;
    EXPECT_EQ(CallbackJson(WithSecrets(url), true)["url"], url) << url;
  }
}

TEST(CallbackJson, AListedCallbackParsesBackAsItself) {
  Callback cb = WithSecrets("https://hooks.example/in/{device}");
  cb.subtype = CallbackSubtype::kBidir;
  cb.content_type = "application/json";
  cb.body_template = R"({"d":"{data}"})";
  cb.send_duplicate = true;
  cb.headers = {{"Accept", "application/json"}, {"X-Api-Key", "s3cret"}};  // as JSON orders them
  cb.downlink_hook = true;
  cb.dead = true;
  cb.creation_time = 42;
  auto parsed = ParseCallbacksCreate(nlohmann::json::array({CallbackJson(cb)}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  Callback expected = cb;
  expected.id.clear();  // the store's to give, as the creation time; dead is not taken
  expected.creation_time = 0;
  expected.dead = false;
  EXPECT_EQ(parsed->front(), expected);
  // At most one of a request is the downlinkHook.
  auto two = ParseCallbacksCreate(nlohmann::json::array({CallbackJson(cb), CallbackJson(cb)}));
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("data[1].downlinkHook"), std::string::npos);
}

// The fields of another channel are never used, so nothing checks them: they
// are dropped rather than stored and listed as sent.
TEST(CallbackJson, AnotherChannelsFieldsAreNotKept) {
  nlohmann::json headers = nlohmann::json::object();
  headers["X-\r\nEvil"] = "v\r\n";
  auto email = ParseCallbacksCreate(nlohmann::json::array({{{"channel", "EMAIL"},
                                                            {"recipient", "ops@example.test"},
                                                            {"subject", "s"},
                                                            {"message", "m"},
                                                            {"url", "http://h.example/\u0001"},
                                                            {"httpMethod", "DELETE"},
                                                            {"headers", headers},
                                                            {"contentType", "\n\n"},
                                                            {"bodyTemplate", "b"},
                                                            {"linePattern", "l\r\n"}}}));
  ASSERT_TRUE(email.ok()) << email.error().message;
  const Callback& e = email->front();
  EXPECT_EQ(e.recipient, "ops@example.test");
  EXPECT_EQ(e.url, "");
  EXPECT_EQ(e.http_method, "POST");
  EXPECT_TRUE(e.headers.empty());
  EXPECT_EQ(e.content_type, "");
  EXPECT_EQ(e.body_template, "");
  EXPECT_EQ(e.line_pattern, "");
  auto url = ParseCallbacksCreate(nlohmann::json::array({{{"url", "http://h.example/{device}"},
                                                          {"recipient", "x\r\n"},
                                                          {"subject", "s"},
                                                          {"message", "m"},
                                                          {"linePattern", "l"}}}));
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->front().url, "http://h.example/{device}");
  EXPECT_EQ(url->front().recipient, "");
  EXPECT_EQ(url->front().subject, "");
  EXPECT_EQ(url->front().message, "");
  EXPECT_EQ(url->front().line_pattern, "");
}

TEST(DeliveryJson, HistoryListsEachLoggedAttemptAndSkipsLinesItCannotRead) {
  Delivery d;
  d.attempts = 3;
  d.attempt_log = "30000 601 could not connect\ngarbage\n31000 500 HTTP 500\n32000 200 OK\n";
  const auto out = DeliveryJson(d);
  ASSERT_EQ(out["history"].size(), 3u);
  EXPECT_EQ(out["history"][0],
            (nlohmann::json{{"time", 30000}, {"status", 601}, {"info", "could not connect"}}));
  EXPECT_EQ(out["history"][2], (nlohmann::json{{"time", 32000}, {"status", 200}, {"info", "OK"}}));
}

TEST(DeliveryJson, NoSequenceNumberIsNull) {
  Delivery d;
  d.seq_number = 4095;
  EXPECT_EQ(DeliveryJson(d)["seqNumber"], 4095);
  d.seq_number = -1;  // an event's delivery: no message, so no sequence number
  EXPECT_TRUE(DeliveryJson(d)["seqNumber"].is_null());
}

TEST(DeliveryJson, AFirstTimeSuccessIsItsOwnHistoryAndAnUntriedDeliveryHasNone) {
  Delivery d;
  d.attempts = 1;
  d.state = DeliveryState::kDone;
  d.last_status = 200;
  d.last_info = "OK";
  d.next_attempt = 30000;
  EXPECT_EQ(DeliveryJson(d)["history"],
            (nlohmann::json::array({{{"time", 30000}, {"status", 200}, {"info", "OK"}}})));
  d.attempts = 0;
  EXPECT_EQ(DeliveryJson(d)["history"], nlohmann::json::array());
}

TEST(DeliveryJson, AnEmptyLogOfAnyOtherDeliveryMakesUpNoHistory) {
  // Rows recorded before the log existed: failed, retried, parked or dead.
  Delivery d;
  d.attempts = 3;
  d.state = DeliveryState::kPending;
  d.last_status = 500;
  d.first_failure = 10000;
  d.next_attempt = 253402300799999;
  EXPECT_EQ(DeliveryJson(d)["history"], nlohmann::json::array());
  d.attempts = 1;  // one failed attempt
  EXPECT_EQ(DeliveryJson(d)["history"], nlohmann::json::array());
  d.state = DeliveryState::kDead;
  EXPECT_EQ(DeliveryJson(d)["history"], nlohmann::json::array());
}

TEST(DeliveryJson, TheDestinationIsAUrlWithCredentialsOnlyForThoseWhoSeeSecretsOrAnEmail) {
  Delivery d;
  d.destination = "https://user:pw@hooks.example/in/2C";
  d.channel = CallbackChannel::kUrl;
  EXPECT_EQ(DeliveryJson(d)["url"], d.destination);
  const auto reader = DeliveryJson(d, /*secrets=*/false);
  EXPECT_EQ(reader["url"], "https://***@hooks.example/***/***");
  EXPECT_FALSE(reader.contains("email"));
  d.destination = "ops@example.com";
  d.channel = CallbackChannel::kEmail;
  const auto mail = DeliveryJson(d, false);
  EXPECT_EQ(mail["email"], "ops@example.com");
  EXPECT_FALSE(mail.contains("url"));
  d.destination.clear();
  EXPECT_FALSE(DeliveryJson(d).contains("url"));
}

// The text a page of messages is written with: every member, and valid JSON
// whatever an endpoint answered (its reason text is stored as it came).
TEST(DeliveryJson, TheTextIsValidJsonWithEveryMemberWhateverTheStoredTexts) {
  Delivery d;
  d.callback = "cb\"1";
  d.device = 0x2C;
  d.message_time = 1440578526789;
  d.seq_number = 12;
  d.duplicate = true;
  d.station = "0A1B";
  d.state = DeliveryState::kPending;
  d.attempts = 2;
  d.last_status = 502;
  d.last_info = "bad \xff gateway\n\x01";
  d.first_failure = 30000;
  d.attempt_log = "30000 502 bad \xfe\n31000 502 again\t\n";
  d.destination = "http://hooks.example/\"x";
  std::string text;
  AppendDeliveryJson(text, d, true);
  auto out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(out.is_discarded()) << text;
  EXPECT_EQ(out, DeliveryJson(d));
  EXPECT_EQ(out["callbackId"], "cb\"1");
  EXPECT_EQ(out["device"], "2C");
  EXPECT_EQ(out["messageTime"], 1440578526789);
  EXPECT_EQ(out["seqNumber"], 12);
  EXPECT_EQ(out["duplicate"], true);
  EXPECT_EQ(out["station"], "0A1B");
  EXPECT_EQ(out["state"], "pending");
  EXPECT_EQ(out["attempts"], 2);
  EXPECT_EQ(out["status"], 502);
  EXPECT_EQ(out["info"], "bad \xef\xbf\xbd gateway\n\x01");
  EXPECT_EQ(out["firstFailure"], 30000);
  ASSERT_EQ(out["history"].size(), 2u);
  EXPECT_EQ(out["history"][0]["info"], "bad \xef\xbf\xbd");
  EXPECT_EQ(out["history"][1]["info"], "again\t");
  EXPECT_EQ(out["url"], "http://hooks.example/\"x");
  d.first_failure = 0;
  d.destination.clear();
  text.clear();
  AppendDeliveryJson(text, d, true);
  out = nlohmann::json::parse(text);
  EXPECT_TRUE(out["firstFailure"].is_null());
  EXPECT_FALSE(out.contains("url"));
  EXPECT_FALSE(out.contains("email"));
  // Before its first attempt ends a delivery has no status.
  d.attempts = 0;
  d.last_status = 0;
  text.clear();
  AppendDeliveryJson(text, d, true);
  out = nlohmann::json::parse(text);
  EXPECT_TRUE(out["status"].is_null()) << text;
  EXPECT_EQ(out["attempts"], 0);
}

}  // namespace
}  // namespace roost::api
