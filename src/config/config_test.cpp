#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace roost::config {
namespace {

ConfigFile File(std::string text) {
  return ConfigFile{"roost.toml", std::move(text)};
}

ServeConfig LoadOk(const std::optional<ConfigFile>& file, const StringMap& env = {},
                   const StringMap& flags = {}) {
  auto c = LoadConfig(file, env, flags);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : ServeConfig{};
}

std::string LoadError(const std::optional<ConfigFile>& file, const StringMap& env = {},
                      const StringMap& flags = {}) {
  auto c = LoadConfig(file, env, flags);
  EXPECT_FALSE(c.ok());
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput);
  return c.status().message();
}

// --- precedence ----------------------------------------------------------------

TEST(Config, Defaults) {
  const ServeConfig c = LoadOk(std::nullopt);
  EXPECT_EQ(c.data_dir, "roost-data");
  EXPECT_EQ(c.http_listen, (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.database_url, "");
  EXPECT_EQ(c.MasterKeyPath(), "roost-data/master.key");
  EXPECT_EQ(c.PublicUrl(), "http://127.0.0.1:8080");
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_FALSE(c.admin_password.has_value());
  ASSERT_TRUE(c.gwmp_listen.has_value());
  EXPECT_EQ(c.gwmp_listen->ToString(), "0.0.0.0:1700");
  EXPECT_EQ(c.region, Region::kEU868);
  EXPECT_EQ(c.join_eui.ToString(), "0000000000000000");
  EXPECT_FALSE(c.dev_eui_pool.has_value());
  EXPECT_FALSE(c.lns_upstream.has_value());
  EXPECT_EQ(c.smtp.port, 587);
  EXPECT_EQ(c.dedup_window_ms, 3000u);
  EXPECT_EQ(c.retention_days, 90u);
  EXPECT_EQ(c.statistics_retention_days, 400u);  // a year's consumptions stay
  EXPECT_EQ(c, ServeConfig{});
  // An empty file is the defaults too.
  EXPECT_EQ(LoadOk(File("")), ServeConfig{});
}

const char* kFullFile = R"(# every key
data_dir = "/var/lib/roost"

[http]
listen = "[::]:9000"
threads = 4
public_url = "https://roost.example.com/"

[database]
url = "postgresql://roost@db/roost"

[secrets]
master_key_file = "/etc/roost/master.key"

[log]
level = "DEBUG"

[admin]
password_file = "/etc/roost/admin.pw"

[provisioning]
gwmp_listen = "off"
region = "us915"
join_eui = "70-B3-D5-7E-D0-00-00-01"
dev_eui_pool = "70b3d57ed0000000/40"
lns_upstream = "chirpstack.local:1700"

[smtp]
host = "mail.example.com"
port = 465
from = "roost@example.com"
user = "roost"
password_file = "/etc/roost/smtp.pw"

[pipeline]
dedup_window_ms = 5000
retention_days = 0
statistics_retention_days = 0

[registry]
require_known_certificates = true
)";

TEST(Config, FileSetsEveryKey) {
  const ServeConfig c = LoadOk(File(kFullFile));
  EXPECT_EQ(c.data_dir, "/var/lib/roost");
  EXPECT_EQ(c.http_listen, (HostPort{"::", 9000}));
  EXPECT_EQ(c.http_listen.ToString(), "[::]:9000");
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.public_url, "https://roost.example.com");
  EXPECT_EQ(c.database_url, "postgresql://roost@db/roost");
  EXPECT_EQ(c.MasterKeyPath(), "/etc/roost/master.key");
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.admin_password_file, "/etc/roost/admin.pw");
  EXPECT_FALSE(c.gwmp_listen.has_value());
  EXPECT_EQ(c.region, Region::kUS915);
  EXPECT_EQ(c.join_eui.ToString(), "70b3d57ed0000001");
  ASSERT_TRUE(c.dev_eui_pool.has_value());
  EXPECT_EQ(c.dev_eui_pool->First(), 0x70b3d57ed0000000u);
  EXPECT_EQ(c.dev_eui_pool->Last(), 0x70b3d57ed0ffffffu);
  ASSERT_TRUE(c.lns_upstream.has_value());
  EXPECT_EQ(*c.lns_upstream, (HostPort{"chirpstack.local", 1700}));
  EXPECT_EQ(c.smtp, (SmtpConfig{"mail.example.com", 465, "roost@example.com", "roost",
                                "/etc/roost/smtp.pw"}));
  EXPECT_EQ(c.dedup_window_ms, 5000u);
  EXPECT_EQ(c.retention_days, 0u);
  EXPECT_EQ(c.statistics_retention_days, 0u);
  EXPECT_TRUE(c.require_known_certificates);
}

TEST(Config, RequireKnownCertificatesIsABoolean) {
  EXPECT_FALSE(ServeConfig{}.require_known_certificates);
  EXPECT_FALSE(LoadOk(std::nullopt).require_known_certificates);
  for (const char* on : {"true", "TRUE", "1", "yes", "on"}) {
    EXPECT_TRUE(LoadOk(std::nullopt, {{"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES", on}})
                    .require_known_certificates)
        << on;
  }
  for (const char* off : {"false", "0", "no", "Off"}) {
    EXPECT_FALSE(LoadOk(File(kFullFile), {{"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES", off}})
                     .require_known_certificates)
        << off;
  }
  EXPECT_TRUE(LoadOk(std::nullopt, {}, {{"registry.require_known_certificates", "true"}})
                  .require_known_certificates);
  EXPECT_EQ(LoadError(File("[registry]\nrequire_known_certificates = \"true\"\n")),
            "roost.toml: line 2: registry.require_known_certificates: expected a boolean, found "
            "a string");
  EXPECT_EQ(LoadError(File("[registry]\nrequire_known_certificates = 1\n")),
            "roost.toml: line 2: registry.require_known_certificates: expected a boolean, found "
            "an integer");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES", "maybe"}}),
            "ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES: expected true or false, got \"maybe\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATE", "true"}}),
            "ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATE: unknown setting (did you mean "
            "\"ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES\"?)");
}

