#include "config/config.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/text.h"

extern char** environ;

namespace roost::config {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

// A value as it arrives from one layer: a TOML integer or a string.
struct Raw {
  bool is_int = false;
  int64_t i = 0;
  std::string s;
};

// Integers from the environment or flags come as text.
Result<int64_t> AsInt(const Raw& raw, int64_t min, int64_t max) {
  int64_t v = raw.i;
  if (!raw.is_int) {
    std::string_view t = raw.s;
    auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
      return Status::InvalidInput("expected an integer, got " + Quote(t));
    }
  }
  if (v < min || v > max) {
    return Status::InvalidInput(std::to_string(v) + " is out of range " + std::to_string(min) +
                                ".." + std::to_string(max));
  }
  return v;
}

Result<std::optional<HostPort>> OptionalHostPort(std::string_view text, bool allow_port_0) {
  if (text.empty()) return std::optional<HostPort>();
  auto hp = ParseHostPort(text);
  if (!hp.ok()) return hp.status();
  if (!allow_port_0 && hp->port == 0) {
    return Status::InvalidInput(Quote(text) + ": port 0 is not a destination");
  }
  return std::optional<HostPort>(*hp);
}

Status CheckUrl(std::string_view url, std::initializer_list<std::string_view> schemes,
                std::string_view expected) {
  for (std::string_view scheme : schemes) {
    if (AsciiLower(url.substr(0, scheme.size())) == scheme && url.size() > scheme.size()) {
      return Status::Ok();
    }
  }
  // Only a scheme is quoted (RFC 3986: a letter, then letters, digits, + - .):
  // the rest may carry a password, and so may text that is no URL at all.
  const size_t colon = url.find(':');
  const std::string_view scheme = url.substr(0, colon);
  const bool is_scheme =
      colon != std::string_view::npos && !scheme.empty() &&
      std::isalpha(static_cast<unsigned char>(scheme[0])) &&
      std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      });
  return Status::InvalidInput(
      "expected " + std::string(expected) + ", got " +
      (is_scheme ? "the scheme " + Quote(scheme) : std::string("no scheme")));
}

using Setter = Status (*)(ServeConfig&, const Raw&);
using Getter = std::string (*)(const ServeConfig&);  // TOML literal
using Check = Status (*)(std::string_view);          // an extra rule for a plain string

std::string TomlString(std::string_view s) {
  std::ostringstream out;
  out << toml::value<std::string>(std::string(s));
  return out.str();
}

// Where a plain setting lives: a member of ServeConfig or of its SmtpConfig.
// (unsigned and uint32_t are one type on every platform Roost builds for.)
using Member = std::variant<std::string ServeConfig::*, uint32_t ServeConfig::*,
                            bool ServeConfig::*, std::string SmtpConfig::*, uint16_t SmtpConfig::*>;

template <typename T>
T& At(ServeConfig& c, T ServeConfig::*m) {
  return c.*m;
}
template <typename T>
T& At(ServeConfig& c, T SmtpConfig::*m) {
  return c.smtp.*m;
}
template <typename T>
const T& At(const ServeConfig& c, T ServeConfig::*m) {
  return c.*m;
}
template <typename T>
const T& At(const ServeConfig& c, T SmtpConfig::*m) {
  return c.smtp.*m;
}

Result<bool> ParseSwitch(std::string_view text) {
  const std::string v = AsciiLower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return Status::InvalidInput("expected true or false, got " + Quote(text));
}

// One setting. Plain ones (strings, integers, switches) are stored through
// `member`, integers within [pub.min, pub.max] and strings after `check`;
// typed ones (addresses, enums, EUIs, URLs) have their own `set` and `get`.
struct KeyDef {
  ConfigKey pub;
  std::optional<Member> member;
  Check check = nullptr;
  Setter set = nullptr;
  Getter get = nullptr;  // typed settings only; nullptr: never written by ToToml

  Status Set(ServeConfig& c, const Raw& raw) const {
    if (set != nullptr) return set(c, raw);
    return std::visit(
        [&](auto m) -> Status {
          auto& field = At(c, m);
          using T = std::remove_reference_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (check != nullptr) ROOST_RETURN_IF_ERROR(check(raw.s));
            field = raw.s;
          } else if constexpr (std::is_same_v<T, bool>) {
            auto v = ParseSwitch(raw.s);
            if (!v.ok()) return v.status();
            field = *v;
          } else {
            auto v = AsInt(raw, pub.min, pub.max);
            if (!v.ok()) return v.status();
            field = static_cast<T>(*v);
          }
          return Status::Ok();
        },
        *member);
  }
  bool Written() const { return member.has_value() || get != nullptr; }
  std::string Get(const ServeConfig& c) const {
    if (get != nullptr) return get(c);
    return std::visit(
        [&](auto m) -> std::string {
          const auto& field = At(c, m);
          using T = std::remove_cvref_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return TomlString(field);
          } else if constexpr (std::is_same_v<T, bool>) {
            return field ? "true" : "false";
          } else {
            return std::to_string(field);
          }
        },
        *member);
  }
};

ConfigKey Key(std::string_view key, std::string_view env, std::string_view flag,
              std::string_view default_value, std::string_view help) {
  ConfigKey k;
  k.key = key;
  k.env = env;
  k.flag = flag;
  k.default_value = default_value;
  k.help = help;
  return k;
}

// Table rows. Text/Int/Switch: plain values stored in a member; Typed: parsed
// and written by its own functions.
KeyDef Text(ConfigKey k, Member m, Check check = nullptr) {
  return KeyDef{k, m, check};
}
KeyDef Int(ConfigKey k, Member m, int64_t min, int64_t max) {
  k.integer = true;
  k.min = min;
  k.max = max;
  return KeyDef{k, m};
}
KeyDef Switch(ConfigKey k, Member m) {
  k.boolean = true;
  return KeyDef{k, m};
}
KeyDef Typed(ConfigKey k, Setter set, Getter get) {
  return KeyDef{k, std::nullopt, nullptr, set, get};
}

