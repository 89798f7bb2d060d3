#include "api/json/callback_json.h"

#include <gtest/gtest.h>

#include <string>

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
  EXPECT_EQ(reader["url"], "https://***@hooks.example:8443/in/{device}?x=@y");
  EXPECT_EQ(reader["headers"], (nlohmann::json{{"X-Api-Key", ""}, {"Accept", ""}}));
  EXPECT_EQ(reader.dump().find("s3cret"), std::string::npos);
  EXPECT_EQ(reader.dump().find("pa@ss"), std::string::npos);
}

TEST(CallbackJson, AUrlWithoutCredentialsIsShownWhole) {
  for (const char* url : {"http://hooks.example/in?mail=a@b.example", "http://hooks.example/a@b",
                          "http://hooks.example"}) {
    EXPECT_EQ(CallbackJson(WithSecrets(url), false)["url"], url) << url;
  }
}

}  // namespace
}  // namespace roost::api