TEST(Config, EnvironmentOverridesFile) {
  const StringMap env = {{"ROOST_HTTP_LISTEN", "0.0.0.0:8081"},
                         {"ROOST_DATABASE_URL", ""},
                         {"ROOST_HTTP_THREADS", "2"},
                         {"ROOST_PROVISIONING_GWMP_LISTEN", "127.0.0.1:1701"},
                         {"ROOST_ADMIN_PASSWORD_FILE", ""},
                         {"ROOST_ADMIN_PASSWORD", "s3cret pass"},
                         {"ROOST_PIPELINE_RETENTION_DAYS", "30"},
                         {"ROOST_BIN", "/usr/bin/roost"},  // not a setting: ignored
                         {"PATH", "/usr/bin"}};
  const ServeConfig c = LoadOk(File(kFullFile), env);
  EXPECT_EQ(c.http_listen, (HostPort{"0.0.0.0", 8081}));
  EXPECT_EQ(c.database_url, "");  // set to empty by the environment: SQLite
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.gwmp_listen, (HostPort{"127.0.0.1", 1701}));
  EXPECT_EQ(c.admin_password, "s3cret pass");
  EXPECT_EQ(c.retention_days, 30u);
  // Untouched by the environment: from the file.
  EXPECT_EQ(c.data_dir, "/var/lib/roost");
  EXPECT_EQ(c.region, Region::kUS915);
}

TEST(Config, EnvironmentOverridesDefaults) {
  const ServeConfig c = LoadOk(std::nullopt, {{"ROOST_DATA_DIR", "/tmp/d"},
                                              {"ROOST_LOG_LEVEL", "warn"},
                                              {"ROOST_PROVISIONING_JOIN_EUI", "0102030405060708"}});
  EXPECT_EQ(c.data_dir, "/tmp/d");
  EXPECT_EQ(c.MasterKeyPath(), "/tmp/d/master.key");
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.join_eui.ToString(), "0102030405060708");
}

