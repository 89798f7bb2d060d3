#include "registry/devices.h"

#include <nlohmann/json.hpp>

#include <unordered_map>

#include "core/hex.h"
#include "core/identifiers.h"
#include "core/text.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "registry/certificates.h"

namespace roost::registry {
namespace {

// Items of a bulk job are "ID;PAC" in canonical form when they passed the
// request-level checks, or "!<message>\t<id as given>" when they did not: the
// failure is then reported when the item's chunk is processed, in item order.
constexpr char kFailedItem = '!';
constexpr size_t kPacBytes = 8;  // a PAC is 16 hex digits

std::string FailedItem(std::string_view message, std::string_view given_id) {
  std::string item(1, kFailedItem);
  item += message;
  item += '\t';
  item += given_id;
  return item;
}

}  // namespace

DeviceRegistry::DeviceRegistry(storage::Store& store, Clock clock, int64_t chunk_size)
    : store_(store), clock_(std::move(clock)), chunk_size_(chunk_size) {}

std::string DeviceRegistry::NewPac() {
  std::array<uint8_t, kPacBytes> bytes{};
  crypto::RandomBytes(bytes);
  return ToHexUpper(bytes);
}

Result<DeviceType> DeviceRegistry::VisibleType(std::string_view caller_group,
                                               std::string_view type_id) {
  auto type = store_.GetDeviceType(type_id);
  if (!type.ok()) {
    if (type.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("device type " + std::string(type_id) + " not found");
    }
    return type.status();
  }
  auto visible = store_.IsInSubtree(type->group, caller_group);
  if (!visible.ok()) return visible.status();
  if (!*visible) return Status::NotFound("device type " + std::string(type_id) + " not found");
  return type;
}

Result<Device> DeviceRegistry::Register(std::string_view caller_group,
                                        const RegistrationRequest& request) {
  auto id = ParseSigfoxId(request.id);
  if (!id.ok()) return Status::InvalidInput("id: " + id.status().message());
  auto pac = ParsePac(request.pac);
  if (!pac.ok()) return Status::InvalidInput("pac: " + pac.status().message());
  if (request.name.empty()) return Status::InvalidInput("name: must not be empty");
  std::string certificate;
  if (!request.product_certificate.empty()) {
    auto cert = ParseProductCertificate(request.product_certificate);
    if (!cert.ok()) return Status::InvalidInput("productCertificate: " + cert.status().message());
    certificate = *cert;
  }
  if (request.lat && (*request.lat < -90 || *request.lat > 90)) {
    return Status::InvalidInput("lat: must be between -90 and 90");
  }
  if (request.lng && (*request.lng < -180 || *request.lng > 180)) {
    return Status::InvalidInput("lng: must be between -180 and 180");
  }
  auto type = VisibleType(caller_group, request.type);
  if (!type.ok()) return type.status();
  if (require_known_certificates_ && !certificate.empty()) {
    ROOST_RETURN_IF_ERROR(CheckKnownCertificate(store_, certificate));
  }

  auto credential = store_.GetCredential(id->value);
  if (!credential.ok()) {
    if (credential.status().code() == Status::Code::kNotFound) {
      return Status::InvalidInput("id: device " + id->ToApi() +
                                  " is unknown (no credentials imported for it)");
    }
    return credential.status();
  }
  if (!crypto::ConstantTimeEquals(credential->initial_pac, *pac)) {  // a secret
    return Status::InvalidInput("pac: PAC does not match device " + id->ToApi());
  }

  Device device;
  device.id = *id;
  device.name = request.name;
  device.type = type->id;
  device.group = type->group;
  device.pac = NewPac();
  device.product_certificate = certificate;
  device.lat = request.lat;
  device.lng = request.lng;
  device.creation_time = clock_();
  Status inserted = store_.InsertDevice(device);
  if (!inserted.ok()) {
    if (inserted.code() == Status::Code::kAlreadyExists) {
      return Status::AlreadyExists("id: device " + id->ToApi() + " is already registered");
    }
    return inserted;
  }
  return device;
}

Result<Job> DeviceRegistry::StartBulkCreate(std::string_view caller_group,
                                            const BulkCreateRequest& request) {
  if (request.ids.empty()) return Status::InvalidInput("ids: must list at least one device");
  std::string certificate;
  if (!request.product_certificate.empty()) {
    auto cert = ParseProductCertificate(request.product_certificate);
    if (!cert.ok()) return Status::InvalidInput("productCertificate: " + cert.status().message());
    certificate = *cert;
  }
  auto type = VisibleType(caller_group, request.type);
  if (!type.ok()) return type.status();

  std::vector<std::string> items;
  items.reserve(request.ids.size());
  std::unordered_map<uint32_t, size_t> first_index;
  first_index.reserve(request.ids.size());
  for (size_t i = 0; i < request.ids.size(); ++i) {
    const auto& [given_id, given_pac] = request.ids[i];
    auto id = ParseSigfoxId(given_id);
    if (!id.ok()) {
      items.push_back(FailedItem(id.status().message(), given_id));
      continue;
    }
    auto pac = ParsePac(given_pac);
    if (!pac.ok()) {
      items.push_back(FailedItem(pac.status().message(), given_id));
      continue;
    }
    auto [it, fresh] = first_index.emplace(id->value, i);
    if (!fresh) {
      const bool from_file = request.lines.size() == request.ids.size();
      items.push_back(FailedItem(from_file ? "duplicate in this file (first on line " +
                                                 std::to_string(request.lines[it->second]) + ")"
                                           : "duplicate in this request (first at index " +
                                                 std::to_string(it->second) + ")",
                                 given_id));
      continue;
    }
    items.push_back(id->ToFile() + ";" + *pac);
  }

  Job job;
  job.id = roost::NewObjectId();
  job.kind = std::string(kBulkCreateJob);
  job.group = type->group;
  job.params =
      nlohmann::json{
          {"type", type->id}, {"prefix", request.prefix}, {"productCertificate", certificate}}
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  job.total = static_cast<int64_t>(items.size());
  job.creation_time = clock_();
  ROOST_RETURN_IF_ERROR(store_.CreateJob(job, items, chunk_size_));
  if (on_job_started_) on_job_started_();
  return job;
}

storage::ChunkOutcome DeviceRegistry::ProcessBulkCreate(const storage::JobClaim& claim) {
  storage::ChunkOutcome outcome;
  nlohmann::json params = nlohmann::json::parse(claim.job.params, nullptr, false);
  if (params.is_discarded() || !params.contains("type")) {
    for (const auto& item : claim.items) {
      outcome.failed.push_back({item.substr(0, item.find(';')), "job parameters are corrupt"});
    }
    return outcome;
  }
  const std::string type_id = params.value("type", "");
  const std::string prefix = params.value("prefix", "");
  const std::string certificate = params.value("productCertificate", "");
  auto type = store_.GetDeviceType(type_id);
  // The certificate is the same for every device of the job: checked once per chunk.
  std::optional<std::string> certificate_refusal;
  if (require_known_certificates_ && !certificate.empty()) {
    Status known = CheckKnownCertificate(store_, certificate);
    if (known.code() == Status::Code::kInvalidInput) {
      certificate_refusal = known.message().substr(known.message().find(": ") + 2);
    } else if (!known.ok()) {
      certificate_refusal = "certificate lookup failed; retry the registration";
    }
  }

  // Parse each item once, then look the credentials of the whole chunk up at once.
  struct Item {
    SigfoxId id;
    std::string_view pac;
  };
  std::vector<Item> parsed;
  std::vector<uint32_t> ids;
  parsed.reserve(claim.items.size());
  ids.reserve(claim.items.size());
  for (const auto& item : claim.items) {
    if (item.empty() || item[0] == kFailedItem) {
      parsed.push_back({});
      continue;
    }
    const size_t semi = item.find(';');
    SigfoxId id = ParseSigfoxId(std::string_view(item).substr(0, semi)).value();
    parsed.push_back({id, std::string_view(item).substr(semi + 1)});
    ids.push_back(id.value);
  }
  auto credentials = store_.GetCredentials(ids);

  const EpochMillis now = clock_();
  size_t next_credential = 0;
  outcome.insert.reserve(ids.size());
  // The chunk's new PACs from one draw: the generator's per-call cost (a fork
  // check, a lock) was a tenth of the chunk's CPU when paid per device.
  std::vector<uint8_t> pac_bytes(ids.size() * kPacBytes);
  crypto::RandomBytes(pac_bytes);
  size_t next_pac = 0;
  for (size_t i = 0; i < claim.items.size(); ++i) {
    const std::string& item = claim.items[i];
    if (!item.empty() && item[0] == kFailedItem) {
      size_t tab = item.find('\t');
      outcome.failed.push_back({item.substr(tab + 1), item.substr(1, tab - 1)});
      continue;
    }
    const SigfoxId id = parsed[i].id;
    const std::string_view pac = parsed[i].pac;
    if (!type.ok()) {
      outcome.failed.push_back({id.ToApi(), "device type " + type_id + " no longer exists"});
      ++next_credential;
      continue;
    }
    if (!credentials.ok()) {
      outcome.failed.push_back({id.ToApi(), "credential lookup failed; retry the registration"});
      ++next_credential;
      continue;
    }
    if (certificate_refusal) {
      outcome.failed.push_back({id.ToApi(), *certificate_refusal});
      ++next_credential;
      continue;
    }
    const auto& credential = (*credentials)[next_credential++];
    if (!credential) {
      outcome.failed.push_back({id.ToApi(), "unknown device (no credentials imported for it)"});
      continue;
    }
    if (!crypto::ConstantTimeEquals(AsciiUpper(credential->initial_pac), pac)) {
      outcome.failed.push_back({id.ToApi(), "PAC does not match"});
      continue;
    }
    Device device;
    device.id = id;
    device.name = prefix + id.ToApi();
    device.type = type->id;
    device.group = type->group;
    device.pac = ToHexUpper(std::span(pac_bytes).subspan(kPacBytes * next_pac++, kPacBytes));
    device.product_certificate = certificate;
    device.creation_time = now;
    outcome.insert.push_back(std::move(device));
  }
  return outcome;
}

Status DeviceRegistry::AddJobHandlers(jobs::Runner& runner) {
  ROOST_RETURN_IF_ERROR(runner.AddHandler(
      kBulkCreateJob, [this](const storage::JobClaim& claim) { return ProcessBulkCreate(claim); }));
  return runner.AddHandler(
      kBulkEditJob, [this](const storage::JobClaim& claim) { return ProcessBulkEdit(claim); });
}

Result<bool> DeviceRegistry::RunOneChunk(std::string_view worker, int64_t lease_ms) {
  jobs::Runner runner(store_, clock_);
  ROOST_RETURN_IF_ERROR(AddJobHandlers(runner));
  return runner.RunOneChunk(worker, lease_ms);
}

Result<JobStatus> DeviceRegistry::BulkStatus(std::string_view caller_group,
                                             std::string_view job_id) {
  auto job = store_.GetJob(job_id);
  if (!job.ok()) return job.status();
  auto visible = store_.IsInSubtree(job->group, caller_group);
  if (!visible.ok()) return visible.status();
  if (!*visible) return Status::NotFound("job " + std::string(job_id) + " not found");
  return store_.GetJobStatus(job_id);
}

// --- as stored, for the API --------------------------------------------------

Result<Device> DeviceRegistry::GetDevice(uint32_t id) {
  return store_.GetDevice(id);
}

Result<storage::DevicePage> DeviceRegistry::ListDevices(const storage::DeviceQuery& query) {
  return store_.ListDevices(query);
}

Result<storage::DevicePositions> DeviceRegistry::ListDevicePositions(
    const storage::DevicePositionQuery& query) {
  return store_.ListDevicePositions(query);
}

Result<storage::GroupSummary> DeviceRegistry::SummarizeGroup(std::string_view group_subtree) {
  constexpr int64_t kDayMs = 24 * 3600 * 1000;
  const int64_t now = clock_();
  return store_.SummarizeGroup(group_subtree, now - now % kDayMs);
}

Status DeviceRegistry::DeleteDevice(uint32_t id) {
  return store_.DeleteDevice(id);
}

Result<DeviceType> DeviceRegistry::GetDeviceType(std::string_view id) {
  return store_.GetDeviceType(id);
}

Result<std::vector<DeviceType>> DeviceRegistry::ListDeviceTypes(std::string_view group_subtree) {
  return store_.ListDeviceTypes(group_subtree);
}

Status DeviceRegistry::CreateDeviceType(const DeviceType& type) {
  return store_.CreateDeviceType(type);
}

Result<bool> DeviceRegistry::UpdateDeviceType(const DeviceType& type,
                                              EpochMillis read_update_time) {
  return store_.UpdateDeviceType(type, read_update_time);
}

Status DeviceRegistry::DeleteDeviceType(std::string_view id) {
  return store_.DeleteDeviceType(id);
}

Result<int64_t> DeviceRegistry::CountDevices(std::string_view type_id) {
  return store_.CountDevices(type_id);
}

Result<Job> DeviceRegistry::GetJob(std::string_view id) {
  return store_.GetJob(id);
}

Result<int64_t> DeviceRegistry::DisengageSequenceCheck(std::string_view type_id, EpochMillis now) {
  return store_.DisengageSequenceCheck(type_id, now);
}

Status DeviceRegistry::DisengageDevice(uint32_t device_id, EpochMillis now) {
  return store_.DisengageDeviceSequenceCheck(device_id, now);
}

Result<ImportReport> DeviceRegistry::ImportCredentials(const crypto::Sealer& sealer,
                                                       const Key128& encryption_key,
                                                       std::span<const uint8_t> id_key_file,
                                                       std::string_view id_pac_text,
                                                       factory::CraMode mode, EpochMillis now) {
  return registry::ImportCredentials(store_, sealer, encryption_key, id_key_file, id_pac_text, mode,
                                     now);
}

}  // namespace roost::registry
