// PostgreSQL implementation of Store (libpq).
//
// Threads: a pool of up to `pool_size` connections; a call borrows one for its
// duration. Every statement is prepared once per connection and run with
// parameters (values never enter SQL text). Several processes may share the
// database: migrations take an advisory lock, job chunks are claimed with
// FOR UPDATE SKIP LOCKED, and completing a chunk re-checks its lease token.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "storage/internal.h"
#include "storage/migrations.h"
#include "storage/store.h"

namespace roost::storage {
namespace {

using namespace internal;

constexpr int64_t kMigrationLockKey = 0x526f6f7374;  // "Roost"
constexpr size_t kInsertBatchRows = 5000;

// Statement parameters, all in text format except bytea (binary).
class Params {
 public:
  Params& Add(std::string_view v) {
    values_.emplace_back(std::string(v));
    formats_.push_back(0);
    return *this;
  }
  Params& Add(const char* v) { return Add(std::string_view(v)); }
  Params& Add(const std::string& v) { return Add(std::string_view(v)); }
  Params& Add(int64_t v) { return Add(std::string_view(std::to_string(v))); }
  Params& Add(std::optional<int64_t> v) { return v ? Add(*v) : Null(); }
  Params& Add(std::optional<double> v) {
    return v ? Add(std::string_view(DoubleText(*v))) : Null();
  }
  Params& Bytes(const std::vector<uint8_t>& v) {
    values_.emplace_back(std::string(v.begin(), v.end()));
    formats_.push_back(1);
    return *this;
  }
  Params& Null() {
    values_.emplace_back(std::nullopt);
    formats_.push_back(0);
    return *this;
  }
  // "$N" of the parameter added last.
  std::string Last() const { return "$" + std::to_string(values_.size()); }
  size_t size() const { return values_.size(); }

  static std::string DoubleText(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }

  friend class Conn;

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

// A query result (owns the PGresult).
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  Rows(Rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Rows& operator=(Rows&&) = delete;
  ~Rows() {
    if (r_) PQclear(r_);
  }
  int size() const { return PQntuples(r_); }
  int Affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::atoi(n) : 0;
  }
  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }
  int64_t Int(int row, int col) const {
    return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
  }
  std::optional<int64_t> OptInt(int row, int col) const {
    return IsNull(row, col) ? std::nullopt : std::optional<int64_t>(Int(row, col));
  }
  std::optional<double> OptDouble(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return std::strtod(PQgetvalue(r_, row, col), nullptr);
  }
  std::vector<uint8_t> Bytes(int row, int col) const {
    size_t n = 0;
    unsigned char* p =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
    std::vector<uint8_t> out(p, p + n);
    PQfreemem(p);
    return out;
  }

 private:
  PGresult* r_;
};

Status ErrorFromResult(PGresult* r, PGconn* c, std::string_view op) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  // The primary message names constraints and columns, never values (those are in DETAIL).
  std::string msg = "postgresql: " + std::string(op) + ": " +
                    (primary ? std::string(primary) : std::string(PQerrorMessage(c)));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string_view code = state ? state : "";
  if (code == "23505") return Status::AlreadyExists(msg);
  if (code == "23503" || code == "23502" || code == "23514" || code.starts_with("22")) {
    return Status::InvalidInput(msg);
  }
  return Status::IoError(msg);
}

class Conn {
 public:
  explicit Conn(PGconn* c) : c_(c) {}
  ~Conn() { PQfinish(c_); }
  PGconn* pg() const { return c_; }

  Result<Rows> Exec(const std::string& sql, const Params& p, std::string_view op) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "roost_" + std::to_string(prepared_.size());
      PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), static_cast<int>(p.size()), nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        Status st = ErrorFromResult(r, c_, op);
        PQclear(r);
        return st;
      }
      PQclear(r);
      it = prepared_.emplace(sql, std::move(name)).first;
    }
    std::vector<const char*> values(p.size());
    std::vector<int> lengths(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      if (p.values_[i]) {
        values[i] = p.values_[i]->data();
        lengths[i] = static_cast<int>(p.values_[i]->size());
      }
    }
    PGresult* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(p.size()), values.data(),
                                 lengths.data(), p.formats_.data(), 0);
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Status s = ErrorFromResult(r, c_, op);
      PQclear(r);
      return s;
    }
    return Rows(r);
  }

  // A statement without parameters (may hold several statements; not prepared).
  Status Simple(const std::string& sql, std::string_view op) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    Status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::Ok()
                                                                 : ErrorFromResult(r, c_, op);
    PQclear(r);
    return s;
  }

  // After a reset the server forgot our prepared statements.
  void ForgetPrepared() { prepared_.clear(); }

 private:
  PGconn* c_;
  std::unordered_map<std::string, std::string> prepared_;
};

class Tx {
 public:
  explicit Tx(Conn& c) : c_(c) {}
  ~Tx() {
    if (open_) c_.Simple("ROLLBACK", "rollback");
  }
  Status Begin(std::string_view op) {
    ROOST_RETURN_IF_ERROR(c_.Simple("BEGIN", op));
    open_ = true;
    return Status::Ok();
  }
  Status Commit(std::string_view op) {
    open_ = false;
    return c_.Simple("COMMIT", op);
  }

 private:
  Conn& c_;
  bool open_ = false;
};

