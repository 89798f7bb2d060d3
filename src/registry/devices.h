// Device registration: the PAC lifecycle and bulk registration jobs.
//
// Rules (registry.md "PAC lifecycle", "Registration"):
// - A Sigfox device is registered with its ID and the PAC the CRA issued for it
//   (imported with the credentials). The PAC is compared case-insensitively.
// - On registration Roost generates a new PAC for the device; the initial one
//   stops working (a registered ID is refused as "already registered").
// - Bulk creation is a persisted job: StartBulkCreate validates the request as a
//   whole (device type visible, certificate well-formed, body not empty) and
//   stores one item per device; any instance then processes chunks with
//   RunOneChunk. Per-device problems (malformed id or PAC, unknown id, wrong PAC,
//   duplicate inside the request, already registered) are listed in the job's
//   status; the other devices are registered.
//
// The caller (the HTTP layer) has checked the principal's role; visibility of
// groups is checked here: an object outside the caller's group subtree is
// reported as NotFound, exactly like one that does not exist.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "registry/model.h"
#include "storage/store.h"

namespace roost::registry {

struct RegistrationRequest {
  std::string id;   // as given (1-8 hex, optional 0x)
  std::string pac;  // as given (16 hex)
  std::string name;
  std::string type;  // device type id
  std::optional<double> lat;
  std::optional<double> lng;
  std::string product_certificate;  // as given, may be empty
};

struct BulkCreateRequest {
  std::string type;    // device type id (from the path)
  std::string prefix;  // device names are prefix + id
  std::string product_certificate;
  std::vector<std::pair<std::string, std::string>> ids;  // (id, pac) as given
};

// Job kind of bulk creations.
inline constexpr std::string_view kBulkCreateJob = "devices.bulk_create";

class DeviceRegistry {
 public:
  using Clock = std::function<EpochMillis()>;
  // `store` must outlive the registry. `chunk_size` is the number of devices a
  // worker registers per transaction.
  DeviceRegistry(storage::Store& store, Clock clock, int64_t chunk_size = 5000);

  // registry.require_known_certificates: when on, a registration (single, or
  // each device of a bulk job) naming a certificate that is not in the
  // product-certificate registry fails with "product certificate P_… is not in
  // the registry". An empty certificate is always allowed. Default off.
  void RequireKnownCertificates(bool on) { require_known_certificates_ = on; }

  // Registers one device for a caller in `caller_group`. InvalidInput names the
  // field; NotFound for an unknown or invisible device type; AlreadyExists when
  // the ID is registered; InvalidInput "PAC does not match" for a wrong PAC.
  Result<Device> Register(std::string_view caller_group, const RegistrationRequest& request);

  // Validates and stores a bulk creation job. Returns the job (id, total).
  Result<Job> StartBulkCreate(std::string_view caller_group, const BulkCreateRequest& request);

  // Claims one chunk of any pending job (of any kind this registry knows),
  // processes it and records the outcome. Returns false when there was no work.
  // `worker` names this instance/thread in leases.
  Result<bool> RunOneChunk(std::string_view worker, int64_t lease_ms = 60000);

  // The job's status, if the job is visible to `caller_group`.
  Result<JobStatus> BulkStatus(std::string_view caller_group, std::string_view job_id);

  // A fresh PAC: 16 uppercase hex digits from the CSPRNG.
  static std::string NewPac();
  // A fresh object id: 24 lowercase hex digits from the CSPRNG.
  static std::string NewObjectId();

 private:
  Result<DeviceType> VisibleType(std::string_view caller_group, std::string_view type_id);
  storage::ChunkOutcome ProcessBulkCreate(const storage::JobClaim& claim);

  storage::Store& store_;
  Clock clock_;
  int64_t chunk_size_;
  bool require_known_certificates_ = false;
};

}  // namespace roost::registry
