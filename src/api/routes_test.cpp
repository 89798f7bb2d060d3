#include "api/routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "crypto/password.h"

namespace roost::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The expected role matrix, written out independently of routes.cpp:
// A = ADMIN, D = DEVICE_MANAGER, R = READER, F = FACTORY, S = STATION.
const std::map<std::string, std::string>& ExpectedMatrix() {
  static const std::map<std::string, std::string> kMatrix = {
      {"GET /api/devicetypes", "ADR"},
      {"POST /api/devicetypes/create", "AD"},
      {"POST /api/devicetypes/edit", "AD"},
      {"GET /api/devicetypes/{id}", "ADR"},
      {"DELETE /api/devicetypes/{id}", "AD"},
      {"GET /api/devicetypes/{id}/devices", "ADR"},
      {"POST /api/devicetypes/{id}/devices/bulk/create/async", "ADF"},
      {"GET /api/devicetypes/{id}/devices/bulk/create/async/{jobId}", "ADRF"},
      {"POST /api/devicetypes/{id}/devices/bulk/create/series", "ADF"},
      {"GET /api/devices", "ADR"},
      {"POST /api/devices/create", "ADF"},
      {"POST /api/devices/edit", "AD"},
      {"POST /api/devices/bulk/edit", "AD"},
      {"GET /api/devices/bulk/edit/{jobId}", "ADR"},
      {"GET /api/devices/{id}", "ADR"},
      {"DELETE /api/devices/{id}", "AD"},
      {"GET /api/jobs/{jobId}", "ADRF"},
      {"POST /api/credentials/import", "AF"},
      {"GET /api/devices/{id}/token-state", "ADR"},
      {"GET /api/devices/{id}/networkstate", "ADR"},
      {"GET /api/devicetypes/{id}/disengage", "AD"},
      {"GET /api/product-certificates", "ADRF"},
      {"POST /api/product-certificates/import", "AD"},
      {"GET /api/product-certificates/{key}", "ADRF"},
  };
  return kMatrix;
}

constexpr std::pair<Role, char> kRoleLetters[] = {{Role::kAdmin, 'A'},
                                                  {Role::kDeviceManager, 'D'},
                                                  {Role::kReader, 'R'},
                                                  {Role::kFactory, 'F'},
                                                  {Role::kStation, 'S'}};

std::string Key(const ApiRoute& r) {
  return std::string(r.method) + " " + std::string(r.pattern);
}

TEST(ApiRoutesTable, EveryRouteHasRolesAndMatchesTheExpectedMatrix) {
  std::set<std::string> seen;
  for (const ApiRoute& r : ApiRoutes()) {
    SCOPED_TRACE(Key(r));
    EXPECT_FALSE(r.roles.Empty());
    EXPECT_TRUE(static_cast<bool>(r.handler));
    EXPECT_FALSE(r.roles.Has(Role::kStation));
    EXPECT_TRUE(r.roles.Has(Role::kAdmin));
    EXPECT_TRUE(seen.insert(Key(r)).second) << "duplicate route";
    auto expected = ExpectedMatrix().find(Key(r));
    ASSERT_NE(expected, ExpectedMatrix().end()) << "route missing from the expected matrix";
    for (auto [role, letter] : kRoleLetters) {
      bool want = expected->second.find(letter) != std::string::npos;
      EXPECT_EQ(RouteAllows(r, RoleSet{role}), want) << RoleName(role);
      // Writes are never allowed to READER alone.
      if (r.method != "GET" && role == Role::kReader) {
        EXPECT_FALSE(RouteAllows(r, RoleSet{role}));
      }
    }
  }
  EXPECT_EQ(seen.size(), ExpectedMatrix().size());
}

TEST(ApiRoutesTable, AllRoutesRegisterInOneRouter) {
  http::Router router;
  for (const ApiRoute& r : ApiRoutes()) {
    EXPECT_TRUE(router
                    .Add(r.method, r.pattern,
                         [](const http::Request&) { return http::Response::Json(200, "{}"); })
                    .ok())
        << Key(r);
  }
}

