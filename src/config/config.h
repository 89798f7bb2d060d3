// The configuration of `roost serve`: one struct, four layers.
//
//   defaults  <  TOML file (--config FILE)  <  ROOST_<SECTION>_<KEY> environment  <  flags
//
// Every setting has a dotted key ("http.listen"), one environment variable
// ("ROOST_HTTP_LISTEN") and usually one flag ("--listen"); ConfigKeys() lists
// them all with their defaults (docs/configuration.md is the prose version, and
// a test keeps the two in step).
//
// LoadConfig is pure: the file text, the environment and the flag values are
// passed in, so it can be tested without touching the process. Every error
// says where the bad value came from and which key it is:
//
//   roost.toml: line 3: http.threads: expected an integer, found a string
//   roost.toml: line 7: unknown key "http.lisen" (did you mean "http.listen"?)
//   ROOST_PROVISIONING_JOIN_EUI: ...
//   --dev-eui-pool: ...
//
// Unknown keys in the file are errors (a typo must not be silently ignored), as
// are unknown environment variables under a known section prefix
// (ROOST_HTTP_LISTN). Other ROOST_* variables (ROOST_BIN, ...) are ignored.
//
// Secrets: a ServeConfig holds two. admin_password can come only from the
// environment (ROOST_ADMIN_PASSWORD), never from the file or a flag (visible in
// `ps`); metrics_token from the file or the environment, never a flag. Error
// messages never echo either. Other secrets are named by file paths (master
// key, SMTP password, admin password file).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/identifiers.h"
#include "core/status.h"

