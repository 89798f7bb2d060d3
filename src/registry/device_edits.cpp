// Device edits: single (DeviceRegistry::Edit) and bulk jobs (StartBulkEdit,
// ProcessBulkEdit). The rules are stated at DeviceEdit in devices.h.
#include <nlohmann/json.hpp>

#include <span>
#include <unordered_map>

#include "core/identifiers.h"
#include "core/text.h"
#include "crypto/password.h"
#include "registry/devices.h"

namespace roost::registry {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameLength = 200;
// Items of a bulk edit job are the validated edit as JSON text, or
// "!<message>\t<id as given>" when the item failed request-level checks.
constexpr char kFailedItem = '!';
// How often a single edit re-validates when a concurrent change beat it.
constexpr int kEditAttempts = 3;

std::string FailedItem(std::string_view message, std::string_view given_id) {
  std::string item(1, kFailedItem);
  item += message;
  item += '\t';
  item += given_id;
  return item;
}

// The request-level checks of an edit; on success `id` and a canonical
// certificate are set in `out`.
Status ValidateFields(const DeviceEdit& edit, SigfoxId& id, DeviceEdit& out) {
  auto parsed = ParseSigfoxId(edit.id);
  if (!parsed.ok()) return Status::InvalidInput("id: " + parsed.status().message());
  id = *parsed;
  out = edit;
  if (edit.name) {
    if (edit.name->empty()) return Status::InvalidInput("name: must not be empty");
    if (CountCharacters(*edit.name) > kMaxNameLength) {
      return Status::InvalidInput("name: must be at most 200 characters");
    }
  }
  if (edit.lat && *edit.lat && (**edit.lat < -90 || **edit.lat > 90)) {
    return Status::InvalidInput("lat: must be between -90 and 90");
  }
  if (edit.lng && *edit.lng && (**edit.lng < -180 || **edit.lng > 180)) {
    return Status::InvalidInput("lng: must be between -180 and 180");
  }
  if (edit.product_certificate && !edit.product_certificate->empty()) {
    auto cert = ParseProductCertificate(*edit.product_certificate);
    if (!cert.ok()) return Status::InvalidInput("productCertificate: " + cert.status().message());
    out.product_certificate = *cert;
  }
  if (edit.pac) {
    auto pac = ParsePac(*edit.pac);
    if (!pac.ok()) return Status::InvalidInput("pac: " + pac.status().message());
    out.pac = *pac;
  }
  return Status::Ok();
}

std::string EditToItem(SigfoxId id, const DeviceEdit& e) {
  json item{{"id", id.ToFile()}};
  if (e.name) item["name"] = *e.name;
  if (e.lat) item["lat"] = *e.lat ? json(**e.lat) : json(nullptr);
  if (e.lng) item["lng"] = *e.lng ? json(**e.lng) : json(nullptr);
  if (e.type) item["deviceTypeId"] = *e.type;
  if (e.token_renew_forbidden) item["tokenRenewForbidden"] = *e.token_renew_forbidden;
  if (e.product_certificate) item["productCertificate"] = *e.product_certificate;
  return item.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The inverse of EditToItem; false when the item is not one it wrote.
bool ItemToEdit(const std::string& text, DeviceEdit& e) {
  json item = json::parse(text, nullptr, false);
  if (item.is_discarded() || !item.is_object() || !item.contains("id")) return false;
  try {
    e.id = item["id"].get<std::string>();
    if (item.contains("name")) e.name = item["name"].get<std::string>();
    if (item.contains("lat")) {
      e.lat = item["lat"].is_null() ? std::optional<double>() : item["lat"].get<double>();
    }
    if (item.contains("lng")) {
      e.lng = item["lng"].is_null() ? std::optional<double>() : item["lng"].get<double>();
    }
    if (item.contains("deviceTypeId")) e.type = item["deviceTypeId"].get<std::string>();
    if (item.contains("tokenRenewForbidden")) {
      e.token_renew_forbidden = item["tokenRenewForbidden"].get<bool>();
    }
    if (item.contains("productCertificate")) {
      e.product_certificate = item["productCertificate"].get<std::string>();
    }
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

}  // namespace

// The patch that applies a validated `edit` to `device` for a caller in
// `caller_group` (who sees the device). `lookup_type` answers visible device
// types (NotFound otherwise).
template <typename TypeLookup>
static Result<storage::DevicePatch> PlanEdit(const Device& device, const DeviceEdit& edit,
                                             bool allow_transfer, TypeLookup&& lookup_type) {
  storage::DevicePatch patch;
  patch.id = device.id.value;
  patch.expect_group = device.group;
  patch.name = edit.name;
  patch.lat = edit.lat;
  patch.lng = edit.lng;
  patch.token_renew_forbidden = edit.token_renew_forbidden;
  patch.product_certificate = edit.product_certificate;
  if (edit.pac && !crypto::ConstantTimeEquals(*edit.pac, device.pac)) {  // a secret
    return Status::InvalidInput("pac: PAC does not match device " + device.id.ToApi());
  }
  if (edit.type && *edit.type != device.type) {
    Result<DeviceType> type = lookup_type(*edit.type);
    if (!type.ok()) {
      if (type.status().code() == Status::Code::kNotFound) {
        return Status::NotFound("deviceTypeId: device type " + *edit.type + " not found");
      }
      return type.status();
    }
    patch.type = type->id;
    if (type->group != device.group) {
      if (!allow_transfer) {
        return Status::InvalidInput(
            "deviceTypeId: device type " + type->id +
            " belongs to another group; transferring a device is a single edit with its "
            "current PAC (POST /api/devices/edit)");
      }
      if (!edit.pac) {
        return Status::InvalidInput("pac: the current PAC of device " + device.id.ToApi() +
                                    " is required to transfer it to another group");
      }
      patch.group = type->group;
      patch.expect_pac = device.pac;
      patch.pac = DeviceRegistry::NewPac();
    }
  }
  return patch;
}

Result<Device> DeviceRegistry::Edit(std::string_view caller_group, const DeviceEdit& given) {
  SigfoxId id;
  DeviceEdit edit;
  ROOST_RETURN_IF_ERROR(ValidateFields(given, id, edit));
  const std::string not_found = "id: device " + id.ToApi() + " not found";
  for (int attempt = 0; attempt < kEditAttempts; ++attempt) {
    auto device = store_.GetDevice(id.value);
    if (!device.ok()) {
      if (device.status().code() == Status::Code::kNotFound) return Status::NotFound(not_found);
      return device.status();
    }
    auto visible = store_.IsInSubtree(device->group, caller_group);
    if (!visible.ok()) return visible.status();
    if (!*visible) return Status::NotFound(not_found);
    auto patch = PlanEdit(*device, edit, /*allow_transfer=*/true,
                          [&](const std::string& type) { return VisibleType(caller_group, type); });
    if (!patch.ok()) return patch.status();
    auto mismatched = store_.PatchDevices(std::span<const storage::DevicePatch>(&*patch, 1));
    if (!mismatched.ok()) return mismatched.status();
    if (mismatched->empty()) {
      auto stored = store_.GetDevice(id.value);
      if (!stored.ok() && stored.status().code() == Status::Code::kNotFound) {
        return Status::NotFound(not_found);  // deleted right after the edit
      }
      return stored;
    }
    // Someone transferred, deleted or edited the PAC of the device meanwhile:
    // validate again against what is stored now.
  }
  return Status::AlreadyExists("device " + id.ToApi() +
                               " keeps changing under concurrent requests; retry the edit");
}

Result<Job> DeviceRegistry::StartBulkEdit(std::string_view caller_group,
                                          const std::vector<DeviceEdit>& edits) {
  if (edits.empty()) return Status::InvalidInput("data: must list at least one device");
  std::vector<std::string> items;
  items.reserve(edits.size());
  std::unordered_map<uint32_t, size_t> first_index;
  first_index.reserve(edits.size());
  for (size_t i = 0; i < edits.size(); ++i) {
    SigfoxId id;
    DeviceEdit edit;
    Status valid = ValidateFields(edits[i], id, edit);
    if (!valid.ok()) {
      items.push_back(FailedItem(valid.message(), edits[i].id));
      continue;
    }
    if (edit.pac) {
      items.push_back(
          FailedItem("pac: a transfer to another group is a single edit (POST /api/devices/edit)",
                     edits[i].id));
      continue;
    }
    auto [it, fresh] = first_index.emplace(id.value, i);
    if (!fresh) {
      items.push_back(FailedItem(
          "duplicate in this request (first at index " + std::to_string(it->second) + ")",
          edits[i].id));
      continue;
    }
    items.push_back(EditToItem(id, edit));
  }
  Job job;
  job.id = roost::NewObjectId();
  job.kind = std::string(kBulkEditJob);
  job.group = std::string(caller_group);
  job.params = "{}";
  job.total = static_cast<int64_t>(items.size());
  job.creation_time = clock_();
  ROOST_RETURN_IF_ERROR(store_.CreateJob(job, items, chunk_size_));
  if (on_job_started_) on_job_started_();
  return job;
}

storage::ChunkOutcome DeviceRegistry::ProcessBulkEdit(const storage::JobClaim& claim) {
  storage::ChunkOutcome outcome;
  outcome.patch_mismatch = "device changed meanwhile (deleted or transferred); not edited";
  const std::string& caller_group = claim.job.group;
  // Within a chunk, each group's visibility and each device type are looked up once.
  std::unordered_map<std::string, Result<bool>> group_visible;
  std::unordered_map<std::string, Result<DeviceType>> types;
  auto visible_group = [&](const std::string& group) -> Result<bool> {
    auto it = group_visible.find(group);
    if (it == group_visible.end()) {
      it = group_visible.emplace(group, store_.IsInSubtree(group, caller_group)).first;
    }
    return it->second;
  };
  auto lookup_type = [&](const std::string& type) -> Result<DeviceType> {
    auto it = types.find(type);
    if (it == types.end()) it = types.emplace(type, VisibleType(caller_group, type)).first;
    return it->second;
  };

  // The chunk's devices are read in one query, after the items are checked.
  struct Checked {
    DeviceEdit edit;
    SigfoxId id;
  };
  std::vector<std::optional<Checked>> checked(claim.items.size());
  std::vector<uint32_t> ids;
  ids.reserve(claim.items.size());
  for (size_t i = 0; i < claim.items.size(); ++i) {
    const std::string& item = claim.items[i];
    if (!item.empty() && item[0] == kFailedItem) continue;
    Checked c;
    if (ItemToEdit(item, c.edit) && ValidateFields(DeviceEdit(c.edit), c.id, c.edit).ok()) {
      ids.push_back(c.id.value);
      checked[i] = std::move(c);
    }
  }
  auto devices = store_.GetDevices(ids);

  size_t next_device = 0;
  for (size_t i = 0; i < claim.items.size(); ++i) {
    const std::string& item = claim.items[i];
    if (!item.empty() && item[0] == kFailedItem) {
      size_t tab = item.find('\t');
      outcome.failed.push_back({item.substr(tab + 1), item.substr(1, tab - 1)});
      continue;
    }
    if (!checked[i]) {
      outcome.failed.push_back({item.substr(0, 40), "job item is corrupt"});
      continue;
    }
    const DeviceEdit& edit = checked[i]->edit;
    const std::string api_id = checked[i]->id.ToApi();
    const size_t at = next_device++;
    if (!devices.ok() || !(*devices)[at]) {
      outcome.failed.push_back(
          {api_id, devices.ok() ? "device not found" : "device lookup failed; retry the edit"});
      continue;
    }
    const Device* device = &*(*devices)[at];
    auto visible = visible_group(device->group);
    if (!visible.ok() || !*visible) {
      outcome.failed.push_back(
          {api_id, visible.ok() || visible.status().code() == Status::Code::kNotFound
                       ? "device not found"
                       : "device lookup failed; retry the edit"});
      continue;
    }
    auto patch = PlanEdit(*device, edit, /*allow_transfer=*/false, lookup_type);
    if (!patch.ok()) {
      const Status& st = patch.status();
      bool expected =
          st.code() == Status::Code::kInvalidInput || st.code() == Status::Code::kNotFound;
      outcome.failed.push_back(
          {api_id, expected ? st.message() : "device type lookup failed; retry the edit"});
      continue;
    }
    outcome.patch.push_back(std::move(*patch));
  }
  return outcome;
}

}  // namespace roost::registry