Status NotEmpty(std::string_view s) {
  return s.empty() ? Status::InvalidInput("must not be empty") : Status::Ok();
}

Status DatabaseUrl(std::string_view url) {
  if (url.empty()) return Status::Ok();
  return CheckUrl(url, {"postgresql://", "postgres://", "sqlite:"},
                  "postgresql://…, postgres://… or sqlite:PATH");
}

Status SmtpHost(std::string_view host) {
  if (host.find_first_of(" \t\r\n:/") != std::string_view::npos) {
    return Status::InvalidInput("expected a host name, got " + Quote(host) +
                                " (the port is smtp.port)");
  }
  return Status::Ok();
}

Status EmailAddress(std::string_view from) {
  if (!from.empty() && (from.find('@') == std::string_view::npos ||
                        from.find_first_of("\r\n") != std::string_view::npos)) {
    return Status::InvalidInput("expected an email address, got " + Quote(from));
  }
  return Status::Ok();
}

// Never quotes the value: it is a secret.
Status MetricsToken(std::string_view token) {
  for (char c : token) {
    // RFC 6750 b64token, so that it fits an Authorization header as is.
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~+/=").find(c) != std::string_view::npos;
    if (!ok) {
      return Status::InvalidInput(
          "the token may hold only letters, digits and -._~+/= (it is sent in a header)");
    }
  }
  return Status::Ok();
}

// An http(s) URL template whose origin (scheme://host[:port]) goes into the
// Content-Security-Policy as is: it may hold no character that would end or
// extend the policy's source list.
Status TileUrl(std::string_view url) {
  if (url.empty()) return Status::Ok();
  ROOST_RETURN_IF_ERROR(CheckUrl(url, {"http://", "https://"}, "http://… or https://…"));
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == ';' || c == ',' || c == '\'' || c == '"') {
      return Status::InvalidInput(
          "the URL may not contain spaces, control characters, non-ASCII or ;,'\"");
    }
  }
  size_t scheme_end = url.find("://") + 3;
  size_t host_end = url.find_first_of("/?#", scheme_end);
  std::string_view host =
      url.substr(scheme_end, host_end == std::string_view::npos ? std::string_view::npos
                                                                : host_end - scheme_end);
  if (host.empty() || host.find_first_of("{}@") != std::string_view::npos) {
    return Status::InvalidInput(
        "expected a fixed host after the scheme (no {placeholders} "
        "or user@ there), got " +
        Quote(url));
  }
  return Status::Ok();
}