TEST(Config, FlagsOverrideEnvironmentAndFile) {
  const StringMap env = {{"ROOST_HTTP_LISTEN", "0.0.0.0:8081"}, {"ROOST_HTTP_THREADS", "2"}};
  const StringMap flags = {{"http.listen", "127.0.0.1:0"},
                           {"provisioning.region", "CN470"},
                           {"database.url", "sqlite:/tmp/x.db"}};
  const ServeConfig c = LoadOk(File(kFullFile), env, flags);
  EXPECT_EQ(c.http_listen, (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(c.region, Region::kCN470);
  EXPECT_EQ(c.database_url, "sqlite:/tmp/x.db");
  EXPECT_EQ(c.threads, 2u);                 // environment
  EXPECT_EQ(c.data_dir, "/var/lib/roost");  // file
  EXPECT_EQ(c.dedup_window_ms, 5000u);      // file
  EXPECT_EQ(c.smtp.port, 465);              // file
  EXPECT_EQ(LoadOk(std::nullopt, {}, {{"provisioning.gwmp_listen", "OFF"}}).gwmp_listen,
            std::nullopt);
}

TEST(Config, ToTomlRoundTrips) {
  for (const ServeConfig& c : {ServeConfig{}, LoadOk(File(kFullFile))}) {
    const std::string text = ToToml(c);
    auto back = LoadConfig(File(text), {}, {});
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << text;
    EXPECT_EQ(*back, c) << text;
  }
  // The admin password never appears.
  ServeConfig with_secret;
  with_secret.admin_password = "do-not-print-me";
  EXPECT_EQ(ToToml(with_secret).find("do-not-print-me"), std::string::npos);
}

// --- bad input -----------------------------------------------------------------

TEST(Config, BadTomlSyntaxNamesFileAndLine) {
  const std::string msg = LoadError(File("[http]\nlisten = \"127.0.0.1:80\"\nthreads = = 3\n"));
  EXPECT_EQ(msg.rfind("roost.toml: line 3: column ", 0), 0u) << msg;
  const std::string unterminated = LoadError(File("data_dir = \"x\n"));
  EXPECT_EQ(unterminated.rfind("roost.toml: line 1: ", 0), 0u) << unterminated;
  const std::string dup = LoadError(File("[http]\nthreads = 1\nthreads = 2\n"));
  EXPECT_EQ(dup.rfind("roost.toml: line 3: ", 0), 0u) << dup;
}

TEST(Config, UnknownKeysAreErrors) {
  EXPECT_EQ(LoadError(File("[http]\nthreads = 1\nlisen = \"127.0.0.1:80\"\n")),
            "roost.toml: line 3: unknown key \"http.lisen\" (did you mean \"http.listen\"?)");
  EXPECT_EQ(LoadError(File("\n[htp]\nlisten = \"x\"\n")),
            "roost.toml: line 2: unknown section [htp]");
  EXPECT_EQ(LoadError(File("datadir = \"x\"\n")),
            "roost.toml: line 1: unknown key \"datadir\" (did you mean \"data_dir\"?)");
  EXPECT_EQ(LoadError(File("[smtp]\nhost = \"h\"\n[smtp.tls]\nmode = \"x\"\n")),
            "roost.toml: line 3: unknown key \"smtp.tls\"");
  EXPECT_EQ(LoadError(File("listen = \"127.0.0.1:80\"\n")),
            "roost.toml: line 1: unknown key \"listen\"");
}

TEST(Config, WrongTypesAreErrors) {
  EXPECT_EQ(LoadError(File("[http]\nthreads = \"4\"\n")),
            "roost.toml: line 2: http.threads: expected an integer, found a string");
  EXPECT_EQ(LoadError(File("[http]\nthreads = 4.5\n")),
            "roost.toml: line 2: http.threads: expected an integer, found a floating-point number");
  EXPECT_EQ(LoadError(File("[http]\nlisten = 8080\n")),
            "roost.toml: line 2: http.listen: expected a string, found an integer");
  EXPECT_EQ(LoadError(File("data_dir = [\"a\"]\n")),
            "roost.toml: line 1: data_dir: expected a string, found an array");
  EXPECT_EQ(LoadError(File("[smtp]\nport = true\n")),
            "roost.toml: line 2: smtp.port: expected an integer, found a boolean");
  EXPECT_EQ(LoadError(File("http = 5\n")),
            "roost.toml: line 1: http: expected a table [http], found an integer");
  EXPECT_EQ(LoadError(File("[data_dir]\n")),
            "roost.toml: line 1: data_dir: expected a string, found a table");
}

TEST(Config, OutOfRangeIntegers) {
  EXPECT_EQ(LoadError(File("[http]\nthreads = 1000\n")),
            "roost.toml: line 2: http.threads: 1000 is out of range 0..256");
  EXPECT_EQ(LoadError(File("[smtp]\nport = 0\n")),
            "roost.toml: line 2: smtp.port: 0 is out of range 1..65535");
  EXPECT_EQ(LoadError(File("[pipeline]\nretention_days = -1\n")),
            "roost.toml: line 2: pipeline.retention_days: -1 is out of range 0..36500");
  // No hold would leave no time for the downlinkHook's answer (whose timeout
  // is at least 1 ms and must fit in the hold): refused here, as a value.
  EXPECT_EQ(LoadError(File("[pipeline]\ndownlink_hold_ms = 0\n")),
            "roost.toml: line 2: pipeline.downlink_hold_ms: 0 is out of range 1..20000");
}

TEST(Config, JobLease) {
  EXPECT_EQ(LoadOk(std::nullopt).job_lease_seconds, 60u);
  EXPECT_EQ(LoadOk(File("[jobs]\nlease_seconds = 5\n")).job_lease_seconds, 5u);
  EXPECT_EQ(LoadOk(std::nullopt, {{"ROOST_JOBS_LEASE_SECONDS", "2"}}).job_lease_seconds, 2u);
  EXPECT_EQ(LoadOk(std::nullopt, {}, {{"jobs.lease_seconds", "3"}}).job_lease_seconds, 3u);
  EXPECT_EQ(LoadError(File("[jobs]\nlease_seconds = 0\n")),
            "roost.toml: line 2: jobs.lease_seconds: 0 is out of range 1..3600");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_JOBS_LEASE_SECONDS", "soon"}}),
            "ROOST_JOBS_LEASE_SECONDS: expected an integer, got \"soon\"");
}

TEST(Config, ProvisioningLimits) {
  const ServeConfig d = LoadOk(std::nullopt);
  EXPECT_EQ(d.hellos_per_second, 100u);
  EXPECT_EQ(d.hello_burst, 200u);
  EXPECT_EQ(d.gateway_hellos_per_second, 5u);
  EXPECT_EQ(d.gateway_hello_burst, 20u);
  EXPECT_EQ(d.provisioning_session_ttl_s, 60u);
  EXPECT_EQ(d.max_provisioning_sessions, 10000u);
  EXPECT_EQ(d.gwmp_dedup_window_ms, 200u);
  EXPECT_EQ(d.max_queued_uplinks, 256u);
  // Namesakes in other sections stay apart.
  EXPECT_EQ(d.session_ttl_s, 43200u);
  EXPECT_EQ(d.dedup_window_ms, 3000u);

  const ServeConfig c = LoadOk(
      File("[provisioning]\nhellos_per_second = 2000\nhello_burst = 4000\n"
           "gateway_hellos_per_second = 2000\ngateway_hello_burst = 4000\nsession_ttl_s = 20\n"
           "max_sessions = 44000\ndedup_window_ms = 20\nmax_queued_uplinks = 1024\n"),
      {{"ROOST_PROVISIONING_SESSION_TTL_S", "15"}}, {{"provisioning.dedup_window_ms", "5"}});
  EXPECT_EQ(c.hellos_per_second, 2000u);
  EXPECT_EQ(c.hello_burst, 4000u);
  EXPECT_EQ(c.gateway_hellos_per_second, 2000u);
  EXPECT_EQ(c.gateway_hello_burst, 4000u);
  EXPECT_EQ(c.provisioning_session_ttl_s, 15u);
  EXPECT_EQ(c.max_provisioning_sessions, 44000u);
  EXPECT_EQ(c.gwmp_dedup_window_ms, 5u);
  EXPECT_EQ(c.max_queued_uplinks, 1024u);
  EXPECT_TRUE(CheckProvisioningLimits(c).ok());

  EXPECT_EQ(LoadError(File("[provisioning]\nhellos_per_second = 0\n")),
            "roost.toml: line 2: provisioning.hellos_per_second: 0 is out of range 1..100000");
  // A window near the device's RX1 delay (5 s) would leave no time to answer.
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_PROVISIONING_DEDUP_WINDOW_MS", "2001"}}),
            "ROOST_PROVISIONING_DEDUP_WINDOW_MS: 2001 is out of range 1..2000");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.session_ttl_s", "5"}}),
            "--provisioning-session-ttl-s: 5 is out of range 10..3600");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.max_queued_uplinks", "0"}}),
            "--max-queued-uplinks: 0 is out of range 1..1000000");
  EXPECT_EQ(LoadError(File("[provisioning]\ngateway_hello_burst = 2.5\n")),
            "roost.toml: line 2: provisioning.gateway_hello_burst: expected an integer, found a "
            "floating-point number");
}