#define ROOST_ASSIGN_ROWS(var, expr)                    \
  auto var##_result = (expr);                           \
  if (!var##_result.ok()) return var##_result.status(); \
  [[maybe_unused]] Rows& var = *var##_result

constexpr const char* kDeviceColumns =
    "id, name, type_id, group_id, pac, product_certificate, lat, lng, activation_time, state, "
    "token_renew_forbidden, last_time, average_snr, average_rssi, sequence_number, "
    "creation_time, dev_eui, join_eui, provision_id, serial_number, model";
constexpr const char* kUserSelect =
    "SELECT id, group_id, email, name, timezone, password_hash, roles, creation_time, "
    "update_time FROM users";
constexpr const char* kApiUserSelect =
    "SELECT login, name, group_id, password_hash, roles, creation_time FROM api_users";
constexpr const char* kDeviceTypeSelect =
    "SELECT id, name, description, group_id, keep_alive, alert_email, payload_type, "
    "payload_config, downlink_mode, downlink_data_string, automatic_renewal, creation_time, "
    "update_time FROM device_types";

Device DeviceFromRow(const Rows& r, int i) {
  Device d;
  d.id.value = static_cast<uint32_t>(r.Int(i, 0));
  d.name = r.Text(i, 1);
  d.type = r.Text(i, 2);
  d.group = r.Text(i, 3);
  d.pac = r.Text(i, 4);
  d.product_certificate = r.Text(i, 5);
  d.lat = r.OptDouble(i, 6);
  d.lng = r.OptDouble(i, 7);
  d.activation_time = r.OptInt(i, 8);
  d.state = static_cast<DeviceState>(r.Int(i, 9));
  d.token_renew_forbidden = r.Int(i, 10) != 0;
  d.last = r.OptInt(i, 11);
  d.average_snr = r.OptDouble(i, 12);
  d.average_rssi = r.OptDouble(i, 13);
  d.sequence_number = r.OptInt(i, 14);
  d.creation_time = r.Int(i, 15);
  d.dev_eui = r.Text(i, 16);
  d.join_eui = r.Text(i, 17);
  d.provision_id = r.Text(i, 18);
  d.serial_number = r.Text(i, 19);
  d.model = r.Text(i, 20);
  return d;
}

// Parameters $1..$21 in kDeviceColumns order (without creation_time: $1..$20).
Params DeviceParams(const Device& d, bool with_creation_time = true) {
  Params p;
  p.Add(int64_t{d.id.value}).Add(d.name).Add(d.type).Add(d.group).Add(d.pac);
  p.Add(d.product_certificate).Add(d.lat).Add(d.lng).Add(d.activation_time);
  p.Add(static_cast<int64_t>(d.state)).Add(int64_t{d.token_renew_forbidden ? 1 : 0});
  p.Add(d.last).Add(d.average_snr).Add(d.average_rssi).Add(d.sequence_number);
  if (with_creation_time) p.Add(d.creation_time);
  p.Add(d.dev_eui).Add(d.join_eui).Add(d.provision_id);
  p.Add(d.serial_number).Add(d.model);
  return p;
}

constexpr const char* kGroupSelect =
    "SELECT id, name, parent, tree, creation_time, description FROM groups";

// Rows owned by a group of a subtree: $1 and $2 are its bounds of the tree column.
constexpr const char* kInSubtreeGroups =
    " WHERE group_id IN (SELECT id FROM groups WHERE tree >= $1 AND tree < $2)";

Group GroupFromRow(const Rows& r, int i) {
  Group g;
  g.id = r.Text(i, 0);
  g.name = r.Text(i, 1);
  g.parent = r.IsNull(i, 2) ? std::string() : r.Text(i, 2);
  g.path = PathFromTree(r.Text(i, 3), g.id);
  g.creation_time = r.Int(i, 4);
  g.description = r.Text(i, 5);
  return g;
}

constexpr const char* kUserTokenColumns = "token_hash, user_id, expires, creation_time";

UserToken UserTokenFromRow(const Rows& r, int i) {
  UserToken t;
  t.token_hash = r.Text(i, 0);
  t.user = r.Text(i, 1);
  t.expires = r.Int(i, 2);
  t.creation_time = r.Int(i, 3);
  return t;
}

User UserFromRow(const Rows& r, int i) {
  User u;
  u.id = r.Text(i, 0);
  u.group = r.Text(i, 1);
  u.email = r.Text(i, 2);
  u.name = r.Text(i, 3);
  u.timezone = r.Text(i, 4);
  u.password_hash = r.Text(i, 5);
  u.roles = SplitRoles(r.Text(i, 6));
  u.creation_time = r.Int(i, 7);
  u.update_time = r.Int(i, 8);
  return u;
}

ApiUser ApiUserFromRow(const Rows& r, int i) {
  ApiUser u;
  u.login = r.Text(i, 0);
  u.name = r.Text(i, 1);
  u.group = r.Text(i, 2);
  u.password_hash = r.Text(i, 3);
  u.roles = SplitRoles(r.Text(i, 4));
  u.creation_time = r.Int(i, 5);
  return u;
}

DeviceType DeviceTypeFromRow(const Rows& r, int i) {
  DeviceType t;
  t.id = r.Text(i, 0);
  t.name = r.Text(i, 1);
  t.description = r.Text(i, 2);
  t.group = r.Text(i, 3);
  t.keep_alive = r.Int(i, 4);
  t.alert_email = r.Text(i, 5);
  t.payload_type = static_cast<PayloadType>(r.Int(i, 6));
  t.payload_config = r.Text(i, 7);
  t.downlink_mode = static_cast<DownlinkMode>(r.Int(i, 8));
  t.downlink_data_string = r.Text(i, 9);
  t.automatic_renewal = r.Int(i, 10) != 0;
  t.creation_time = r.Int(i, 11);
  t.update_time = r.Int(i, 12);
  return t;
}

constexpr const char* kCertificateSelect =
    "SELECT cert_key, manufacturer, product_name, revision, link, notes, creation_time, "
    "update_time FROM product_certificates";

ProductCertificate CertificateFromRow(const Rows& r, int i) {
  ProductCertificate pc;
  pc.key = r.Text(i, 0);
  pc.manufacturer = r.Text(i, 1);
  pc.product_name = r.Text(i, 2);
  pc.revision = r.Text(i, 3);
  pc.link = r.Text(i, 4);
  pc.notes = r.Text(i, 5);
  pc.creation_time = r.Int(i, 6);
  pc.update_time = r.Int(i, 7);
  return pc;
}

Params DeviceTypeParams(const DeviceType& t) {
  Params p;
  p.Add(t.id).Add(t.name).Add(t.description).Add(t.group).Add(t.keep_alive).Add(t.alert_email);
  p.Add(static_cast<int64_t>(t.payload_type)).Add(t.payload_config);
  p.Add(static_cast<int64_t>(t.downlink_mode)).Add(t.downlink_data_string);
  p.Add(int64_t{t.automatic_renewal ? 1 : 0}).Add(t.creation_time).Add(t.update_time);
  return p;
}

// PostgreSQL array literals for the batch insert (sent as parameters).
class ArrayText {
 public:
  void Text(std::string_view v) {
    Sep();
    s_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') s_ += '\\';
      s_ += c;
    }
    s_ += '"';
  }
  void Int(int64_t v) {
    Sep();
    s_ += std::to_string(v);
  }
  void Int(std::optional<int64_t> v) { v ? Int(*v) : Null(); }
  void Double(std::optional<double> v) {
    if (!v) return Null();
    Sep();
    s_ += Params::DoubleText(*v);
  }
  void Null() {
    Sep();
    s_ += "NULL";
  }
  std::string Done() { return s_ + "}"; }

 private:
  void Sep() { s_ += s_.size() == 1 ? "" : ","; }
  std::string s_ = "{";
};

class PgStore final : public Store {
 public:
  PgStore(std::string conninfo, int pool_size)
      : conninfo_(std::move(conninfo)), pool_size_(pool_size < 1 ? 1 : pool_size) {}

  Status Init() {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    return Migrate(*l->conn);
  }

  std::string_view engine() const override { return "postgresql"; }

