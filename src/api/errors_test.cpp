#include "api/errors.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace roost::api {
namespace {

using nlohmann::json;

// The "field" named by the first errors[] item, "" when there is none.
std::string FirstField(const ApiError& e) {
  if (e.errors.empty() || e.errors[0].key != "field") return "";
  return json::parse(e.errors[0].value_json).get<std::string>();
}

TEST(FromStatus, MapsCodesAndExtractsTheField) {
  ApiError e = FromStatus(Status::InvalidInput("pac: PAC does not match device 2C"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(FirstField(e), "pac");
  EXPECT_EQ(FromStatus(Status::NotFound("device type x not found")).status, 404);
  EXPECT_TRUE(FromStatus(Status::NotFound("device type x not found")).errors.empty());
  EXPECT_EQ(FromStatus(Status::AlreadyExists("id: device 2C is already registered")).status, 409);
  ApiError io = FromStatus(Status::IoError("sqlite: insert devices failed: disk full"));
  EXPECT_EQ(io.status, 500);
  EXPECT_EQ(io.message.find("disk"), std::string::npos);  // store details are not shown
}

TEST(FromStatus, NamesANestedMemberPath) {
  ApiError e =
      FromStatus(Status::InvalidInput("data[0]: url: position 35: unknown variable {nosuch}"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(FirstField(e), "data[0].url");
  EXPECT_EQ(e.errors[0].message, "position 35: unknown variable {nosuch}");
  EXPECT_EQ(e.message, "data[0]: url: position 35: unknown variable {nosuch}");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("ids[3][1]: bad"))), "ids[3][1]");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("[2]: key: malformed"))), "[2].key");
  // A sentence is not a field, even after one.
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("the device type: is gone"))), "");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("x[]: no"))), "");
  // A header named in a refusal is its field; a word that only starts or ends with '-' is not.
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("Content-Type: must be JSON"))),
            "Content-Type");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("-x: no"))), "");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("x-: no"))), "");
  // Only an indexed step goes on into a member: "id: 2C: ..." names id.
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("id: 2C: not registered"))), "id");
  // A step may be a dotted path, as batch refusals name a report's member.
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("reports[1].seqNumber: must be 0..4095"))),
            "reports[1].seqNumber");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("data[0].headers.X-Key: bad"))),
            "data[0].headers.X-Key");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("127.0.0.1: is private"))), "");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("a..b: no"))), "");
  EXPECT_EQ(FirstField(FromStatus(Status::InvalidInput("a.: no"))), "");
}

TEST(FromStatus, ABusyServerAnswers503WithRetryAfter) {
  ApiError busy = FromStatus(Status::Unavailable("too many password checks at once; retry later"));
  EXPECT_EQ(busy.status, 503);
  http::Response r = busy.ToResponse();
  EXPECT_EQ(r.status, 503);
  std::string retry_after;
  for (const auto& [name, value] : r.headers) {
    if (name == "Retry-After") retry_after = value;
  }
  EXPECT_EQ(retry_after, "1");
}

}  // namespace
}  // namespace roost::api