// The one table of settings, in the order of docs/configuration.md and of
// ToToml. Sections: the part of `key` before the dot. `default_value` is the
// value a ServeConfig{} holds, as ToToml writes it ("" = empty); a test checks both.
const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> keys = {
      Text(Key("data_dir", "ROOST_DATA_DIR", "--data-dir", "roost-data",
               "Data directory (SQLite database, master key), created when missing"),
           &ServeConfig::data_dir, NotEmpty),
      Typed(
          Key("http.listen", "ROOST_HTTP_LISTEN", "--listen", "127.0.0.1:8080",
              "HOST:PORT of the HTTP API; port 0 picks a free port"),
          [](ServeConfig& c, const Raw& r) {
            auto hp = ParseHostPort(r.s);
            if (!hp.ok()) return hp.status();
            c.http_listen = *hp;
            return Status::Ok();
          },
          [](const ServeConfig& c) { return TomlString(c.http_listen.ToString()); }),
      Int(Key("http.threads", "ROOST_HTTP_THREADS", "--threads", "0",
              "Event loop threads; 0 = one per CPU"),
          &ServeConfig::threads, 0, 256),
      Int(Key("http.handler_threads", "ROOST_HTTP_HANDLER_THREADS", "", "0",
              "Threads that run API handlers (database calls); 0 = max(4, 2 x event loop "
              "threads)"),
          &ServeConfig::handler_threads, 0, 1024),
      Int(Key("http.stop_timeout_s", "ROOST_HTTP_STOP_TIMEOUT_S", "--stop-timeout-s", "60",
              "Seconds a stop (SIGTERM, SIGINT) may take; past it the process exits with "
              "status 1"),
          &ServeConfig::stop_timeout_s, 15, 3600),
      Int(Key("http.max_upload_bytes", "ROOST_HTTP_MAX_UPLOAD_BYTES", "", "134217728",
              "Largest file upload (credentials, certificates, series), streamed to a "
              "temporary file; the default fits a batch of 1 000 000 devices"),
          &ServeConfig::max_upload_bytes, 1024, 4294967295),
      Int(Key("http.max_bulk_body_bytes", "ROOST_HTTP_MAX_BULK_BODY_BYTES", "", "33554432",
              "Largest bulk JSON request (bulk create or edit), read into memory"),
          &ServeConfig::max_bulk_body_bytes, 1024, 4294967295),
      Int(Key("http.max_body_bytes_in_flight", "ROOST_HTTP_MAX_BODY_BYTES_IN_FLIGHT", "",
              "67108864",
              "In-memory request bodies of all connections together; past it, 503 + "
              "Retry-After"),
          &ServeConfig::max_body_bytes_in_flight, 65536, 4294967295),
      Int(Key("http.max_connections", "ROOST_HTTP_MAX_CONNECTIONS", "", "10000",
              "Open HTTP connections, all clients together; further ones are closed at once"),
          &ServeConfig::max_connections, 16, 1000000),
      Int(Key("http.max_connections_per_address", "ROOST_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "",
              "1000",
              "Open HTTP connections from one client address (IPv4, or IPv6 /64); loopback "
              "clients are not limited"),
          &ServeConfig::max_connections_per_address, 1, 1000000),
      Switch(Key("http.behind_proxy", "ROOST_HTTP_BEHIND_PROXY", "--behind-proxy", "false",
                 "A reverse proxy on this host forwards the clients: a loopback peer's "
                 "X-Forwarded-For (its last entry) is the client's address (true/false)"),
             &ServeConfig::behind_proxy),
      Typed(
          Key("http.public_url", "ROOST_HTTP_PUBLIC_URL", "--public-url", "",
              "Base URL clients reach the server at (links in emails); empty = "
              "http://LISTEN"),
          [](ServeConfig& c, const Raw& r) {
            std::string url = r.s;
            if (!url.empty()) {
              ROOST_RETURN_IF_ERROR(
                  CheckUrl(url, {"http://", "https://"}, "http://… or https://…"));
              if (url.find_first_of(" \t\r\n") != std::string::npos) {
                return Status::InvalidInput("URL contains whitespace");
              }
              while (url.ends_with('/')) url.pop_back();
            }
            c.public_url = url;
            return Status::Ok();
          },
          [](const ServeConfig& c) { return TomlString(c.public_url); }),
      Typed(
          Key("http.secure_cookies", "ROOST_HTTP_SECURE_COOKIES", "--secure-cookies", "auto",
              "Session cookie Secure and named __Host-roost_session: auto (when public_url is "
              "https://), on or off"),
          [](ServeConfig& c, const Raw& r) {
            if (EqualsIgnoreCase(r.s, "auto")) {
              c.secure_cookies = SecureCookies::kAuto;
            } else if (EqualsIgnoreCase(r.s, "on")) {
              c.secure_cookies = SecureCookies::kOn;
            } else if (EqualsIgnoreCase(r.s, "off")) {
              c.secure_cookies = SecureCookies::kOff;
            } else {
              return Status::InvalidInput("expected auto, on or off, got " + Quote(r.s));
            }
            return Status::Ok();
          },
          [](const ServeConfig& c) {
            switch (c.secure_cookies) {
              case SecureCookies::kOn:
                return TomlString("on");
              case SecureCookies::kOff:
                return TomlString("off");
              case SecureCookies::kAuto:
                break;
            }
            return TomlString("auto");
          }),
      // The URL may carry a password; ToToml writes it as given, so treat the
      // output as secret when it does.
      Text(Key("database.url", "ROOST_DATABASE_URL", "--database", "",
               "postgresql://… for PostgreSQL, sqlite:PATH for another SQLite file; empty = "
               "SQLite in the data directory"),
           &ServeConfig::database_url, DatabaseUrl),
      Text(Key("secrets.master_key_file", "ROOST_SECRETS_MASTER_KEY_FILE", "--master-key-file", "",
               "File with the 32-byte master key (64 hex digits) that encrypts secrets at rest; "
               "empty = DATA_DIR/master.key"),
           &ServeConfig::master_key_file),
      Typed(
          Key("log.level", "ROOST_LOG_LEVEL", "--log-level", "info", "debug, info, warn or error"),
          [](ServeConfig& c, const Raw& r) {
            for (LogLevel l :
                 {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
              if (EqualsIgnoreCase(r.s, LogLevelName(l))) {
                c.log_level = l;
                return Status::Ok();
              }
            }
            return Status::InvalidInput("expected debug, info, warn or error, got " + Quote(r.s));
          },
          [](const ServeConfig& c) { return TomlString(LogLevelName(c.log_level)); }),
      Text(Key("admin.password_file", "ROOST_ADMIN_PASSWORD_FILE", "--admin-password-file", "",
               "First start: file holding the initial admin password"),
           &ServeConfig::admin_password_file),
      [] {
        // A secret: environment only, never written, never quoted in errors.
        KeyDef def = Typed(
            Key("admin.password", "ROOST_ADMIN_PASSWORD", "", "",
                "First start: the initial admin password (environment only)"),
            [](ServeConfig& c, const Raw& r) {
              if (r.s.empty()) return Status::InvalidInput("must not be empty");
              c.admin_password = r.s;
              return Status::Ok();
            },
            nullptr);
        def.pub.file_allowed = false;
        return def;
      }(),
      Typed(
          Key("provisioning.gwmp_listen", "ROOST_PROVISIONING_GWMP_LISTEN", "--gwmp-listen",
              "0.0.0.0:1700",
              "UDP HOST:PORT for LoRa gateways' packet forwarders; off = no provisioning "
              "listener"),
          [](ServeConfig& c, const Raw& r) {
            if (EqualsIgnoreCase(r.s, "off")) {
              c.gwmp_listen.reset();
              return Status::Ok();
            }
            auto hp = ParseHostPort(r.s);
            if (!hp.ok()) return hp.status().WithPrefix("expected HOST:PORT or off");
            c.gwmp_listen = *hp;
            return Status::Ok();
          },
          [](const ServeConfig& c) {
            return TomlString(c.gwmp_listen ? c.gwmp_listen->ToString() : "off");
          }),
      Typed(
          Key("provisioning.region", "ROOST_PROVISIONING_REGION", "--region", "EU868",
              "Radio region of provisioning downlinks: EU868, US915 or CN470"),
          [](ServeConfig& c, const Raw& r) {
            for (Region g : {Region::kEU868, Region::kUS915, Region::kCN470}) {
              if (EqualsIgnoreCase(r.s, RegionName(g))) {
                c.region = g;
                return Status::Ok();
              }
            }
            return Status::InvalidInput("expected EU868, US915 or CN470, got " + Quote(r.s));
          },
          [](const ServeConfig& c) { return TomlString(RegionName(c.region)); }),
      Typed(
          Key("provisioning.join_eui", "ROOST_PROVISIONING_JOIN_EUI", "--join-eui",
              "0000000000000000", "JoinEUI given to provisioned devices (16 hex digits)"),
          [](ServeConfig& c, const Raw& r) {
            auto eui = ParseEui64(r.s);
            if (!eui.ok()) return eui.status();
            c.join_eui = *eui;
            return Status::Ok();
          },
          [](const ServeConfig& c) { return TomlString(c.join_eui.ToString()); }),
      Typed(
          Key("provisioning.dev_eui_pool", "ROOST_PROVISIONING_DEV_EUI_POOL", "--dev-eui-pool", "",
              "PREFIX/BITS pool of devEUIs for devices without a fixed devEUI; empty = none"),
          [](ServeConfig& c, const Raw& r) {
            if (r.s.empty()) {
              c.dev_eui_pool.reset();
              return Status::Ok();
            }
            auto pool = ParseEuiPool(r.s);
            if (!pool.ok()) return pool.status();
            c.dev_eui_pool = *pool;
            return Status::Ok();
          },
          [](const ServeConfig& c) {
            return TomlString(c.dev_eui_pool ? c.dev_eui_pool->ToString() : "");
          }),
      Typed(
          Key("provisioning.lns_upstream", "ROOST_PROVISIONING_LNS_UPSTREAM", "--lns-upstream", "",
              "UDP HOST:PORT of a LoRaWAN network server to forward other traffic to; empty = "
              "none"),
          [](ServeConfig& c, const Raw& r) {
            auto hp = OptionalHostPort(r.s, false);
            if (!hp.ok()) return hp.status();
            c.lns_upstream = *hp;
            return Status::Ok();
          },
          [](const ServeConfig& c) {
            return TomlString(c.lns_upstream ? c.lns_upstream->ToString() : "");
          }),
      Int(Key("provisioning.hellos_per_second", "ROOST_PROVISIONING_HELLOS_PER_SECOND",
              "--hellos-per-second", "100",
              "Hellos answered per second, all gateways together (each costs two K-233 "
              "multiplications); more are dropped"),
          &ServeConfig::hellos_per_second, 1, 100000),
      Int(Key("provisioning.hello_burst", "ROOST_PROVISIONING_HELLO_BURST", "--hello-burst", "200",
              "Hellos answered at once above hellos_per_second after a quiet spell"),
          &ServeConfig::hello_burst, 1, 1000000),
      Int(Key("provisioning.gateway_hellos_per_second",
              "ROOST_PROVISIONING_GATEWAY_HELLOS_PER_SECOND", "--gateway-hellos-per-second", "5",
              "Hellos answered per second through one gateway"),
          &ServeConfig::gateway_hellos_per_second, 1, 100000),
      Int(Key("provisioning.gateway_hello_burst", "ROOST_PROVISIONING_GATEWAY_HELLO_BURST",
              "--gateway-hello-burst", "20",
              "Hellos answered at once through one gateway above its rate"),
          &ServeConfig::gateway_hello_burst, 1, 1000000),
      Int(Key("provisioning.session_ttl_s", "ROOST_PROVISIONING_SESSION_TTL_S",
              "--provisioning-session-ttl-s", "60",
              "Seconds a device has between its Hello and its Auth"),
          &ServeConfig::provisioning_session_ttl_s, 10, 3600),
      Int(Key("provisioning.max_sessions", "ROOST_PROVISIONING_MAX_SESSIONS",
              "--max-provisioning-sessions", "10000",
              "Sessions (Hello answered, Auth awaited) kept at once; at least hello_burst + "
              "hellos_per_second x session_ttl_s"),
          &ServeConfig::max_provisioning_sessions, 1, 10000000),
      Int(Key("provisioning.dedup_window_ms", "ROOST_PROVISIONING_DEDUP_WINDOW_MS",
              "--gwmp-dedup-window-ms", "200",
              "Milliseconds a provisioning uplink waits for other gateways' copies before it "
              "is handled"),
          &ServeConfig::gwmp_dedup_window_ms, 1, 2000),
      Int(Key("provisioning.max_queued_uplinks", "ROOST_PROVISIONING_MAX_QUEUED_UPLINKS",
              "--max-queued-uplinks", "256",
              "Provisioning uplinks waiting for the service at once; more are dropped"),
          &ServeConfig::max_queued_uplinks, 1, 1000000),
      Text(Key("smtp.host", "ROOST_SMTP_HOST", "--smtp-host", "",
               "SMTP server for emails (password links, alerts); empty = no email"),
           &SmtpConfig::host, SmtpHost),
      Int(Key("smtp.port", "ROOST_SMTP_PORT", "--smtp-port", "587",
              "SMTP port (587: submission with STARTTLS, 465: implicit TLS, 25)"),
          &SmtpConfig::port, 1, 65535),
      Text(Key("smtp.from", "ROOST_SMTP_FROM", "--smtp-from", "", "Sender address of emails"),
           &SmtpConfig::from, EmailAddress),
      Text(Key("smtp.user", "ROOST_SMTP_USER", "--smtp-user", "",
               "SMTP login; empty = no authentication"),
           &SmtpConfig::user),
      Text(Key("smtp.password_file", "ROOST_SMTP_PASSWORD_FILE", "--smtp-password-file", "",
               "File holding the SMTP password"),
           &SmtpConfig::password_file),
      Int(Key("accounts.password_link_ttl_s", "ROOST_ACCOUNTS_PASSWORD_LINK_TTL_S",
              "--password-link-ttl-s", "259200",
              "Seconds a one-time set-password link (invitation, reset) stays valid"),
          &ServeConfig::password_link_ttl_s, 1, 31536000),
      Int(Key("accounts.session_ttl_s", "ROOST_ACCOUNTS_SESSION_TTL_S", "--session-ttl-s", "43200",
              "Seconds a console login session lasts"),
          &ServeConfig::session_ttl_s, 60, 31536000),
      Int(Key("accounts.password_hash_slots", "ROOST_ACCOUNTS_PASSWORD_HASH_SLOTS", "", "0",
              "Password hashes or checks (Argon2id, 64 MiB each) that may run at once; 0 = one "
              "per CPU"),
          &ServeConfig::password_hash_slots, 0, 256),
      Int(Key("pipeline.dedup_window_ms", "ROOST_PIPELINE_DEDUP_WINDOW_MS", "--dedup-window-ms",
              "3000",
              "Reports of one frame by several stations within this many ms are one message"),
          &ServeConfig::dedup_window_ms, 0, 600000),
      Int(Key("pipeline.ingest_queue_reports", "ROOST_PIPELINE_INGEST_QUEUE_REPORTS",
              "--ingest-queue-reports", "50000",
              "Station reports that may wait for the ingest writer; past it ingest answers 503 "
              "with Retry-After (one request larger than this still goes in alone)"),
          &ServeConfig::ingest_queue_reports, 1, 10000000),
      Int(Key("pipeline.retention_days", "ROOST_PIPELINE_RETENTION_DAYS", "--retention-days", "90",
              "Messages and events older than this many days are purged; 0 = keep forever"),
          &ServeConfig::retention_days, 0, 36500),
      Int(Key("pipeline.statistics_retention_days", "ROOST_PIPELINE_STATISTICS_RETENTION_DAYS",
              "--statistics-retention-days", "400",
              "Hourly statistics older than this many days are purged; 0 = keep forever"),
          &ServeConfig::statistics_retention_days, 0, 36500),
      Int(Key("pipeline.retention_period_s", "ROOST_PIPELINE_RETENTION_PERIOD_S",
              "--retention-period-s", "3600",
              "Seconds between two retention passes (purge, PostgreSQL partitions); the first "
              "runs at start"),
          &ServeConfig::retention_period_s, 1, 86400),
      Int(Key("pipeline.downlink_hold_ms", "ROOST_PIPELINE_DOWNLINK_HOLD_MS", "--downlink-hold-ms",
              "1000",
              "The ingest answer of a report asking for a downlink waits this many ms for the "
              "other stations' reports before the best one is chosen"),
          &ServeConfig::downlink_hold_ms, 1, 20000),
      Int(Key("pipeline.downlink_callback_timeout_ms",
              "ROOST_PIPELINE_DOWNLINK_CALLBACK_TIMEOUT_MS", "--downlink-callback-timeout-ms",
              "800",
              "A device type in CALLBACK downlink mode: its downlinkHook callback must answer "
              "within this many ms; at most pipeline.downlink_hold_ms"),
          &ServeConfig::downlink_callback_timeout_ms, 1, 20000),
      Int(Key("pipeline.downlink_max_frames", "ROOST_PIPELINE_DOWNLINK_MAX_FRAMES",
              "--downlink-max-frames", "4096",
              "At most this many frames' ack answers are held at once; a report with ack of "
              "another frame is then answered at once without a downlink"),
          &ServeConfig::downlink_max_frames, 1, 1000000),
      Int(Key("pipeline.downlink_max_frames_per_client",
              "ROOST_PIPELINE_DOWNLINK_MAX_FRAMES_PER_CLIENT", "--downlink-max-frames-per-client",
              "1024",
              "Of those, at most this many first held by one client (API user or user); its "
              "reports with ack of other frames are then answered at once without a downlink"),
          &ServeConfig::downlink_max_frames_per_client, 1, 1000000),
      Int(Key("pipeline.event_watch_ms", "ROOST_PIPELINE_EVENT_WATCH_MS", "--event-watch-ms",
              "60000",
              "Every this many ms, devices silent for longer than their type's keepAlive raise a "
              "communication loss, and those that spoke again a restoration"),
          &ServeConfig::event_watch_ms, 100, 3600000),
      Int(Key("pipeline.callback_concurrency", "ROOST_PIPELINE_CALLBACK_CONCURRENCY",
              "--callback-concurrency", "64",
              "Callback requests in flight at once, sent from the event loop (at most 2 to one "
              "host, 16 to a quick one)"),
          &ServeConfig::callback_concurrency, 1, 4096),
      Switch(Key("pipeline.send_callbacks", "ROOST_PIPELINE_SEND_CALLBACKS", "--send-callbacks",
                 "true",
                 "Send queued callbacks from this instance (true/false); false makes an "
                 "instance that only ingests, with others on the same database sending"),
             &ServeConfig::send_callbacks),
      Int(Key("pipeline.callback_threads", "ROOST_PIPELINE_CALLBACK_THREADS", "--callback-threads",
              "8", "Threads claiming and recording CALLBACK-mode downlinkHook calls"),
          &ServeConfig::callback_threads, 1, 256),
      Int(Key("pipeline.callback_timeout_ms", "ROOST_PIPELINE_CALLBACK_TIMEOUT_MS",
              "--callback-timeout-ms", "5000",
              "Milliseconds one callback attempt may take, connecting included"),
          &ServeConfig::callback_timeout_ms, 100, 120000),
      Int(Key("pipeline.callback_dead_after_s", "ROOST_PIPELINE_CALLBACK_DEAD_AFTER_S",
              "--callback-dead-after-s", "86400",
              "A callback whose deliveries keep failing this many seconds is marked dead and "
              "its device type's alert email is told"),
          &ServeConfig::callback_dead_after_s, 1, 31536000),
      Int(Key("pipeline.callback_lease_s", "ROOST_PIPELINE_CALLBACK_LEASE_S", "--callback-lease-s",
              "120",
              "Seconds a delivery stays reserved for the instance about to send it; after a "
              "crash its deliveries are sent again once this has passed"),
          &ServeConfig::callback_lease_s, 5, 3600),
      Int(Key("pipeline.batch_callback_lines", "ROOST_PIPELINE_BATCH_CALLBACK_LINES",
              "--batch-callback-lines", "100",
              "A BATCH_URL callback's request is sent once it has this many lines"),
          &ServeConfig::batch_callback_lines, 1, 10000),
      Int(Key("pipeline.batch_callback_interval_ms", "ROOST_PIPELINE_BATCH_CALLBACK_INTERVAL_MS",
              "--batch-callback-interval-ms", "1000",
              "... or this many ms after its first line, whichever comes first"),
          &ServeConfig::batch_callback_interval_ms, 10, 60000),
      Switch(Key("pipeline.callback_refuse_private", "ROOST_PIPELINE_CALLBACK_REFUSE_PRIVATE",
                 "--callback-refuse-private", "false",
                 "Refuse callback destinations on loopback, private and link-local addresses, "
                 "checked on the address connected to (true/false)"),
             &ServeConfig::callback_refuse_private),
      Int(Key("live.max_streams_per_principal", "ROOST_LIVE_MAX_STREAMS_PER_PRINCIPAL",
              "--live-max-streams-per-principal", "4",
              "Live message streams one user or API user may have open at once; past it 429"),
          &ServeConfig::live_max_streams_per_principal, 1, 1000),
      Int(Key("live.max_streams", "ROOST_LIVE_MAX_STREAMS", "--live-max-streams", "1000",
              "Live message streams open on this instance at once; past it 503 with "
              "Retry-After"),
          &ServeConfig::live_max_streams, 1, 100000),
      Int(Key("live.poll_interval_ms", "ROOST_LIVE_POLL_INTERVAL_MS", "--live-poll-interval-ms",
              "5000",
              "Every this many ms each live stream reads the database for messages that another "
              "instance stored"),
          &ServeConfig::live_poll_interval_ms, 100, 600000),
      Int(Key("live.keepalive_ms", "ROOST_LIVE_KEEPALIVE_MS", "--live-keepalive-ms", "15000",
              "A live stream quiet for this many ms gets a keep-alive comment"),
          &ServeConfig::live_keepalive_ms, 100, 600000),
      Int(Key("jobs.lease_seconds", "ROOST_JOBS_LEASE_SECONDS", "--job-lease-seconds", "60",
              "A claimed chunk of a background job that is not finished within this many "
              "seconds (its worker died) is taken over by another worker"),
          &ServeConfig::job_lease_seconds, 1, 3600),
      Int(Key("jobs.workers", "ROOST_JOBS_WORKERS", "--job-workers", "2",
              "Threads that run chunks of background jobs (bulk registration, bulk edit) at "
              "once; one writes while another prepares"),
          &ServeConfig::job_workers, 1, 64),
      Switch(Key("registry.require_known_certificates", "ROOST_REGISTRY_REQUIRE_KNOWN_CERTIFICATES",
                 "--require-known-certificates", "false",
                 "Refuse registrations whose product certificate is not in the certificate "
                 "registry (true/false)"),
             &ServeConfig::require_known_certificates),
      // A secret like database.url's password: ToToml writes it as given; no flag (`ps`).
      Text(Key("metrics.token", "ROOST_METRICS_TOKEN", "", "",
               "Bearer token GET /metrics requires; empty = loopback clients only"),
           &ServeConfig::metrics_token, MetricsToken),
      Text(Key("console.dir", "ROOST_CONSOLE_DIR", "--console-dir", "",
               "Directory of the web console's built files (index.html, assets/), loaded "
               "at start; empty = `web` beside the roost executable; off = no console"),
           &ServeConfig::console_dir),
      Text(Key("console.tile_url", "ROOST_CONSOLE_TILE_URL", "--console-tile-url", "",
               "Map tile URL template for the console, https://host/{z}/{x}/{y}.png; its "
               "origin is allowed as an image source; empty = no map tiles"),
           &ServeConfig::console_tile_url, TileUrl),
  };
  return keys;
}