// The defaults keep every session for its whole ttl: 200 + 100 x 60 <= 10 000.
TEST(Config, SessionTableMustHoldOneTtlOfHellos) {
  EXPECT_TRUE(CheckProvisioningLimits(ServeConfig{}).ok());
  ServeConfig c;
  c.hellos_per_second = 1000;
  c.hello_burst = 2000;
  c.provisioning_session_ttl_s = 60;
  const Status too_small = CheckProvisioningLimits(c);
  EXPECT_EQ(too_small.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(too_small.message(),
            "provisioning.max_sessions (10000) must be at least provisioning.hello_burst + "
            "provisioning.hellos_per_second x provisioning.session_ttl_s (2000 + 1000 x 60 = "
            "62000): a smaller table evicts sessions before their devices' Auths arrive");
  c.max_provisioning_sessions = 62000;  // exactly enough
  EXPECT_TRUE(CheckProvisioningLimits(c).ok());
  c.max_provisioning_sessions = 61999;
  EXPECT_FALSE(CheckProvisioningLimits(c).ok());
  // The largest values of each key do not overflow the sum.
  c.hellos_per_second = 100000;
  c.hello_burst = 1000000;
  c.provisioning_session_ttl_s = 3600;
  c.max_provisioning_sessions = 10000000;
  EXPECT_NE(CheckProvisioningLimits(c).message().find("= 361000000)"), std::string::npos)
      << CheckProvisioningLimits(c).message();
}

// The defaults leave a send its whole timeout within the lease: 120 s >= 2 x 6 s.
TEST(Config, ACallbackLeaseMustOutlastTwoSends) {
  EXPECT_TRUE(CheckCallbackLease(ServeConfig{}).ok());
  ServeConfig c;
  c.callback_lease_s = 5;
  c.callback_timeout_ms = 5000;
  const Status too_short = CheckCallbackLease(c);
  EXPECT_EQ(too_short.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(too_short.message(),
            "pipeline.callback_lease_s (5) must be at least twice (pipeline.callback_timeout_ms "
            "+ 1 s): 2 x (5000 + 1000) ms = 12000 ms; a shorter lease can end while its send is "
            "under way, and the callback go twice");
  c.callback_timeout_ms = 1500;  // exactly enough
  EXPECT_TRUE(CheckCallbackLease(c).ok());
  c.callback_timeout_ms = 1501;
  EXPECT_FALSE(CheckCallbackLease(c).ok());
  // Emails are sent too: their 10 s timeout counts when it is the longer.
  c.callback_timeout_ms = 1500;
  c.smtp.host = "mail.example.com";
  EXPECT_NE(CheckCallbackLease(c).message().find(
                "twice (an email send's timeout, since smtp.host is set, + 1 s): 2 x (10000 + "
                "1000) ms = 22000 ms"),
            std::string::npos)
      << CheckCallbackLease(c).message();
  c.callback_lease_s = 22;
  EXPECT_TRUE(CheckCallbackLease(c).ok());
  c.callback_timeout_ms = 12'000;  // longer than an email's
  EXPECT_FALSE(CheckCallbackLease(c).ok());
  c.callback_lease_s = 26;
  EXPECT_TRUE(CheckCallbackLease(c).ok());
}

TEST(Config, BadListenAddresses) {
  EXPECT_EQ(LoadError(File("[http]\nlisten = \"localhost\"\n")),
            "roost.toml: line 2: http.listen: \"localhost\": expected HOST:PORT");
  EXPECT_EQ(LoadError(File("[http]\nlisten = \"::1:80\"\n")),
            "roost.toml: line 2: http.listen: \"::1:80\": write an IPv6 address in brackets, "
            "[::1]:8080");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_LISTEN", "127.0.0.1:70000"}}),
            "ROOST_HTTP_LISTEN: \"127.0.0.1:70000\": port must be a number from 0 to 65535");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"http.listen", ":80"}}),
            "--listen: \":80\": host is empty");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"http.listen", "[::1"}}),
            "--listen: \"[::1\": IPv6 address lacks ']'");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.gwmp_listen", "of"}}),
            "--gwmp-listen: expected HOST:PORT or off: \"of\": expected HOST:PORT");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.lns_upstream", "lns:0"}}),
            "--lns-upstream: \"lns:0\": port 0 is not a destination");
}

TEST(Config, BadEuisAndPools) {
  std::string msg = LoadError(File("[provisioning]\njoin_eui = \"0102\"\n"));
  EXPECT_EQ(msg.rfind("roost.toml: line 2: provisioning.join_eui: ", 0), 0u) << msg;
  msg = LoadError(std::nullopt, {{"ROOST_PROVISIONING_JOIN_EUI", "zz02030405060708"}});
  EXPECT_EQ(msg.rfind("ROOST_PROVISIONING_JOIN_EUI: ", 0), 0u) << msg;
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.dev_eui_pool", "70b3d57ed0000000"}}),
            "--dev-eui-pool: \"70b3d57ed0000000\": expected PREFIX/BITS, e.g. "
            "70b3d57ed0000000/40");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.dev_eui_pool", "70b3d57ed0000000/0"}}),
            "--dev-eui-pool: \"70b3d57ed0000000/0\": BITS (the prefix length) must be a number "
            "from 1 to 64");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.dev_eui_pool", "70b3d57ed0000000/65"}}),
            "--dev-eui-pool: \"70b3d57ed0000000/65\": BITS (the prefix length) must be a number "
            "from 1 to 64");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"provisioning.dev_eui_pool", "70b3d57ed0000001/40"}}),
            "--dev-eui-pool: \"70b3d57ed0000001/40\": the prefix has bits set after its first 40 "
            "bits");
  msg = LoadError(std::nullopt, {}, {{"provisioning.dev_eui_pool", "70b3d57ed00000/40"}});
  EXPECT_EQ(msg.rfind("--dev-eui-pool: \"70b3d57ed00000/40\": prefix: ", 0), 0u) << msg;
}

