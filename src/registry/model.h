// The registry's domain model: plain data, no behaviour, no I/O.
//
// These structs are what the storage layer (src/storage/store.h) reads and
// writes and what the registry services validate and render. Field names follow
// the API (registry.md); times are epoch milliseconds. Secrets appear only in
// protected form: password hashes (Argon2id, produced elsewhere) and sealed
// KEYs (AES-GCM, produced elsewhere) are opaque bytes here and are never logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/identifiers.h"

namespace roost::registry {

using EpochMillis = int64_t;

// Identifiers of groups, device types, users, API users and jobs: 24 lowercase hex characters.
inline constexpr size_t kObjectIdLength = 24;

struct Group {
  std::string id;
  std::string name;
  std::string description;
  std::string parent;             // empty for the root group
  std::vector<std::string> path;  // ids of the ancestors, root first; empty for the root
  EpochMillis creation_time = 0;
  bool operator==(const Group&) const = default;
};

// Roles are names ("ADMIN", "DEVICE_MANAGER", "READER", "FACTORY", "STATION"); the
// registry owns their meaning, storage keeps them as given.
using Roles = std::vector<std::string>;

// A person. The email is unique (case-insensitive: store it lowercased).
struct User {
  std::string id;
  std::string group;
  std::string email;
  std::string name;
  std::string timezone;       // IANA name, e.g. "Europe/Paris"
  std::string password_hash;  // opaque (Argon2id encoded string); empty = no password set yet
  Roles roles;
  EpochMillis creation_time = 0;
  EpochMillis update_time = 0;
  bool operator==(const User&) const = default;
};

// API credentials: HTTP Basic with login (24 hex, the id) and a random password.
struct ApiUser {
  std::string login;
  std::string name;
  std::string group;
  std::string password_hash;  // opaque
  Roles roles;
  EpochMillis creation_time = 0;
  bool operator==(const ApiUser&) const = default;
};

// A secret handed to a person — a console session (the cookie) or a one-time
// password link — as stored: only the SHA-256 (lowercase hex) of the token.
struct UserToken {
  std::string token_hash;
  std::string user;  // user id
  EpochMillis expires = 0;
  EpochMillis creation_time = 0;
  bool operator==(const UserToken&) const = default;
};

enum class PayloadType : int32_t { kNone = 0, kString = 1, kCustom = 2, kGeolocation = 3 };
enum class DownlinkMode : int32_t { kDirect = 0, kCallback = 1, kNone = 2 };

struct DeviceType {
  std::string id;
  std::string name;
  std::string description;
  std::string group;
  int64_t keep_alive = 0;  // seconds; 0 = no watch
  std::string alert_email;
  PayloadType payload_type = PayloadType::kNone;
  std::string payload_config;  // the custom format text (pipeline.md)
  DownlinkMode downlink_mode = DownlinkMode::kDirect;
  std::string downlink_data_string;
  bool automatic_renewal = false;
  EpochMillis creation_time = 0;
  EpochMillis update_time = 0;
  bool operator==(const DeviceType&) const = default;
};

// Sigfox device states (the Back-End API's numbering).
enum class DeviceState : int32_t {
  kOk = 0,
  kDead = 1,
  kOffContract = 2,
  kDisabled = 3,
  kWarn = 4,
  kDeleted = 5,
  kSuspended = 6,
  kNotActivable = 7,
};

struct Device {
  SigfoxId id;
  std::string name;
  std::string type;                 // device type id
  std::string group;                // group id
  std::string pac;                  // the current PAC, 16 uppercase hex
  std::string product_certificate;  // canonical "P_0004_D356_03" or empty
  std::optional<double> lat;
  std::optional<double> lng;
  std::optional<EpochMillis> activation_time;
  DeviceState state = DeviceState::kOk;
  bool token_renew_forbidden = false;
  std::optional<EpochMillis> last;  // time of the last message
  std::optional<double> average_snr;
  std::optional<double> average_rssi;
  std::optional<int64_t> sequence_number;
  EpochMillis creation_time = 0;
  // LoRaWAN devices (provisioning.md); empty for Sigfox devices.
  std::string dev_eui;
  std::string join_eui;
  std::string provision_id;
  std::string serial_number;
  std::string model;
  bool operator==(const Device&) const = default;
};

// A known end-product certificate (factory.md): global reference data, shared by
// every group. `key` is canonical ("P_0004_D356_03").
struct ProductCertificate {
  std::string key;
  std::string manufacturer;
  std::string product_name;
  std::string revision;  // free text; defaults to the key's revision digits
  std::string link;      // where the certificate can be read; may be empty
  std::string notes;
  EpochMillis creation_time = 0;  // first import
  EpochMillis update_time = 0;    // last import
  bool operator==(const ProductCertificate&) const = default;
};

// What the factory import leaves for a device ID before anyone registers it.
struct Credential {
  SigfoxId device_id;
  std::vector<uint8_t> sealed_key;  // the device KEY sealed with the master key; opaque
  std::string initial_pac;          // 16 uppercase hex
  EpochMillis creation_time = 0;
  bool operator==(const Credential&) const = default;
};

// A background job (bulk create, bulk edit, series upload): a persisted list of
// opaque items (e.g. "id;pac"), processed in chunks by any instance.
struct Job {
  std::string id;
  std::string kind;    // e.g. "devices.bulk_create"
  std::string group;   // owner group
  std::string params;  // opaque (JSON text: prefix, device type, certificate, ...)
  int64_t total = 0;   // number of items
  EpochMillis creation_time = 0;
  bool operator==(const Job&) const = default;
};

struct JobFailure {
  std::string id;  // the item's identifier as the client gave it (a device ID)
  std::string message;
  bool operator==(const JobFailure&) const = default;
};

// {"jobDone", "total", "status": {"success", "failed": [...]}}
struct JobStatus {
  bool done = false;
  int64_t total = 0;
  int64_t processed = 0;  // items whose chunk has completed
  int64_t success = 0;
  std::vector<JobFailure> failed;  // in item order
};

}  // namespace roost::registry
