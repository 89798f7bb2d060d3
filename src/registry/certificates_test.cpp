#include "registry/certificates.h"

#include <gtest/gtest.h>

#include "registry/devices.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

using nlohmann::json;
using namespace std::string_view_literals;

std::vector<std::string> Keys(const CertificateUpload& upload) {
  std::vector<std::string> out;
  for (const auto& pc : upload.certificates) out.push_back(pc.key);
  return out;
}

// "line: field: message" of every problem, for compact expectations.
std::vector<std::string> Problems(const CertificateUpload& upload) {
  std::vector<std::string> out;
  for (const auto& p : upload.problems) {
    out.push_back(std::to_string(p.position) + "|" + p.field + "|" + p.message);
  }
  return out;
}

// --- CSV -------------------------------------------------------------------

TEST(CertificateCsv, ParsesAndNormalisesKeys) {
  auto upload = ParseCertificateCsv(
      "key,manufacturer,productName,revision\n"
      "P 0004 D356 03, Acme Sensors ,TempTag,v1.2\r\n"
      "\n"
      "p-0001-afaf-01,\"Nordic Things, Inc.\",\"The \"\"Door\"\" Watch\",\n"
      "P_00AB_0001_02,Élan,Relay,\n");
  ASSERT_TRUE(upload.ok()) << ::testing::PrintToString(Problems(upload));
  ASSERT_EQ(Keys(upload),
            (std::vector<std::string>{"P_0004_D356_03", "P_0001_AFAF_01", "P_00AB_0001_02"}));
  const auto& a = upload.certificates[0];
  EXPECT_EQ(a.manufacturer, "Acme Sensors");  // trimmed
  EXPECT_EQ(a.product_name, "TempTag");
  EXPECT_EQ(a.revision, "v1.2");
  const auto& b = upload.certificates[1];
  EXPECT_EQ(b.manufacturer, "Nordic Things, Inc.");
  EXPECT_EQ(b.product_name, "The \"Door\" Watch");
  EXPECT_EQ(b.revision, "01");  // default: the key's revision digits
  EXPECT_EQ(upload.certificates[2].manufacturer, "Élan");
}

TEST(CertificateCsv, HeaderInAnyOrderWithOptionalColumnsAndSemicolons) {
  auto upload = ParseCertificateCsv(
      "\xEF\xBB\xBF"
      "Product Name;KEY;Manufacturer;notes;link\n"
      "Tag;P_0004_D356_03;Acme;\"two\nlines\";https://example.com/p\n");
  ASSERT_TRUE(upload.ok()) << ::testing::PrintToString(Problems(upload));
  ASSERT_EQ(upload.certificates.size(), 1u);
  const auto& pc = upload.certificates[0];
  EXPECT_EQ(pc.key, "P_0004_D356_03");
  EXPECT_EQ(pc.product_name, "Tag");
  EXPECT_EQ(pc.manufacturer, "Acme");
  EXPECT_EQ(pc.notes, "two\nlines");
  EXPECT_EQ(pc.link, "https://example.com/p");
  EXPECT_EQ(pc.revision, "03");
}

TEST(CertificateCsv, EveryBadRowIsReportedWithItsLineAndNothingIsKept) {
  auto upload = ParseCertificateCsv(
      "key,manufacturer,productName,revision\n"  // 1
      "P_0004_D356_03,Acme,Tag,1\n"              // 2 good
      "P_0004_D356,Acme,Tag,1\n"                 // 3 bad key
      "P_0001_AFAF_01,,Tag,1\n"                  // 4 empty manufacturer
      "P_0001_AFAF_02,Acme,Tag\n"                // 5 too few fields
      "\"P_0001_AFAF_03\"x,Acme,Tag,1\n"         // 6 text after quote
      "p 0004 d356 03,Acme,Other,1\n"            // 7 repeats line 2
      "P_0001_AFAF_04,Acme,Tag,1,extra\n");      // 8 too many fields
  EXPECT_FALSE(upload.ok());
  EXPECT_TRUE(upload.certificates.empty());
  auto problems = Problems(upload);
  ASSERT_EQ(problems.size(), 6u) << ::testing::PrintToString(problems);
  EXPECT_EQ(problems[0].substr(0, 6), "6||une");  // reported while splitting
  EXPECT_EQ(problems[1].rfind("3|key|key: product certificate 'P_0004_D356'", 0), 0u)
      << problems[1];
  EXPECT_EQ(problems[2], "4|manufacturer|manufacturer must not be empty");
  EXPECT_EQ(problems[3], "5||expected 4 fields, found 3");
  EXPECT_EQ(problems[4], "8||expected 4 fields, found 5");
  EXPECT_EQ(problems[5], "7|key|key P_0004_D356_03 repeats line 2");
  EXPECT_EQ(upload.problem_count, 6);
}

