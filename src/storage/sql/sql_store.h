// SqlStore: the one implementation of Store, over either SQL driver
// (storage/driver/driver.h). Each query is written once; the methods are split
// by what they store (groups.cpp, accounts.cpp, device_types.cpp, devices.cpp,
// credentials.cpp, jobs.cpp, certificates.cpp, sequence_check.cpp, stations.cpp,
// messages.cpp, callbacks.cpp, events.cpp, provisioning.cpp).
// Not part of the storage interface: only storage/ includes it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "storage/driver/driver.h"
#include "storage/store.h"

// Borrows a connection of the pool as `conn` for the rest of the scope.
#define ROOST_SQL_LEASE(conn)                           \
  auto conn##_lease = pool_.Acquire();                  \
  if (!conn##_lease.ok()) return conn##_lease.status(); \
  [[maybe_unused]] ::roost::storage::driver::Connection& conn = **conn##_lease

// Prepares `sql` on `conn` as the Query `q` for the rest of the scope.
#define ROOST_SQL_QUERY(q, conn, sql, op)           \
  auto q##_result = (conn).Prepare(sql, op);        \
  if (!q##_result.ok()) return q##_result.status(); \
  ::roost::storage::driver::Query& q = *q##_result

namespace roost::storage::sql {

// What a transaction adds to the hourly statistics (hourly_stats and
// hourly_frequencies), gathered first so that each row is written once per
// transaction, in key order (statistics.cpp).
class StatsDeltas {
 public:
  // A station's report of `m`; `new_message` for the report that made it.
  void AddReception(const Message& m, const Reception& r, bool new_message);
  void AddStatus(const std::string& device, const std::string& type, EpochMillis time, double temp,
                 double batt);
  void AddDownlink(const std::string& device, const std::string& type, EpochMillis time);
  bool empty() const { return buckets_.empty(); }

 private:
  friend class SqlStore;
  struct Key {
    int64_t scope;
    std::string id;
    EpochMillis hour;
    auto operator<=>(const Key&) const = default;
  };
  StatsBucket& Bucket(int64_t scope, const std::string& id, EpochMillis time);
  std::map<Key, StatsBucket> buckets_;
};

using driver::Connection;
using driver::Query;

class SqlStore final : public Store {
 public:
  SqlStore(int pool_size, driver::Pool::Opener open) : pool_(pool_size, std::move(open)) {}

  // Applies the migrations not yet recorded (SQLite: sets WAL mode first).
  Status Init();

  std::string_view engine() const override { return engine_; }
  Result<int> SchemaVersion() override;

  Result<Group> CreateGroup(const Group& group) override;
  Result<Group> GetGroup(std::string_view id) override;
  Result<std::vector<Group>> ListChildGroups(std::string_view parent) override;
  Result<bool> IsInSubtree(std::string_view group, std::string_view ancestor) override;
  Result<std::vector<Group>> ListGroupsInSubtree(std::string_view root) override;
  Result<bool> UpdateGroup(const Group& group, const Group& read) override;
  Status DeleteGroup(std::string_view id) override;

  Status CreateUser(const User& user) override;
  Result<User> GetUser(std::string_view id) override;
  Result<std::vector<User>> ListUsersByEmail(std::string_view email) override;
  Result<std::vector<User>> ListUsers(std::string_view group) override;
  Result<User> PatchUser(std::string_view id, const UserPatch& patch) override;
  Status DeleteUser(std::string_view id, std::string_view admin_editor = {}) override;
  Result<std::vector<User>> ListUsersInSubtree(std::string_view root) override;
  Status ReplacePasswordToken(const UserToken& token) override;
  Result<UserToken> TakePasswordToken(std::string_view token_hash) override;
  Result<UserToken> FindPasswordToken(std::string_view token_hash) override;
  Status DeletePasswordTokens(std::string_view user) override;
  Status CreateSession(const UserToken& session) override;
  Result<UserToken> GetSession(std::string_view token_hash) override;
  Status DeleteSession(std::string_view token_hash) override;
  Result<int64_t> DeleteUserSessions(std::string_view user, std::string_view keep) override;
  Status CreateApiUser(const ApiUser& user) override;
  Result<ApiUser> GetApiUser(std::string_view login) override;
  Result<std::vector<ApiUser>> ListApiUsers(std::string_view group) override;
  Status DeleteApiUser(std::string_view login) override;
  Result<std::vector<ApiUser>> ListApiUsersInSubtree(std::string_view root) override;

  Status CreateDeviceType(const DeviceType& type) override;
  Result<DeviceType> GetDeviceType(std::string_view id) override;
  Result<std::vector<DeviceType>> ListDeviceTypes(std::string_view group_subtree) override;
  Result<bool> UpdateDeviceType(const DeviceType& type, EpochMillis read_update_time) override;
  Status DeleteDeviceType(std::string_view id) override;
  Result<int64_t> CountDevices(std::string_view type) override;

  Status InsertDevice(const Device& device) override;
  Result<BatchInsertResult> InsertDevices(std::span<const Device> devices) override;
  Result<Device> GetDevice(uint32_t id) override;
  Result<std::vector<std::optional<Device>>> GetDevices(std::span<const uint32_t> ids) override;
  Status UpdateDevice(const Device& device) override;
  Status DeleteDevice(uint32_t id) override;
  Result<std::vector<size_t>> PatchDevices(std::span<const DevicePatch> patches) override;
  Result<DevicePage> ListDevices(const DeviceQuery& query) override;
  Result<DevicePositions> ListDevicePositions(const DevicePositionQuery& query) override;

  Status UpsertCredentials(std::span<const Credential> credentials) override;
  Result<std::vector<size_t>> InsertNewCredentials(
      std::span<const Credential> credentials) override;
  Result<Credential> GetCredential(uint32_t device_id) override;
  Result<std::vector<std::optional<Credential>>> GetCredentials(
      std::span<const uint32_t> device_ids) override;

  Status CreateJob(const Job& job, std::span<const std::string> items, int64_t chunk_size) override;
  Result<Job> GetJob(std::string_view id) override;
  Result<std::optional<JobClaim>> ClaimChunk(std::string_view worker, EpochMillis now,
                                             int64_t lease_ms) override;
  Status CompleteChunk(const JobClaim& claim, const ChunkOutcome& outcome) override;
  Result<JobStatus> GetJobStatus(std::string_view id) override;

  Status UpsertProductCertificates(std::span<const ProductCertificate> certificates) override;
  Result<ProductCertificate> GetProductCertificate(std::string_view key) override;
  Result<CertificatePage> SearchProductCertificates(const CertificateQuery& query) override;

  Result<int64_t> DisengageSequenceCheck(std::string_view type, EpochMillis now) override;
  Status DisengageDeviceSequenceCheck(uint32_t device_id, EpochMillis now) override;
  Result<bool> ClearSequenceCheckDisengaged(uint32_t device_id) override;

  Status CreateStation(const Station& station) override;
  Result<Station> GetStation(std::string_view id) override;
  Result<std::vector<Station>> ListStations(std::string_view group_subtree) override;
  Result<bool> UpdateStation(const Station& station, const Station& read) override;
  Status DeleteStation(std::string_view id, std::string_view group) override;

  Result<std::vector<IngestDecision>> IngestUplinks(std::span<const UplinkReport> reports,
                                                    const IngestPolicy& policy) override;
  Result<MessagePage> ListMessages(const MessageQuery& query) override;
  Result<Message> GetMessage(const MessageCursor& key) override;
  Result<std::vector<Message>> GetMessages(std::span<const MessageCursor> keys) override;
  Result<Message> SetMessageDownlink(const MessageCursor& key, std::string_view data,
                                     std::string_view station) override;
  Result<IngestDecision> IngestService(const ServiceReport& report,
                                       const IngestPolicy& policy) override;
  Result<std::vector<StatsBucket>> GetStats(const StatsQuery& query) override;

  Status PrepareMessagePartitions(EpochMillis now, int months_ahead) override;
  Result<PurgeResult> PurgeMessagesBefore(EpochMillis cutoff) override;
  Result<std::vector<std::string>> ListMessagePartitions() override;
  Result<int64_t> PurgeEventsBefore(EpochMillis cutoff) override;
  Result<int64_t> PurgeStatisticsBefore(EpochMillis cutoff) override;
  Result<Message> SetMessageNoDownlink(const MessageCursor& key, std::string_view reason) override;
  Status SetMessagesNoDownlink(std::span<const MessageCursor> keys,
                               std::string_view reason) override;

  Status SealSecretsWith(const crypto::Sealer* sealer) override;
  Status CreateCallbacks(std::span<const Callback> callbacks) override;
  Result<Callback> GetCallback(std::string_view id) override;
  Result<std::vector<Callback>> ListCallbacks(std::string_view type) override;
  Status DeleteCallback(std::string_view id, EpochMillis now) override;
  Result<Callback> UpdateCallback(const Callback& callback, bool keep_enabled) override;
  Status SetCallbackEnabled(std::string_view id, bool enabled) override;
  Status SetDownlinkHook(std::string_view id) override;
  Result<std::vector<DeliveryTask>> ClaimDeliveries(EpochMillis now, int limit,
                                                    int64_t lease_ms) override;
  Result<bool> CompleteDelivery(int64_t delivery_id, const DeliveryOutcome& outcome) override;
  Result<std::vector<bool>> CompleteDeliveries(
      std::span<const DeliveryCompletion> completions) override;
  Status DeferDeliveries(std::span<const int64_t> delivery_ids, EpochMillis until) override;
  Result<StoredQueueDepths> MeasureStoredQueues(EpochMillis now, int64_t cap) override;
  Result<std::vector<DeadAlertTask>> ClaimDeadAlerts(EpochMillis now, int limit,
                                                     int64_t lease_ms) override;
  Result<bool> CompleteDeadAlert(const DeadAlertTask& claimed,
                                 std::optional<EpochMillis> retry_at) override;
  Result<HookClaim> ClaimHookDelivery(int64_t delivery_id, EpochMillis now,
                                      EpochMillis lease_until) override;
  Result<std::vector<Delivery>> ListMessageDeliveries(
      std::span<const MessageCursor> messages) override;
  Result<std::vector<Delivery>> ListFailedDeliveries(std::string_view group_subtree, int limit,
                                                     int offset,
                                                     std::optional<FailedDeliveryCursor> after,
                                                     const FailedDeliveryFilter& filter) override;

  Result<SilenceOutcome> WatchSilence(const SilenceWatch& watch) override;
  Result<std::vector<std::string>> ListTypesToRestore() override;
  Result<EventPage> ListEvents(const EventQuery& query) override;
  Result<bool> CreateEventConfig(const EventConfig& config, size_t max_of_its_group) override;
  Result<EventConfig> GetEventConfig(std::string_view id) override;
  Result<std::vector<EventConfig>> ListEventConfigs(EventScope scope,
                                                    std::string_view target) override;
  Status DeleteEventConfig(std::string_view id) override;
  Result<std::vector<EventEmailTask>> ClaimEventEmails(EpochMillis now, int limit,
                                                       int64_t lease_ms) override;
  Result<bool> CompleteEventEmail(const EventEmail& claimed, bool sent, std::string_view info,
                                  EpochMillis retry_at, bool give_up) override;

  Status ImportProvisionIds(std::span<const ProvisionIdRow> rows) override;
  Result<ProvisionIdRow> FindProvisionIdByHash(std::string_view hash) override;
  Result<ProvisionIdRow> GetProvisionId(std::string_view provision_id) override;
  Result<ProvisionIdPage> ListProvisionIds(const ProvisionIdQuery& query) override;
  Status DisableProvisionId(std::string_view provision_id, EpochMillis now) override;
  Result<ProvisionExchange> RecordProvisioning(const ProvisioningWrite& write) override;
  Result<std::vector<ProvisionedDevice>> ListProvisionedDevices(
      const ProvisionedQuery& query) override;
  Result<ProvisionedDevice> GetProvisionedDevice(std::string_view dev_eui) override;
  Result<ProvisionedKeys> GetProvisionedKeys(std::string_view dev_eui) override;
  Result<std::vector<ProvisionedKeys>> ExportProvisionedKeys(
      const ProvisionedQuery& query) override;
  Result<std::vector<ProvisionedKeys>> ListProvisionHistory(std::string_view provision_id) override;
  Result<ProvisioningSummary> SummarizeProvisioning(std::string_view group_subtree,
                                                    int gateways) override;
  Result<GroupSummary> SummarizeGroup(std::string_view group_subtree,
                                      EpochMillis day_start) override;

 private:
  using Binder = std::function<void(Query&)>;

  // One try of UpdateCallback; `stale` when, on PostgreSQL, the kind it
  // decided from before locking the callback had changed by the lock (the
  // transaction is then rolled back and nothing is changed).
  Result<Callback> UpdateCallbackOnce(driver::Connection& c, const Callback& cb, bool keep_enabled,
                                      bool& stale);
  // Runs one statement on a connection of its own.
  Status Run(const std::string& sql, std::string_view op, const Binder& bind);
  // The same, NotFound(`not_found`) unless it changed a row.
  Status RunOne(const std::string& sql, std::string_view op, const Binder& bind,
                std::string not_found);
  // A conditional update (an edit made only while what it started from is
  // still stored): true when it changed a row; false when it changed none but
  // `exists_sql`, bound by `bind_exists`, finds the row; NotFound otherwise.
  Result<bool> RunIfUnchanged(const std::string& sql, std::string_view op, const Binder& bind,
                              const std::string& exists_sql, const Binder& bind_exists,
                              std::string not_found);
  // Reads every row of `q` with `from_row`.
  template <typename T, typename FromRow>
  static Result<std::vector<T>> ReadAll(Query& q, FromRow from_row) {
    std::vector<T> out;
    for (;;) {
      auto more = q.Next();
      if (!more.ok()) return more.status();
      if (!*more) return out;
      out.push_back(from_row(q));
    }
  }
  // The first row of `q` mapped by `from_row`; NotFound(`not_found`) when none.
  template <typename FromRow>
  static auto ReadOne(Query& q, FromRow from_row, std::string not_found)
      -> Result<decltype(from_row(q))> {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound(std::move(not_found));
    return from_row(q);
  }

  // One page of current provisioned key sets (defined and used in provisioning.cpp).
  template <typename Row, typename FromRow>
  Result<std::vector<Row>> ReadProvisionedPage(const ProvisionedQuery& query,
                                               const char* extra_columns, const char* op,
                                               FromRow from_row);
  // [lo, hi) of the groups' tree column for the subtree rooted at `group`.
  Result<std::pair<std::string, std::string>> SubtreeRange(Connection& c, std::string_view group);
  // The rows of `select` (whose $1 and $2 are the subtree's bounds of the tree
  // column) for the subtree rooted at `root`, ordered by `order_by`.
  template <typename T, typename FromRow>
  Result<std::vector<T>> SelectInSubtree(std::string_view root, const std::string& select,
                                         std::string_view order_by, std::string_view op,
                                         FromRow from_row) {
    ROOST_SQL_LEASE(c);
    auto range = SubtreeRange(c, root);
    if (!range.ok()) return range.status();
    ROOST_SQL_QUERY(q, c, select + " ORDER BY " + std::string(order_by), op);
    q.Bind(1, range->first).Bind(2, range->second);
    return ReadAll<T>(q, from_row);
  }

  Result<Group> GetGroupOn(Connection& c, std::string_view id);
  Result<User> GetUserWhere(std::string_view column, std::string_view value, std::string not_found);
  Result<int64_t> CountDevicesOn(Connection& c, std::string_view type);
  enum class RowLock { kUpdate, kShare };
  // Locks row `id` of `table` (keyed by its `id` column) until the transaction
  // on `c` ends, so that what the caller checks next cannot change under it
  // (on SQLite the write transaction runs alone and takes no row lock). False
  // when there is no such row.
  static Result<bool> LockRow(Connection& c, std::string_view table, std::string_view id,
                              RowLock lock, std::string_view op);
  // Locks the rows of users `editor` and `target` and checks that the editor
  // still holds ADMIN (UserPatch::admin_editor); inside a write transaction.
  static Status CheckEditorStillAdmin(Connection& c, std::string_view editor,
                                      std::string_view target, std::string_view op);
  Result<Job> GetJobOn(Connection& c, std::string_view id);
  // Inside a write transaction.
  Result<BatchInsertResult> InsertDevicesOn(Connection& c, std::span<const Device> devices);
  // Queues `rows` deliveries (callback id, message, duplicate, station) in the
  // current transaction. Rows with ids (all or none) are stored with them.
  // `leases`, when not empty, holds each row's lease_until (0: none): a
  // delivery handed to a sender at ingest is leased to it from the start.
  Status QueueDeliveriesOn(Connection& c, std::span<const Delivery> rows,
                           std::span<const EpochMillis> leases = {});
  // `n` delivery ids no other row has or will be given, for QueueDeliveriesOn;
  // inside a write transaction. On SQLite not even the ids of rows deleted
  // since this store opened, so that an attempt still in flight for a deleted
  // delivery is never recorded on a new one.
  Result<std::vector<int64_t>> ReserveDeliveryIdsOn(Connection& c, size_t n);
  // CompleteDeliveries on `c`; with `all_found` a delivery that is gone is
  // NotFound (CompleteDelivery) rather than skipped.
  Result<std::vector<bool>> CompleteDeliveriesOn(Connection& c,
                                                 std::span<const DeliveryCompletion> completions,
                                                 bool all_found);
  // Adds `deltas` to the hourly statistics, in the current transaction.
  Status AddStatsOn(Connection& c, const StatsDeltas& deltas);
  // Frames by (device, time, sequence number).
  using FrameKeys = std::set<std::tuple<uint32_t, EpochMillis, int64_t>>;
  // One IngestUplinks transaction. A report of a frame in `stored` is looked
  // up as a copy of it. When a frame it made was stored already (a disengaged
  // device's number went back, and a station sent an older frame again), it
  // rolls back and names those frames in `conflicts` (its decisions are then
  // not to be used): IngestUplinks tries again with them in `stored`.
  Result<std::vector<IngestDecision>> IngestUplinksOn(Connection& c,
                                                      std::span<const UplinkReport> reports,
                                                      const IngestPolicy& policy,
                                                      const FrameKeys& stored,
                                                      FrameKeys& conflicts);
  // GetMessages on `c`, inside whatever transaction it has open.
  Result<std::vector<Message>> GetMessagesOn(Connection& c, std::span<const MessageCursor> keys);
  // Queues, in the current transaction, one copy of `prototype` (device,
  // message_time, seq_number, station, variables) for each enabled, living
  // callback of device type `type` of this kind, due at `now`. For SERVICE and
  // ERROR callbacks, whose deliveries carry their own values.
  Status QueueCallbackDeliveries(Connection& c, std::string_view type, CallbackType callback_type,
                                 CallbackSubtype subtype, const Delivery& prototype,
                                 EpochMillis now);
  Result<std::vector<size_t>> PatchDevicesOn(Connection& c, std::span<const DevicePatch> patches);
  // Records `event` (its id set) and queues its outbox emails, in the current
  // transaction.
  Status RecordEventOn(Connection& c, Event& event, EpochMillis now);

  // A callbacks row (kCallbackSelect), its sealed columns opened.
  Callback CallbackFromRow(const Query& q) const;  // callbacks.cpp
  auto CallbackReader() const {
    return [this](const Query& q) { return CallbackFromRow(q); };
  }

  driver::Pool pool_;
  std::string_view engine_;
  const crypto::Sealer* sealer_ = nullptr;  // set once, before other use (SealSecretsWith)

  // Where this store's last delivery claim stopped in deliveries_due (due
  // time, id), so that the next one need not step over the rows it leased,
  // which stay at the head of the index until their attempts are recorded.
  // Only a hint: a claim that finds fewer due rows beyond it than it wants,
  // and one claim a second in any case, looks from the head.
  struct ClaimPlace {
    EpochMillis next_attempt = 0;
    int64_t id = 0;
  };
  std::mutex claim_mu_;
  std::optional<ClaimPlace> claim_place_;  // guarded by claim_mu_
  EpochMillis last_full_claim_ = 0;        // guarded by claim_mu_

  // SQLite: the largest delivery id this store has given. SQLite's own next
  // rowid is one past the largest id present, so without it the ids of the
  // newest deliveries, once deleted (an edit that changes a callback's kind,
  // retention), would be given again while a send of theirs is in flight. A
  // restart needs no more: sends in flight end with the process.
  std::atomic<int64_t> last_delivery_id_{0};
};

}  // namespace roost::storage::sql