TEST(ApiClientAddress, StripsThePort) {
  EXPECT_EQ(ClientAddress("127.0.0.1:4567"), "127.0.0.1");
  EXPECT_EQ(ClientAddress("[::1]:8080"), "::1");
  EXPECT_EQ(ClientAddress("::1"), "::1");
  EXPECT_EQ(ClientAddress(""), "");
}

// Every route × every role × an object of a foreign group, in process, on a
// real SQLite store.
class ApiRoutesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roost-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = storage::OpenSqliteStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    devices_ = std::make_unique<registry::DeviceRegistry>(*store_, [] { return int64_t{1000}; });
    crypto::MasterKey master{};
    master[0] = 7;
    auto sealer = crypto::Sealer::FromKey(master);
    ASSERT_TRUE(sealer.ok());
    sealer_ = std::make_unique<crypto::Sealer>(*sealer);
    ctx_ = std::make_unique<ApiContext>(ApiContext{*store_, *devices_, passwords_, throttle_,
                                                   [] { return int64_t{1000}; }, sealer_.get()});
    ASSERT_TRUE(AddApiRoutes(router_, *ctx_).ok());

    root_ = MakeGroup("root", "");
    mine_ = MakeGroup("mine", root_);
    foreign_ = MakeGroup("foreign", root_);  // a sibling: not visible from `mine_`
    auto hash = crypto::HashPassword(kPassword);
    ASSERT_TRUE(hash.ok());
    for (auto [role, letter] : kRoleLetters) {
      registry::ApiUser u;
      u.login = registry::DeviceRegistry::NewObjectId();
      u.name = std::string(1, letter);
      u.group = mine_;
      u.password_hash = *hash;
      u.roles = {std::string(RoleName(role))};
      ASSERT_TRUE(store_->CreateApiUser(u).ok());
      logins_[role] = u.login;
    }
    foreign_type_ = MakeType(foreign_);
    my_type_ = MakeType(mine_);
    registry::Device d;
    d.id = SigfoxId{0xF00D};
    d.name = "foreign device";
    d.type = foreign_type_;
    d.group = foreign_;
    d.pac = "0123456789ABCDEF";
    ASSERT_TRUE(store_->InsertDevice(d).ok());
    registry::Job job;
    job.id = registry::DeviceRegistry::NewObjectId();
    job.kind = std::string(registry::kBulkCreateJob);
    job.group = foreign_;
    job.params = "{}";
    std::vector<std::string> items = {"1;0000000000000000"};
    ASSERT_TRUE(store_->CreateJob(job, items, 10).ok());
    foreign_job_ = job.id;
    registry::ProductCertificate pc;
    pc.key = "P_0004_D356_03";
    pc.manufacturer = "Acme";
    pc.product_name = "Tag";
    pc.revision = "03";
    ASSERT_TRUE(store_->UpsertProductCertificates(std::span(&pc, 1)).ok());
    registry::Job edit_job = job;
    edit_job.id = registry::DeviceRegistry::NewObjectId();
    edit_job.kind = std::string(registry::kBulkEditJob);
    items = {R"({"id":"0000BEEF","name":"x"})"};
    ASSERT_TRUE(store_->CreateJob(edit_job, items, 10).ok());
    foreign_edit_job_ = edit_job.id;
  }
  void TearDown() override {
    router_ = http::Router();
    ctx_.reset();
    devices_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string MakeGroup(const std::string& name, const std::string& parent) {
    registry::Group g;
    g.id = registry::DeviceRegistry::NewObjectId();
    g.name = name;
    g.parent = parent;
    EXPECT_TRUE(store_->CreateGroup(g).ok());
    return g.id;
  }
  std::string MakeType(const std::string& group) {
    registry::DeviceType t;
    t.id = registry::DeviceRegistry::NewObjectId();
    t.name = "type";
    t.group = group;
    EXPECT_TRUE(store_->CreateDeviceType(t).ok());
    return t.id;
  }

  http::Response Call(std::optional<Role> role, const std::string& method, const std::string& path,
                      std::string body = "", std::string password = kPassword,
                      std::string content_type = "application/json") {
    http::Request req;
    req.method = method;
    size_t q = path.find('?');
    req.path = path.substr(0, q);
    req.query = q == std::string::npos ? "" : path.substr(q + 1);
    req.target = path;
    req.body = std::move(body);
    req.remote = "192.0.2.1:5000";
    req.headers.emplace_back("Content-Type", content_type);
    if (role) {
      req.headers.emplace_back("Authorization",
                               "Basic " + EncodeBase64(logins_[*role] + ":" + password));
    }
    http::RouteMatch m = router_.Match(req.method, req.path);
    EXPECT_EQ(m.kind, http::RouteMatch::Kind::kFound) << method << " " << path;
    if (m.kind != http::RouteMatch::Kind::kFound) return http::Response::Error(599, "no route");
    req.path_params = m.params;
    return (*m.handler)(req);
  }

  http::Response CallWithType(Role role, const std::string& method, const std::string& path,
                              std::string body, const std::string& content_type) {
    http::Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.body = std::move(body);
    req.remote = "192.0.2.1:5000";
    req.headers.emplace_back("Authorization",
                             "Basic " + EncodeBase64(logins_[role] + ":" + kPassword));
    req.headers.emplace_back("Content-Type", content_type);
    http::RouteMatch m = router_.Match(req.method, req.path);
    EXPECT_EQ(m.kind, http::RouteMatch::Kind::kFound) << method << " " << path;
    if (m.kind != http::RouteMatch::Kind::kFound) return http::Response::Error(599, "no route");
    req.path_params = m.params;
    return (*m.handler)(req);
  }

  // A request for the route that names only foreign objects.
  std::pair<std::string, std::string> ForeignRequest(const ApiRoute& r) {
    std::string path(r.pattern);
    auto replace = [&path](const std::string& from, const std::string& to) {
      size_t at = path.find(from);
      if (at != std::string::npos) path.replace(at, from.size(), to);
    };
    const bool device_path = path.rfind("/api/devices/", 0) == 0;
    replace("{id}", device_path ? "F00D" : foreign_type_);
    // Certificates are global: there is no foreign one, the request names a known one.
    replace("{key}", "p-0004-d356-03");
    replace("{jobId}",
            path.find("/bulk/edit/") != std::string::npos ? foreign_edit_job_ : foreign_job_);
    std::string body;
    if (path == "/api/devicetypes/create") {
      body = json{{"name", "x"}, {"group", foreign_}}.dump();
    } else if (path == "/api/devicetypes/edit") {
      body = json{{"id", foreign_type_}, {"name", "x"}}.dump();
    } else if (path == "/api/devices/create") {
      body =
          json{{"id", "C001"}, {"pac", "0000000000000000"}, {"name", "n"}, {"type", foreign_type_}}
              .dump();
    } else if (path == "/api/product-certificates/import") {
      body =
          json::array(
              {json{{"key", "P 0004 D356 03"}, {"manufacturer", "Acme"}, {"productName", "Tag"}}})
              .dump();
    } else if (path.find("/bulk/create/async") != std::string::npos && r.method == "POST") {
      body = json{{"ids", json::array({json{{"id", "C001"}, {"pac", "0000000000000000"}}})}}.dump();
    } else if (path == "/api/devices/edit") {
      body = json{{"id", "F00D"}, {"name", "x"}, {"pac", "0123456789ABCDEF"}}.dump();
    } else if (path == "/api/devices/bulk/edit") {
      body = json::array({json{{"id", "F00D"}, {"name", "x"}}}).dump();
    } else if (path.ends_with("/bulk/create/series")) {
      body = "id;pac\nC001;0000000000000000\n";  // sent as text/csv
    }
    return {path, body};
  }

  static constexpr const char* kPassword = "a-long-enough-test-password";
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<registry::DeviceRegistry> devices_;
  crypto::PasswordVerifyCache passwords_;
  LoginThrottle throttle_;
  std::unique_ptr<crypto::Sealer> sealer_;
  std::unique_ptr<ApiContext> ctx_;
  http::Router router_;
  std::string root_, mine_, foreign_, foreign_type_, my_type_, foreign_job_, foreign_edit_job_;
  std::map<Role, std::string> logins_;
};

