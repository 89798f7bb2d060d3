// What the provisioning service needs to know about imported Provision IDs, and
// how it records an accepted exchange. The service (provisioning/service.h)
// speaks only to this interface; the registry implements it over the store, so
// the protocol code stays free of I/O and can be tested with a small in-memory
// directory.
//
// Implementations are called from several threads at once and must be safe for
// that. Calls may block (they reach the database); the caller never makes them
// on the network event loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/identifiers.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "provisioning/keys.h"

namespace roost::provisioning {

enum class ProvisionIdState {
  kPending,      // imported, never provisioned
  kProvisioned,  // at least one accepted exchange
  kDisabled,     // refused from now on (an Auth naming it is rejected)
};

// An imported Provision ID, as the service needs it to check an Auth.
struct ProvisionIdEntry {
  std::string provision_id;  // canonical uppercase; the verify code is computed from it
  ProvisionIdState state = ProvisionIdState::kPending;
};

// Where an accepted exchange was heard: the reception the answer went through.
struct Reception {
  Eui64 gateway_eui{};
  int rssi = 0;       // dBm
  double snr = 0;     // dB
  uint32_t tmst = 0;  // the gateway's microsecond counter at reception
  double frequency_mhz = 0;
};

// An accepted exchange, handed to RecordProvisioned. Holds keys: the caller
// wipes it (SessionKeys wipes itself).
struct ProvisioningRecord {
  std::string provision_id;  // canonical uppercase, as FindByHash returned it
  RDevEui rdev_eui{};
  std::optional<uint8_t> network_flag;  // from the Hello, as received
  SessionKeys keys;                     // app_key and nwk_key are stored (sealed)
  Reception reception;
  int64_t at_ms = 0;  // epoch milliseconds of the accepted Auth
};

// What the device is told in the Auth accepted.
struct Assignment {
  Eui64 dev_eui{};
  Eui64 join_eui{};
};

class ProvisionDirectory {
 public:
  virtual ~ProvisionDirectory() = default;

  // The imported Provision ID whose SHA256(provisionId || ".MatchX") is `hash`,
  // or nullopt when none is (the service then rejects the Auth). Errors are
  // storage failures only.
  virtual Result<std::optional<ProvisionIdEntry>> FindByHash(const crypto::Sha256Digest& hash) = 0;

  // Records an accepted exchange in one transaction and returns the EUIs to
  // send: the fixed devEUI of the report row if it has one, else the devEUI
  // this Provision ID already got (re-provisioning keeps it), else the next
  // free EUI of the configured pool — never one devEUI for two Provision IDs,
  // also across processes on one database. Stores AppKey and NwkKey sealed,
  // marks the ID provisioned and keeps the earlier key sets as history.
  // Fails with kNotFound when the ID is disabled or unknown (it may have
  // changed since FindByHash), kUnavailable when no devEUI pool is configured
  // or the pool is used up (message says which), or a storage error; the
  // service then rejects the Auth.
  virtual Result<Assignment> RecordProvisioned(const ProvisioningRecord& record) = 0;
};

}  // namespace roost::provisioning