TEST(CertificateCsv, HeaderProblems) {
  auto first = [](std::string_view text) {
    auto upload = ParseCertificateCsv(text);
    EXPECT_FALSE(upload.ok());
    return upload.problems.empty() ? std::string() : Problems(upload)[0];
  };
  EXPECT_EQ(first(""), "1||no header line: expected key,manufacturer,productName,revision");
  EXPECT_EQ(first("\n  \n"), "1||no header line: expected key,manufacturer,productName,revision");
  EXPECT_EQ(first("P_0004_D356_03,Acme,Tag,1\n"),
            "1||the first line must be a header: key,manufacturer,productName,revision");
  EXPECT_EQ(first("key,maker,productName\n"),
            "1||unknown column \"maker\" (expected key, manufacturer, productName, revision, "
            "link, notes)");
  EXPECT_EQ(first("key,manufacturer,key\n"), "1||column key appears twice in the header");
  EXPECT_EQ(first("key,revision\n"), "1||the header has no manufacturer column");
  EXPECT_EQ(first("key,manufacturer,productName,revision\n"),
            "1||no certificates after the header line");
  EXPECT_EQ(first("\n\nkey,manufacturer,productName\nP_0004_D356_03,\"Acme\n"),
            "4||quoted field is not closed");
}

TEST(CertificateCsv, FieldLimitsAndControlCharacters) {
  const std::string header = "key,manufacturer,productName,revision,link,notes\n";
  auto one = [&](const std::string& row) {
    auto upload = ParseCertificateCsv(header + row + "\n");
    return upload.ok() ? std::string("ok") : Problems(upload)[0];
  };
  EXPECT_EQ(one("P_0004_D356_03,Acme,Tag,,,"), "ok");
  EXPECT_EQ(one("P_0004_D356_03,Acme," + std::string(201, 'x') + ",,,"),
            "2|productName|productName must be at most 200 characters");
  EXPECT_EQ(one("P_0004_D356_03,Acme,Tag," + std::string(51, 'r') + ",,"),
            "2|revision|revision must be at most 50 characters");
  EXPECT_EQ(one("P_0004_D356_03,Ac\x01me,Tag,,,"),
            "2|manufacturer|manufacturer must not contain control characters");
  EXPECT_EQ(one("P_0004_D356_03,Acme,Tag,,ftp://x,"),
            "2|link|link must be an http:// or https:// URL");
  EXPECT_EQ(one("P_0004_D356_03,Acme,Tag,,,\"a\tb\""), "ok");  // notes allow tabs/newlines
  EXPECT_EQ(one("P_0004_D356_03,Acme,Tag,,,\x7f"),
            "2|notes|notes must not contain control characters");
}

TEST(CertificateCsv, CellsThatAreNotTextAreRefusedNamingLineAndColumn) {
  const std::string header = "key,manufacturer,productName,revision,link,notes\n";
  auto upload = ParseCertificateCsv(header + "P_0004_D356_03,Acme,Tag,,,\n" +
                                    "P_0004_D356_04,Ac\xFFme,Tag,,,\n" +
                                    std::string("P_0004_D356_05,Acme,Tag,,,\"a\0b\"\n"sv));
  EXPECT_FALSE(upload.ok());
  EXPECT_TRUE(upload.certificates.empty());
  EXPECT_EQ(Problems(upload),
            (std::vector<std::string>{"3|manufacturer|column manufacturer: not valid UTF-8",
                                      "4|notes|column notes: contains a NUL byte"}));
  // In the header, a cell is named by its position; the bytes are never quoted.
  auto bad_header = ParseCertificateCsv(
      "key,manu\xC0\xAF"
      "facturer,productName\nx,y,z\n");
  EXPECT_EQ(Problems(bad_header), (std::vector<std::string>{"1||column 2: not valid UTF-8"}));
  // A surrogate or an overlong form is not UTF-8 either.
  EXPECT_FALSE(ParseCertificateCsv(header + "P_0004_D356_03,\xED\xA0\x80,Tag,,,\n").ok());
  EXPECT_TRUE(ParseCertificateCsv(header + "P_0004_D356_03,Caf\xC3\xA9,Tag,,,\n").ok());
}