TEST_F(ApiRoutesStoreTest, EveryRouteTimesEveryRoleTimesAForeignGroup) {
  std::vector<std::string> bulk_edit_jobs;
  for (const ApiRoute& r : ApiRoutes()) {
    auto [path, body] = ForeignRequest(r);
    for (auto [role, letter] : kRoleLetters) {
      SCOPED_TRACE(Key(r) + " as " + std::string(RoleName(role)));
      http::Response res =
          Call(role, std::string(r.method), path, body, kPassword,
               path.ends_with("/bulk/create/series") ? "text/csv" : "application/json");
      bool allowed = ExpectedMatrix().at(Key(r)).find(letter) != std::string::npos;
      if (!allowed) {
        EXPECT_EQ(res.status, 403) << res.body;
        continue;
      }
      if (path == "/api/devices/bulk/edit") {
        // A bulk edit is a job: a foreign device fails in it as "device not found"
        // (checked below, after the jobs ran), exactly like an unknown one.
        EXPECT_EQ(res.status, 202) << res.body;
        bulk_edit_jobs.push_back(json::parse(res.body)["jobId"]);
        continue;
      }
      if (path.rfind("/api/product-certificates", 0) == 0) {
        // Global reference data: answered for every allowed role, whatever its group.
        EXPECT_EQ(res.status, 200) << res.body;
        if (r.method == "GET") {
          EXPECT_NE(res.body.find("P_0004_D356_03"), std::string::npos) << res.body;
        } else {
          EXPECT_EQ(res.body, R"({"imported":1})");
        }
      } else if (path == "/api/devicetypes" || path == "/api/devices") {
        // Lists answer, without anything of the foreign group.
        EXPECT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(res.body.find(foreign_), std::string::npos) << res.body;
        EXPECT_EQ(res.body.find(foreign_type_), std::string::npos) << res.body;
        if (path == "/api/devicetypes") {
          EXPECT_NE(res.body.find(my_type_), std::string::npos);
        }
      } else if (path == "/api/credentials/import") {
        // Credentials belong to device IDs, not to groups: nothing foreign to
        // hide. Allowed, it parses the (here empty) upload.
        EXPECT_EQ(res.status, 400) << res.body;
      } else {
        EXPECT_EQ(res.status, 404) << res.body;
        EXPECT_EQ(res.body.find("roles"), std::string::npos) << res.body;
      }
    }
  }
  // The bulk edit jobs report the foreign device as not found.
  EXPECT_EQ(bulk_edit_jobs.size(), 2u);  // ADMIN, DEVICE_MANAGER
  while (devices_->RunOneChunk("test").value()) {
  }
  for (const std::string& job : bulk_edit_jobs) {
    auto st = store_->GetJobStatus(job);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->done);
    EXPECT_EQ(st->success, 0);
    ASSERT_EQ(st->failed.size(), 1u);
    EXPECT_EQ(st->failed[0], (registry::JobFailure{"F00D", "device not found"}));
  }
  // Nothing of the foreign group changed.
  auto device = store_->GetDevice(0xF00D);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->name, "foreign device");
  EXPECT_EQ(device->pac, "0123456789ABCDEF");
  auto type = store_->GetDeviceType(foreign_type_);
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->name, "type");
  EXPECT_TRUE(store_->GetDevice(0xF00D).ok());
  auto types = store_->ListDeviceTypes(foreign_);
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(types->size(), 1u);
  // The foreign device was not disengaged.
  auto flagged = store_->ClearSequenceCheckDisengaged(0xF00D);
  ASSERT_TRUE(flagged.ok());
  EXPECT_FALSE(*flagged);
}

