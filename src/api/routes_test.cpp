#include "api/routes.h"
#include "api/auth.h"
#include "api/authenticate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "crypto/password.h"
#include "model/object_id.h"
#include "pipeline/events.h"
#include "pipeline/messages.h"
#include "pipeline/uplink_writer.h"

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
      {"GET /api/devicetypes/{id}/positions", "ADR"},
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
      {"POST /api/devices/{id}/disengage", "AD"},
      {"GET /api/devices/{id}/messages", "ADR"},
      {"GET /api/devicetypes/{id}/messages", "ADR"},
      {"GET /api/devices/{id}/messages/live", "ADR"},
      {"GET /api/devicetypes/{id}/messages/live", "ADR"},
      {"POST /api/devicetypes/{id}/callbacks/new", "AD"},
      {"GET /api/devicetypes/{id}/callbacks", "ADR"},
      {"POST /api/devicetypes/{id}/callbacks/{cid}/delete", "AD"},
      {"POST /api/devicetypes/{id}/callbacks/{cid}/edit", "AD"},
      {"POST /api/devicetypes/{id}/callbacks/{cid}/enable", "AD"},
      {"POST /api/devicetypes/{id}/callbacks/{cid}/downlink", "AD"},
      {"GET /api/callbacks/messages/error", "ADR"},
      {"GET /api/devices/{id}/status/error", "ADR"},
      {"GET /api/devices/{id}/status/warn", "ADR"},
      {"GET /api/devicetypes/{id}/status/error", "ADR"},
      {"GET /api/devicetypes/{id}/status/warn", "ADR"},
      {"GET /api/devices/{id}/events/config", "ADR"},
      {"POST /api/devices/{id}/events/config/new", "A"},
      {"POST /api/devices/{id}/events/config/{cid}/delete", "A"},
      {"GET /api/devicetypes/{id}/events/config", "ADR"},
      {"POST /api/devicetypes/{id}/events/config/new", "A"},
      {"POST /api/devicetypes/{id}/events/config/{cid}/delete", "A"},
      {"GET /api/groups/{id}/events/config", "ADR"},
      {"POST /api/groups/{id}/events/config/new", "A"},
      {"POST /api/groups/{id}/events/config/{cid}/delete", "A"},
      {"GET /api/stations", "ADR"},
      {"POST /api/stations/create", "A"},
      {"POST /api/stations/edit", "A"},
      {"GET /api/stations/{id}", "ADR"},
      {"DELETE /api/stations/{id}", "A"},
      {"POST /api/ingest/uplink", "AS"},
      {"POST /api/ingest/sigfox-callback", "AS"},
      {"POST /api/ingest/sigfox-service-callback", "AS"},
      {"POST /api/ingest/service", "AS"},
      {"GET /api/devices/{id}/locations", "ADR"},
      {"GET /api/devices/{id}/stats", "ADR"},
      {"GET /api/devicetypes/{id}/stats", "ADR"},
      {"GET /api/devices/{id}/messages/metric", "ADR"},
      {"GET /api/devices/{id}/consumptions/{year}", "ADR"},
      {"GET /api/product-certificates", "ADRF"},
      {"POST /api/product-certificates/import", "AD"},
      {"GET /api/product-certificates/{key}", "ADRF"},
      {"POST /api/provisioning/ids/import", "A"},
      {"GET /api/provisioning/ids", "ADR"},
      {"POST /api/provisioning/labels", "ADRF"},
      {"POST /api/provisioning/ids/{pid}/disable", "A"},
      {"GET /api/provisioning/devices", "ADR"},
      {"GET /api/provisioning/devices/{devEui}", "ADR"},
      {"GET /api/provisioning/devices/{devEui}/keys", "A"},
      {"GET /api/provisioning/export", "A"},
      {"GET /api/provisioning/summary", "ADR"},
      {"GET /api/groups", "ADR"},
      {"POST /api/groups/create", "A"},
      {"POST /api/groups/edit", "A"},
      {"GET /api/groups/{id}", "ADR"},
      {"DELETE /api/groups/{id}", "A"},
      {"GET /api/api-users", "A"},
      {"POST /api/api-users/create", "A"},
      {"GET /api/api-users/{login}", "A"},
      {"DELETE /api/api-users/{login}", "A"},
      {"GET /api/users", "A"},
      {"POST /api/users/create", "A"},
      {"POST /api/users/edit", "A"},
      {"GET /api/users/{id}", "A"},
      {"DELETE /api/users/{id}", "A"},
      {"POST /api/users/{id}/invite", "A"},
      // "*": any authenticated principal; "-": public (no authentication).
      {"GET /api/session", "*"},
      {"POST /api/session/logout", "*"},
      {"POST /api/session/password", "*"},
      {"POST /api/session/login", "-"},
      {"POST /api/users/set-password", "-"},
      {"GET /api/console/config", "-"},
      {"GET /api/console/summary", "ADR"},
      {"POST /api/codec/decode", "ADR"},
      {"POST /api/codec/downlink/check", "ADR"},
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
    EXPECT_TRUE(static_cast<bool>(r.handler));
    EXPECT_TRUE(seen.insert(Key(r)).second) << "duplicate route";
    auto expected = ExpectedMatrix().find(Key(r));
    ASSERT_NE(expected, ExpectedMatrix().end()) << "route missing from the expected matrix";
    // Public and any-principal routes are marked as such, with no roles; every
    // other route names its roles (an empty set would lock everyone out).
    if (expected->second == "-" || expected->second == "*") {
      EXPECT_EQ(r.access, expected->second == "-" ? Access::kPublic : Access::kAnyPrincipal);
      EXPECT_TRUE(r.roles.Empty());
      for (auto [role, letter] : kRoleLetters) EXPECT_TRUE(RouteAllows(r, RoleSet{role}));
      continue;
    }
    EXPECT_EQ(r.access, Access::kRoles);
    EXPECT_FALSE(r.roles.Empty());
    // STATION reports uplinks and does nothing else.
    EXPECT_EQ(r.roles.Has(Role::kStation), r.pattern.starts_with("/api/ingest/"));
    EXPECT_TRUE(r.roles.Has(Role::kAdmin));
    for (auto [role, letter] : kRoleLetters) {
      bool want = expected->second.find(letter) != std::string::npos;
      EXPECT_EQ(RouteAllows(r, RoleSet{role}), want) << RoleName(role);
      // Writes are never allowed to READER alone. The codec's POSTs and the
      // label sheet are not writes: their body is the input of a computation,
      // nothing is stored.
      if (r.method != "GET" && role == Role::kReader && !r.pattern.starts_with("/api/codec/") &&
          r.pattern != "/api/provisioning/labels") {
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
    registry::AccountSettings settings;
    settings.public_url = "https://roost.example.com";
    accounts_ = std::make_unique<registry::Accounts>(
        *store_, [this] { return now_; }, settings);
    certificates_ =
        std::make_unique<registry::CertificateRegistry>(*store_, [this] { return now_; });
    ctx_ =
        std::make_unique<ApiContext>(ApiContext{*devices_, *accounts_, *certificates_, passwords_,
                                                throttle_, [this] { return now_; }, sealer_.get()});
    pipeline::UplinkWriterOptions writer_options;
    writer_options.clock = [this] { return now_; };
    writer_ = std::make_unique<pipeline::UplinkWriter>(*store_, writer_options);
    messages_ =
        std::make_unique<pipeline::MessageService>(*store_, *writer_, [this] { return now_; });
    ctx_->messages = messages_.get();
    events_ = std::make_unique<pipeline::EventService>(*store_, [this] { return now_; });
    ctx_->events = events_.get();
    provisioning_ = std::make_unique<registry::ProvisioningRegistry>(
        *store_, *sealer_, registry::ProvisioningOptions{}, [this] { return now_; });
    ctx_->provisioning = provisioning_.get();
    ASSERT_TRUE(AddApiRoutes(router_, *ctx_).ok());

    root_ = MakeGroup("root", "");
    mine_ = MakeGroup("mine", root_);
    foreign_ = MakeGroup("foreign", root_);  // a sibling: not visible from `mine_`
    auto hash = crypto::HashPassword(kPassword);
    ASSERT_TRUE(hash.ok());
    for (auto [role, letter] : kRoleLetters) {
      ApiUser u;
      u.login = NewObjectId();
      u.name = std::string(1, letter);
      u.group = mine_;
      u.password_hash = *hash;
      u.roles = {std::string(RoleName(role))};
      ASSERT_TRUE(store_->CreateApiUser(u).ok());
      logins_[role] = u.login;
    }
    foreign_type_ = MakeType(foreign_);
    my_type_ = MakeType(mine_);
    Device d;
    d.id = SigfoxId{0xF00D};
    d.name = "foreign device";
    d.type = foreign_type_;
    d.group = foreign_;
    d.pac = "0123456789ABCDEF";
    ASSERT_TRUE(store_->InsertDevice(d).ok());
    Job job;
    job.id = NewObjectId();
    job.kind = std::string(registry::kBulkCreateJob);
    job.group = foreign_;
    job.params = "{}";
    std::vector<std::string> items = {"1;0000000000000000"};
    ASSERT_TRUE(store_->CreateJob(job, items, 10).ok());
    foreign_job_ = job.id;
    ProductCertificate pc;
    pc.key = "P_0004_D356_03";
    pc.manufacturer = "Acme";
    pc.product_name = "Tag";
    pc.revision = "03";
    ASSERT_TRUE(store_->UpsertProductCertificates(std::span(&pc, 1)).ok());
    Job edit_job = job;
    edit_job.id = NewObjectId();
    edit_job.kind = std::string(registry::kBulkEditJob);
    items = {R"({"id":"0000BEEF","name":"x"})"};
    ASSERT_TRUE(store_->CreateJob(edit_job, items, 10).ok());
    foreign_edit_job_ = edit_job.id;
    User fu;
    fu.id = NewObjectId();
    fu.group = foreign_;
    fu.email = "foreign@example.com";
    fu.name = "Foreign";
    fu.timezone = "UTC";
    fu.roles = {"ADMIN"};
    ASSERT_TRUE(store_->CreateUser(fu).ok());
    foreign_user_ = fu.id;
    ApiUser fa;
    fa.login = NewObjectId();
    fa.group = foreign_;
    fa.name = "foreign api user";
    fa.roles = {"ADMIN"};
    ASSERT_TRUE(store_->CreateApiUser(fa).ok());
    foreign_api_user_ = fa.login;
    Station fs{"0F00", "foreign station", foreign_, std::nullopt, std::nullopt, 1};
    ASSERT_TRUE(store_->CreateStation(fs).ok());
    Callback fc;
    fc.id = NewObjectId();
    fc.type = foreign_type_;
    fc.url = "http://127.0.0.1:9/";
    ASSERT_TRUE(store_->CreateCallbacks(std::span(&fc, 1)).ok());
    foreign_callback_ = fc.id;
    // A Provision ID of the foreign group, provisioned through a gateway.
    storage::ProvisionIdRow pid;
    pid.provision_id = kForeignProvisionId;
    pid.group = foreign_;
    pid.provision_id_hash = std::string(64, 'f');
    pid.model = "M-1";
    pid.serial_number = "S-1";
    pid.fixed_dev_eui = kForeignDevEui;
    ASSERT_TRUE(store_->ImportProvisionIds(std::span(&pid, 1)).ok());
    provisioning::ProvisioningRecord record;
    record.provision_id = kForeignProvisionId;
    record.reception.gateway_eui = Eui64::FromU64(0xAA555A00000000F0u);
    ASSERT_TRUE(provisioning_->RecordProvisioned(record).ok());
  }
  void TearDown() override {
    router_ = http::Router();
    ctx_.reset();
    provisioning_.reset();
    events_.reset();
    messages_.reset();
    writer_.reset();
    accounts_.reset();
    devices_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string MakeGroup(const std::string& name, const std::string& parent) {
    Group g;
    g.id = NewObjectId();
    g.name = name;
    g.parent = parent;
    EXPECT_TRUE(store_->CreateGroup(g).ok());
    return g.id;
  }
  std::string MakeType(const std::string& group) {
    DeviceType t;
    t.id = NewObjectId();
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
    if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    if (role) {
      req.headers.emplace_back("Authorization",
                               "Basic " + EncodeBase64(logins_[*role] + ":" + password));
    }
    http::RouteMatch m = router_.Match(req.method, req.path);
    EXPECT_EQ(m.kind, http::RouteMatch::Kind::kFound) << method << " " << path;
    if (m.kind != http::RouteMatch::Kind::kFound) return http::Response::Error(599, "no route");
    req.path_params = m.params;
    return http::RunMatched(m, req);
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
    return http::RunMatched(m, req);
  }

  // A request for the route that names only foreign objects.
  std::pair<std::string, std::string> ForeignRequest(const ApiRoute& r) {
    std::string path(r.pattern);
    auto replace = [&path](const std::string& from, const std::string& to) {
      size_t at = path.find(from);
      if (at != std::string::npos) path.replace(at, from.size(), to);
    };
    const bool device_path = path.rfind("/api/devices/", 0) == 0;
    // Certificates are global: there is no foreign one, the request names a known one.
    replace("{key}", "p-0004-d356-03");
    replace("{jobId}",
            path.find("/bulk/edit/") != std::string::npos ? foreign_edit_job_ : foreign_job_);
    const bool group_path = path.rfind("/api/groups/", 0) == 0;
    const bool user_path = path.rfind("/api/users/", 0) == 0;
    const bool station_path = path.rfind("/api/stations/", 0) == 0;
    replace("{id}", device_path    ? "F00D"
                    : group_path   ? foreign_
                    : user_path    ? foreign_user_
                    : station_path ? "0F00"
                                   : foreign_type_);
    replace("{jobId}", foreign_job_);
    replace("{login}", foreign_api_user_);
    replace("{cid}", foreign_callback_);
    replace("{year}", "2026");
    replace("{pid}", kForeignProvisionId);
    replace("{devEui}", kForeignDevEui);
    if (path == "/api/provisioning/ids/import") path += "?groupId=" + foreign_;
    if (path.ends_with("/enable")) path += "?enabled=false";
    std::string body;
    if (path == "/api/groups/create") {
      body = json{{"name", "x"}, {"parentId", foreign_}}.dump();
    } else if (path == "/api/groups/edit") {
      body = json{{"id", foreign_}, {"name", "x"}}.dump();
    } else if (path == "/api/api-users/create") {
      body = json{{"name", "x"}, {"roles", {"READER"}}, {"group", foreign_}}.dump();
    } else if (path == "/api/users/create") {
      body = json{{"email", "new@example.com"},
                  {"name", "x"},
                  {"timezone", "UTC"},
                  {"roles", {"READER"}},
                  {"group", foreign_}}
                 .dump();
    } else if (path == "/api/users/edit") {
      body = json{{"id", foreign_user_}, {"name", "x"}}.dump();
    } else if (path == "/api/session/login") {
      body = json{{"email", "foreign@example.com"}, {"password", "not its password"}}.dump();
    } else if (path == "/api/users/set-password") {
      body = json{{"token", "not-a-token"}, {"password", "a long enough password"}}.dump();
    } else if (path == "/api/session/password") {
      body = json{{"currentPassword", kPassword}, {"password", "a long enough password"}}.dump();
    } else if (path == "/api/devicetypes/create") {
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
    } else if (path == "/api/stations/create") {
      body = json{{"id", "0F0E"}, {"name", "x"}, {"group", foreign_}}.dump();
    } else if (path == "/api/stations/edit") {
      body = json{{"id", "0F00"}, {"name", "x"}, {"lat", 1.0}, {"lng", 2.0}}.dump();
    } else if (path == "/api/ingest/service") {
      // Times at the test clock's start: a time ahead of it is refused.
      body = json{{"device", "F00D"},  {"type", "STATUS"}, {"time", 1},
                  {"station", "0F00"}, {"temp", 20.5},     {"batt", 3.1}}
                 .dump();
    } else if (path == "/api/ingest/sigfox-service-callback") {
      body =
          json{{"device", "F00D"}, {"time", 1}, {"station", "0F00"}, {"temp", 20.5}, {"batt", 3.1}}
              .dump();
    } else if (path.rfind("/api/ingest/", 0) == 0) {
      body = json{{"device", "F00D"},  {"seqNumber", 1}, {"data", "01"}, {"time", 1},
                  {"station", "0F00"}, {"rssi", -120.0}, {"snr", 10.0}}
                 .dump();
    } else if (path.ends_with("/events/config/new")) {
      body = json{{"kinds", {"COMMUNICATION_LOSS"}}, {"emails", {"ops@example.com"}}}.dump();
    } else if (path.find("/callbacks/") != std::string::npos && path.ends_with("/edit")) {
      body = json{{"url", "http://example.com/{device}"}}.dump();
    } else if (path.ends_with("/callbacks/new")) {
      body = json::array({json{{"url", "http://example.com/{device}"}}}).dump();
    } else if (path.ends_with("/bulk/create/series")) {
      body = "id;pac\nC001;0000000000000000\n";  // sent as text/csv
    } else if (path == "/api/codec/decode") {
      body = json{{"payloadType", "Custom"}, {"payloadConfig", "a::uint:8"}, {"data", "2a"}}.dump();
    } else if (path == "/api/codec/downlink/check") {
      body = json{{"downlinkDataString", "00112233{rssi}0000"}}.dump();
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
  int64_t now_ = 1000;
  std::unique_ptr<registry::Accounts> accounts_;
  std::unique_ptr<registry::CertificateRegistry> certificates_;
  std::unique_ptr<registry::ProvisioningRegistry> provisioning_;
  static constexpr const char* kForeignProvisionId = "FOREIGNPROVISIONID22";
  static constexpr const char* kForeignDevEui = "00aabbccddeeff99";
  std::unique_ptr<ApiContext> ctx_;
  std::unique_ptr<pipeline::UplinkWriter> writer_;
  std::unique_ptr<pipeline::MessageService> messages_;
  std::unique_ptr<pipeline::EventService> events_;
  http::Router router_;
  std::string root_, mine_, foreign_, foreign_type_, my_type_, foreign_job_, foreign_edit_job_,
      foreign_user_, foreign_api_user_, foreign_callback_;
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
      const std::string& who = ExpectedMatrix().at(Key(r));
      bool allowed = who == "*" || who == "-" || who.find(letter) != std::string::npos;
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
      } else if (path.rfind("/api/ingest/", 0) == 0) {
        // A report through a foreign station is decided like one through an
        // unknown station: refused, nothing stored, nothing said about it. The
        // Sigfox-callback route takes both as a public network's station, for
        // the caller's subtree, which does not hold the foreign device.
        EXPECT_EQ(res.status, 200) << res.body;
        const char* reason =
            path == "/api/ingest/sigfox-callback" || path == "/api/ingest/sigfox-service-callback"
                ? "unknown_device"
                : "unknown_station";
        EXPECT_EQ(json::parse(res.body), (json{{"result", "refused"}, {"reason", reason}}));
      } else if (path == "/api/devicetypes" || path == "/api/devices" || path == "/api/groups" ||
                 path == "/api/users" || path == "/api/api-users" || path == "/api/stations" ||
                 path == "/api/callbacks/messages/error" || path == "/api/provisioning/ids" ||
                 path == "/api/provisioning/devices" || path == "/api/provisioning/export" ||
                 path == "/api/provisioning/summary" || path == "/api/console/summary") {
        // Lists answer, without anything of the foreign group.
        EXPECT_EQ(res.status, 200) << res.body;
        for (const std::string& id :
             {foreign_, foreign_type_, foreign_user_, foreign_api_user_, std::string("\"0F00\""),
              foreign_callback_, std::string(kForeignProvisionId), std::string(kForeignDevEui),
              std::string("aa555a00000000f0")}) {
          EXPECT_EQ(res.body.find(id), std::string::npos) << res.body;
        }
        if (path == "/api/devicetypes") {
          EXPECT_NE(res.body.find(my_type_), std::string::npos);
        }
        if (path == "/api/groups") {
          EXPECT_NE(res.body.find(mine_), std::string::npos);
        }
      } else if (path == "/api/codec/decode" || path == "/api/codec/downlink/check" ||
                 path == "/api/console/config") {
        // Pure computation, or settings: nothing of any group in them.
        EXPECT_EQ(res.status, 200) << res.body;
      } else if (path == "/api/provisioning/labels") {
        // Labels are made from the report in the body and store nothing: no
        // group to hide. Allowed, it parses the (here not a report) body.
        EXPECT_EQ(res.status, 400) << res.body;
      } else if (path == "/api/credentials/import") {
        // Credentials belong to device IDs, not to groups: nothing foreign to
        // hide. Allowed, it parses the (here empty) upload.
        EXPECT_EQ(res.status, 400) << res.body;
      } else if (path == "/api/session") {
        // Who am I: the API user itself, nothing foreign.
        EXPECT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(json::parse(res.body)["apiUser"]["login"], logins_[role]);
      } else if (path == "/api/session/logout" || path == "/api/session/password") {
        EXPECT_EQ(res.status, 400) << res.body;  // an API user has no session, no console password
      } else if (path == "/api/session/login") {
        EXPECT_EQ(res.status, 401) << res.body;  // public, but the credentials are wrong
      } else if (path == "/api/users/set-password") {
        EXPECT_EQ(res.status, 400) << res.body;  // public, but the token is not valid
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
    EXPECT_EQ(st->failed[0], (JobFailure{"F00D", "device not found"}));
  }
  // Nothing of the foreign group changed.
  auto station = store_->GetStation("0F00");
  ASSERT_TRUE(station.ok()) << station.status().message();
  EXPECT_EQ(station->name, "foreign station");
  EXPECT_FALSE(station->lat.has_value());
  auto device = store_->GetDevice(0xF00D);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->name, "foreign device");
  EXPECT_EQ(device->pac, "0123456789ABCDEF");
  auto type = store_->GetDeviceType(foreign_type_);
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->name, "type");
  auto types = store_->ListDeviceTypes(foreign_);
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(types->size(), 1u);
  // The foreign device was not disengaged.
  auto flagged = store_->ClearSequenceCheckDisengaged(0xF00D);
  ASSERT_TRUE(flagged.ok());
  EXPECT_FALSE(*flagged);
  auto group = store_->GetGroup(foreign_);
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->name, "foreign");
  EXPECT_EQ(store_->ListChildGroups(foreign_)->size(), 0u);
  auto user = store_->GetUser(foreign_user_);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->name, "Foreign");
  EXPECT_TRUE(store_->GetApiUser(foreign_api_user_).ok());
  EXPECT_EQ(store_->ListUsersInSubtree(foreign_)->size(), 1u);
  EXPECT_EQ(store_->ListApiUsersInSubtree(foreign_)->size(), 1u);
  EXPECT_TRUE(store_->ListUsersByEmail("new@example.com")->empty());
}