TEST(CertificateJson, UnknownMemberNamesAreQuotedSafely) {
  auto upload = ParseCertificateJson(
      json::array({json{{"key", "P_0004_D356_03"}, {std::string(200, 'k') + "\x7f", "x"}}}));
  ASSERT_FALSE(upload.ok());
  EXPECT_LT(upload.problems[0].message.size(), 120u);
  EXPECT_EQ(upload.problems[0].message.find('\x7f'), std::string::npos);
}

TEST(CertificateCsv, ListsAtMostTheLimitButCountsAll) {
  std::string text = "key,manufacturer,productName\n";
  for (int i = 0; i < 250; ++i) text += "bad,Acme,Tag\n";
  auto upload = ParseCertificateCsv(text);
  EXPECT_EQ(upload.problem_count, 250);
  EXPECT_EQ(upload.problems.size(), kMaxImportProblems);
  EXPECT_EQ(upload.problems.back().position, 101);
}

// --- JSON ------------------------------------------------------------------

TEST(CertificateJson, ParsesAndNormalisesKeys) {
  auto upload = ParseCertificateJson(json::parse(R"([
    {"key": "P 0004 D356 03", "manufacturer": "Acme", "productName": "Tag", "revision": "2",
     "link": "http://example.com", "notes": null},
    {"key": "p-0001-afaf-01", "manufacturer": " Nordic ", "productName": "Relay"}
  ])"));
  ASSERT_TRUE(upload.ok()) << ::testing::PrintToString(Problems(upload));
  EXPECT_EQ(Keys(upload), (std::vector<std::string>{"P_0004_D356_03", "P_0001_AFAF_01"}));
  EXPECT_EQ(upload.certificates[0].revision, "2");
  EXPECT_EQ(upload.certificates[0].link, "http://example.com");
  EXPECT_EQ(upload.certificates[1].manufacturer, "Nordic");
  EXPECT_EQ(upload.certificates[1].revision, "01");
}

TEST(CertificateJson, EveryBadItemIsReportedWithItsIndex) {
  auto upload = ParseCertificateJson(json::parse(R"([
    {"key": "P_0004_D356_03", "manufacturer": "Acme", "productName": "Tag"},
    "P_0001_AFAF_01",
    {"key": "P_0001_AFAF_01", "productName": "Tag"},
    {"key": 42, "manufacturer": "Acme", "productName": ""},
    {"key": "P_0001_AFAF_02", "manufacturer": "Acme", "productName": "Tag", "color": "red"},
    {"key": "P_0004_D356_03", "manufacturer": "Other", "productName": "Tag"},
    {"key": "P_0001_AFAF_05", "manufacturer": null, "productName": "Tag"}
  ])"));
  EXPECT_FALSE(upload.ok());
  EXPECT_TRUE(upload.certificates.empty());
  EXPECT_EQ(Problems(upload), (std::vector<std::string>{
                                  "1|[1]|must be an object",
                                  "2|[2].manufacturer|manufacturer is required",
                                  "3|[3].key|key must be a string",
                                  "3|[3].productName|productName must not be empty",
                                  "4|[4].color|color: unknown field",
                                  "6|[6].manufacturer|manufacturer must be a string",
                                  "5|[5].key|key P_0004_D356_03 repeats item 0",
                              }));
}

TEST(CertificateJson, NotAnArrayOrEmpty) {
  EXPECT_EQ(Problems(ParseCertificateJson(json::object())),
            (std::vector<std::string>{"0||the body must be a JSON array of certificates"}));
  EXPECT_EQ(Problems(ParseCertificateJson(json::array())),
            (std::vector<std::string>{"0||the array lists no certificates"}));
}

// --- the registry on a real store --------------------------------------------

class CertificateRegistryTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    certs_ = std::make_unique<CertificateRegistry>(*store_, [this] { return ++now_; });
  }
  void Import(std::string_view csv) {
    auto upload = ParseCertificateCsv(csv);
    ASSERT_TRUE(upload.ok()) << ::testing::PrintToString(Problems(upload));
    auto n = certs_->Import(upload.certificates);
    ASSERT_TRUE(n.ok()) << n.status().message();
    EXPECT_EQ(*n, static_cast<int64_t>(upload.certificates.size()));
  }

  std::unique_ptr<CertificateRegistry> certs_;
};

TEST_F(CertificateRegistryTest, LookupAcceptsEverySpellingAndImportUpserts) {
  Import("key,manufacturer,productName,revision\nP 0004 D356 03,Acme,Tag,1\n");
  for (const char* spelling : {"P_0004_D356_03", "p 0004 d356 03", "P-0004-d356-03"}) {
    auto pc = certs_->Get(spelling);
    ASSERT_TRUE(pc.ok()) << spelling << ": " << pc.status().message();
    EXPECT_EQ(pc->key, "P_0004_D356_03");
    EXPECT_EQ(pc->manufacturer, "Acme");
  }
  const EpochMillis created = certs_->Get("P_0004_D356_03")->creation_time;
  Import("key,manufacturer,productName,revision\np_0004_d356_03,Acme SA,Tag 2,2\n");
  auto pc = certs_->Get("P_0004_D356_03");
  ASSERT_TRUE(pc.ok());
  EXPECT_EQ(pc->manufacturer, "Acme SA");
  EXPECT_EQ(pc->product_name, "Tag 2");
  EXPECT_EQ(pc->creation_time, created);
  EXPECT_GT(pc->update_time, created);

  auto malformed = certs_->Get("P_0004");
  EXPECT_EQ(malformed.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(malformed.status().message().rfind("key: ", 0), 0u);
  auto unknown = certs_->Get("P_0004_D356_04");
  EXPECT_EQ(unknown.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(certs_->Import({}).status().code(), Status::Code::kInvalidInput);
}

TEST_F(CertificateRegistryTest, SearchMatchesKeyManufacturerAndProductName) {
  Import(
      "key,manufacturer,productName\n"
      "P_0004_D356_03,Acme Sensors,TempTag\n"
      "P_0001_AFAF_01,Nordic,Door watch\n"
      "P_0002_0001_01,Other,ACME relay\n");
  auto keys = [&](std::string_view text, std::string_view after = "", int limit = 100) {
    auto page = certs_->Search(text, after, limit);
    EXPECT_TRUE(page.ok()) << page.status().message();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& pc : page->certificates) out.push_back(pc.key);
      if (page->next) out.push_back("next");
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys(""), (V{"P_0001_AFAF_01", "P_0002_0001_01", "P_0004_D356_03"}));
  EXPECT_EQ(keys("  acme "), (V{"P_0002_0001_01", "P_0004_D356_03"}));
  EXPECT_EQ(keys("DOOR"), (V{"P_0001_AFAF_01"}));
  EXPECT_EQ(keys("p 0004"), (V{"P_0004_D356_03"}));
  EXPECT_EQ(keys("", "p-0001-afaf-01", 1), (V{"P_0002_0001_01", "next"}));
  EXPECT_EQ(certs_->Search("a\tb", "", 10).status().message(),
            "search: must not contain control characters");
  EXPECT_EQ(certs_->Search(std::string(201, 'a'), "", 10).status().code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(certs_->Search("", "garbage", 10).status().message().rfind("after: ", 0), 0u);
}

// --- registry.require_known_certificates -------------------------------------

class RequireKnownCertificatesTest : public CertificateRegistryTest {
 protected:
  void SetUp() override {
    CertificateRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    group_ = MakeGroup("root", "");
    type_ = MakeType(group_);
    std::vector<Credential> creds;
    for (uint32_t i = 0; i < 8; ++i)
      creds.push_back(Credential{SigfoxId{0xA0 + i}, {1}, Pac(i), 1});
    ASSERT_TRUE(store_->UpsertCredentials(creds).ok());
    devices_ = std::make_unique<DeviceRegistry>(
        *store_, [this] { return ++now_; }, 3);
    Import("key,manufacturer,productName\nP_0004_D356_03,Acme,Tag\n");
  }
  static std::string Pac(uint32_t i) { return "00000000000000A" + std::to_string(i); }
  RegistrationRequest Request(uint32_t i, std::string certificate) {
    RegistrationRequest r;
    r.id = SigfoxId{0xA0 + i}.ToApi();
    r.pac = Pac(i);
    r.name = "dev";
    r.type = type_;
    r.product_certificate = std::move(certificate);
    return r;
  }
  JobStatus Bulk(std::string certificate, std::vector<uint32_t> which) {
    BulkCreateRequest b;
    b.type = type_;
    b.prefix = "d-";
    b.product_certificate = std::move(certificate);
    for (uint32_t i : which) b.ids.emplace_back(SigfoxId{0xA0 + i}.ToApi(), Pac(i));
    auto job = devices_->StartBulkCreate(group_, b);
    EXPECT_TRUE(job.ok()) << job.status().message();
    if (!job.ok()) return {};
    while (true) {
      auto more = devices_->RunOneChunk("w");
      EXPECT_TRUE(more.ok());
      if (!more.ok() || !*more) break;
    }
    return *devices_->BulkStatus(group_, job->id);
  }

  std::unique_ptr<DeviceRegistry> devices_;
  std::string group_, type_;
};

TEST_F(RequireKnownCertificatesTest, OffByDefaultAnyWellFormedCertificateIsAccepted) {
  auto d = devices_->Register(group_, Request(0, "P_9999_9999_99"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->product_certificate, "P_9999_9999_99");
  JobStatus st = Bulk("P 9999 9999 98", {1, 2});
  EXPECT_EQ(st.success, 2);
}

TEST_F(RequireKnownCertificatesTest, SingleRegistrationWithAnUnknownCertificateIsRefused) {
  devices_->RequireKnownCertificates(true);
  auto refused = devices_->Register(group_, Request(0, "p 9999 9999 99"));
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(refused.status().message(),
            "productCertificate: product certificate P_9999_9999_99 is not in the registry");
  EXPECT_EQ(store_->GetDevice(0xA0).status().code(), Status::Code::kNotFound);
  // The PAC is still the initial one: nothing was consumed.
  auto known = devices_->Register(group_, Request(0, "p-0004-d356-03"));
  ASSERT_TRUE(known.ok()) << known.status().message();
  EXPECT_EQ(known->product_certificate, "P_0004_D356_03");
  // No certificate at all stays allowed.
  EXPECT_TRUE(devices_->Register(group_, Request(1, "")).ok());
  // A malformed certificate is still a format error, not "not in the registry".
  auto malformed = devices_->Register(group_, Request(2, "P_12"));
  EXPECT_NE(malformed.status().message().find("expected like P_0004_D356_03"), std::string::npos);
}

TEST_F(RequireKnownCertificatesTest, BulkRegistrationRefusesEachDeviceWithTheMessage) {
  devices_->RequireKnownCertificates(true);
  // 5 devices over two chunks of 3: every one refused, with the message.
  JobStatus st = Bulk("P_9999_9999_99", {0, 1, 2, 3, 4});
  EXPECT_TRUE(st.done);
  EXPECT_EQ(st.success, 0);
  ASSERT_EQ(st.failed.size(), 5u);
  for (const auto& f : st.failed) {
    EXPECT_EQ(f.message, "product certificate P_9999_9999_99 is not in the registry") << f.id;
  }
  EXPECT_EQ(st.failed[0].id, "A0");
  EXPECT_EQ(store_->GetDevice(0xA0).status().code(), Status::Code::kNotFound);
  // Other per-device failures still come first for their devices; known certificates pass.
  st = Bulk("P_0004_D356_03", {0, 1, 0});
  EXPECT_EQ(st.success, 2);
  ASSERT_EQ(st.failed.size(), 1u);
  EXPECT_NE(st.failed[0].message.find("duplicate"), std::string::npos);
  EXPECT_EQ(store_->GetDevice(0xA1)->product_certificate, "P_0004_D356_03");
  // Without a certificate the switch does not apply.
  st = Bulk("", {5});
  EXPECT_EQ(st.success, 1);
}

}  // namespace
}  // namespace roost::registry
