// Store: the registry's persistent state behind one narrow interface, with two
// implementations — SQLite (embedded default, a file in the data directory) and
// PostgreSQL (several `roost serve` instances sharing one database).
//
// Contract shared by every implementation (one test suite, store_test.cpp, checks both):
// - Every method is safe to call from any thread; a Store is shared by the whole process.
// - Errors: NotFound (no such row), AlreadyExists (a unique key is taken),
//   InvalidInput (a value the schema cannot hold, a missing parent/owner row, a
//   device type that still has devices), IoError (the database failed; the message
//   names the operation, never a value). Secret fields never appear in messages.
// - Opening applies the numbered migrations (migrations/) not yet recorded in
//   schema_migrations, each in its own transaction; reopening is a no-op.
// - Password hashes and sealed keys are opaque: stored and returned byte for byte.
// - Times are supplied by the caller (epoch ms) so that tests control them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/accounts.h"
#include "model/callback.h"
#include "model/credential.h"
#include "model/device.h"
#include "model/device_type.h"
#include "model/event.h"
#include "model/job.h"
#include "model/message.h"
#include "model/statistics.h"

namespace roost::crypto {
class Sealer;
}  // namespace roost::crypto

namespace roost::storage {

inline constexpr int kMaxPageSize = 1000;
// The deepest DeviceQuery::offset: skipping rows costs as many index reads.
inline constexpr int64_t kMaxDeviceOffset = 100000;
// The deepest `offset` of every other list (messages, events, failed
// deliveries, Provision IDs, provisioned devices, certificates): a deeper page
// follows the keyset cursor, whose cost does not grow.
inline constexpr int kMaxListOffset = 5000;
// ImportProvisionIds lists at most this many taken rows.
inline constexpr size_t kMaxImportConflictsListed = 100;

// Filters of a device list; all given filters apply together. Results are ordered by id.
struct DeviceQuery {
  std::string group_subtree;  // group id: its devices and those of the groups below; "" = all
  std::string type;           // device type id; "" = any
  std::string id_prefix;      // 1-8 hex digits, matched against the 8-digit ID; "" = any
  std::string name_prefix;    // case-sensitive; "" = any
  std::optional<DeviceState> state;        // only devices in this state
  std::optional<EpochMillis> last_since;   // last message at or after; never-seen devices excluded
  std::optional<EpochMillis> last_before;  // last message before; never-seen devices excluded
  bool positioned = false;                 // only devices with a position (lat and lng)
  std::optional<uint32_t> after;           // keyset cursor: only ids greater than this
  // With name_prefix, pages are ordered by (name, id) instead of id, so that a
  // prefix most devices share reads one range of the name index per page
  // instead of sorting every match; the cursor is then (after_name, after).
  std::optional<std::string> after_name;
  int limit = 100;  // 1..kMaxPageSize
  // Rows skipped before the page (the Sigfox API's offset): its cost grows with
  // it, so callers bound it; the keyset cursor does not.
  int64_t offset = 0;
};

struct DevicePage {
  std::vector<Device> devices;
  std::optional<uint32_t> next;  // cursor for the next page; absent on the last page
  // With DeviceQuery::name_prefix: the name half of the next page's cursor.
  std::optional<std::string> next_name;
};

// A device type's devices on a map (Store::DevicePositions): every device with
// a position in `area` is either listed or counted in a cell of a grid.
struct PositionArea {
  double south = -90, west = -180, north = 90,
         east = 180;  // inclusive; south <= north, west <= east
};

struct DevicePositionQuery {
  std::string group_subtree;         // as DeviceQuery::group_subtree
  std::string type;                  // device type id (required)
  std::optional<PositionArea> area;  // absent: everywhere
  // At most this many devices are listed one by one; past it, all are counted
  // in cells instead (1..kMaxPositionsListed).
  int max_listed = 1000;
  // Cells per side of the grid laid over the area (over the devices' own
  // bounds when no area is given), 1..kMaxPositionGrid.
  int grid = 24;
};
inline constexpr int kMaxPositionsListed = 5000;
inline constexpr int kMaxPositionGrid = 64;

struct PositionedDevice {
  uint32_t id = 0;
  std::string name;
  double lat = 0, lng = 0;
};

// One grid cell that holds devices: how many, the smallest area holding them
// (within the cell), and their mean position.
struct PositionCell {
  PositionArea bounds;
  int64_t count = 0;
  double lat = 0, lng = 0;
};

struct DevicePositions {
  int64_t total = 0;                   // devices with a position in the area
  std::optional<PositionArea> bounds;  // the smallest area holding them all; absent when none
  // Exactly one of the two holds the devices: `devices` (in id order) when
  // total <= max_listed, else `cells` (south to north, then west to east),
  // whose counts add up to `total`.
  std::vector<PositionedDevice> devices;
  std::vector<PositionCell> cells;
};

struct BatchInsertResult {
  int64_t inserted = 0;
  std::vector<size_t> conflicts;  // indexes (into the input) of IDs already registered
};

// A search of the product-certificate registry, ordered by key.
struct CertificateQuery {
  // Matched case-insensitively (ASCII) as a substring of the key (written with '_', ' ',
  // '-' or no separators), the manufacturer or the product name; "" = all.
  std::string text;
  std::string after;  // keyset cursor: only keys greater than this; "" = from the start
  int limit = 100;    // 1..kMaxPageSize
  int offset = 0;     // rows skipped before the page, 0..kMaxListOffset
};

struct CertificatePage {
  std::vector<ProductCertificate> certificates;
  std::optional<std::string> next;  // cursor (the last key) when more follow
};

// The fields of a user an edit sets (Store::PatchUser); nullopt keeps the stored value.
struct UserPatch {
  std::optional<std::string> name;
  std::optional<std::string> timezone;
  std::optional<std::string> password_hash;
  std::optional<Roles> roles;
  EpochMillis update_time = 0;
  // When set: the user making the edit, who must still hold ADMIN when it
  // lands (checked under both rows' locks); otherwise AlreadyExists and
  // nothing changes. An administrator demoted meanwhile cannot demote another.
  std::string admin_editor;
};

// A partial update of one device (POST /api/devices/edit, bulk edit jobs). Fields
// left nullopt keep their stored value. The patch applies only while the device
// still is what the caller validated against (compare-and-set): it must be in
// `expect_group`, and, when `expect_pac` is not empty, its current PAC must be
// `expect_pac` (a transfer consumes the PAC it was authorised with).
struct DevicePatch {
  uint32_t id = 0;
  std::string expect_group;
  std::string expect_pac;  // "" = any
  std::optional<std::string> name;
  std::optional<std::string> type;  // device type id
  std::optional<std::string> group;
  std::optional<std::string> pac;
  std::optional<std::string> product_certificate;  // "" clears
  std::optional<std::optional<double>> lat;        // engaged nullopt clears
  std::optional<std::optional<double>> lng;
  std::optional<bool> token_renew_forbidden;
};

// A chunk of a job's items, leased to one worker until `lease_until`.
struct JobClaim {
  Job job;
  int64_t chunk = 0;       // chunk number within the job
  int64_t first_item = 0;  // index of items[0] within the job
  std::string token;       // proves the lease when completing
  EpochMillis lease_until = 0;
  std::vector<std::string> items;
};

// What processing a claimed chunk produced. Every item of the chunk is either in
// `failed`, or conflicts on insert (reported as failed "already registered"), or
// is a patch that matched no device (reported as failed with `patch_mismatch`),
// or counts as a success.
struct ChunkOutcome {
  std::vector<Device> insert;      // devices to insert in the same transaction
  std::vector<DevicePatch> patch;  // device patches to apply in the same transaction
  std::vector<JobFailure> failed;  // items that failed before reaching storage
  std::string patch_mismatch = "device changed meanwhile (deleted or transferred); not edited";
};

// Position of a message in a list ordered newest first (time, then device, then
// sequence number, all descending): a page continues after it.
struct MessageCursor {
  EpochMillis time = 0;
  uint32_t device = 0;
  int64_t seq_number = 0;
  bool operator==(const MessageCursor&) const = default;
};

// A message list, newest first. Exactly one of `device` and `type` is set.
struct MessageQuery {
  std::optional<uint32_t> device;      // the messages of one device
  std::string type;                    // the messages of every device of a device type
  std::optional<EpochMillis> since;    // time >= since
  std::optional<EpochMillis> before;   // time < before
  std::optional<MessageCursor> after;  // only messages listed after this one
  int limit = 100;                     // 1..kMaxPageSize
  int offset = 0;                      // rows skipped before the page, 0..kMaxListOffset
  bool with_location = false;          // only messages with a computed location
};

struct MessagePage {
  std::vector<Message> messages;
  std::optional<MessageCursor> next;  // the last message's position, when more follow
};

// A due delivery, claimed by one dispatcher until `lease_until`, with what it
// sends: its callback and its message as they are now.
struct DeliveryTask {
  Delivery delivery;
  Callback callback;
  Message message;
  // The lease its sender holds (the delivery's lease_until when it was
  // claimed or handed off): recording the attempt with it
  // (DeliveryCompletion::lease_until) records nothing once another took it.
  EpochMillis lease_until = 0;
};

struct IngestHandoff;

// How ingest treats reports (IngestUplinks).
struct IngestPolicy {
  // Another station's report of a device's last frame (same sequence number, its
  // time at most this long after the first report's) merges into that message.
  int64_t dedup_window_ms = 3000;
  // The wall clock when the batch is stored: the queued deliveries' creation time.
  EpochMillis now = 0;
  // Sets a message's derived fields (decoded, computed_location, link_quality)
  // from its data and rinfos, for a new message and again after each merged
  // duplicate. `payload_type`/`payload_config` are the device type's display
  // type. Called inside the write transaction: it must be quick and not touch
  // the store. Optional.
  std::function<void(Message& message, PayloadType payload_type, std::string_view payload_config)>
      complete;
  // A new message with `ack` of a device type in CALLBACK downlink mode: the
  // delivery of the type's downlinkHook callback is due this long after `now`
  // instead of at once, since the downlink arbiter makes that call itself
  // (and records it on the delivery). Should the arbiter never do so (the
  // instance stopped), the delivery still goes out then.
  int64_t downlink_hook_delay_ms = 0;
  // Hand-off: when set, up to `handoff->limit` of the DATA deliveries the batch
  // queues due at once are stored already leased until now + `lease_ms` and
  // returned in `handoff->tasks` (see IngestHandoff).
  IngestHandoff* handoff = nullptr;
};

// Deliveries ingest hands to its caller to send (IngestPolicy::handoff), each
// with its callback and its message as committed, so that the caller sends
// them itself once the transaction is committed, without claiming them back
// from the store. Should the caller not send them (it stopped or crashed, or
// its queue was full and it made them due again with DeferDeliveries), they
// come due when the lease ends. BATCH_URL deliveries are never handed off.
struct IngestHandoff {
  size_t limit = 0;      // in: at most this many
  int64_t lease_ms = 0;  // in
  // Out, set when IngestUplinks succeeds: the deliveries handed off, and how
  // many others it queued due at once (for a dispatcher to claim).
  std::vector<DeliveryTask> tasks;
  size_t others = 0;
};

// What one attempt of a delivery met (CompleteDelivery).
struct DeliveryOutcome {
  bool delivered = false;
  int32_t status = 0;  // HTTP status, or a 6xx code without an HTTP answer
  std::string info;
  EpochMillis now = 0;
  EpochMillis retry_at = 0;  // when not delivered and not given up: next attempt
  // Not delivered, and never to be tried again: the delivery is dead, and so
  // is its callback unless the callback delivered since this delivery first
  // failed (CompleteDelivery).
  bool give_up = false;
};

// One attempt to record (CompleteDeliveries).
struct DeliveryCompletion {
  int64_t delivery_id = 0;
  DeliveryOutcome outcome;
  // When set, the attempt is recorded only if the delivery is still of this
  // callback: SQLite gives a deleted row's id to the next row inserted, so a
  // delivery deleted with its callback while being sent could otherwise lend
  // its outcome to a newer one.
  std::string callback;
  // When set, the attempt is recorded only if the delivery still holds this
  // lease: a record that comes after its lease ended (the store unreachable
  // meanwhile) and after another sender claimed the delivery would otherwise
  // end that sender's lease and make the delivery due while it is sent.
  EpochMillis lease_until = 0;
};

// A dead callback's alert email, waiting to be sent (Store::ClaimDeadAlerts).
struct DeadAlertTask {
  Callback callback;
  int32_t status = 0;  // the attempt that killed the callback: HTTP status or 6xx
  std::string info;
  int32_t tries = 0;            // failed tries so far
  EpochMillis lease_until = 0;  // the claim's token for CompleteDeadAlert
};

// What waits in the store's durable queues (Store::MeasureStoredQueues), for
// the queue-depth gauges: work an operator wants to see pile up that is not
// in any instance's memory. Each count stops at the cap it was measured with.
struct StoredQueueDepths {
  int64_t deliveries_due = 0;     // pending callback deliveries due now, waiting for a claim
  int64_t deliveries_leased = 0;  // pending, claimed by a dispatcher: being sent
  int64_t deliveries_later = 0;   // pending, due later: back-off, handed off at ingest, or
                                  // waiting for the downlink arbiter
  int64_t deliveries_parked = 0;  // pending, of a disabled or dead callback
  int64_t event_emails = 0;       // event emails not sent (nor given up) yet
  int64_t dead_alerts = 0;        // dead callbacks' alert emails not sent yet
  bool operator==(const StoredQueueDepths&) const = default;
};

// What ingest did with one report, and the message it made or joined.
struct IngestDecision {
  IngestResult result = IngestResult::kUnknownDevice;
  std::optional<Message> message;  // kAccepted and kDuplicate: the message as stored
  // kDuplicate: the frame is not the device's latest (a newer one is stored),
  // a station's late copy of an older frame. It gets no downlink: that frame's
  // answer window is over, and its downlink was decided when it was new.
  bool behind_latest = false;
  // kAccepted and kDuplicate: the report's station was taken as a public
  // network's base station (Reception::public_network).
  bool public_network = false;
  // A refused report's device and station, for its log line (the ingest
  // writer sets them; the reports themselves are gone by then).
  uint32_t refused_device = 0;
  std::string refused_station;
};

// One pass of the silence watcher over one device type (WatchSilence).
struct SilenceWatch {
  std::string type;           // device type id
  int64_t keep_alive_ms = 0;  // > 0: the type's keepAlive; 0: restorations only
  EpochMillis now = 0;
  int limit = 500;  // devices flipped per call and direction
};

struct SilenceOutcome {
  int64_t lost = 0;      // COMMUNICATION_LOSS events recorded by this call
  int64_t restored = 0;  // COMMUNICATION_RESTORED events recorded by this call
  bool more = false;     // a direction met its limit: call again
};

// Position of an event in a list ordered newest first (time, then id).
struct EventCursor {
  EpochMillis time = 0;
  int64_t id = 0;
  bool operator==(const EventCursor&) const = default;
};

// Position in the list of failed deliveries (ListFailedDeliveries): the
// first failure's time, then the delivery's id.
struct FailedDeliveryCursor {
  EpochMillis first_failure = 0;
  int64_t id = 0;
  bool operator==(const FailedDeliveryCursor&) const = default;
};

// Which failed deliveries ListFailedDeliveries lists, besides its subtree.
struct FailedDeliveryFilter {
  std::optional<uint32_t> device;    // of this device only
  std::string type;                  // of this device type's callbacks only; "" = any
  std::optional<EpochMillis> since;  // first failure at or after this time
};

// An event list of one severity, newest first. Exactly one of `device` and
// `type` is set.
struct EventQuery {
  std::optional<uint32_t> device;
  std::string type;
  EventSeverity severity = EventSeverity::kError;
  std::optional<EpochMillis> since;   // time >= since
  std::optional<EpochMillis> before;  // time < before
  std::optional<EventCursor> after;
  int limit = 100;  // 1..kMaxPageSize
  int offset = 0;   // rows skipped before the page, 0..kMaxListOffset
};

struct EventPage {
  std::vector<Event> events;
  std::optional<EventCursor> next;
};

// A due outbox email, leased by one sender until `lease_until`, with its event.
struct EventEmailTask {
  EventEmail email;
  Event event;
};

// --- LoRaWAN zero-touch provisioning ------------------------------------------
// EUIs are 16 lowercase hex digits, "" where a value is absent.

enum class ProvisionIdState { kPending = 0, kProvisioned = 1, kDisabled = 2 };
// "pending", "provisioned", "disabled" (the stored and the API spelling).
std::string_view ProvisionIdStateName(ProvisionIdState state);
std::optional<ProvisionIdState> ParseProvisionIdState(std::string_view name);

// An imported Provision ID (a report row) and what provisioning made of it.
struct ProvisionIdRow {
  std::string provision_id;       // canonical uppercase
  std::string group;              // owning group
  std::string provision_id_hash;  // 64 lowercase hex digits
  std::string model;
  std::string serial_number;
  std::string fixed_dev_eui;  // from the report row; "" = none
  std::string dev_eui;        // assigned at the first accepted exchange; "" = not yet
  std::string join_eui;       // the report row's appEUI; "" = none
  ProvisionIdState state = ProvisionIdState::kPending;
  EpochMillis created_at = 0;
  EpochMillis updated_at = 0;
  size_t line = 0;  // ImportProvisionIds only: the report line, for messages (not stored)
  bool operator==(const ProvisionIdRow&) const = default;
};

// Provision IDs of a group subtree, ordered by Provision ID.
struct ProvisionIdQuery {
  std::string group_subtree;  // "" = all
  std::optional<ProvisionIdState> state;
  std::string after;  // keyset cursor: only IDs greater than this
  int limit = 100;    // 1..kMaxPageSize
  int offset = 0;     // rows skipped before the page, 0..kMaxListOffset
};

struct ProvisionIdPage {
  std::vector<ProvisionIdRow> ids;
  std::optional<std::string> next;  // the last ID, when more follow
};

// One accepted exchange, without its keys.
struct ProvisionExchange {
  std::string dev_eui;
  std::string join_eui;
  std::string rdev_eui;
  std::optional<int64_t> network_flag;
  std::string gateway_eui;
  int64_t rssi = 0;
  double snr = 0;
  double frequency_mhz = 0;
  EpochMillis at = 0;
  bool current = false;  // the Provision ID's latest exchange
  bool operator==(const ProvisionExchange&) const = default;
};

// A provisioned Provision ID with one of its exchanges (the current one, unless
// listed as history).
struct ProvisionedDevice {
  ProvisionIdRow id;
  ProvisionExchange exchange;
};

// The same with the exchange's keys, sealed as stored.
struct ProvisionedKeys {
  ProvisionedDevice device;
  std::vector<uint8_t> sealed_app_key;
  std::vector<uint8_t> sealed_nwk_key;
};

// Provisioned devices (their current exchange) of a group subtree, ordered by devEUI.
struct ProvisionedQuery {
  std::string group_subtree;  // "" = all
  std::string after;          // keyset cursor: only devEUIs greater than this
  int limit = 100;            // 1..kMaxPageSize
  int offset = 0;             // rows skipped before the page, 0..kMaxListOffset
};

// The EUIs base + 1 .. base + size, handed out in that order (offset 0, the
// all-zero suffix, is never used). `name` keys the pool's counter.
struct DevEuiRange {
  std::string name;
  uint64_t base = 0;
  uint64_t size = 0;
};

// An accepted exchange to record (RecordProvisioning); the keys already sealed.
struct ProvisioningWrite {
  std::string provision_id;
  ProvisionExchange exchange;  // dev_eui and current are set by the store
  std::vector<uint8_t> sealed_app_key;
  std::vector<uint8_t> sealed_nwk_key;
  std::optional<DevEuiRange> pool;  // nullopt: no pool configured
  EpochMillis now = 0;
};

struct GatewayProvisioning {
  std::string gateway_eui;
  EpochMillis last_at = 0;  // the latest exchange heard through it
  int64_t exchanges = 0;
  bool operator==(const GatewayProvisioning&) const = default;
};

struct ProvisioningSummary {
  int64_t pending = 0;
  int64_t provisioned = 0;
  int64_t disabled = 0;
  // The gateways with the latest exchanges first (at most the summary's limit).
  std::vector<GatewayProvisioning> gateways;
};

// The counts of a group subtree the console's home page shows (docs/api.md,
// "Web console").
struct GroupSummary {
  int64_t devices = 0;            // registered devices of the subtree's groups
  int64_t messages_today = 0;     // messages of the subtree's device types since `day_start`
  int64_t events_open = 0;        // those devices with a communication loss not restored
  int64_t callbacks_failing = 0;  // the subtree's device types' callbacks that fail
  bool operator==(const GroupSummary&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view engine() const = 0;
  // Highest migration applied.
  virtual Result<int> SchemaVersion() = 0;

  // --- groups --------------------------------------------------------------
  // Creates a group under `group.parent` ("" = a root group). The store sets `path`
  // from the parent's; NotFound if the parent does not exist. Returns the stored group.
  virtual Result<Group> CreateGroup(const Group& group) = 0;
  virtual Result<Group> GetGroup(std::string_view id) = 0;
  // Direct children, ordered by id; "" lists the root groups.
  virtual Result<std::vector<Group>> ListChildGroups(std::string_view parent) = 0;
  // True when `group` is `ancestor` or lies below it. NotFound if `group` does not exist.
  virtual Result<bool> IsInSubtree(std::string_view group, std::string_view ancestor) = 0;
  // Every group of the subtree rooted at `root` (itself included), ordered by id.
  // NotFound if `root` does not exist.
  virtual Result<std::vector<Group>> ListGroupsInSubtree(std::string_view root) = 0;
  // Replaces name and description (a group never moves) with `group`'s, while
  // the stored ones are still `read`'s (the version the edit started from):
  // false, changing nothing, when another edit changed them meanwhile (read
  // again and retry). NotFound.
  virtual Result<bool> UpdateGroup(const Group& group, const Group& read) = 0;
  // Deletes a group that holds nothing. InvalidInput, naming what it still has, while
  // it has child groups, device types, devices, users, API users or stations; the history of
  // its jobs (which can only be finished ones then) goes with it. NotFound.
  virtual Status DeleteGroup(std::string_view id) = 0;

  // --- users (people) ------------------------------------------------------
  // An email is unique within a group only: one person may hold an account in
  // several groups (migration 0004).
  virtual Status CreateUser(const User& user) = 0;  // AlreadyExists: id, or email in the group
  virtual Result<User> GetUser(std::string_view id) = 0;
  // Every user with this (normalized) email, in any group, ordered by id.
  virtual Result<std::vector<User>> ListUsersByEmail(std::string_view email) = 0;
  virtual Result<std::vector<User>> ListUsers(std::string_view group) = 0;  // ordered by id
  // Sets the fields `patch` gives and update_time, keeping the others as
  // stored, so that concurrent edits of different fields (a role change and a
  // password reset) both hold; the user as stored after it. NotFound: no user.
  virtual Result<User> PatchUser(std::string_view id, const UserPatch& patch) = 0;
  // Its tokens and sessions go with it. `admin_editor` as UserPatch::admin_editor
  // ("" = no check).
  virtual Status DeleteUser(std::string_view id, std::string_view admin_editor = {}) = 0;
  // Users of the groups in the subtree rooted at `root`, ordered by id. NotFound: no root.
  virtual Result<std::vector<User>> ListUsersInSubtree(std::string_view root) = 0;

  // --- one-time password links (token hashes only) -------------------------
  // Stores `token` as its user's only password token: earlier ones are deleted in
  // the same transaction. InvalidInput if the user does not exist.
  virtual Status ReplacePasswordToken(const UserToken& token) = 0;
  // Deletes and returns the token with this hash, atomically: of two concurrent
  // calls one gets it, the other NotFound. Expiry is the caller's to check.
  virtual Result<UserToken> TakePasswordToken(std::string_view token_hash) = 0;
  // The token with this hash, left in place (NotFound). Lets a caller refuse an
  // unknown or expired token before doing costly work, then take it.
  virtual Result<UserToken> FindPasswordToken(std::string_view token_hash) = 0;
  // Deletes the user's password tokens (none is fine).
  virtual Status DeletePasswordTokens(std::string_view user) = 0;

  // --- console sessions (token hashes only) --------------------------------
  // Stores a session, and removes every session that expired before
  // `session.creation_time`. InvalidInput if the user does not exist.
  virtual Status CreateSession(const UserToken& session) = 0;
  virtual Result<UserToken> GetSession(std::string_view token_hash) = 0;  // NotFound
  virtual Status DeleteSession(std::string_view token_hash) = 0;          // NotFound
  // Deletes the user's sessions except the one whose hash is `keep` ("" = none);
  // returns how many were deleted.
  virtual Result<int64_t> DeleteUserSessions(std::string_view user, std::string_view keep) = 0;

  // --- API users -----------------------------------------------------------
  virtual Status CreateApiUser(const ApiUser& user) = 0;
  virtual Result<ApiUser> GetApiUser(std::string_view login) = 0;
  virtual Result<std::vector<ApiUser>> ListApiUsers(std::string_view group) = 0;
  virtual Status DeleteApiUser(std::string_view login) = 0;
  // API users of the groups in the subtree rooted at `root`, ordered by login.
  virtual Result<std::vector<ApiUser>> ListApiUsersInSubtree(std::string_view root) = 0;

  // --- device types --------------------------------------------------------
  virtual Status CreateDeviceType(const DeviceType& type) = 0;
  virtual Result<DeviceType> GetDeviceType(std::string_view id) = 0;
  // Device types of the groups in `group_subtree` ("" = all), ordered by id.
  virtual Result<std::vector<DeviceType>> ListDeviceTypes(std::string_view group_subtree) = 0;
  // Replaces all but creation_time, while the stored update_time is still
  // `read_update_time` (that of the version the edit started from): false,
  // changing nothing, when another edit landed meanwhile (read again and retry;
  // type.update_time must move past it). NotFound.
  virtual Result<bool> UpdateDeviceType(const DeviceType& type, EpochMillis read_update_time) = 0;
  // InvalidInput while devices still use it.
  virtual Status DeleteDeviceType(std::string_view id) = 0;
  virtual Result<int64_t> CountDevices(std::string_view type) = 0;

  // --- devices -------------------------------------------------------------
  virtual Status InsertDevice(const Device& device) = 0;  // AlreadyExists: ID registered
  // Inserts many devices in one transaction. An ID already registered (or repeated
  // in `devices`) is reported in `conflicts` and the rest are inserted; any other
  // failure inserts nothing.
  virtual Result<BatchInsertResult> InsertDevices(std::span<const Device> devices) = 0;
  virtual Result<Device> GetDevice(uint32_t id) = 0;
  // Batch lookup in one query: one entry per requested ID (an ID may repeat),
  // absent where unknown.
  virtual Result<std::vector<std::optional<Device>>> GetDevices(std::span<const uint32_t> ids) = 0;
  virtual Status UpdateDevice(const Device& device) = 0;  // replaces all but id/creation_time
  virtual Status DeleteDevice(uint32_t id) = 0;
  // Applies `patches` in one transaction. Returns the indexes of the patches that
  // matched no device (unknown id, or its group/PAC is no longer the expected one;
  // a repeated id after the first is reported too); the others are applied. Any
  // other failure (e.g. an unknown device type or group: InvalidInput) applies none.
  virtual Result<std::vector<size_t>> PatchDevices(std::span<const DevicePatch> patches) = 0;
  virtual Result<DevicePage> ListDevices(const DeviceQuery& query) = 0;
  // The positioned devices of a type in an area, listed or counted in cells
  // (DevicePositions). InvalidInput for an empty type, an area whose bounds are
  // out of range or reversed, or max_listed / grid out of range.
  virtual Result<DevicePositions> ListDevicePositions(const DevicePositionQuery& query) = 0;

  // --- credentials (factory import) ----------------------------------------
  // Inserts or replaces, per device ID, the sealed KEY and initial PAC, in one transaction.
  virtual Status UpsertCredentials(std::span<const Credential> credentials) = 0;
  // Inserts, in one transaction, the credentials whose device ID has none yet; the
  // others are left untouched (never replaced) and their indexes into the input
  // returned, in input order — an ID stored meanwhile by a concurrent import, or
  // repeated within the batch, is one of them.
  virtual Result<std::vector<size_t>> InsertNewCredentials(
      std::span<const Credential> credentials) = 0;
  virtual Result<Credential> GetCredential(uint32_t device_id) = 0;
  // Batch lookup: one entry per requested ID, absent where unknown.
  virtual Result<std::vector<std::optional<Credential>>> GetCredentials(
      std::span<const uint32_t> device_ids) = 0;

  // --- jobs (persisted work queue) -----------------------------------------
  // Stores a job and its items split into chunks of `chunk_size`. `job.total` is set
  // from `items`. Items are opaque byte strings.
  virtual Status CreateJob(const Job& job, std::span<const std::string> items,
                           int64_t chunk_size) = 0;
  virtual Result<Job> GetJob(std::string_view id) = 0;
  // Atomically leases the oldest chunk that is pending or whose lease expired
  // before `now` (its worker died), across all jobs. nullopt when none.
  virtual Result<std::optional<JobClaim>> ClaimChunk(std::string_view worker, EpochMillis now,
                                                     int64_t lease_ms) = 0;
  // Records a chunk's results, inserts outcome.insert and applies outcome.patch
  // (as PatchDevices), in one transaction.
  // NotFound if the lease was lost (another worker took the chunk over): nothing is written.
  virtual Status CompleteChunk(const JobClaim& claim, const ChunkOutcome& outcome) = 0;
  virtual Result<JobStatus> GetJobStatus(std::string_view id) = 0;

  // --- product certificates (global reference data, not per group) ----------
  // Inserts or replaces each certificate by key, in one transaction; a replaced
  // row keeps its creation_time. Keys must be canonical (the caller parses them).
  virtual Status UpsertProductCertificates(std::span<const ProductCertificate> certificates) = 0;
  virtual Result<ProductCertificate> GetProductCertificate(std::string_view key) = 0;
  virtual Result<CertificatePage> SearchProductCertificates(const CertificateQuery& query) = 0;

  // --- sequence-number check ("disengage") -----------------------------------
  // Flags every device of device type `type` so that the sequence-number check is
  // skipped for its next message. Returns the number of devices flagged (already
  // flagged ones count again, with `now` as their new time). NotFound for an
  // unknown type. A deleted device loses its flag.
  virtual Result<int64_t> DisengageSequenceCheck(std::string_view type, EpochMillis now) = 0;
  // Flags one device the same way. NotFound for an unknown device.
  virtual Status DisengageDeviceSequenceCheck(uint32_t device_id, EpochMillis now) = 0;
  // Clears a device's flag atomically; returns whether it was set. The uplink
  // pipeline calls it when it accepts a message of the device: exactly one caller
  // sees true per disengage, even with several instances.
  virtual Result<bool> ClearSequenceCheckDisengaged(uint32_t device_id) = 0;

  // --- stations --------------------------------------------------------------
  // AlreadyExists: the id is taken; InvalidInput: no such group.
  virtual Status CreateStation(const Station& station) = 0;
  virtual Result<Station> GetStation(std::string_view id) = 0;  // NotFound
  // Stations of the groups in `group_subtree` ("" = all), ordered by id.
  virtual Result<std::vector<Station>> ListStations(std::string_view group_subtree) = 0;
  // Replaces a station's name and position (its id and group stay), while the
  // stored ones are still `read`'s: false, changing nothing, when another edit
  // changed them meanwhile (read again and retry). NotFound, also when it is
  // not (any more) of `station.group`: the caller checked the station's group,
  // and it may have been deleted and listed again elsewhere.
  virtual Result<bool> UpdateStation(const Station& station, const Station& read) = 0;
  // Deletes station `id` of `group`; its messages keep its id in their rinfos.
  // NotFound (also when another group lists the id).
  virtual Status DeleteStation(std::string_view id, std::string_view group) = 0;

  // --- messages (the uplink pipeline) ----------------------------------------
  // Applies `reports` in order, in one transaction, and returns one decision per
  // report. Per report, under a lock of its device's row (so that instances
  // sharing a database decide one frame once):
  //  - an unknown device or station, or a station whose group is neither the
  //    device's group nor one of its ancestors, is refused;
  //  - the device's last frame again (same sequence number) within the policy's
  //    window after its first report is a duplicate: the report's station joins
  //    the message's rinfos (delay = ms after the first report), once per station;
  //    outside the window it is kLate;
  //  - otherwise a sequence number not ahead of the device's last one
  //    (IsSequenceAhead) is a replay, unless the device was disengaged (the flag
  //    is cleared by the message that uses it);
  //  - otherwise a new message is stored and the device's last time, sequence
  //    number and SNR/RSSI averages move on — unless that frame (device, time,
  //    number) is stored already (a disengaged device's number went back and a
  //    station sent an older frame again): then the transaction is rolled back
  //    and the reports applied again with each such report a copy of the stored
  //    frame (a duplicate joining it), or a replay when the frame is another
  //    owner's (the device moved to its type or group since).
  // In the same transaction, a delivery is queued for each enabled, living DATA
  // callback of the device's type and each new message, and for each such
  // callback with send_duplicate and each station that joined a message (see
  // IngestPolicy::downlink_hook_delay_ms for when a downlinkHook's is due).
  // Each new message and each joined station's report is added to the hourly
  // statistics of its device and its type (GetStats).
  // Nothing is written when an error is returned.
  virtual Result<std::vector<IngestDecision>> IngestUplinks(std::span<const UplinkReport> reports,
                                                            const IngestPolicy& policy) = 0;
  virtual Result<MessagePage> ListMessages(const MessageQuery& query) = 0;
  virtual Result<Message> GetMessage(const MessageCursor& key) = 0;  // NotFound
  // The stored messages among `keys`, each once, in no particular order; a key
  // of no stored message (purged) is left out. One statement per 32 keys,
  // however far apart in time.
  virtual Result<std::vector<Message>> GetMessages(std::span<const MessageCursor> keys) = 0;
  // Records the downlink sent for a message, unless one (or a reason for none,
  // SetMessageNoDownlink) is recorded already: the first decision stays, also
  // across instances. Returns the message as stored. NotFound.
  virtual Result<Message> SetMessageDownlink(const MessageCursor& key, std::string_view data,
                                             std::string_view station) = 0;
  // Records why a message that asked for a downlink got none (downlink_info),
  // unless a downlink or a reason is recorded already (the first decision
  // stays, as for SetMessageDownlink, which a recorded reason also stops);
  // returns the message as stored. NotFound.
  virtual Result<Message> SetMessageNoDownlink(const MessageCursor& key,
                                               std::string_view reason) = 0;
  // The same for many messages with one reason; keys of messages that are
  // gone are skipped. Not atomic: each message's record stands alone.
  virtual Status SetMessagesNoDownlink(std::span<const MessageCursor> keys,
                                       std::string_view reason) = 0;
  // Applies a device's SERVICE report, in one transaction, under its device's
  // row lock. Refused as uplinks are (kUnknownDevice, kUnknownStation,
  // kForeignStation); the same report again (same kind and sequence number, or
  // without one, any report of that kind) within the policy's window is
  // kDuplicate and changes nothing; it is looked for among the device's last
  // 8 reports of the kind, so a late report's copy is found too. Otherwise
  // (kAccepted):
  //  - STATUS adds its temperature and voltage to the hourly statistics of the
  //    device and its type;
  //  - ACKNOWLEDGE records the confirmation on the device's latest message with
  //    a downlink not confirmed yet and sent at or before the report
  //    (decision.message: that message as stored; none when there is none);
  // and queues a delivery for each enabled, living SERVICE callback of that
  // subtype of the device's type, with {temp}/{batt} or {downlinkAck}.
  virtual Result<IngestDecision> IngestService(const ServiceReport& report,
                                               const IngestPolicy& policy) = 0;
  // The statistics of a device or a device type, one bucket per hour or per
  // day (UTC) that has any, oldest first. InvalidInput: not exactly one of
  // device and type, or `to` before `from`.
  virtual Result<std::vector<StatsBucket>> GetStats(const StatsQuery& query) = 0;

  // --- retention ------------------------------------------------------------
  // PostgreSQL: makes sure the messages table has a partition for each UTC month
  // from the month of `now` to `months_ahead` months later ("messages_pYYYYMM"),
  // so that new messages land in a partition that retention can drop whole. A
  // month whose rows already sit in the default partition cannot get one (they
  // stay there and are purged row by row): it is skipped, and InvalidInput names
  // it after the others were made. So is a month whose partition could not get
  // its lock on `messages` within 2 s (the next call tries again). SQLite:
  // nothing to do.
  virtual Status PrepareMessagePartitions(EpochMillis now, int months_ahead) = 0;
  struct PurgeResult {
    int64_t rows_deleted = 0;  // messages deleted row by row
    int64_t partitions_dropped = 0;
    // PostgreSQL: partitions not dropped because the lock on `messages` was
    // not granted within 2 s (a busy table); a later call drops them.
    std::vector<std::string> partitions_busy;
  };
  // Removes messages older than `cutoff`, and every delivery of a message (or
  // report, or event) older than it. PostgreSQL drops each monthly partition
  // that ends at or before `cutoff` (each in a transaction of its own, waiting
  // at most 2 s for its lock, so that ingest never queues long behind it) and
  // deletes older rows of the default partition; a month that straddles
  // `cutoff`, or whose drop gave up, is kept whole with its deliveries. SQLite
  // deletes rows in short transactions, so that ingest is not held up for long.
  virtual Result<PurgeResult> PurgeMessagesBefore(EpochMillis cutoff) = 0;
  // The names of the messages table's partitions, ordered (PostgreSQL; empty on
  // SQLite).
  virtual Result<std::vector<std::string>> ListMessagePartitions() = 0;
  // Removes sent and given-up event emails made before `cutoff`, and events
  // older than it none of whose emails is left (a pending email keeps its
  // event). Returns the rows deleted (emails and events). In chunks of short
  // transactions, like the purge of messages.
  virtual Result<int64_t> PurgeEventsBefore(EpochMillis cutoff) = 0;
  // Removes the statistics of hours that start before `cutoff` (device and
  // device type rows, and their frequencies), and the last service reports
  // (kept to count a report heard by several stations once) older than it.
  // Returns the rows deleted. In chunks of short transactions.
  virtual Result<int64_t> PurgeStatisticsBefore(EpochMillis cutoff) = 0;

  // --- callbacks and their deliveries ---------------------------------------
  // From now on, a callback's `url` and `headers` (where an endpoint's
  // credentials go: `user:password@`, a key in the query, `Authorization`) are
  // sealed with `sealer` when written and opened when read, bound to the
  // callback's id; those of rows written in clear before (by a store without a
  // sealer, or an older Roost) are sealed now, row by row, and read as before
  // meanwhile; an error leaves the rest in clear until the next call. A value
  // that does not open (another master key; copied from another callback's
  // row) reads as empty: no url, and no headers (then no url either).
  // `sealer` must outlive the store; call once, before other calls. Without a
  // sealer both are stored in clear (tests, and the command-line tools, which
  // read no callbacks).
  virtual Status SealSecretsWith(const crypto::Sealer* sealer) = 0;
  // Stores callbacks of one device type, all or none. InvalidInput: an unknown
  // device type; AlreadyExists: an id is taken.
  virtual Status CreateCallbacks(std::span<const Callback> callbacks) = 0;
  virtual Result<Callback> GetCallback(std::string_view id) = 0;                   // NotFound
  virtual Result<std::vector<Callback>> ListCallbacks(std::string_view type) = 0;  // by id
  // Deletes a callback. Its deliveries stay on their messages where they were
  // attempted (those still pending become dead: nothing sends them any more);
  // those never attempted go, having nothing to show. A delivery leased to a
  // send in flight at `now` is left to that send, whose outcome is recorded on
  // it as usual; if it is still pending afterwards, or its lease runs out, the
  // next claim that meets it treats it as above. NotFound.
  virtual Status DeleteCallback(std::string_view id, EpochMillis now) = 0;
  // Replaces the definition of callback `callback.id` (channel, types, patterns,
  // headers, sendDuplicate, payloadConfig, enabled) in one transaction, keeping
  // its id, device type, creation time and dead state (editing does not revive).
  // It stays its type's downlinkHook only while it is a URL DATA BIDIR callback.
  // Its pending deliveries are sent with the new definition, unless its
  // callbackType or callbackSubtype changed: then they are dropped (their
  // variables are of another kind of event). With `keep_enabled`, its enabled
  // state stays as stored (read under the edit's lock), whatever callback.enabled
  // says: an edit that does not name it must not undo a concurrent enabling or
  // disabling. Returns the stored callback. NotFound.
  virtual Result<Callback> UpdateCallback(const Callback& callback, bool keep_enabled) = 0;
  // Enables or disables a callback; enabling also revives a dead one. NotFound.
  virtual Status SetCallbackEnabled(std::string_view id, bool enabled) = 0;
  // Makes `id` its device type's one downlinkHook callback (the others lose the
  // mark). NotFound; InvalidInput unless it is a URL callback of type DATA
  // BIDIR, as it is when the mark is set (a concurrent edit cannot slip between).
  virtual Status SetDownlinkHook(std::string_view id) = 0;
  // Leases up to `limit` pending deliveries due at `now` for `lease_ms`: a
  // dispatcher that dies with them leaves them due again once the lease ends
  // (at-least-once). The earliest come first, except that a claim goes on from
  // where this store's last one stopped: what came due behind that place is
  // claimed by a look from the head, which comes once too few are due beyond
  // it, or a second after the last such look. With several instances on one
  // PostgreSQL each delivery is leased to one of them at a time. Meeting a due
  // delivery of a disabled or dead callback, the claim parks all of that
  // callback's due deliveries instead (kept pending, never due) until the
  // callback is enabled again (SetCallbackEnabled, or UpdateCallback with
  // `enabled`): they are then due at once. Returns fewer than `limit` only when
  // no more are due (other than those another instance holds).
  virtual Result<std::vector<DeliveryTask>> ClaimDeliveries(EpochMillis now, int limit,
                                                            int64_t lease_ms) = 0;
  // Records an attempt. Returns true when this attempt made its callback dead:
  // outcome.give_up on a callback that was not dead yet and has delivered
  // nothing since this delivery first failed (it has failed all along; a
  // callback that delivered since loses only this delivery, so that one
  // message its endpoint keeps refusing does not stop the others). The
  // callback's alert is then queued, in the same transaction, due at
  // outcome.now (ClaimDeadAlerts). NotFound: the delivery is gone (its
  // callback was deleted) or no longer pending (done or dead already: a late
  // answer changes nothing).
  virtual Result<bool> CompleteDelivery(int64_t delivery_id, const DeliveryOutcome& outcome) = 0;
  // Records many attempts in one transaction: a dispatcher records what its
  // senders met in groups, since one commit per delivery capped delivery at a
  // few hundred a second. Returns, per completion in order, whether it made its
  // callback dead (as CompleteDelivery: one true per callback that died, even
  // for several of its deliveries in one call). A delivery that is gone (its
  // callback was deleted), no longer pending, or (DeliveryCompletion::callback)
  // of another callback is skipped and counts as false.
  virtual Result<std::vector<bool>> CompleteDeliveries(
      std::span<const DeliveryCompletion> completions) = 0;
  // Makes leased deliveries due at `until` without counting an attempt (their
  // destination is busy here), in one statement. Ids that are gone or no longer
  // pending are skipped.
  virtual Status DeferDeliveries(std::span<const int64_t> delivery_ids, EpochMillis until) = 0;
  // Leases up to `limit` dead callbacks' alerts due at `now` for `lease_ms`,
  // each to one instance at a time, the longest waiting first. A claim's
  // `lease_until` (later than any earlier claim's of that alert) is its token.
  virtual Result<std::vector<DeadAlertTask>> ClaimDeadAlerts(EpochMillis now, int limit,
                                                             int64_t lease_ms) = 0;
  // What waits in the durable queues at `now` (StoredQueueDepths). Each count
  // reads at most `cap` entries of the index that serves its queue (due and
  // leased deliveries together: at most `cap` between them), so that a
  // backlog of millions costs a bounded look (and reads as `cap`). The counts
  // are separate looks, not one snapshot: a delivery claimed between two of
  // them may be counted in both.
  virtual Result<StoredQueueDepths> MeasureStoredQueues(EpochMillis now, int64_t cap) = 0;
  // Records the try of `claimed`: done (sent, or given up) when `retry_at` is
  // nullopt, otherwise due again then, with one more failed try. False,
  // changing nothing, when the claim is stale: its lease ran out and the alert
  // was claimed again, or the callback was enabled again (which drops a waiting
  // alert) or deleted.
  virtual Result<bool> CompleteDeadAlert(const DeadAlertTask& claimed,
                                         std::optional<EpochMillis> retry_at) = 0;
  // The downlink arbiter's claim of a frame's downlinkHook delivery before it
  // calls the hook (the call is that delivery's first attempt). kClaimed when
  // this call claimed it: it was pending, never attempted, never claimed and
  // not yet due at `now`; it is then leased until `lease_until` (the
  // dispatcher sends it after that unless an attempt is recorded). Otherwise
  // the caller must not call the hook: kClaimedElsewhere when an arbiter (of
  // another instance) claimed it, whose decision the message will record;
  // kDispatchers when it is the dispatcher's (due, leased to a sender — the
  // hook moved to its callback after ingest —, or gone). With several
  // instances exactly one claims it.
  enum class HookClaim { kClaimed, kClaimedElsewhere, kDispatchers };
  virtual Result<HookClaim> ClaimHookDelivery(int64_t delivery_id, EpochMillis now,
                                              EpochMillis lease_until) = 0;
  // The deliveries of the given messages, in id order.
  virtual Result<std::vector<Delivery>> ListMessageDeliveries(
      std::span<const MessageCursor> messages) = 0;
  // Deliveries whose last attempt failed (pending with a failure, or dead), of the
  // device types of groups in `group_subtree`, newest first failure first (then
  // highest id), after `after` when given, that pass `filter`: keyset pages,
  // stable while deliveries fail, recover or die. `offset` (0..kMaxListOffset)
  // rows are skipped before the page.
  virtual Result<std::vector<Delivery>> ListFailedDeliveries(
      std::string_view group_subtree, int limit, int offset,
      std::optional<FailedDeliveryCursor> after, const FailedDeliveryFilter& filter) = 0;

  // --- events and their emails ------------------------------------------------
  // One pass of the silence watcher over one device type, in one transaction:
  //  - up to `limit` devices of the type not flagged silent whose last message
  //    (or, never heard, their registration) is older than now - keep_alive_ms
  //    are flagged, and each gets an ERROR COMMUNICATION_LOSS event "No message
  //    received since <time>";
  //  - up to `limit` flagged devices whose last message is at or after
  //    now - keep_alive_ms lose the flag, and each gets a WARN
  //    COMMUNICATION_RESTORED event.
  // A device is flipped with a conditional update, so with several instances
  // on one database each change is recorded by exactly one of them. Each event
  // queues, in the same transaction, one outbox email per address of the
  // event configurations that apply to it (ListEventConfigs's matching rules).
  // With keep_alive_ms 0 (a type no longer watched) only the restorations
  // are made: a loss recorded while it was watched still ends when the device
  // speaks again.
  virtual Result<SilenceOutcome> WatchSilence(const SilenceWatch& watch) = 0;
  // The device types with a device flagged silent that has spoken since: the
  // restorations WatchSilence would record (from the flagged devices alone).
  virtual Result<std::vector<std::string>> ListTypesToRestore() = 0;
  virtual Result<EventPage> ListEvents(const EventQuery& query) = 0;
  // Stores `config` unless its target already has `max_of_its_group`
  // configurations made by config.group: then false, nothing stored. The count
  // and the insert are one step (concurrent creations never pass the bound).
  // AlreadyExists: the id is taken.
  virtual Result<bool> CreateEventConfig(const EventConfig& config, size_t max_of_its_group) = 0;
  virtual Result<EventConfig> GetEventConfig(std::string_view id) = 0;  // NotFound
  // The configurations made for one target, by id.
  virtual Result<std::vector<EventConfig>> ListEventConfigs(EventScope scope,
                                                            std::string_view target) = 0;
  virtual Status DeleteEventConfig(std::string_view id) = 0;  // NotFound
  // Leases up to `limit` pending outbox emails due at `now` for `lease_ms`
  // (each to one instance at a time); an email whose event is gone is skipped.
  // Each claim's `email.next_attempt` (the lease end, later than any earlier
  // claim's) is its token for CompleteEventEmail.
  virtual Result<std::vector<EventEmailTask>> ClaimEventEmails(EpochMillis now, int limit,
                                                               int64_t lease_ms) = 0;
  // Records the attempt of the claim `claimed` (as ClaimEventEmails returned
  // it): sent, or due again at `retry_at`, or (give_up) never tried again.
  // True when recorded; false, changing nothing, when the claim is stale (its
  // lease ran out and the email was claimed again, or it was completed).
  // NotFound: no such email.
  virtual Result<bool> CompleteEventEmail(const EventEmail& claimed, bool sent,
                                          std::string_view info, EpochMillis retry_at,
                                          bool give_up) = 0;

  // --- LoRaWAN zero-touch provisioning -----------------------------------------
  // Stores report rows, all or none, in one transaction. AlreadyExists when an
  // ID is imported already, or a fixed devEUI is another ID's (fixed or
  // assigned): its message has one line "line N: ..." (N the row's `line`)
  // per such row, the first kMaxImportConflictsListed in row order.
  // InvalidInput when the owning group does not exist. Rows are not checked
  // otherwise (the caller parses them).
  virtual Status ImportProvisionIds(std::span<const ProvisionIdRow> rows) = 0;
  // NotFound when no imported ID has this hash (64 lowercase hex digits).
  virtual Result<ProvisionIdRow> FindProvisionIdByHash(std::string_view hash) = 0;
  virtual Result<ProvisionIdRow> GetProvisionId(std::string_view provision_id) = 0;  // NotFound
  virtual Result<ProvisionIdPage> ListProvisionIds(const ProvisionIdQuery& query) = 0;
  // Refuses the ID from now on. NotFound. Disabling twice is fine.
  virtual Status DisableProvisionId(std::string_view provision_id, EpochMillis now) = 0;
  // Records an accepted exchange in one transaction and returns it as stored
  // (devEUI and joinEUI filled): the devEUI is the row's fixed one, else the
  // one it was given before, else the pool's next EUI that is nobody's fixed
  // or assigned devEUI (the pool's counter row serialises concurrent callers,
  // also across processes). The earlier exchanges stay as history; the row
  // becomes provisioned. NotFound: unknown or disabled ID; Unavailable: a pool
  // EUI is needed and there is no pool, or it is used up (the message says which).
  virtual Result<ProvisionExchange> RecordProvisioning(const ProvisioningWrite& write) = 0;
  virtual Result<std::vector<ProvisionedDevice>> ListProvisionedDevices(
      const ProvisionedQuery& query) = 0;
  // The device whose current exchange gave it `dev_eui`. NotFound.
  virtual Result<ProvisionedDevice> GetProvisionedDevice(std::string_view dev_eui) = 0;
  // The same with its current keys (sealed). NotFound.
  virtual Result<ProvisionedKeys> GetProvisionedKeys(std::string_view dev_eui) = 0;
  // Current keys of a subtree's devices, ordered by devEUI, a page at a time.
  virtual Result<std::vector<ProvisionedKeys>> ExportProvisionedKeys(
      const ProvisionedQuery& query) = 0;
  // Every exchange of one Provision ID, oldest first, with its keys. NotFound.
  virtual Result<std::vector<ProvisionedKeys>> ListProvisionHistory(
      std::string_view provision_id) = 0;
  // Counts per state of a subtree's IDs, and its gateways by latest exchange
  // (at most `gateways`).
  // The console's home page counts for the subtree rooted at `group_subtree`
  // (NotFound for an unknown group): devices whose group is in it; messages
  // counted by the hourly statistics of its device types in the hours starting
  // at or after `day_start`; its devices flagged with a communication loss
  // (comm_lost); and the callbacks of its device types that are dead, or
  // enabled with a delivery waiting after a failed attempt. Index ranges only
  // (no scan of messages or deliveries beyond a callback's waiting ones).
  virtual Result<GroupSummary> SummarizeGroup(std::string_view group_subtree,
                                              EpochMillis day_start) = 0;
  virtual Result<ProvisioningSummary> SummarizeProvisioning(std::string_view group_subtree,
                                                            int gateways) = 0;
};

// Opens (creating if needed) `<data_dir>/roost.db` — or the file itself when
// `path` ends in ".db" — in WAL mode, and migrates it.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);
// Connects to `conninfo` (a libpq URL or key=value string) with up to `pool_size`
// connections, and migrates the database.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, int pool_size = 4);
// "postgresql://…" / "postgres://…" → PostgreSQL (with up to `pool_size`
// connections); anything else is an SQLite path.
Result<std::unique_ptr<Store>> OpenStore(const std::string& location, int pool_size = 4);

}  // namespace roost::storage