namespace roost::config {

struct HostPort {
  std::string host;  // without brackets, also for IPv6
  uint16_t port = 0;
  // "host:port", "[v6]:port" for IPv6 hosts.
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};
// HOST:PORT, [IPV6]:PORT. Port 0..65535. The error quotes the text.
Result<HostPort> ParseHostPort(std::string_view text);

// A pool of devEUIs: every EUI whose first `bits` bits equal those of `prefix`
// (CIDR style), written PREFIX/BITS, e.g. "70b3d57ed0000000/40" (2^24 EUIs).
// The bits of `prefix` after the first `bits` must be zero.
struct EuiPool {
  Eui64 prefix;
  int bits = 64;  // 1..64
  uint64_t First() const { return prefix.ToU64(); }
  // The last EUI of the pool.
  uint64_t Last() const;
  std::string ToString() const;
  bool operator==(const EuiPool&) const = default;
};
Result<EuiPool> ParseEuiPool(std::string_view text);

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class Region { kEU868, kUS915, kCN470 };
std::string_view LogLevelName(LogLevel level);  // "debug", "info", "warn", "error"
std::string_view RegionName(Region region);     // "EU868", ...

struct SmtpConfig {
  std::string host;  // empty = no email is sent
  uint16_t port = 587;
  std::string from;           // envelope and header sender
  std::string user;           // empty = no authentication
  std::string password_file;  // file holding the SMTP password
  bool operator==(const SmtpConfig&) const = default;
};

// Whether the session cookie is `Secure` (and so named with the `__Host-`
// prefix): kAuto when the public URL is https://.
enum class SecureCookies { kAuto, kOn, kOff };

struct ServeConfig {
  std::string data_dir = "roost-data";
  HostPort http_listen{"127.0.0.1", 8080};
  unsigned threads = 0;          // 0 = one per CPU
  unsigned handler_threads = 0;  // 0 = max(4, 2 × event-loop threads)
  // A stop (SIGTERM, SIGINT) that takes longer than this ends the process
  // (status 1): a database that stopped answering would hold it for good.
  unsigned stop_timeout_s = 60;
  std::string public_url;  // no trailing '/'; empty = "http://" + the listen address
  uint32_t max_upload_bytes = 128 * 1024 * 1024;
  uint32_t max_bulk_body_bytes = 32 * 1024 * 1024;
  uint32_t max_body_bytes_in_flight = 64 * 1024 * 1024;
  uint32_t max_connections = 10000;
  uint32_t max_connections_per_address = 1000;  // IPv4 address or IPv6 /64; not loopback
  bool behind_proxy = false;  // a loopback peer's X-Forwarded-For names the client
  SecureCookies secure_cookies = SecureCookies::kAuto;
  std::string database_url;     // empty = SQLite in data_dir
  std::string master_key_file;  // empty = data_dir/master.key
  LogLevel log_level = LogLevel::kInfo;
  std::string admin_password_file;
  std::optional<std::string> admin_password;                        // ROOST_ADMIN_PASSWORD only
  std::optional<HostPort> gwmp_listen = HostPort{"0.0.0.0", 1700};  // nullopt = off
  Region region = Region::kEU868;
  Eui64 join_eui{};
  std::optional<EuiPool> dev_eui_pool;   // nullopt = fixed devEUIs only
  std::optional<HostPort> lns_upstream;  // nullopt = no forwarding
  // Provisioning's limits (provisioning::ProvisioningService::Options, the
  // gateway listener, the bridge between them); see CheckProvisioningLimits.
  uint32_t hellos_per_second = 100;
  uint32_t hello_burst = 200;
  uint32_t gateway_hellos_per_second = 5;
  uint32_t gateway_hello_burst = 20;
  uint32_t provisioning_session_ttl_s = 60;
  uint32_t max_provisioning_sessions = 10000;
  uint32_t gwmp_dedup_window_ms = 200;  // waiting for other gateways' copies of an uplink
  uint32_t max_queued_uplinks = 256;    // provisioning uplinks waiting for the service
  SmtpConfig smtp;
  uint32_t password_link_ttl_s = 72 * 3600;  // one-time set-password links
  uint32_t session_ttl_s = 12 * 3600;        // console sessions
  unsigned password_hash_slots = 0;          // concurrent Argon2id; 0 = one per CPU
  uint32_t dedup_window_ms = 3000;
  uint32_t ingest_queue_reports = 50000;     // waiting for the ingest writer; past it 503
  uint32_t retention_days = 90;              // 0 = keep messages and events forever
  uint32_t statistics_retention_days = 400;  // 0 = keep statistics forever
  uint32_t retention_period_s = 3600;        // between retention passes
  uint32_t downlink_hold_ms = 1000;          // an ack report waits this long for the others
  // CALLBACK downlink mode: the downlinkHook's deadline; at most downlink_hold_ms
  // (server::Runtime refuses to start otherwise).
  uint32_t downlink_callback_timeout_ms = 800;
  // Frames whose ack answers are held at once; reports of more frames are
  // answered at once without a downlink.
  uint32_t downlink_max_frames = 4096;
  uint32_t downlink_max_frames_per_client = 1024;
  uint32_t batch_callback_lines = 100;         // a BATCH_URL request goes with this many lines
  uint32_t batch_callback_interval_ms = 1000;  // ... or this long after its first line
  uint32_t event_watch_ms = 60000;             // the silence watcher's period
  uint32_t callback_concurrency = 64;          // callback requests in flight at once
  bool send_callbacks = true;                  // false: this instance only queues them
  uint32_t callback_threads = 8;               // threads claiming and recording downlinkHook calls
  uint32_t callback_timeout_ms = 5000;         // one attempt, connecting included
  uint32_t callback_dead_after_s = 86400;      // failing this long: the callback is dead
  uint32_t callback_lease_s = 120;             // a delivery reserved for one sender this long
  bool callback_refuse_private = false;        // refuse loopback/private/link-local destinations
  // The console's live message streams (api/live_feed.h).
  uint32_t live_max_streams_per_principal = 4;  // past it 429
  uint32_t live_max_streams = 1000;             // past it 503 + Retry-After
  uint32_t live_poll_interval_ms = 5000;        // each stream reads the store this often
  uint32_t live_keepalive_ms = 15000;           // a quiet stream's keep-alive comment
  uint32_t job_lease_seconds = 60;  // a job chunk's lease; then another worker may redo it
  uint32_t job_workers = 2;         // threads running job chunks
  // Registration with a product certificate missing from the certificate registry is refused.
  bool require_known_certificates = false;
  // A secret: GET /metrics needs "Authorization: Bearer <token>"; empty = loopback clients only.
  std::string metrics_token;
  // The web console's built files (index.html, assets/): "" = the directory `web` beside
  // the running executable, "off" = no console.
  std::string console_dir;
  // Map tile URL template for the console ("https://tile.example.org/{z}/{x}/{y}.png");
  // empty = no tiles. Its origin is allowed in the Content-Security-Policy's img-src.
  std::string console_tile_url;