const KeyDef* FindKey(std::string_view key) {
  for (const KeyDef& k : Keys()) {
    if (k.pub.key == key) return &k;
  }
  return nullptr;
}

bool IsSection(std::string_view name) {
  for (const KeyDef& k : Keys()) {
    size_t dot = k.pub.key.find('.');
    if (dot != std::string_view::npos && k.pub.key.substr(0, dot) == name) return true;
  }
  return false;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// " (did you mean "x"?)" for the closest name within 2 edits, or "".
std::string Suggest(std::string_view name, bool env) {
  std::string_view best;
  size_t best_d = 3;
  for (const KeyDef& k : Keys()) {
    std::string_view candidate = env ? k.pub.env : k.pub.key;
    size_t d = EditDistance(AsciiLower(name), AsciiLower(candidate));
    if (d < best_d) {
      best_d = d;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean " + Quote(best) + "?)";
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

std::string Where(const ConfigFile& file, const toml::source_region& src) {
  return file.name + ": line " + std::to_string(src.begin.line);
}

Status ApplyTomlValue(ServeConfig& config, const ConfigFile& file, const KeyDef& def,
                      const toml::node& node) {
  const std::string where = Where(file, node.source()) + ": " + std::string(def.pub.key);
  if (!def.pub.file_allowed) {
    return Status::InvalidInput(where + ": not allowed in a file (a secret); set " +
                                std::string(def.pub.env) + " or use " + std::string(def.pub.key) +
                                "_file");
  }
  Raw raw;
  if (def.pub.boolean) {
    if (!node.is_boolean()) {
      return Status::InvalidInput(where + ": expected a boolean, found " + TypeName(node));
    }
    raw.s = node.as_boolean()->get() ? "true" : "false";
  } else if (def.pub.integer) {
    if (!node.is_integer()) {
      return Status::InvalidInput(where + ": expected an integer, found " + TypeName(node));
    }
    raw.is_int = true;
    raw.i = node.as_integer()->get();
  } else {
    if (!node.is_string()) {
      return Status::InvalidInput(where + ": expected a string, found " + TypeName(node));
    }
    raw.s = node.as_string()->get();
  }
  return def.Set(config, raw).WithPrefix(where);
}

Status ApplyFile(ServeConfig& config, const ConfigFile& file) {
  toml::table root;
  try {
    root = toml::parse(file.text, file.name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidInput(Where(file, e.source()) + ": column " +
                                std::to_string(e.source().begin.column) + ": " +
                                std::string(e.description()));
  }
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    if (const KeyDef* def = FindKey(name)) {
      ROOST_RETURN_IF_ERROR(ApplyTomlValue(config, file, *def, node));
      continue;
    }
    if (!IsSection(name)) {
      return Status::InvalidInput(
          Where(file, key.source()) + ": unknown " +
          (node.is_table() ? "section [" + name + "]" : "key " + Quote(name)) +
          Suggest(name, false));
    }
    const toml::table* section = node.as_table();
    if (section == nullptr) {
      return Status::InvalidInput(Where(file, node.source()) + ": " + name +
                                  ": expected a table [" + name + "], found " + TypeName(node));
    }
    for (auto&& [sub_key, sub_node] : *section) {
      const std::string full = name + "." + std::string(sub_key.str());
      const KeyDef* def = FindKey(full);
      if (def == nullptr) {
        return Status::InvalidInput(Where(file, sub_key.source()) + ": unknown key " + Quote(full) +
                                    Suggest(full, false));
      }
      ROOST_RETURN_IF_ERROR(ApplyTomlValue(config, file, *def, sub_node));
    }
  }
  return Status::Ok();
}

// Environment prefixes that belong to configuration: an unknown variable under
// one of them is a typo.
bool HasSectionPrefix(std::string_view env) {
  for (const KeyDef& k : Keys()) {
    size_t dot = k.pub.key.find('.');
    if (dot == std::string_view::npos) continue;
    std::string prefix = "ROOST_";
    for (char c : k.pub.key.substr(0, dot)) prefix.push_back(AsciiUpper(c));
    prefix.push_back('_');
    if (env.starts_with(prefix)) return true;
  }
  return false;
}

Status ApplyEnv(ServeConfig& config, const StringMap& env) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with("ROOST_")) continue;
    const KeyDef* def = nullptr;
    for (const KeyDef& k : Keys()) {
      if (k.pub.env == name) def = &k;
    }
    if (def == nullptr) {
      if (HasSectionPrefix(name)) {
        return Status::InvalidInput(name + ": unknown setting" + Suggest(name, true));
      }
      continue;
    }
    Raw raw;
    raw.s = value;
    // Setters of secrets (admin.password) never quote the value in their errors.
    ROOST_RETURN_IF_ERROR(def->Set(config, raw).WithPrefix(name));
  }
  return Status::Ok();
}