TEST(Config, EuiPoolBounds) {
  auto all = ParseEuiPool("0000000000000000/1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->Last(), 0x7fffffffffffffffu);
  auto one = ParseEuiPool("70b3d57ed0000005/64");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->First(), one->Last());
  EXPECT_EQ(one->ToString(), "70b3d57ed0000005/64");
}

TEST(Config, BadEnvironmentValues) {
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_THREADS", "four"}}),
            "ROOST_HTTP_THREADS: expected an integer, got \"four\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_THREADS", ""}}),
            "ROOST_HTTP_THREADS: expected an integer, got \"\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_THREADS", "4 "}}),
            "ROOST_HTTP_THREADS: expected an integer, got \"4 \"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_LOG_LEVEL", "verbose"}}),
            "ROOST_LOG_LEVEL: expected debug, info, warn or error, got \"verbose\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_PROVISIONING_REGION", "AS923"}}),
            "ROOST_PROVISIONING_REGION: expected EU868, US915 or CN470, got \"AS923\"");
  // A URL's password never reaches a message: only its scheme is quoted.
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_DATABASE_URL", "mysql://roost:S3cret@db/roost"}}),
            "ROOST_DATABASE_URL: expected postgresql://…, postgres://… or sqlite:PATH, got the "
            "scheme \"mysql\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_DATABASE_URL", "host=db password=se:cret"}}),
            "ROOST_DATABASE_URL: expected postgresql://…, postgres://… or sqlite:PATH, got no "
            "scheme");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_PUBLIC_URL", "roost.example.com"}}),
            "ROOST_HTTP_PUBLIC_URL: expected http://… or https://…, got no scheme");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_SMTP_FROM", "roost"}}),
            "ROOST_SMTP_FROM: expected an email address, got \"roost\"");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_SMTP_HOST", "mail:25"}}),
            "ROOST_SMTP_HOST: expected a host name, got \"mail:25\" (the port is smtp.port)");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_DATA_DIR", ""}}), "ROOST_DATA_DIR: must not be empty");
}

// The tile URL's origin goes into the Content-Security-Policy: nothing that
// could end or extend a source list gets through.
TEST(Config, ConsoleTileUrl) {
  EXPECT_EQ(
      LoadOk(std::nullopt, {{"ROOST_CONSOLE_TILE_URL", "https://t.example.org:8443/{z}/{x}/{y}"}})
          .console_tile_url,
      "https://t.example.org:8443/{z}/{x}/{y}");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_CONSOLE_TILE_URL", "ftp://t/{z}"}}),
            "ROOST_CONSOLE_TILE_URL: expected http://… or https://…, got the scheme \"ftp\"");
  for (const char* bad : {"https://t.org/a b", "https://t.org/x;script-src *", "https://t.org/a,b",
                          "https://t.org/'self'", "https://t.org/\"x"}) {
    EXPECT_NE(LoadError(std::nullopt, {{"ROOST_CONSOLE_TILE_URL", bad}}).find("may not contain"),
              std::string::npos)
        << bad;
  }
  for (const char* bad : {"https://{s}.t.org/{z}", "https://user@t.org/{z}", "https:///{z}"}) {
    EXPECT_NE(LoadError(std::nullopt, {{"ROOST_CONSOLE_TILE_URL", bad}}).find("fixed host"),
              std::string::npos)
        << bad;
  }
}

TEST(Config, UnknownEnvironmentVariablesUnderASection) {
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_HTTP_LISTN", "0.0.0.0:80"}}),
            "ROOST_HTTP_LISTN: unknown setting (did you mean \"ROOST_HTTP_LISTEN\"?)");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_SMTP_TLS", "on"}}), "ROOST_SMTP_TLS: unknown setting");
  // Not under a configuration section: someone else's variable.
  EXPECT_EQ(LoadOk(std::nullopt, {{"ROOST_VECTORS", "/x"}, {"ROOST_KEY", "00"}}), ServeConfig{});
}

TEST(Config, AdminPasswordIsEnvironmentOnlyAndNeverEchoed) {
  EXPECT_EQ(LoadError(File("[admin]\npassword = \"hunter2\"\n")),
            "roost.toml: line 2: admin.password: not allowed in a file (a secret); set "
            "ROOST_ADMIN_PASSWORD or use admin.password_file");
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"admin.password", "hunter2"}}),
            "unknown setting \"admin.password\" given as a flag");
  EXPECT_EQ(LoadError(std::nullopt, {{"ROOST_ADMIN_PASSWORD", ""}}),
            "ROOST_ADMIN_PASSWORD: must not be empty");
  const std::string both = LoadError(
      std::nullopt, {{"ROOST_ADMIN_PASSWORD", "hunter2"}, {"ROOST_ADMIN_PASSWORD_FILE", "/pw"}});
  EXPECT_NE(both.find("both set"), std::string::npos);
  EXPECT_EQ(both.find("hunter2"), std::string::npos);
}

TEST(Config, UnknownFlagKey) {
  EXPECT_EQ(LoadError(std::nullopt, {}, {{"http.port", "80"}}),
            "unknown setting \"http.port\" given as a flag");
}

TEST(Config, KeyTableIsConsistent) {
  std::set<std::string_view> keys, envs, flags;
  for (const ConfigKey& k : ConfigKeys()) {
    EXPECT_TRUE(keys.insert(k.key).second) << k.key;
    EXPECT_TRUE(envs.insert(k.env).second) << k.env;
    if (!k.flag.empty()) {
      EXPECT_TRUE(flags.insert(k.flag).second) << k.flag;
    }
    // ROOST_ + the key in upper case with '.' -> '_'.
    std::string env = "ROOST_";
    for (char c : k.key) env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
    EXPECT_EQ(k.env, env);
    EXPECT_FALSE(k.help.empty()) << k.key;
  }
}