TEST_F(ApiRoutesStoreTest, DeviceStateAndDisengageOnOwnObjects) {
  registry::Device d;
  d.id = SigfoxId{0xBEEF};
  d.name = "mine";
  d.type = my_type_;
  d.group = mine_;
  d.pac = "0123456789ABCDEF";
  d.creation_time = 1000;  // the context's clock
  ASSERT_TRUE(store_->InsertDevice(d).ok());
  http::Response res = Call(Role::kReader, "GET", "/api/devices/beef/token-state");
  ASSERT_EQ(res.status, 200) << res.body;
  json token = json::parse(res.body);
  EXPECT_EQ(token["code"], 2);
  EXPECT_EQ(token["state"], "NOT_ACTIVATED");
  EXPECT_FALSE(token.contains("tokenEnd"));
  res = Call(Role::kReader, "GET", "/api/devices/BEEF/networkstate");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["networkStatus"], "OK");
  res = Call(Role::kDeviceManager, "GET", "/api/devicetypes/" + my_type_ + "/disengage");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body), (json{{"disengaged", 1}}));
  EXPECT_TRUE(*store_->ClearSequenceCheckDisengaged(0xBEEF));
  res = Call(Role::kReader, "GET", "/api/devices/nothex/token-state");
  EXPECT_EQ(res.status, 404) << res.body;
}