Status ApplyFlags(ServeConfig& config, const StringMap& flags) {
  for (const auto& [key, value] : flags) {
    const KeyDef* def = FindKey(key);
    if (def == nullptr || def->pub.flag.empty()) {
      return Status::InvalidInput("unknown setting " + Quote(key) + " given as a flag");
    }
    Raw raw;
    raw.s = value;
    ROOST_RETURN_IF_ERROR(def->Set(config, raw).WithPrefix(std::string(def->pub.flag)));
  }
  return Status::Ok();
}

}  // namespace

// --- small types ---------------------------------------------------------------

std::string HostPort::ToString() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const std::string where = Quote(text);
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidInput(where + ": IPv6 address lacks ']'");
    }
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidInput(where + ": expected HOST:PORT");
    }
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidInput(where + ": expected HOST:PORT");
    }
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return Status::InvalidInput(where + ": write an IPv6 address in brackets, [::1]:8080");
    }
    port = text.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidInput(where + ": host is empty");
  if (host.find_first_of(" \t\r\n/[]") != std::string_view::npos) {
    return Status::InvalidInput(where + ": host contains a character not allowed in a host name");
  }
  unsigned value = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535) {
    return Status::InvalidInput(where + ": port must be a number from 0 to 65535");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

uint64_t EuiPool::Last() const {
  if (bits >= 64) return First();
  return First() | (~uint64_t{0} >> bits);
}

std::string EuiPool::ToString() const {
  return prefix.ToString() + "/" + std::to_string(bits);
}

Result<EuiPool> ParseEuiPool(std::string_view text) {
  const std::string where = Quote(text);
  text = TrimSpace(text);
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidInput(where + ": expected PREFIX/BITS, e.g. 70b3d57ed0000000/40");
  }
  auto prefix = ParseEui64(text.substr(0, slash));
  if (!prefix.ok()) return prefix.status().WithPrefix(where + ": prefix");
  std::string_view bits_text = text.substr(slash + 1);
  int bits = 0;
  auto r = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  if (bits_text.empty() || r.ec != std::errc() || r.ptr != bits_text.data() + bits_text.size() ||
      bits < 1 || bits > 64) {
    return Status::InvalidInput(where + ": BITS (the prefix length) must be a number from 1 to 64");
  }
  EuiPool pool{*prefix, bits};
  if (bits < 64 && (pool.First() & (~uint64_t{0} >> bits)) != 0) {
    return Status::InvalidInput(where + ": the prefix has bits set after its first " +
                                std::to_string(bits) + " bits");
  }
  return pool;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kInfo:
      break;
  }
  return "info";
}