TEST_F(ApiRoutesStoreTest, DeviceStateAndDisengageOnOwnObjects) {
  Device d;
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

// A person with a session cookie: CSRF on unsafe methods, roles, expiry, logout.
TEST_F(ApiRoutesStoreTest, SessionCookieAuthenticationAndCsrf) {
  auto reader = accounts_->CreateUser(mine_, "reader@example.com", "R", "UTC", {"READER"});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto admin = accounts_->CreateUser(mine_, "admin@example.com", "A", "UTC", {"ADMIN"});
  ASSERT_TRUE(admin.ok());
  auto link = accounts_->IssuePasswordLink(admin->id);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(link->token, kPassword).ok());

  auto call = [this](const std::string& method, const std::string& path, const std::string& cookie,
                     const std::string& csrf, std::string body = "") {
    http::Request req;
    req.method = method;
    req.path = req.target = path;
    req.body = std::move(body);
    req.remote = "192.0.2.9:5000";
    req.headers.emplace_back("Content-Type", "application/json");
    if (!cookie.empty()) req.headers.emplace_back("Cookie", "theme=dark; " + cookie);
    if (!csrf.empty()) req.headers.emplace_back("X-CSRF-Token", csrf);
    http::RouteMatch m = router_.Match(req.method, req.path);
    EXPECT_EQ(m.kind, http::RouteMatch::Kind::kFound) << path;
    req.path_params = m.params;
    return http::RunMatched(m, req);
  };

  http::Response login = call("POST", "/api/session/login", "", "",
                              json{{"email", "ADMIN@example.com"}, {"password", kPassword}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  std::string set_cookie;
  for (auto& [k, v] : login.headers) {
    if (k == "Set-Cookie") set_cookie = v;
  }
  ASSERT_EQ(set_cookie.rfind("roost_session=", 0), 0u) << set_cookie;
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Path=/"), std::string::npos);
  // Secure follows http.secure_cookies (ApiContext::secure_cookies), off here.
  EXPECT_EQ(set_cookie.find("; Secure"), std::string::npos);
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string token = cookie.substr(cookie.find('=') + 1);
  EXPECT_EQ(login.body.find(token), std::string::npos);  // the token is in the cookie only
  const std::string csrf = json::parse(login.body)["csrfToken"];
  EXPECT_EQ(csrf, registry::CsrfTokenFor(token));
  EXPECT_EQ(json::parse(login.body)["user"]["id"], admin->id);

  EXPECT_EQ(call("GET", "/api/users", cookie, "").status, 200);
  http::Response who = call("GET", "/api/session", cookie, "");
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ(json::parse(who.body)["csrfToken"], csrf);
  // Unsafe methods need the CSRF header, right.
  const std::string group_body = json{{"name", "by cookie"}}.dump();
  http::Response res = call("POST", "/api/groups/create", cookie, "", group_body);
  EXPECT_EQ(res.status, 403) << res.body;
  EXPECT_NE(res.body.find("X-CSRF-Token"), std::string::npos);
  EXPECT_EQ(call("POST", "/api/groups/create", cookie, csrf + "0", group_body).status, 403);
  EXPECT_EQ(call("DELETE", "/api/users/" + reader->id, cookie, "").status, 403);
  EXPECT_TRUE(store_->GetUser(reader->id).ok());
  EXPECT_EQ(store_->ListChildGroups(mine_)->size(), 0u);
  res = call("POST", "/api/groups/create", cookie, csrf, group_body);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(store_->ListChildGroups(mine_)->size(), 1u);
  // Deleting oneself is refused; deleting another user works.
  EXPECT_EQ(call("DELETE", "/api/users/" + admin->id, cookie, csrf).status, 409);
  EXPECT_EQ(call("DELETE", "/api/users/" + reader->id, cookie, csrf).status, 204);

  // A forged cookie: 401 and the cookie is cleared.
  res = call("GET", "/api/users", "roost_session=forged", "");
  EXPECT_EQ(res.status, 401);
  bool cleared = false;
  for (auto& [k, v] : res.headers)
    cleared |= k == "Set-Cookie" && v.find("Max-Age=0") != std::string::npos;
  EXPECT_TRUE(cleared);

  // Logout ends the session.
  res = call("POST", "/api/session/logout", cookie, csrf);
  EXPECT_EQ(res.status, 204) << res.body;
  EXPECT_EQ(call("GET", "/api/users", cookie, "").status, 401);

  // Expiry: a new session stops working after the session TTL.
  login = call("POST", "/api/session/login", "", "",
               json{{"email", "admin@example.com"}, {"password", kPassword}}.dump());
  ASSERT_EQ(login.status, 200);
  std::string c2;
  for (auto& [k, v] : login.headers) {
    if (k == "Set-Cookie") c2 = v.substr(0, v.find(';'));
  }
  EXPECT_EQ(call("GET", "/api/users", c2, "").status, 200);
  now_ += accounts_->settings().session_ttl_ms;
  EXPECT_EQ(call("GET", "/api/users", c2, "").status, 401);

  // Login needs JSON (no cross-site form posts) and is throttled per email.
  http::Request form;
  form.method = "POST";
  form.path = form.target = "/api/session/login";
  form.body = "email=admin%40example.com&password=x";
  form.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  http::RouteMatch m = router_.Match(form.method, form.path);
  EXPECT_EQ(http::RunMatched(m, form).status, 415);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(call("POST", "/api/session/login", "", "",
                   json{{"email", "admin@example.com"}, {"password", "wrong"}}.dump())
                  .status,
              401);
  }
  res = call("POST", "/api/session/login", "", "",
             json{{"email", "admin@example.com"}, {"password", kPassword}}.dump());
  EXPECT_EQ(res.status, 429);
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
  ApiUser root_admin;
  root_admin.login = NewObjectId();
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

TEST_F(ApiRoutesStoreTest, StatisticsDefaultRangeEndsAtTheInjectedClockNotTheSystemClock) {
  now_ = 1'700'000'000'000;
  http::Response res = Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_ + "/stats");
  ASSERT_EQ(res.status, 200) << res.body;
  json body = json::parse(res.body);
  EXPECT_EQ(body["to"], now_);
  // `from` as the store reads it: rounded down to its hour, or day.
  EXPECT_EQ(body["from"], (now_ - 86'400'000) / 3'600'000 * 3'600'000);
  res = Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_ + "/stats?step=day");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["from"],
            (now_ - 30 * int64_t{86'400'000}) / 86'400'000 * 86'400'000);
  // A range that would start before the epoch starts at it.
  res = Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_ + "/stats?to=1");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["from"], 0);
  res = Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_ + "/stats?from=1&to=2");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["from"], 0);
}

TEST_F(ApiRoutesStoreTest, StatisticsTimesAreReadLikeEveryOtherTimeFilter) {
  // The message lists' parser: at most 15 digits, no sign.
  for (const char* query : {"to=1234567890123456", "from=-1", "from=+5", "to="}) {
    http::Response res =
        Call(Role::kReader, "GET", "/api/devicetypes/" + my_type_ + "/stats?" + query);
    EXPECT_EQ(res.status, 400) << query << " " << res.body;
    EXPECT_NE(res.body.find("epoch milliseconds"), std::string::npos) << res.body;
  }
}

}  // namespace
}  // namespace roost::api