  // The master key path with the default applied.
  std::string MasterKeyPath() const;
  // The public base URL with the default applied.
  std::string PublicUrl() const;
  // Whether the session cookie is Secure, with the auto rule applied.
  bool UseSecureCookies() const;
  bool operator==(const ServeConfig&) const = default;
};

// One setting, for help texts, docs and CLI wiring. ConfigKeys() is the one
// table that the file, the environment, the flags, ToToml and
// docs/configuration.md's list of keys all follow (tests keep them in step).
struct ConfigKey {
  std::string_view key;            // "http.listen"
  std::string_view env;            // "ROOST_HTTP_LISTEN"
  std::string_view flag;           // "--listen"; empty: no flag
  std::string_view help;           // one line
  bool integer = false;            // TOML integer (else a TOML string, or boolean below)
  bool file_allowed = true;        // false: environment only (secrets)
  bool boolean = false;            // TOML boolean; text layers accept true/false/1/0/yes/no/on/off
  std::string_view default_value;  // as ToToml writes it, unquoted; "" = empty or unset
  int64_t min = 0, max = 0;        // the accepted range of an integer
  // Accepted and checked, but nothing in `roost serve` uses it yet: its flag is
  // hidden from --help and docs/configuration.md marks it "not used yet".
  bool not_used_yet = false;
};
std::span<const ConfigKey> ConfigKeys();

struct ConfigFile {
  std::string name;  // as the user wrote it; used in error messages
  std::string text;
};
using StringMap = std::map<std::string, std::string, std::less<>>;

// Merges the four layers. `env` holds environment variables by name (others than
// ROOST_* are ignored); `flags` holds flag values by dotted key ("http.listen"),
// only for flags the user gave.
Result<ServeConfig> LoadConfig(const std::optional<ConfigFile>& file, const StringMap& env,
                               const StringMap& flags);

// Fails unless max_provisioning_sessions >= hello_burst + hellos_per_second *
// provisioning_session_ttl_s (the most sessions one ttl of admitted Hellos can
// make): a smaller table evicts live sessions, and their devices' Auths go
// unanswered. The message names the keys and the numbers. Not part of
// LoadConfig, which checks each key alone; server::Runtime refuses to start
// with provisioning on when it fails.
Status CheckProvisioningLimits(const ServeConfig& config);

// How long one email send may take (EMAIL callbacks, alerts): the SMTP
// client's timeout and the dispatcher's, set from here.
inline constexpr int64_t kEmailSendTimeoutMs = 10'000;

// Fails unless pipeline.callback_lease_s is at least twice (the longest send +
// 1 s): pipeline.callback_timeout_ms, or kEmailSendTimeoutMs when smtp.host is
// set and that is longer. The dispatcher starts a send only while its
// delivery's lease has that send's timeout and a second left (or half the
// lease, if less); with a shorter lease a send could outlive it, and another
// instance claim the delivery and send it again. The message names the keys
// and the numbers. server::Runtime refuses to start when it fails.
Status CheckCallbackLease(const ServeConfig& config);

// The effective configuration as a TOML file that LoadConfig reads back to the
// same struct (admin_password is never written).
std::string ToToml(const ServeConfig& config);

// The process environment's ROOST_* variables.
StringMap ProcessEnvironment();
// Reads a config file (at most 1 MiB); the error names the path.
Result<ConfigFile> ReadConfigFile(const std::string& path);

// Overwrites with 'x', in the process's own argument strings (what `ps` and
// /proc/PID/cmdline show every local user), the password of each database URL
// given as `--database URL` or `--database=URL`: the user:password of a URL's
// authority, a `password=` query parameter, or a `password=` keyword of libpq's
// "key=value" form. Parse the arguments from a copy first. Returns how many
// passwords were masked.
int MaskDatabasePasswordsInArgs(int argc, char** argv);

}  // namespace roost::config