std::string_view RegionName(Region region) {
  switch (region) {
    case Region::kUS915:
      return "US915";
    case Region::kCN470:
      return "CN470";
    case Region::kEU868:
      break;
  }
  return "EU868";
}

std::string ServeConfig::MasterKeyPath() const {
  if (!master_key_file.empty()) return master_key_file;
  return data_dir + (data_dir.ends_with('/') ? "" : "/") + "master.key";
}

std::string ServeConfig::PublicUrl() const {
  if (!public_url.empty()) return public_url;
  return "http://" + http_listen.ToString();
}

bool ServeConfig::UseSecureCookies() const {
  switch (secure_cookies) {
    case SecureCookies::kOn:
      return true;
    case SecureCookies::kOff:
      return false;
    case SecureCookies::kAuto:
      break;
  }
  return AsciiLower(PublicUrl().substr(0, 8)) == "https://";
}

// --- loading -------------------------------------------------------------------

std::span<const ConfigKey> ConfigKeys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const KeyDef& k : Keys()) {
      out.push_back(k.pub);
    }
    return out;
  }();
  return keys;
}

Result<ServeConfig> LoadConfig(const std::optional<ConfigFile>& file, const StringMap& env,
                               const StringMap& flags) {
  ServeConfig config;
  if (file) ROOST_RETURN_IF_ERROR(ApplyFile(config, *file));
  ROOST_RETURN_IF_ERROR(ApplyEnv(config, env));
  ROOST_RETURN_IF_ERROR(ApplyFlags(config, flags));
  if (config.admin_password && !config.admin_password_file.empty()) {
    return Status::InvalidInput(
        "ROOST_ADMIN_PASSWORD and admin.password_file are both set; give one");
  }
  return config;
}