// docs/configuration.md lists every key with its environment variable and flag.
TEST(Config, DocumentationCoversEveryKey) {
  std::ifstream in(std::string(ROOST_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  auto code = [](std::string_view name) {
    std::string out = "`";
    out.append(name);
    out.push_back('`');
    return out;
  };
  for (const ConfigKey& k : ConfigKeys()) {
    EXPECT_NE(doc.find(code(k.key)), std::string::npos) << k.key;
    EXPECT_NE(doc.find(code(k.env)), std::string::npos) << k.env;
    if (!k.flag.empty()) {
      EXPECT_NE(doc.find(code(k.flag)), std::string::npos) << k.flag;
    }
  }
}

// A value other than the default for every key, as text (environment, flags) and
// as a TOML literal (file). A key added to the table needs a line here.
struct Sample {
  std::string text;
  std::string toml;
};
const std::map<std::string_view, Sample>& Samples() {
  static const std::map<std::string_view, Sample> samples = {
      {"data_dir", {"/srv/roost", "\"/srv/roost\""}},
      {"http.listen", {"[::1]:9090", "\"[::1]:9090\""}},
      {"http.threads", {"3", "3"}},
      {"http.handler_threads", {"9", "9"}},
      {"http.stop_timeout_s", {"30", "30"}},
      {"http.max_upload_bytes", {"1048576", "1048576"}},
      {"http.max_bulk_body_bytes", {"2097152", "2097152"}},
      {"http.max_body_bytes_in_flight", {"3145728", "3145728"}},
      {"http.max_connections", {"2000", "2000"}},
      {"http.max_connections_per_address", {"50", "50"}},
      {"http.behind_proxy", {"true", "true"}},
      {"http.public_url", {"https://roost.example.com", "\"https://roost.example.com\""}},
      {"http.secure_cookies", {"on", "\"on\""}},
      {"database.url", {"sqlite:/tmp/x.db", "\"sqlite:/tmp/x.db\""}},
      {"secrets.master_key_file", {"/etc/roost/mk", "\"/etc/roost/mk\""}},
      {"log.level", {"warn", "\"warn\""}},
      {"admin.password_file", {"/etc/roost/pw", "\"/etc/roost/pw\""}},
      {"admin.password", {"correct horse battery", ""}},
      {"provisioning.gwmp_listen", {"off", "\"off\""}},
      {"provisioning.region", {"US915", "\"US915\""}},
      {"provisioning.join_eui", {"0102030405060708", "\"0102030405060708\""}},
      {"provisioning.dev_eui_pool", {"70b3d57ed0000000/40", "\"70b3d57ed0000000/40\""}},
      {"provisioning.lns_upstream", {"lns.internal:1700", "\"lns.internal:1700\""}},
      {"provisioning.hellos_per_second", {"50", "50"}},
      {"provisioning.hello_burst", {"300", "300"}},
      {"provisioning.gateway_hellos_per_second", {"8", "8"}},
      {"provisioning.gateway_hello_burst", {"30", "30"}},
      {"provisioning.session_ttl_s", {"30", "30"}},
      {"provisioning.max_sessions", {"20000", "20000"}},
      {"provisioning.dedup_window_ms", {"20", "20"}},
      {"provisioning.max_queued_uplinks", {"512", "512"}},
      {"smtp.host", {"mail.example.com", "\"mail.example.com\""}},
      {"smtp.port", {"465", "465"}},
      {"smtp.from", {"roost@example.com", "\"roost@example.com\""}},
      {"smtp.user", {"roost", "\"roost\""}},
      {"smtp.password_file", {"/etc/roost/smtp", "\"/etc/roost/smtp\""}},
      {"accounts.password_link_ttl_s", {"3600", "3600"}},
      {"accounts.session_ttl_s", {"600", "600"}},
      {"accounts.password_hash_slots", {"3", "3"}},
      {"pipeline.dedup_window_ms", {"100", "100"}},
      {"pipeline.ingest_queue_reports", {"1000", "1000"}},
      {"pipeline.retention_days", {"7", "7"}},
      {"pipeline.statistics_retention_days", {"366", "366"}},
      {"pipeline.retention_period_s", {"30", "30"}},
      {"pipeline.downlink_hold_ms", {"50", "50"}},
      {"pipeline.downlink_callback_timeout_ms", {"40", "40"}},
      {"pipeline.downlink_max_frames", {"100", "100"}},
      {"pipeline.downlink_max_frames_per_client", {"50", "50"}},
      {"pipeline.batch_callback_lines", {"10", "10"}},
      {"pipeline.batch_callback_interval_ms", {"250", "250"}},
      {"pipeline.event_watch_ms", {"250", "250"}},
      {"pipeline.callback_concurrency", {"300", "300"}},
      {"pipeline.callback_threads", {"3", "3"}},
      {"pipeline.send_callbacks", {"false", "false"}},
      {"pipeline.callback_timeout_ms", {"250", "250"}},
      {"pipeline.callback_dead_after_s", {"60", "60"}},
      {"pipeline.callback_lease_s", {"30", "30"}},
      {"pipeline.callback_refuse_private", {"true", "true"}},
      {"live.max_streams_per_principal", {"2", "2"}},
      {"live.max_streams", {"50", "50"}},
      {"live.poll_interval_ms", {"1000", "1000"}},
      {"live.keepalive_ms", {"2000", "2000"}},
      {"jobs.lease_seconds", {"2", "2"}},
      {"jobs.workers", {"3", "3"}},
      {"registry.require_known_certificates", {"true", "true"}},
      {"metrics.token", {"s3cr3t-token", "\"s3cr3t-token\""}},
      {"console.dir", {"/srv/roost/web", "\"/srv/roost/web\""}},
      {"console.tile_url",
       {"https://tile.example.org/{z}/{x}/{y}.png",
        "\"https://tile.example.org/{z}/{x}/{y}.png\""}},
  };
  return samples;
}

// Every key of the table can be set from the file (unless it is a secret), from
// its environment variable and from its flag (when it has one), and all layers
// give the same result.
TEST(Config, EveryKeyCanBeSetFromEachLayer) {
  for (const ConfigKey& k : ConfigKeys()) {
    SCOPED_TRACE(std::string(k.key));
    auto sample = Samples().find(k.key);
    ASSERT_NE(sample, Samples().end()) << "no sample value for " << k.key;
    const ServeConfig from_env = LoadOk(std::nullopt, {{std::string(k.env), sample->second.text}});
    EXPECT_NE(from_env, ServeConfig{});
    if (k.file_allowed) {
      const std::string key(k.key);
      const size_t dot = key.find('.');
      const std::string text = dot == std::string::npos
                                   ? key + " = " + sample->second.toml + "\n"
                                   : "[" + key.substr(0, dot) + "]\n" + key.substr(dot + 1) +
                                         " = " + sample->second.toml + "\n";
      EXPECT_EQ(LoadOk(File(text)), from_env);
    } else {
      EXPECT_FALSE(LoadConfig(File(std::string(k.key) + " = \"x\"\n"), {}, {}).ok());
    }
    if (!k.flag.empty()) {
      EXPECT_EQ(LoadOk(std::nullopt, {}, {{std::string(k.key), sample->second.text}}), from_env);
    } else {
      EXPECT_FALSE(LoadConfig(std::nullopt, {}, {{std::string(k.key), sample->second.text}}).ok());
    }
  }
}

// The defaults the table declares are those of ServeConfig{} (as ToToml writes them),
// and the integer ranges are enforced at both ends.
TEST(Config, TableDefaultsAndRangesAreTheRealOnes) {
  const toml::table defaults = toml::parse(ToToml(ServeConfig{}));
  for (const ConfigKey& k : ConfigKeys()) {
    SCOPED_TRACE(std::string(k.key));
    const toml::node_view<const toml::node> node = defaults.at_path(k.key);
    if (!k.file_allowed) {
      EXPECT_FALSE(node) << "a secret is never written";
      EXPECT_EQ(k.default_value, "");
      continue;
    }
    ASSERT_TRUE(node);
    if (k.integer) {
      ASSERT_TRUE(node.is_integer());
      EXPECT_EQ(std::to_string(node.as_integer()->get()), k.default_value);
      EXPECT_LT(k.min, k.max);
      const std::string env(k.env);
      EXPECT_TRUE(LoadConfig(std::nullopt, {{env, std::to_string(k.min)}}, {}).ok());
      EXPECT_TRUE(LoadConfig(std::nullopt, {{env, std::to_string(k.max)}}, {}).ok());
      EXPECT_EQ(LoadError(std::nullopt, {{env, std::to_string(k.min - 1)}}),
                env + ": " + std::to_string(k.min - 1) + " is out of range " +
                    std::to_string(k.min) + ".." + std::to_string(k.max));
      EXPECT_FALSE(LoadConfig(std::nullopt, {{env, std::to_string(k.max + 1)}}, {}).ok());
    } else if (k.boolean) {
      ASSERT_TRUE(node.is_boolean());
      EXPECT_EQ(node.as_boolean()->get() ? "true" : "false", k.default_value);
    } else {
      ASSERT_TRUE(node.is_string());
      EXPECT_EQ(node.as_string()->get(), k.default_value);
    }
  }
}

// docs/configuration.md's table of keys is the table: same keys in the same
// order, same variable, flag and default, and each integer's range.
TEST(Config, DocumentationTableFollowsTheKeyTable) {
  std::ifstream in(std::string(ROOST_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md missing";
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    size_t pos = 1;
    while (pos < line.size()) {
      size_t bar = line.find(" |", pos);
      if (bar == std::string::npos) break;
      std::string cell = line.substr(pos, bar - pos);
      while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
      cells.push_back(cell);
      pos = bar + 2;
    }
    rows.push_back(cells);
  }
  const auto keys = ConfigKeys();
  ASSERT_EQ(rows.size(), keys.size());
  auto code = [](std::string_view s) { return "`" + std::string(s) + "`"; };
  for (size_t i = 0; i < keys.size(); ++i) {
    const ConfigKey& k = keys[i];
    const std::vector<std::string>& row = rows[i];
    SCOPED_TRACE(std::string(k.key));
    ASSERT_GE(row.size(), 5u);
    EXPECT_EQ(row[0], code(k.key));
    // A setting nothing uses yet says so first, and only such a setting.
    EXPECT_EQ(row[4].starts_with("**Not used yet**"), k.not_used_yet) << row[4];
    EXPECT_EQ(row[1], code(k.env));
    if (k.flag.empty()) {
      EXPECT_TRUE(row[2].empty() || row[2] == "none") << row[2];
    } else {
      EXPECT_EQ(row[2], code(k.flag));
    }
    if (k.default_value.empty()) {
      EXPECT_EQ(row[3], k.file_allowed ? "empty" : "unset");
    } else {
      EXPECT_TRUE(row[3].starts_with(code(k.default_value))) << row[3];
    }
    if (k.integer) {
      const std::string range = std::to_string(k.min) + ".." + std::to_string(k.max);
      EXPECT_NE(row[4].find(range), std::string::npos) << range;
    }
  }
}

TEST(Config, ReadConfigFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("roost_config_test_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "[http]\nthreads = 3\n";
  auto file = ReadConfigFile(path.string());
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->name, path.string());
  EXPECT_EQ(LoadOk(*file).threads, 3u);
  std::ofstream(path) << "[http]\nthreads = x\n";
  auto bad = LoadConfig(*ReadConfigFile(path.string()), {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(path.string() + ": line 2: ", 0), 0u)
      << bad.status().message();
  std::filesystem::remove(path);
  auto missing = ReadConfigFile(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), path.string() + ": cannot open config file");
}

TEST(Config, ProcessEnvironmentKeepsRoostVariables) {
  ::setenv("ROOST_TEST_CONFIG_PROBE", "a=b", 1);
  const StringMap env = ProcessEnvironment();
  ::unsetenv("ROOST_TEST_CONFIG_PROBE");
  auto it = env.find("ROOST_TEST_CONFIG_PROBE");
  ASSERT_NE(it, env.end());
  EXPECT_EQ(it->second, "a=b");
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("ROOST_", 0), 0u) << name;
}

TEST(HostPortTest, Parses) {
  auto a = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = ParseHostPort("localhost:65535");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 65535);
}

TEST(HostPortTest, RejectsEachKindOfBadInput) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"127.0.0.1", "expected HOST:PORT"}, {":8080", "host is empty"},
      {"127.0.0.1:", "port must be"},      {"127.0.0.1:http", "port must be"},
      {"127.0.0.1:65536", "port must be"}, {"127.0.0.1:-1", "port must be"},
      {"127.0.0.1:80x", "port must be"},   {"::1:8080", "in brackets"},
      {"[::1:8080", "lacks ']'"},          {"[::1]8080", "expected HOST:PORT"},
      {"[]:8080", "host is empty"},
  };
  for (const auto& [text, why] : bad) {
    auto r = ParseHostPort(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
  }
}

