// Device registration: the PAC lifecycle and bulk registration jobs.
//
// Rules (registry.md "PAC lifecycle", "Registration"):
// - A Sigfox device is registered with its ID and the PAC the CRA issued for it
//   (imported with the credentials). The PAC is compared case-insensitively.
// - On registration Roost generates a new PAC for the device; the initial one
//   stops working (a registered ID is refused as "already registered").
// - Bulk creation is a persisted job: StartBulkCreate validates the request as a
//   whole (device type visible, certificate well-formed, body not empty) and
//   stores one item per device; any instance then processes chunks with a
//   jobs::Runner holding this registry's handlers (AddJobHandlers). Per-device
//   problems (malformed id or PAC, unknown id, wrong PAC, duplicate inside the
//   request, already registered) are listed in the job's status; the other
//   devices are registered.
//
// The caller (the HTTP layer) has checked the principal's role; visibility of
// groups is checked here: an object outside the caller's group subtree is
// reported as NotFound, exactly like one that does not exist.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "jobs/runner.h"
#include "model/device.h"
#include "model/device_type.h"
#include "model/job.h"
#include "model/object_id.h"
#include "registry/credentials.h"
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
  // For an uploaded file: the line of each entry of `ids`, so that failures name
  // lines instead of indexes. Empty for a JSON request.
  std::vector<size_t> lines;
};

// Job kind of bulk creations.
inline constexpr std::string_view kBulkCreateJob = "devices.bulk_create";

// An edit of one device (POST /api/devices/edit, one item of a bulk edit).
// nullopt = leave the field as it is. Rules (docs/api.md "Editing devices"):
// - name: not empty, at most 200 characters; lat -90..90, lng -180..180 (an
//   engaged nullopt clears the coordinate); product_certificate "" clears it.
// - type (deviceTypeId): must exist and be visible to the caller. A type of the
//   device's own group moves the device (future messages decode there). A type
//   of ANOTHER group transfers the device to that group's owner: it needs the
//   device's current PAC in `pac`, and a new PAC is generated (the old one stops
//   working). A transfer is a single edit only: bulk edits refuse it per item.
// - pac, when given, must be the current PAC even when it is not needed.
struct DeviceEdit {
  std::string id;  // as given (1-8 hex, optional 0x)
  std::optional<std::string> name;
  std::optional<std::optional<double>> lat;
  std::optional<std::optional<double>> lng;
  std::optional<std::string> type;
  std::optional<bool> token_renew_forbidden;
  std::optional<std::string> product_certificate;  // as given; "" clears
  std::optional<std::string> pac;                  // the current PAC, as given
};

// Job kind of bulk edits.
inline constexpr std::string_view kBulkEditJob = "devices.bulk_edit";

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

  // Called (on the caller's thread) after a bulk job is stored, so that a
  // waiting job worker starts on it at once instead of at its next look. Set
  // before the registry is used.
  void OnJobStarted(std::function<void()> f) { on_job_started_ = std::move(f); }

  // Registers one device for a caller in `caller_group`. InvalidInput names the
  // field; NotFound for an unknown or invisible device type; AlreadyExists when
  // the ID is registered; InvalidInput "PAC does not match" for a wrong PAC.
  Result<Device> Register(std::string_view caller_group, const RegistrationRequest& request);

  // Validates and stores a bulk creation job. Returns the job (id, total).
  Result<Job> StartBulkCreate(std::string_view caller_group, const BulkCreateRequest& request);

  // Registers this registry's job kinds in `runner`: kBulkCreateJob and
  // kBulkEditJob, each processing one claimed chunk of its kind.
  Status AddJobHandlers(jobs::Runner& runner);

  // Runs one chunk (jobs::Runner::RunOneChunk) with a runner that knows only
  // this registry's kinds, for tests and benchmarks; the server runs jobs with
  // its own runner.
  Result<bool> RunOneChunk(std::string_view worker, int64_t lease_ms = 60000);

  // Edits one device visible to `caller_group` (rules at DeviceEdit) and returns
  // it as stored. InvalidInput names the field ("pac: ..."); NotFound for an
  // unknown or invisible device ("id: ...") or device type ("deviceTypeId: ...").
  // The write is a compare-and-set on what was validated: a concurrent transfer
  // or deletion makes the edit re-validate against the new state.
  Result<Device> Edit(std::string_view caller_group, const DeviceEdit& edit);

  // Validates and stores a bulk edit job (kBulkEditJob) owned by `caller_group`.
  // InvalidInput when `edits` is empty. Items that are malformed (id, name, lat,
  // lng, certificate), carry a "pac" or repeat an id are reported per item when
  // the job runs; devices and device types are looked up then, per chunk.
  Result<Job> StartBulkEdit(std::string_view caller_group, const std::vector<DeviceEdit>& edits);

  // The job's status, if the job is visible to `caller_group`.
  Result<JobStatus> BulkStatus(std::string_view caller_group, std::string_view job_id);

  // Devices, device types and jobs as stored, for the API. Visibility (the
  // caller's group subtree) is the caller's business.
  Result<Device> GetDevice(uint32_t id);
  Result<storage::DevicePage> ListDevices(const storage::DeviceQuery& query);
  Result<storage::DevicePositions> ListDevicePositions(const storage::DevicePositionQuery& query);
  Status DeleteDevice(uint32_t id);
  Result<DeviceType> GetDeviceType(std::string_view id);
  Result<std::vector<DeviceType>> ListDeviceTypes(std::string_view group_subtree);
  Status CreateDeviceType(const DeviceType& type);
  // storage::Store::UpdateDeviceType: false when edited since the read.
  Result<bool> UpdateDeviceType(const DeviceType& type, EpochMillis read_update_time);
  Status DeleteDeviceType(std::string_view id);
  Result<int64_t> CountDevices(std::string_view type_id);
  // The console's home page counts of a subtree (storage::Store::SummarizeGroup),
  // messages counted since the start of the current UTC day.
  Result<storage::GroupSummary> SummarizeGroup(std::string_view group_subtree);
  Result<Job> GetJob(std::string_view id);
  // Flags every device of the type: the sequence-number check is skipped for
  // its next message. Returns how many devices were flagged.
  Result<int64_t> DisengageSequenceCheck(std::string_view type_id, EpochMillis now);
  // The same for one device (after its board was swapped or its counter reset).
  Status DisengageDevice(uint32_t device_id, EpochMillis now);

  // ImportCredentials (registry/credentials.h) into this registry's store.
  Result<ImportReport> ImportCredentials(const crypto::Sealer& sealer, const Key128& encryption_key,
                                         std::span<const uint8_t> id_key_file,
                                         std::string_view id_pac_text, factory::CraMode mode,
                                         EpochMillis now);

  // A fresh PAC: 16 uppercase hex digits from the CSPRNG.
  static std::string NewPac();

 private:
  Result<DeviceType> VisibleType(std::string_view caller_group, std::string_view type_id);
  storage::ChunkOutcome ProcessBulkCreate(const storage::JobClaim& claim);
  storage::ChunkOutcome ProcessBulkEdit(const storage::JobClaim& claim);

  storage::Store& store_;
  Clock clock_;
  int64_t chunk_size_;
  bool require_known_certificates_ = false;
  std::function<void()> on_job_started_;
};

}  // namespace roost::registry