// Sessions are evicted oldest first only when the table is full; while it can
// hold one ttl of admitted Hellos, only expired ones ever are
// (provisioning/service.h), so a device always has its whole ttl to answer.
Status CheckProvisioningLimits(const ServeConfig& c) {
  const uint64_t needed = uint64_t{c.hello_burst} +
                          uint64_t{c.hellos_per_second} * uint64_t{c.provisioning_session_ttl_s};
  if (c.max_provisioning_sessions >= needed) return Status::Ok();
  return Status::InvalidInput(
      "provisioning.max_sessions (" + std::to_string(c.max_provisioning_sessions) +
      ") must be at least provisioning.hello_burst + provisioning.hellos_per_second x "
      "provisioning.session_ttl_s (" +
      std::to_string(c.hello_burst) + " + " + std::to_string(c.hellos_per_second) + " x " +
      std::to_string(c.provisioning_session_ttl_s) + " = " + std::to_string(needed) +
      "): a smaller table evicts sessions before their devices' Auths arrive");
}

Status CheckCallbackLease(const ServeConfig& c) {
  const bool email = !c.smtp.host.empty() && kEmailSendTimeoutMs > c.callback_timeout_ms;
  const int64_t longest_ms = email ? kEmailSendTimeoutMs : int64_t{c.callback_timeout_ms};
  const int64_t needed_ms = 2 * (longest_ms + 1000);
  if (int64_t{c.callback_lease_s} * 1000 >= needed_ms) return Status::Ok();
  return Status::InvalidInput(
      "pipeline.callback_lease_s (" + std::to_string(c.callback_lease_s) +
      ") must be at least twice (" +
      (email ? std::string("an email send's timeout, since smtp.host is set,")
             : std::string("pipeline.callback_timeout_ms")) +
      " + 1 s): 2 x (" + std::to_string(longest_ms) + " + 1000) ms = " + std::to_string(needed_ms) +
      " ms; a shorter lease can end while its send is under way, and the callback go twice");
}