TEST(Config, SecureCookiesFollowThePublicUrlUnlessSet) {
  EXPECT_FALSE(LoadOk(std::nullopt).UseSecureCookies());
  EXPECT_TRUE(LoadOk(std::nullopt, {{"ROOST_HTTP_PUBLIC_URL", "HTTPS://roost.example.com"}})
                  .UseSecureCookies());
  EXPECT_FALSE(LoadOk(std::nullopt, {{"ROOST_HTTP_PUBLIC_URL", "https://roost.example.com"},
                                     {"ROOST_HTTP_SECURE_COOKIES", "off"}})
                   .UseSecureCookies());
  EXPECT_TRUE(LoadOk(std::nullopt, {}, {{"http.secure_cookies", "ON"}}).UseSecureCookies());
  EXPECT_NE(LoadError(std::nullopt, {{"ROOST_HTTP_SECURE_COOKIES", "yes"}})
                .find("expected auto, on or off"),
            std::string::npos);
}

TEST(Config, MetricsTokenIsNeverQuotedInErrors) {
  const std::string error =
      LoadError(ConfigFile{"roost.toml", "[metrics]\ntoken = \"half secret\"\n"});
  EXPECT_NE(error.find("metrics.token"), std::string::npos) << error;
  EXPECT_EQ(error.find("half secret"), std::string::npos) << error;
  EXPECT_EQ(LoadOk(std::nullopt, {{"ROOST_METRICS_TOKEN", "abc-DEF_123"}}).metrics_token,
            "abc-DEF_123");
}

}  // namespace