  Result<int> SchemaVersion() override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                       Params(), "read schema version"));
    return static_cast<int>(r.Int(0, 0));
  }

  // --- groups ---
  Result<Group> CreateGroup(const Group& group) override {
    if (group.id.empty() || group.id.find('/') != std::string::npos) {
      return Status::InvalidInput("group id '" + group.id + "' is empty or contains '/'");
    }
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Group g = group;
    g.path.clear();
    if (!g.parent.empty()) {
      auto parent = GetGroupOn(c, g.parent);
      if (!parent.ok()) {
        return parent.status().code() == Status::Code::kNotFound
                   ? Status::NotFound("parent group " + g.parent + " not found")
                   : parent.status();
      }
      g.path = parent->path;
      g.path.push_back(parent->id);
    }
    Params p;
    p.Add(g.id).Add(g.name);
    if (g.parent.empty()) {
      p.Null();
    } else {
      p.Add(g.parent);
    }
    p.Add(TreeOf(g)).Add(g.creation_time).Add(g.description);
    // The parent's tree is immutable (groups do not move), so no transaction is needed;
    // the foreign key still refuses a parent deleted meanwhile.
    ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO groups (id, name, parent, tree, creation_time, "
                                "description) VALUES ($1, $2, $3, $4, $5, $6)",
                                p, "create group"));
    return g;
  }

  Result<Group> GetGroup(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    return GetGroupOn(*l->conn, id);
  }

  Result<std::vector<Group>> ListChildGroups(std::string_view parent) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    // Root groups have no parent (NULL): "" lists them.
    ROOST_ASSIGN_ROWS(
        r, parent.empty()
               ? l->conn->Exec(std::string(kGroupSelect) + " WHERE parent IS NULL ORDER BY id",
                               Params(), "list groups")
               : l->conn->Exec(std::string(kGroupSelect) + " WHERE parent = $1 ORDER BY id",
                               Params().Add(parent), "list groups"));
    std::vector<Group> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(GroupFromRow(r, i));
    return out;
  }

  Result<bool> IsInSubtree(std::string_view group, std::string_view ancestor) override {
    auto g = GetGroup(group);
    if (!g.ok()) return g.status();
    if (g->id == ancestor) return true;
    for (const auto& a : g->path) {
      if (a == ancestor) return true;
    }
    return false;
  }

  Result<std::vector<Group>> ListGroupsInSubtree(std::string_view root) override {
    return SelectInSubtree<Group>(root,
                                  std::string(kGroupSelect) + " WHERE tree >= $1 AND tree < $2",
                                  "id", "list groups", GroupFromRow);
  }

  Status UpdateGroup(const Group& g) override {
    return RunOne("UPDATE groups SET name = $1, description = $2 WHERE id = $3",
                  Params().Add(g.name).Add(g.description).Add(g.id), "update group",
                  "group " + g.id + " not found");
  }

  Status DeleteGroup(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("delete group"));
    // Lock the group: rows that reference it (children, users, ...) take a KEY SHARE
    // lock on it when inserted, so none can appear between the counts and the delete.
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT id FROM groups WHERE id = $1 FOR UPDATE",
                                  Params().Add(id), "delete group"));
      if (r.size() == 0) return Status::NotFound("group " + std::string(id) + " not found");
    }
    ROOST_ASSIGN_ROWS(counts, c.Exec("SELECT (SELECT COUNT(*) FROM groups WHERE parent = $1), "
                                     "(SELECT COUNT(*) FROM device_types WHERE group_id = $1), "
                                     "(SELECT COUNT(*) FROM devices WHERE group_id = $1), "
                                     "(SELECT COUNT(*) FROM users WHERE group_id = $1), "
                                     "(SELECT COUNT(*) FROM api_users WHERE group_id = $1)",
                                     Params().Add(id), "delete group"));
    static constexpr const char* kWhat[] = {"child groups", "device types", "devices", "users",
                                            "API users"};
    std::string held;
    for (int col = 0; col < 5; ++col) {
      if (int64_t n = counts.Int(0, col); n > 0) {
        held += (held.empty() ? "" : ", ") + std::to_string(n) + " " + kWhat[col];
      }
    }
    if (!held.empty()) {
      return Status::InvalidInput("group " + std::string(id) + " still has " + held);
    }
    {
      ROOST_ASSIGN_ROWS(
          r, c.Exec("DELETE FROM jobs WHERE group_id = $1", Params().Add(id), "delete group"));
    }
    {
      ROOST_ASSIGN_ROWS(
          r, c.Exec("DELETE FROM groups WHERE id = $1", Params().Add(id), "delete group"));
    }
    return tx.Commit("delete group");
  }

  // --- users ---
  Status CreateUser(const User& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    Params p;
    p.Add(u.id).Add(u.group).Add(u.email).Add(u.name).Add(u.timezone).Add(u.password_hash);
    p.Add(JoinRoles(u.roles)).Add(u.creation_time).Add(u.update_time);
    return Run(
        "INSERT INTO users (id, group_id, email, name, timezone, password_hash, roles, "
        "creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        p, "create user");
  }

  Result<User> GetUser(std::string_view id) override {
    return GetUserWhere("id", id, "user " + std::string(id) + " not found");
  }
  Result<User> GetUserByEmail(std::string_view email) override {
    return GetUserWhere("email", email, "no user with that email");
  }

  Result<std::vector<User>> ListUsers(std::string_view group) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r,
                      l->conn->Exec(std::string(kUserSelect) + " WHERE group_id = $1 ORDER BY id",
                                    Params().Add(group), "list users"));
    std::vector<User> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(UserFromRow(r, i));
    return out;
  }

  Status UpdateUser(const User& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    Params p;
    p.Add(u.group).Add(u.email).Add(u.name).Add(u.timezone).Add(u.password_hash);
    p.Add(JoinRoles(u.roles)).Add(u.update_time).Add(u.id);
    return RunOne(
        "UPDATE users SET group_id = $1, email = $2, name = $3, timezone = $4, "
        "password_hash = $5, roles = $6, update_time = $7 WHERE id = $8",
        p, "update user", "user " + u.id + " not found");
  }

  Status DeleteUser(std::string_view id) override {
    return RunOne("DELETE FROM users WHERE id = $1", Params().Add(id), "delete user",
                  "user " + std::string(id) + " not found");
  }

  Result<std::vector<User>> ListUsersInSubtree(std::string_view root) override {
    return SelectInSubtree<User>(root, std::string(kUserSelect) + kInSubtreeGroups, "id",
                                 "list users", UserFromRow);
  }

  // --- password tokens ---
  Status ReplacePasswordToken(const UserToken& t) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("store password token"));
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("DELETE FROM password_tokens WHERE user_id = $1",
                                  Params().Add(t.user), "store password token"));
    }
    {
      ROOST_ASSIGN_ROWS(
          r, c.Exec("INSERT INTO password_tokens (token_hash, user_id, expires, "
                    "creation_time) VALUES ($1, $2, $3, $4)",
                    Params().Add(t.token_hash).Add(t.user).Add(t.expires).Add(t.creation_time),
                    "store password token"));
    }
    return tx.Commit("store password token");
  }

  Result<UserToken> TakePasswordToken(std::string_view token_hash) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("DELETE FROM password_tokens WHERE token_hash = $1 "
                                       "RETURNING " +
                                           std::string(kUserTokenColumns),
                                       Params().Add(token_hash), "take password token"));
    if (r.size() == 0) return Status::NotFound("no such token");
    return UserTokenFromRow(r, 0);
  }

  Status DeletePasswordTokens(std::string_view user) override {
    return Run("DELETE FROM password_tokens WHERE user_id = $1", Params().Add(user),
               "delete password tokens");
  }

  // --- sessions ---
  Status CreateSession(const UserToken& t) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("create session"));
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("DELETE FROM sessions WHERE expires < $1",
                                  Params().Add(t.creation_time), "create session"));
    }
    {
      ROOST_ASSIGN_ROWS(
          r, c.Exec("INSERT INTO sessions (token_hash, user_id, expires, creation_time) "
                    "VALUES ($1, $2, $3, $4)",
                    Params().Add(t.token_hash).Add(t.user).Add(t.expires).Add(t.creation_time),
                    "create session"));
    }
    return tx.Commit("create session");
  }

  Result<UserToken> GetSession(std::string_view token_hash) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("SELECT " + std::string(kUserTokenColumns) +
                                           " FROM sessions WHERE token_hash = $1",
                                       Params().Add(token_hash), "get session"));
    if (r.size() == 0) return Status::NotFound("no such session");
    return UserTokenFromRow(r, 0);
  }

  Status DeleteSession(std::string_view token_hash) override {
    return RunOne("DELETE FROM sessions WHERE token_hash = $1", Params().Add(token_hash),
                  "delete session", "no such session");
  }

  Result<int64_t> DeleteUserSessions(std::string_view user, std::string_view keep) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("DELETE FROM sessions WHERE user_id = $1 AND "
                                       "token_hash <> $2",
                                       Params().Add(user).Add(keep), "delete sessions"));
    return static_cast<int64_t>(r.Affected());
  }

  // --- API users ---
  Status CreateApiUser(const ApiUser& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    Params p;
    p.Add(u.login).Add(u.name).Add(u.group).Add(u.password_hash).Add(JoinRoles(u.roles));
    p.Add(u.creation_time);
    return Run(
        "INSERT INTO api_users (login, name, group_id, password_hash, roles, "
        "creation_time) VALUES ($1, $2, $3, $4, $5, $6)",
        p, "create API user");
  }

  Result<ApiUser> GetApiUser(std::string_view login) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(std::string(kApiUserSelect) + " WHERE login = $1",
                                       Params().Add(login), "get API user"));
    if (r.size() == 0) return Status::NotFound("API user " + std::string(login) + " not found");
    return ApiUserFromRow(r, 0);
  }

  Result<std::vector<ApiUser>> ListApiUsers(std::string_view group) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(
        r, l->conn->Exec(std::string(kApiUserSelect) + " WHERE group_id = $1 ORDER BY login",
                         Params().Add(group), "list API users"));
    std::vector<ApiUser> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ApiUserFromRow(r, i));
    return out;
  }

  Status DeleteApiUser(std::string_view login) override {
    return RunOne("DELETE FROM api_users WHERE login = $1", Params().Add(login), "delete API user",
                  "API user " + std::string(login) + " not found");
  }

  Result<std::vector<ApiUser>> ListApiUsersInSubtree(std::string_view root) override {
    return SelectInSubtree<ApiUser>(root, std::string(kApiUserSelect) + kInSubtreeGroups, "login",
                                    "list API users", ApiUserFromRow);
  }

  // --- device types ---
  Status CreateDeviceType(const DeviceType& t) override {
    return Run(
        "INSERT INTO device_types (id, name, description, group_id, keep_alive, "
        "alert_email, payload_type, payload_config, downlink_mode, downlink_data_string, "
        "automatic_renewal, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        DeviceTypeParams(t), "create device type");
  }

  Result<DeviceType> GetDeviceType(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(std::string(kDeviceTypeSelect) + " WHERE id = $1",
                                       Params().Add(id), "get device type"));
    if (r.size() == 0) return Status::NotFound("device type " + std::string(id) + " not found");
    return DeviceTypeFromRow(r, 0);
  }

  Result<std::vector<DeviceType>> ListDeviceTypes(std::string_view group_subtree) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    std::string sql = kDeviceTypeSelect;
    Params p;
    if (!group_subtree.empty()) {
      auto range = SubtreeRange(c, group_subtree);
      if (!range.ok()) return range.status();
      p.Add(range->first).Add(range->second);
      sql += kInSubtreeGroups;
    }
    sql += " ORDER BY id";
    ROOST_ASSIGN_ROWS(r, c.Exec(sql, p, "list device types"));
    std::vector<DeviceType> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(DeviceTypeFromRow(r, i));
    return out;
  }

  Status UpdateDeviceType(const DeviceType& t) override {
    Params p;
    p.Add(t.id).Add(t.name).Add(t.description).Add(t.group).Add(t.keep_alive).Add(t.alert_email);
    p.Add(static_cast<int64_t>(t.payload_type)).Add(t.payload_config);
    p.Add(static_cast<int64_t>(t.downlink_mode)).Add(t.downlink_data_string);
    p.Add(int64_t{t.automatic_renewal ? 1 : 0}).Add(t.update_time);
    return RunOne(
        "UPDATE device_types SET name = $2, description = $3, group_id = $4, "
        "keep_alive = $5, alert_email = $6, payload_type = $7, payload_config = $8, "
        "downlink_mode = $9, downlink_data_string = $10, automatic_renewal = $11, "
        "update_time = $12 WHERE id = $1",
        p, "update device type", "device type " + t.id + " not found");
  }

  Status DeleteDeviceType(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("delete device type"));
    // Lock the type first so that no device is added to it between the count and the delete.
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT id FROM device_types WHERE id = $1 FOR UPDATE",
                                  Params().Add(id), "delete device type"));
      if (r.size() == 0) return Status::NotFound("device type " + std::string(id) + " not found");
    }
    auto count = CountDevicesOn(c, id);
    if (!count.ok()) return count.status();
    if (*count > 0) {
      return Status::InvalidInput("device type " + std::string(id) + " still has " +
                                  std::to_string(*count) + " devices");
    }
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("DELETE FROM device_types WHERE id = $1", Params().Add(id),
                                  "delete device type"));
    }
    return tx.Commit("delete device type");
  }

  Result<int64_t> CountDevices(std::string_view type) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    return CountDevicesOn(*l->conn, type);
  }

  // --- devices ---
  Status InsertDevice(const Device& d) override {
    Status st = Run(std::string("INSERT INTO devices (") + kDeviceColumns +
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                        "$15, $16, $17, $18, $19, $20, $21)",
                    DeviceParams(d), "insert device");
    if (st.code() == Status::Code::kAlreadyExists) {
      return Status::AlreadyExists("device " + d.id.ToApi() + " already registered");
    }
    return st;
  }

  Result<BatchInsertResult> InsertDevices(std::span<const Device> devices) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("insert devices"));
    auto r = InsertDevicesOn(c, devices);
    if (!r.ok()) return r.status();
    ROOST_RETURN_IF_ERROR(tx.Commit("insert devices"));
    return r;
  }

  Result<Device> GetDevice(uint32_t id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(
        r, l->conn->Exec(std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = $1",
                         Params().Add(int64_t{id}), "get device"));
    if (r.size() == 0) return Status::NotFound("device " + SigfoxId{id}.ToApi() + " not found");
    return DeviceFromRow(r, 0);
  }

  Status UpdateDevice(const Device& d) override {
    return RunOne(
        "UPDATE devices SET name = $2, type_id = $3, group_id = $4, pac = $5, "
        "product_certificate = $6, lat = $7, lng = $8, activation_time = $9, state = $10, "
        "token_renew_forbidden = $11, last_time = $12, average_snr = $13, average_rssi = $14, "
        "sequence_number = $15, dev_eui = $16, join_eui = $17, provision_id = $18, "
        "serial_number = $19, model = $20 WHERE id = $1",
        DeviceParams(d, /*with_creation_time=*/false), "update device",
        "device " + d.id.ToApi() + " not found");
  }

  Status DeleteDevice(uint32_t id) override {
    return RunOne("DELETE FROM devices WHERE id = $1", Params().Add(int64_t{id}), "delete device",
                  "device " + SigfoxId{id}.ToApi() + " not found");
  }

  Result<std::vector<size_t>> PatchDevices(std::span<const DevicePatch> patches) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("patch devices"));
    auto r = PatchDevicesOn(c, patches);
    if (!r.ok()) return r.status();
    ROOST_RETURN_IF_ERROR(tx.Commit("patch devices"));
    return r;
  }

  Result<DevicePage> ListDevices(const DeviceQuery& q) override {
    ROOST_RETURN_IF_ERROR(ValidateQuery(q));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    // Fixed SQL fragments chosen by which filters are present; every value is a parameter.
    Params p;
    std::string sql = std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id > ";
    p.Add(q.after ? int64_t{*q.after} : int64_t{-1});
    sql += p.Last();
    if (!q.group_subtree.empty()) {
      auto range = SubtreeRange(c, q.group_subtree);
      if (!range.ok()) return range.status();
      p.Add(range->first);
      sql += " AND group_id IN (SELECT id FROM groups WHERE tree >= " + p.Last();
      p.Add(range->second);
      sql += " AND tree < " + p.Last() + ")";
    }
    if (!q.type.empty()) {
      p.Add(q.type);
      sql += " AND type_id = " + p.Last();
    }
    if (!q.id_prefix.empty()) {
      IdRange ids = *IdPrefixRange(q.id_prefix);
      p.Add(int64_t{ids.lo});
      sql += " AND id BETWEEN " + p.Last();
      p.Add(int64_t{ids.hi});
      sql += " AND " + p.Last();
    }
    if (!q.name_prefix.empty()) {
      p.Add(q.name_prefix);
      sql += " AND name >= " + p.Last();
      if (auto hi = PrefixUpperBound(q.name_prefix)) {
        p.Add(*hi);
        sql += " AND name < " + p.Last();
      }
    }
    p.Add(int64_t{q.limit} + 1);
    sql += " ORDER BY id LIMIT " + p.Last();
    ROOST_ASSIGN_ROWS(r, c.Exec(sql, p, "list devices"));
    DevicePage page;
    const int n = std::min(r.size(), q.limit);
    page.devices.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) page.devices.push_back(DeviceFromRow(r, i));
    if (r.size() > q.limit) page.next = page.devices.back().id.value;
    return page;
  }

  // --- credentials ---
  Status UpsertCredentials(std::span<const Credential> creds) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("store credentials"));
    for (const Credential& cr : creds) {
      Params p;
      p.Add(int64_t{cr.device_id.value}).Bytes(cr.sealed_key).Add(cr.initial_pac);
      p.Add(cr.creation_time);
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO credentials (device_id, sealed_key, initial_pac, "
                                  "creation_time) VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) "
                                  "DO UPDATE SET sealed_key = excluded.sealed_key, initial_pac = "
                                  "excluded.initial_pac, creation_time = excluded.creation_time",
                                  p, "store credentials"));
    }
    return tx.Commit("store credentials");
  }

  Result<Credential> GetCredential(uint32_t device_id) override {
    auto r = GetCredentials(std::span<const uint32_t>(&device_id, 1));
    if (!r.ok()) return r.status();
    if (!(*r)[0]) {
      return Status::NotFound("no credentials for device " + SigfoxId{device_id}.ToApi());
    }
    return std::move(*(*r)[0]);
  }

  Result<std::vector<std::optional<Credential>>> GetCredentials(
      std::span<const uint32_t> ids) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    std::vector<std::optional<Credential>> out(ids.size());
    std::unordered_map<uint32_t, std::vector<size_t>> where;
    ArrayText arr;
    for (size_t i = 0; i < ids.size(); ++i) {
      where[ids[i]].push_back(i);
      arr.Int(int64_t{ids[i]});
    }
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("SELECT device_id, sealed_key, initial_pac, creation_time "
                                       "FROM credentials WHERE device_id = ANY($1::bigint[])",
                                       Params().Add(arr.Done()), "read credentials"));
    for (int i = 0; i < r.size(); ++i) {
      Credential cr;
      cr.device_id.value = static_cast<uint32_t>(r.Int(i, 0));
      cr.sealed_key = r.Bytes(i, 1);
      cr.initial_pac = r.Text(i, 2);
      cr.creation_time = r.Int(i, 3);
      for (size_t at : where[cr.device_id.value]) out[at] = cr;
    }
    return out;
  }

  // --- jobs ---
  Status CreateJob(const Job& job, std::span<const std::string> items,
                   int64_t chunk_size) override {
    if (chunk_size < 1) return Status::InvalidInput("job chunk size must be at least 1");
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("create job"));
    const int64_t total = static_cast<int64_t>(items.size());
    const int64_t chunks = (total + chunk_size - 1) / chunk_size;
    {
      Params p;
      p.Add(job.id).Add(job.kind).Add(job.group).Add(job.params).Add(total).Add(chunks);
      p.Add(job.creation_time);
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO jobs (id, kind, group_id, params, total, processed, "
                                  "success, chunks_left, creation_time) "
                                  "VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7)",
                                  p, "create job"));
    }
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t first = k * chunk_size;
      const int64_t n = std::min(chunk_size, total - first);
      std::string packed =
          PackItems(items.subspan(static_cast<size_t>(first), static_cast<size_t>(n)));
      Params p;
      p.Add(job.id).Add(k).Add(first).Bytes(std::vector<uint8_t>(packed.begin(), packed.end()));
      p.Add(job.creation_time);
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO job_chunks (job_id, chunk, first_item, items, "
                                  "state, job_created) VALUES ($1, $2, $3, $4, 0, $5)",
                                  p, "create job"));
    }
    return tx.Commit("create job");
  }

  Result<Job> GetJob(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    return GetJobOn(*l->conn, id);
  }

  Result<std::optional<JobClaim>> ClaimChunk(std::string_view worker, EpochMillis now,
                                             int64_t lease_ms) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    JobClaim claim;
    claim.token = NewLeaseToken(worker);
    claim.lease_until = now + lease_ms;
    Params p;
    p.Add(worker).Add(claim.token).Add(claim.lease_until).Add(now);
    // One statement: the row lock taken by FOR UPDATE makes concurrent claimers skip
    // this chunk, and the UPDATE commits with it.
    ROOST_ASSIGN_ROWS(
        r, c.Exec("UPDATE job_chunks c SET state = 1, worker = $1, token = $2, lease_until = $3 "
                  "FROM (SELECT job_id, chunk FROM job_chunks "
                  "      WHERE state < 2 AND (state = 0 OR lease_until < $4) "
                  "      ORDER BY job_created, job_id, chunk LIMIT 1 FOR UPDATE SKIP LOCKED) n "
                  "WHERE c.job_id = n.job_id AND c.chunk = n.chunk "
                  "RETURNING c.job_id, c.chunk, c.first_item, c.items",
                  p, "claim job chunk"));
    if (r.size() == 0) return std::optional<JobClaim>();
    claim.chunk = r.Int(0, 1);
    claim.first_item = r.Int(0, 2);
    std::vector<uint8_t> packed = r.Bytes(0, 3);
    auto job = GetJobOn(c, r.Text(0, 0));
    if (!job.ok()) return job.status();
    claim.job = std::move(*job);
    auto items =
        UnpackItems(std::string_view(reinterpret_cast<const char*>(packed.data()), packed.size()));
    if (!items.ok()) return items.status();
    claim.items = std::move(*items);
    return std::optional<JobClaim>(std::move(claim));
  }

  Status CompleteChunk(const JobClaim& claim, const ChunkOutcome& outcome) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("complete job chunk"));
    {
      ROOST_ASSIGN_ROWS(r,
                        c.Exec("UPDATE job_chunks SET state = 2, token = NULL, items = ''::bytea "
                               "WHERE job_id = $1 AND chunk = $2 AND state = 1 AND token = $3",
                               Params().Add(claim.job.id).Add(claim.chunk).Add(claim.token),
                               "complete job chunk"));
      if (r.Affected() == 0) {
        return Status::NotFound("job " + claim.job.id + " chunk " + std::to_string(claim.chunk) +
                                ": lease lost to another worker");
      }
    }
    auto inserted = InsertDevicesOn(c, outcome.insert);
    if (!inserted.ok()) return inserted.status();
    std::vector<JobFailure> failures = outcome.failed;
    for (size_t i : inserted->conflicts) {
      failures.push_back({outcome.insert[i].id.ToApi(), "already registered"});
    }
    auto mismatched = PatchDevicesOn(c, outcome.patch);
    if (!mismatched.ok()) return mismatched.status();
    for (size_t i : *mismatched) {
      failures.push_back({SigfoxId{outcome.patch[i].id}.ToApi(), outcome.patch_mismatch});
    }
    if (!failures.empty()) {
      ArrayText seq, ids, messages;
      for (size_t i = 0; i < failures.size(); ++i) {
        seq.Int(static_cast<int64_t>(i));
        ids.Text(failures[i].id);
        messages.Text(failures[i].message);
      }
      Params p;
      p.Add(claim.job.id).Add(claim.chunk).Add(seq.Done()).Add(ids.Done()).Add(messages.Done());
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO job_failures (job_id, chunk, seq, item_id, message) "
                                  "SELECT $1, $2, s, i, m FROM unnest($3::bigint[], $4::text[], "
                                  "$5::text[]) AS f(s, i, m)",
                                  p, "complete job chunk"));
    }
    const auto n = static_cast<int64_t>(claim.items.size());
    const int64_t success = std::max<int64_t>(0, n - static_cast<int64_t>(failures.size()));
    {
      ROOST_ASSIGN_ROWS(
          r, c.Exec("UPDATE jobs SET processed = processed + $1, success = success + "
                    "$2, chunks_left = chunks_left - 1 WHERE id = $3",
                    Params().Add(n).Add(success).Add(claim.job.id), "complete job chunk"));
    }
    return tx.Commit("complete job chunk");
  }

  Result<JobStatus> GetJobStatus(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("read job status"));
    JobStatus st;
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT total, processed, success, chunks_left FROM jobs "
                                  "WHERE id = $1",
                                  Params().Add(id), "read job status"));
      if (r.size() == 0) return Status::NotFound("job " + std::string(id) + " not found");
      st.total = r.Int(0, 0);
      st.processed = r.Int(0, 1);
      st.success = r.Int(0, 2);
      st.done = r.Int(0, 3) == 0;
    }
    ROOST_ASSIGN_ROWS(r, c.Exec("SELECT item_id, message FROM job_failures WHERE job_id = $1 "
                                "ORDER BY chunk, seq",
                                Params().Add(id), "read job status"));
    for (int i = 0; i < r.size(); ++i) st.failed.push_back({r.Text(i, 0), r.Text(i, 1)});
    ROOST_RETURN_IF_ERROR(tx.Commit("read job status"));
    return st;
  }

  // --- product certificates ---
  Status UpsertProductCertificates(std::span<const ProductCertificate> certs) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("store product certificates"));
    for (const ProductCertificate& pc : certs) {
      Params p;
      p.Add(pc.key).Add(pc.manufacturer).Add(pc.product_name).Add(pc.revision).Add(pc.link);
      p.Add(pc.notes).Add(CertificateSearchText(pc)).Add(pc.creation_time).Add(pc.update_time);
      ROOST_ASSIGN_ROWS(
          r, c.Exec("INSERT INTO product_certificates (cert_key, manufacturer, product_name, "
                    "revision, link, notes, search_text, creation_time, update_time) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (cert_key) DO UPDATE SET "
                    "manufacturer = excluded.manufacturer, product_name = excluded.product_name, "
                    "revision = excluded.revision, link = excluded.link, notes = excluded.notes, "
                    "search_text = excluded.search_text, update_time = excluded.update_time",
                    p, "store product certificates"));
    }
    return tx.Commit("store product certificates");
  }

  Result<ProductCertificate> GetProductCertificate(std::string_view key) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(std::string(kCertificateSelect) + " WHERE cert_key = $1",
                                       Params().Add(key), "get product certificate"));
    if (r.size() == 0) {
      return Status::NotFound("product certificate " + std::string(key) + " not found");
    }
    return CertificateFromRow(r, 0);
  }

  Result<CertificatePage> SearchProductCertificates(const CertificateQuery& q) override {
    ROOST_RETURN_IF_ERROR(ValidateCertificateQuery(q));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Params p;
    p.Add(q.after);
    std::string sql = std::string(kCertificateSelect) + " WHERE cert_key > " + p.Last();
    if (!q.text.empty()) {
      p.Add(CertificateNeedle(q.text));
      sql += " AND strpos(search_text, " + p.Last() + ") > 0";
    }
    p.Add(int64_t{q.limit} + 1);
    sql += " ORDER BY cert_key LIMIT " + p.Last();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(sql, p, "search product certificates"));
    CertificatePage page;
    const int n = std::min(r.size(), q.limit);
    for (int i = 0; i < n; ++i) page.certificates.push_back(CertificateFromRow(r, i));
    if (r.size() > q.limit) page.next = page.certificates.back().key;
    return page;
  }

  // --- sequence-number check ---
  Result<int64_t> DisengageSequenceCheck(std::string_view type, EpochMillis now) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("disengage sequence check"));
    {
      // Lock the type so that its device set is the one seen by DeleteDeviceType too.
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT id FROM device_types WHERE id = $1 FOR SHARE",
                                  Params().Add(type), "disengage sequence check"));
      if (r.size() == 0) return Status::NotFound("device type " + std::string(type) + " not found");
    }
    int64_t flagged = 0;
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO sequence_check_disengaged (device_id, since) "
                                  "SELECT id, $1 FROM devices WHERE type_id = $2 "
                                  "ON CONFLICT (device_id) DO UPDATE SET since = excluded.since",
                                  Params().Add(now).Add(type), "disengage sequence check"));
      flagged = r.Affected();
    }
    ROOST_RETURN_IF_ERROR(tx.Commit("disengage sequence check"));
    return flagged;
  }

  Result<bool> ClearSequenceCheckDisengaged(uint32_t device_id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec("DELETE FROM sequence_check_disengaged WHERE device_id = $1",
                                       Params().Add(int64_t{device_id}), "clear disengaged flag"));
    return r.Affected() > 0;
  }

 private:
  struct Lease {
    PgStore* store = nullptr;
    std::unique_ptr<Conn> conn;
    Lease(PgStore* s, std::unique_ptr<Conn> c) : store(s), conn(std::move(c)) {}
    Lease(Lease&& o) noexcept : store(o.store), conn(std::move(o.conn)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn) store->Release(std::move(conn));
    }
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < pool_size_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (PQstatus(c->pg()) != CONNECTION_OK) {  // the server restarted or dropped us
        PQreset(c->pg());
        c->ForgetPrepared();
        if (PQstatus(c->pg()) != CONNECTION_OK) {
          std::string msg = PQerrorMessage(c->pg());
          while (!msg.empty() && msg.back() == '\n') msg.pop_back();
          c.reset();
          std::lock_guard relock(mu_);
          --open_;
          cv_.notify_one();
          return Status::IoError("postgresql: reconnect: " + msg);
        }
      }
      return Lease(this, std::move(c));
    }
    ++open_;
    lock.unlock();
    PGconn* pg = PQconnectdb(conninfo_.c_str());
    if (PQstatus(pg) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(pg);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      PQfinish(pg);
      std::lock_guard relock(mu_);
      --open_;
      cv_.notify_one();
      return Status::IoError("postgresql: connect: " + msg);
    }
    auto c = std::make_unique<Conn>(pg);
    // Warnings (e.g. NOTICE from CREATE ... IF NOT EXISTS) are not ours to print.
    PQsetNoticeProcessor(
        pg, [](void*, const char*) {}, nullptr);
    return Lease(this, std::move(c));
  }

  void Release(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }

  Status Migrate(Conn& c) {
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("migrate schema"));
    {
      // Instances starting together migrate one after the other.
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT pg_advisory_xact_lock($1)",
                                  Params().Add(kMigrationLockKey), "migrate schema"));
    }
    ROOST_RETURN_IF_ERROR(
        c.Simple("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                 "PRIMARY KEY, name TEXT NOT NULL)",
                 "migrate schema"));
    int current = 0;
    {
      ROOST_ASSIGN_ROWS(r, c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                  Params(), "migrate schema"));
      current = static_cast<int>(r.Int(0, 0));
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      const std::string op =
          "migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")";
      ROOST_RETURN_IF_ERROR(c.Simple(ForDialect(m.sql, Dialect::kPostgres), op));
      ROOST_ASSIGN_ROWS(r, c.Exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                  Params().Add(int64_t{m.version}).Add(m.name), op));
    }
    return tx.Commit("migrate schema");
  }

  Status Run(const std::string& sql, const Params& p, std::string_view op) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    auto r = l->conn->Exec(sql, p, op);
    return r.status();
  }

  // Runs a statement that must touch one row; NotFound otherwise.
  Status RunOne(const std::string& sql, const Params& p, std::string_view op,
                std::string not_found) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(sql, p, op));
    if (r.Affected() == 0) return Status::NotFound(std::move(not_found));
    return Status::Ok();
  }

  Result<Group> GetGroupOn(Conn& c, std::string_view id) {
    ROOST_ASSIGN_ROWS(
        r, c.Exec(std::string(kGroupSelect) + " WHERE id = $1", Params().Add(id), "get group"));
    if (r.size() == 0) return Status::NotFound("group " + std::string(id) + " not found");
    return GroupFromRow(r, 0);
  }

  // The rows of `select` (whose $1 and $2 are the subtree's bounds of the tree
  // column) for the subtree rooted at `root`, ordered by `order_by`.
  template <typename T, typename FromRow>
  Result<std::vector<T>> SelectInSubtree(std::string_view root, const std::string& select,
                                         const char* order_by, const char* what, FromRow from_row) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    auto range = SubtreeRange(c, root);
    if (!range.ok()) return range.status();
    ROOST_ASSIGN_ROWS(r, c.Exec(select + " ORDER BY " + order_by,
                                Params().Add(range->first).Add(range->second), what));
    std::vector<T> out;
    out.reserve(static_cast<size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) out.push_back(from_row(r, i));
    return out;
  }

  Result<std::pair<std::string, std::string>> SubtreeRange(Conn& c, std::string_view group) {
    ROOST_ASSIGN_ROWS(
        r, c.Exec("SELECT tree FROM groups WHERE id = $1", Params().Add(group), "get group"));
    if (r.size() == 0) return Status::NotFound("group " + std::string(group) + " not found");
    std::string lo = r.Text(0, 0);
    std::string hi = lo;
    hi.back() = '/' + 1;
    return std::make_pair(std::move(lo), std::move(hi));
  }

  Result<User> GetUserWhere(const char* column, std::string_view value, std::string not_found) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_ROWS(r, l->conn->Exec(std::string(kUserSelect) + " WHERE " + column + " = $1",
                                       Params().Add(value), "get user"));
    if (r.size() == 0) return Status::NotFound(std::move(not_found));
    return UserFromRow(r, 0);
  }

  Result<int64_t> CountDevicesOn(Conn& c, std::string_view type) {
    ROOST_ASSIGN_ROWS(r, c.Exec("SELECT COUNT(*) FROM devices WHERE type_id = $1",
                                Params().Add(type), "count devices"));
    return r.Int(0, 0);
  }

  Result<Job> GetJobOn(Conn& c, std::string_view id) {
    ROOST_ASSIGN_ROWS(r, c.Exec("SELECT id, kind, group_id, params, total, creation_time "
                                "FROM jobs WHERE id = $1",
                                Params().Add(id), "get job"));
    if (r.size() == 0) return Status::NotFound("job " + std::string(id) + " not found");
    Job j;
    j.id = r.Text(0, 0);
    j.kind = r.Text(0, 1);
    j.group = r.Text(0, 2);
    j.params = r.Text(0, 3);
    j.total = r.Int(0, 4);
    j.creation_time = r.Int(0, 5);
    return j;
  }

  // Inside a transaction: one prepared UPDATE per patch. Absent fields are NULL
  // and COALESCE keeps the column; lat/lng carry a "set" flag since NULL is also
  // a value for them.
  Result<std::vector<size_t>> PatchDevicesOn(Conn& c, std::span<const DevicePatch> patches) {
    std::vector<size_t> mismatched;
    const std::vector<bool> repeated = RepeatedPatchIds(patches);
    for (size_t i = 0; i < patches.size(); ++i) {
      if (repeated[i]) {
        mismatched.push_back(i);
        continue;
      }
      const DevicePatch& d = patches[i];
      Params p;
      p.Add(int64_t{d.id}).Add(d.expect_group).Add(d.expect_pac);
      d.name ? p.Add(*d.name) : p.Null();
      d.type ? p.Add(*d.type) : p.Null();
      d.group ? p.Add(*d.group) : p.Null();
      d.pac ? p.Add(*d.pac) : p.Null();
      d.product_certificate ? p.Add(*d.product_certificate) : p.Null();
      p.Add(int64_t{d.lat ? 1 : 0}).Add(d.lat ? *d.lat : std::nullopt);
      p.Add(int64_t{d.lng ? 1 : 0}).Add(d.lng ? *d.lng : std::nullopt);
      d.token_renew_forbidden ? p.Add(int64_t{*d.token_renew_forbidden ? 1 : 0}) : p.Null();
      ROOST_ASSIGN_ROWS(
          r, c.Exec("UPDATE devices SET name = COALESCE($4::text, name), "
                    "type_id = COALESCE($5::text, type_id), group_id = COALESCE($6::text, "
                    "group_id), pac = COALESCE($7::text, pac), product_certificate = "
                    "COALESCE($8::text, product_certificate), lat = CASE WHEN $9::int = 1 THEN "
                    "$10::float8 ELSE lat END, lng = CASE WHEN $11::int = 1 THEN $12::float8 "
                    "ELSE lng END, token_renew_forbidden = COALESCE($13::int, "
                    "token_renew_forbidden) WHERE id = $1 AND group_id = $2::text AND "
                    "($3::text = '' OR pac = $3::text)",
                    p, "patch devices"));
      if (r.Affected() == 0) mismatched.push_back(i);
    }
    return mismatched;
  }

  // Inside a transaction: one INSERT ... SELECT FROM unnest(arrays) per kInsertBatchRows.
  Result<BatchInsertResult> InsertDevicesOn(Conn& c, std::span<const Device> devices) {
    BatchInsertResult result;
    const std::vector<bool> repeated = RepeatedIds(devices);
    std::vector<size_t> batch;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::Ok();
      constexpr int kColumns = 21;
      ArrayText cols[kColumns];
      for (size_t i : batch) {
        const Device& d = devices[i];
        cols[0].Int(int64_t{d.id.value});
        cols[1].Text(d.name);
        cols[2].Text(d.type);
        cols[3].Text(d.group);
        cols[4].Text(d.pac);
        cols[5].Text(d.product_certificate);
        cols[6].Double(d.lat);
        cols[7].Double(d.lng);
        cols[8].Int(d.activation_time);
        cols[9].Int(static_cast<int64_t>(d.state));
        cols[10].Int(int64_t{d.token_renew_forbidden ? 1 : 0});
        cols[11].Int(d.last);
        cols[12].Double(d.average_snr);
        cols[13].Double(d.average_rssi);
        cols[14].Int(d.sequence_number);
        cols[15].Int(d.creation_time);
        cols[16].Text(d.dev_eui);
        cols[17].Text(d.join_eui);
        cols[18].Text(d.provision_id);
        cols[19].Text(d.serial_number);
        cols[20].Text(d.model);
      }
      Params p;
      for (auto& col : cols) p.Add(col.Done());
      ROOST_ASSIGN_ROWS(
          r, c.Exec(std::string("INSERT INTO devices (") + kDeviceColumns +
                        ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
                        "$5::text[], $6::text[], $7::float8[], $8::float8[], $9::bigint[], "
                        "$10::int[], $11::int[], $12::bigint[], $13::float8[], $14::float8[], "
                        "$15::bigint[], $16::bigint[], $17::text[], $18::text[], $19::text[], "
                        "$20::text[], $21::text[]) ON CONFLICT (id) DO NOTHING RETURNING id",
                    p, "insert devices"));
      std::unordered_map<uint32_t, bool> inserted;
      inserted.reserve(static_cast<size_t>(r.size()));
      for (int i = 0; i < r.size(); ++i) inserted[static_cast<uint32_t>(r.Int(i, 0))] = true;
      for (size_t i : batch) {
        if (inserted.count(devices[i].id.value)) {
          ++result.inserted;
        } else {
          result.conflicts.push_back(i);
        }
      }
      batch.clear();
      return Status::Ok();
    };
    for (size_t i = 0; i < devices.size(); ++i) {
      if (repeated[i]) {
        result.conflicts.push_back(i);
        continue;
      }
      batch.push_back(i);
      if (batch.size() == kInsertBatchRows) ROOST_RETURN_IF_ERROR(flush());
    }
    ROOST_RETURN_IF_ERROR(flush());
    std::sort(result.conflicts.begin(), result.conflicts.end());
    return result;
  }

  std::string conninfo_;
  int pool_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, int pool_size) {
  auto store = std::make_unique<PgStore>(conninfo, pool_size);
  ROOST_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace roost::storage