std::string ToToml(const ServeConfig& config) {
  std::string out;
  std::string section;
  for (const KeyDef& k : Keys()) {
    if (!k.Written()) continue;
    std::string_view key = k.pub.key;
    size_t dot = key.find('.');
    std::string this_section = dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
    if (this_section != section) {
      section = this_section;
      out += "\n[" + section + "]\n";
    }
    out += std::string(dot == std::string_view::npos ? key : key.substr(dot + 1)) + " = " +
           k.Get(config) + "\n";
  }
  return out;
}

StringMap ProcessEnvironment() {
  StringMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with("ROOST_")) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<ConfigFile> ReadConfigFile(const std::string& path) {
  constexpr size_t kMaxSize = size_t{1} << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open config file");
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxSize) {
      return Status::InvalidInput(path + ": config file is larger than 1 MiB");
    }
  }
  if (in.bad()) return Status::IoError(path + ": cannot read config file");
  return ConfigFile{path, std::move(text)};
}

namespace {

// Masks the password inside one database URL or libpq connection string, in
// place, finding it as libpq does (its URI and key = value grammars).
bool MaskPassword(char* text) {
  const std::string_view v(text);
  bool masked = false;
  auto blank = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) text[i] = 'x';
    masked = masked || to > from;
  };
  const size_t scheme = v.find("://");
  if (scheme != std::string_view::npos) {
    // URI: the user info ends at the first '@' before any '/'; the password
    // follows its first ':'. "password=" parameters end at '&'.
    const size_t start = scheme + 3;
    const size_t at = v.find_first_of("@/", start);
    if (at != std::string_view::npos && v[at] == '@') {
      const size_t colon = v.find(':', start);
      if (colon < at) blank(colon + 1, at);
    }
    const size_t query = v.find('?', start);
    for (size_t from = query; from != std::string_view::npos && from < v.size();) {
      const size_t amp = std::min(v.find('&', from + 1), v.size());
      const std::string_view param = v.substr(from + 1, amp - from - 1);
      if (param.starts_with("password=")) blank(from + 1 + 9, amp);
      from = amp;
    }
    return masked;
  }
  // key = value pairs separated by whitespace; a value may be 'quoted', and a
  // backslash escapes the next character.
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && space(v[i])) ++i;
    const size_t key = i;
    while (i < v.size() && v[i] != '=' && !space(v[i])) ++i;
    const std::string_view name = v.substr(key, i - key);
    while (i < v.size() && space(v[i])) ++i;
    if (i >= v.size() || v[i] != '=') break;  // not libpq's syntax: nothing more to find
    ++i;
    while (i < v.size() && space(v[i])) ++i;
    const bool quoted = i < v.size() && v[i] == '\'';
    if (quoted) ++i;
    const size_t value = i;
    while (i < v.size() && (quoted ? v[i] != '\'' : !space(v[i]))) {
      i += v[i] == '\\' && i + 1 < v.size() ? 2 : 1;
    }
    if (name == "password") blank(value, std::min(i, v.size()));
    if (quoted && i < v.size()) ++i;  // the closing quote
  }
  return masked;
}

}  // namespace

int MaskDatabasePasswordsInArgs(int argc, char** argv) {
  int masked = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg == "--database" && i + 1 < argc) {
      masked += MaskPassword(argv[++i]) ? 1 : 0;
    } else if (arg.starts_with("--database=")) {
      masked += MaskPassword(argv[i] + 11) ? 1 : 0;
    }
  }
  return masked;
}

}  // namespace roost::config