TEST(MaskDatabasePasswordsInArgs, BlanksThePasswordOfEachDatabaseUrlAndNothingElse) {
  std::vector<std::string> given = {
      "roost",
      "serve",
      "--database",
      "postgresql://roost:s3cret@db.example:5432/roost?sslmode=require",
      "--database=postgres://u:p%40ss@[::1]/x",
      "--database",
      "host=db password=s3cret dbname=roost",
      "--database",
      "postgresql://db/roost?user=r&password=s3cret&sslmode=require",
      "--database",
      "postgresql://nopassword@db/roost",
      "--database",
      "postgresql://u:pa?ss#w@rd@db/x?password=q&x=1",
      "--database",
      "host=db password = 'a b\\' c' user=r\tpassword=ab&cd",
      "--listen",
      "127.0.0.1:8080",
      "postgresql://other:keep@db/x"};
  std::vector<std::vector<char>> storage;
  std::vector<char*> argv;
  for (const auto& a : given) {
    storage.emplace_back(a.begin(), a.end());
    storage.back().push_back('\0');
  }
  for (auto& s : storage) argv.push_back(s.data());
  EXPECT_EQ(MaskDatabasePasswordsInArgs(static_cast<int>(argv.size()), argv.data()), 6);
  EXPECT_STREQ(argv[3], "postgresql://roost:xxxxxx@db.example:5432/roost?sslmode=require");
  EXPECT_STREQ(argv[4], "--database=postgres://u:xxxxxx@[::1]/x");
  EXPECT_STREQ(argv[6], "host=db password=xxxxxx dbname=roost");
  EXPECT_STREQ(argv[8], "postgresql://db/roost?user=r&password=xxxxxx&sslmode=require");
  EXPECT_STREQ(argv[10], "postgresql://nopassword@db/roost");
  // libpq takes the user info up to the first '@' before a '/': "pa?ss#w" here.
  EXPECT_STREQ(argv[12], "postgresql://u:xxxxxxx@rd@db/x?password=x&x=1");
  // Spaces around '=', a quoted value with an escaped quote, a tab, '&' in a value.
  EXPECT_STREQ(argv[14], "host=db password = 'xxxxxxx' user=r\tpassword=xxxxx");
  EXPECT_STREQ(argv[16], "127.0.0.1:8080");
  EXPECT_STREQ(argv[17], "postgresql://other:keep@db/x");  // not a --database value
}

}  // namespace roost::config