TEST_F(ApiRoutesStoreTest, CertificateImportRefusalsChangeNothing) {
  auto count = [&] {
    auto page = store_->SearchProductCertificates({});
    return page.ok() ? page->certificates.size() : size_t{999};
  };
  const size_t before = count();
  // CSV with a bad second row: refused as a whole, the line named.
  auto csv = [&](std::string body, std::string type = "text/csv") {
    http::Response res =
        CallWithType(Role::kDeviceManager, "POST", "/api/product-certificates/import", body, type);
    return std::make_pair(res.status, res.body.empty() ? json() : json::parse(res.body));
  };
  auto [status, body] = csv("key,manufacturer,productName\nP_0001_0001_01,A,B\nP_1,A,B\n");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["errors"][0]["line"], 3) << body;
  EXPECT_NE(body["message"].get<std::string>().find("line 3: key: "), std::string::npos) << body;
  std::tie(status, body) =
      csv(R"([{"key": "P_0001_0001_01", "manufacturer": "A"}])", "application/json");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["errors"][0]["field"], "[0].productName") << body;
  std::tie(status, body) = csv("[1,", "application/json");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["errors"][0]["line"], 1) << body;
  std::tie(status, body) = csv("<xml/>", "application/xml");
  EXPECT_EQ(status, 415);
  EXPECT_EQ(count(), before);
  // Then a good one, in CSV with a charset parameter.
  std::tie(status, body) =
      csv("key,manufacturer,productName\nP_0001_0001_01,A,B\n", "text/csv; charset=utf-8");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, (json{{"imported", 1}}));
  EXPECT_EQ(count(), before + 1);
}

TEST_F(ApiRoutesStoreTest, AuthenticationFailuresAndThrottle) {
  http::Response res = Call(std::nullopt, "GET", "/api/devicetypes");
  EXPECT_EQ(res.status, 401);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(res.headers[0].second, "Basic realm=\"roost\"");
  for (int i = 0; i < 10; ++i) {
    res = Call(Role::kReader, "GET", "/api/devicetypes", "", "wrong-password");
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(res.body.find("wrong-password"), std::string::npos);
  }
  // Over the limit: 429 even with the right password, with Retry-After.
  res = Call(Role::kReader, "GET", "/api/devicetypes");
  EXPECT_EQ(res.status, 429);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "Retry-After");
  EXPECT_GT(std::stoll(res.headers[0].second), 0);
  // Another login from the same address is not affected.
  EXPECT_EQ(Call(Role::kAdmin, "GET", "/api/devicetypes").status, 200);
  // The verify cache answers repeated requests.
  uint64_t hits = passwords_.hits();
  EXPECT_EQ(Call(Role::kAdmin, "GET", "/api/devicetypes").status, 200);
  EXPECT_EQ(passwords_.hits(), hits + 1);
}

TEST_F(ApiRoutesStoreTest, OwnGroupObjectsAreServed) {
  http::Response res = Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["id"], my_type_);
  // An ADMIN of the root group sees the foreign group too (it is below root).
  registry::ApiUser root_admin;
  root_admin.login = registry::DeviceRegistry::NewObjectId();
  root_admin.group = root_;
  root_admin.password_hash = *crypto::HashPassword(kPassword);
  root_admin.roles = {"ADMIN"};
  ASSERT_TRUE(store_->CreateApiUser(root_admin).ok());
  logins_[Role::kAdmin] = root_admin.login;
  res = Call(Role::kAdmin, "GET", "/api/devices/F00D");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["pac"], "0123456789ABCDEF");
  res = Call(Role::kAdmin, "DELETE", "/api/devicetypes/" + foreign_type_);
  EXPECT_EQ(res.status, 409) << res.body;  // it still has a device
  EXPECT_TRUE(store_->GetDeviceType(foreign_type_).ok());
}

}  // namespace
}  // namespace roost::api
