// SQLite implementation of Store.
//
// Threads: a small pool of connections to the same file (WAL mode lets readers run
// beside the one writer). A call borrows one connection for its duration, so a
// connection and its prepared statements are only ever used by one thread at a
// time. Writes run in BEGIN IMMEDIATE transactions; busy_timeout makes a second
// writer (thread or process) wait instead of failing.
#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "storage/internal.h"
#include "storage/migrations.h"
#include "storage/store.h"

namespace roost::storage {
namespace {

using namespace internal;

constexpr int kPoolSize = 4;
constexpr int kBusyTimeoutMs = 10000;

Status ErrorFrom(sqlite3* db, int rc, std::string_view op) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = "sqlite: " + std::string(op) + ": " +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return Status::AlreadyExists(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_CHECK:
      return Status::InvalidInput(msg);
    default:
      return Status::IoError(msg);
  }
}

// A prepared statement borrowed from a connection's cache; reset when it goes away.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindStatic(int i, std::string_view v) {  // v outlives the statement's use
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::optional<int64_t> v) {
    if (v) {
      sqlite3_bind_int64(s_, i, *v);
    } else {
      sqlite3_bind_null(s_, i);
    }
    return *this;
  }
  Stmt& Bind(int i, std::optional<double> v) {
    if (v) {
      sqlite3_bind_double(s_, i, *v);
    } else {
      sqlite3_bind_null(s_, i);
    }
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  // Runs a statement that returns no rows.
  Status Run(std::string_view op) {
    int rc = sqlite3_step(s_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return ErrorFrom(db_, rc, op);
    sqlite3_reset(s_);
    return Status::Ok();
  }

  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  std::vector<uint8_t> Blob(int col) const {
    auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(s_, col)) : std::vector<uint8_t>();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::optional<int64_t> OptInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }
  std::optional<double> OptDouble(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<double>(sqlite3_column_double(s_, col));
  }
  int Changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Conn {
 public:
  explicit Conn(sqlite3* db) : db_(db) {}
  ~Conn() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }
  sqlite3* db() const { return db_; }

  Result<std::unique_ptr<Stmt>> Prepare(const std::string& sql, std::string_view op) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return ErrorFrom(db_, rc, op);
      it = cache_.emplace(sql, s).first;
    }
    return std::make_unique<Stmt>(db_, it->second);
  }

  Status Exec(const char* sql, std::string_view op) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : ErrorFrom(db_, rc, op);
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Rolls back unless committed.
class Tx {
 public:
  Tx(Conn& c) : c_(c) {}
  ~Tx() {
    if (open_) c_.Exec("ROLLBACK", "rollback");
  }
  Status Begin(std::string_view op, bool write = true) {
    ROOST_RETURN_IF_ERROR(c_.Exec(write ? "BEGIN IMMEDIATE" : "BEGIN", op));
    open_ = true;
    return Status::Ok();
  }
  Status Commit(std::string_view op) {
    ROOST_RETURN_IF_ERROR(c_.Exec("COMMIT", op));
    open_ = false;
    return Status::Ok();
  }

 private:
  Conn& c_;
  bool open_ = false;
};

#define ROOST_ASSIGN_STMT(var, conn, sql, op)           \
  auto var##_result = (conn).Prepare(sql, op);          \
  if (!var##_result.ok()) return var##_result.status(); \
  Stmt& var = **var##_result

constexpr const char* kDeviceColumns =
    "id, name, type_id, group_id, pac, product_certificate, lat, lng, activation_time, state, "
    "token_renew_forbidden, last_time, average_snr, average_rssi, sequence_number, "
    "creation_time, dev_eui, join_eui, provision_id, serial_number, model";

Device DeviceFromRow(const Stmt& s) {
  Device d;
  d.id.value = static_cast<uint32_t>(s.Int(0));
  d.name = s.Text(1);
  d.type = s.Text(2);
  d.group = s.Text(3);
  d.pac = s.Text(4);
  d.product_certificate = s.Text(5);
  d.lat = s.OptDouble(6);
  d.lng = s.OptDouble(7);
  d.activation_time = s.OptInt(8);
  d.state = static_cast<DeviceState>(s.Int(9));
  d.token_renew_forbidden = s.Int(10) != 0;
  d.last = s.OptInt(11);
  d.average_snr = s.OptDouble(12);
  d.average_rssi = s.OptDouble(13);
  d.sequence_number = s.OptInt(14);
  d.creation_time = s.Int(15);
  d.dev_eui = s.Text(16);
  d.join_eui = s.Text(17);
  d.provision_id = s.Text(18);
  d.serial_number = s.Text(19);
  d.model = s.Text(20);
  return d;
}

// Binds parameters 1..21 in kDeviceColumns order (creation_time is 16).
void BindDevice(Stmt& s, const Device& d) {
  s.Bind(1, static_cast<int64_t>(d.id.value))
      .BindStatic(2, d.name)
      .BindStatic(3, d.type)
      .BindStatic(4, d.group)
      .BindStatic(5, d.pac)
      .BindStatic(6, d.product_certificate)
      .Bind(7, d.lat)
      .Bind(8, d.lng)
      .Bind(9, d.activation_time)
      .Bind(10, static_cast<int64_t>(d.state))
      .Bind(11, int64_t{d.token_renew_forbidden ? 1 : 0})
      .Bind(12, d.last)
      .Bind(13, d.average_snr)
      .Bind(14, d.average_rssi)
      .Bind(15, d.sequence_number)
      .Bind(16, d.creation_time)
      .BindStatic(17, d.dev_eui)
      .BindStatic(18, d.join_eui)
      .BindStatic(19, d.provision_id)
      .BindStatic(20, d.serial_number)
      .BindStatic(21, d.model);
}

constexpr const char* kGroupSelect =
    "SELECT id, name, parent, tree, creation_time, description FROM groups";

// Rows owned by a group of a subtree: the two ? are its bounds of the tree column.
constexpr const char* kInSubtreeGroups =
    " WHERE group_id IN (SELECT id FROM groups WHERE tree >= ? AND tree < ?)";

Group GroupFromRow(const Stmt& s) {
  Group g;
  g.id = s.Text(0);
  g.name = s.Text(1);
  g.parent = s.Text(2);
  g.path = PathFromTree(s.Text(3), g.id);
  g.creation_time = s.Int(4);
  g.description = s.Text(5);
  return g;
}

UserToken UserTokenFromRow(const Stmt& s) {
  UserToken t;
  t.token_hash = s.Text(0);
  t.user = s.Text(1);
  t.expires = s.Int(2);
  t.creation_time = s.Int(3);
  return t;
}

User UserFromRow(const Stmt& s) {
  User u;
  u.id = s.Text(0);
  u.group = s.Text(1);
  u.email = s.Text(2);
  u.name = s.Text(3);
  u.timezone = s.Text(4);
  u.password_hash = s.Text(5);
  u.roles = SplitRoles(s.Text(6));
  u.creation_time = s.Int(7);
  u.update_time = s.Int(8);
  return u;
}

ApiUser ApiUserFromRow(const Stmt& s) {
  ApiUser u;
  u.login = s.Text(0);
  u.name = s.Text(1);
  u.group = s.Text(2);
  u.password_hash = s.Text(3);
  u.roles = SplitRoles(s.Text(4));
  u.creation_time = s.Int(5);
  return u;
}

DeviceType DeviceTypeFromRow(const Stmt& s) {
  DeviceType t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.description = s.Text(2);
  t.group = s.Text(3);
  t.keep_alive = s.Int(4);
  t.alert_email = s.Text(5);
  t.payload_type = static_cast<PayloadType>(s.Int(6));
  t.payload_config = s.Text(7);
  t.downlink_mode = static_cast<DownlinkMode>(s.Int(8));
  t.downlink_data_string = s.Text(9);
  t.automatic_renewal = s.Int(10) != 0;
  t.creation_time = s.Int(11);
  t.update_time = s.Int(12);
  return t;
}

void BindDeviceType(Stmt& s, const DeviceType& t) {
  s.Bind(1, t.id)
      .Bind(2, t.name)
      .Bind(3, t.description)
      .Bind(4, t.group)
      .Bind(5, t.keep_alive)
      .Bind(6, t.alert_email)
      .Bind(7, static_cast<int64_t>(t.payload_type))
      .Bind(8, t.payload_config)
      .Bind(9, static_cast<int64_t>(t.downlink_mode))
      .Bind(10, t.downlink_data_string)
      .Bind(11, int64_t{t.automatic_renewal ? 1 : 0})
      .Bind(12, t.creation_time)
      .Bind(13, t.update_time);
}

constexpr const char* kCertificateSelect =
    "SELECT cert_key, manufacturer, product_name, revision, link, notes, creation_time, "
    "update_time FROM product_certificates";

ProductCertificate CertificateFromRow(const Stmt& s) {
  ProductCertificate pc;
  pc.key = s.Text(0);
  pc.manufacturer = s.Text(1);
  pc.product_name = s.Text(2);
  pc.revision = s.Text(3);
  pc.link = s.Text(4);
  pc.notes = s.Text(5);
  pc.creation_time = s.Int(6);
  pc.update_time = s.Int(7);
  return pc;
}

Status NotFoundOr(int rc, Conn& c, std::string_view op, std::string what) {
  if (rc == SQLITE_DONE) return Status::NotFound(std::move(what));
  return ErrorFrom(c.db(), rc, op);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}

  Status Init() {
    auto lease = Acquire();
    if (!lease.ok()) return lease.status();
    Conn& c = *lease->conn;
    // WAL is a property of the file; set once here.
    ROOST_RETURN_IF_ERROR(c.Exec("PRAGMA journal_mode=WAL", "enable WAL"));
    return Migrate(c);
  }

  std::string_view engine() const override { return "sqlite"; }

  Result<int> SchemaVersion() override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                      "read schema version");
    int rc = s.Step();
    if (rc != SQLITE_ROW) return ErrorFrom(l->conn->db(), rc, "read schema version");
    return static_cast<int>(s.Int(0));
  }

  // --- groups ---
  Result<Group> CreateGroup(const Group& group) override {
    if (group.id.empty() || group.id.find('/') != std::string::npos) {
      return Status::InvalidInput("group id '" + group.id + "' is empty or contains '/'");
    }
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("create group"));
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
    {
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO groups (id, name, parent, tree, creation_time, description) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        "create group");
      s.Bind(1, g.id).Bind(2, g.name).Bind(4, TreeOf(g)).Bind(5, g.creation_time);
      s.Bind(6, g.description);
      if (!g.parent.empty()) s.Bind(3, g.parent);
      ROOST_RETURN_IF_ERROR(s.Run("create group"));
    }
    ROOST_RETURN_IF_ERROR(tx.Commit("create group"));
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
    // Root groups have no parent (NULL): "" lists them ("IS" matches NULL too).
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kGroupSelect) + " WHERE parent IS ? ORDER BY id",
                      "list groups");
    if (!parent.empty()) s.Bind(1, parent);
    std::vector<Group> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(GroupFromRow(s));
    if (rc != SQLITE_DONE) return ErrorFrom(l->conn->db(), rc, "list groups");
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
    return SelectInSubtree<Group>(root, std::string(kGroupSelect) + " WHERE tree >= ? AND tree < ?",
                                  "id", "list groups", GroupFromRow);
  }

  Status UpdateGroup(const Group& g) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "UPDATE groups SET name = ?, description = ? WHERE id = ?",
                      "update group");
    s.Bind(1, g.name).Bind(2, g.description).Bind(3, g.id);
    ROOST_RETURN_IF_ERROR(s.Run("update group"));
    if (s.Changes() == 0) return Status::NotFound("group " + g.id + " not found");
    return Status::Ok();
  }

  Status DeleteGroup(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("delete group"));
    {
      auto g = GetGroupOn(c, id);
      if (!g.ok()) return g.status();
    }
    static constexpr std::pair<const char*, const char*> kHolders[] = {
        {"SELECT COUNT(*) FROM groups WHERE parent = ?", "child groups"},
        {"SELECT COUNT(*) FROM device_types WHERE group_id = ?", "device types"},
        {"SELECT COUNT(*) FROM devices WHERE group_id = ?", "devices"},
        {"SELECT COUNT(*) FROM users WHERE group_id = ?", "users"},
        {"SELECT COUNT(*) FROM api_users WHERE group_id = ?", "API users"},
    };
    std::string held;
    for (const auto& [sql, what] : kHolders) {
      ROOST_ASSIGN_STMT(s, c, sql, "delete group");
      s.Bind(1, id);
      int rc = s.Step();
      if (rc != SQLITE_ROW) return ErrorFrom(c.db(), rc, "delete group");
      if (int64_t n = s.Int(0); n > 0) {
        held += (held.empty() ? "" : ", ") + std::to_string(n) + " " + what;
      }
    }
    if (!held.empty()) {
      return Status::InvalidInput("group " + std::string(id) + " still has " + held);
    }
    for (const char* sql :
         {"DELETE FROM jobs WHERE group_id = ?", "DELETE FROM groups WHERE id = ?"}) {
      ROOST_ASSIGN_STMT(s, c, sql, "delete group");
      s.Bind(1, id);
      ROOST_RETURN_IF_ERROR(s.Run("delete group"));
    }
    return tx.Commit("delete group");
  }

  // --- users ---
  Status CreateUser(const User& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "INSERT INTO users (id, group_id, email, name, timezone, password_hash, "
                      "roles, creation_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "create user");
    s.Bind(1, u.id).Bind(2, u.group).Bind(3, u.email).Bind(4, u.name).Bind(5, u.timezone);
    s.Bind(6, u.password_hash).Bind(7, JoinRoles(u.roles)).Bind(8, u.creation_time);
    s.Bind(9, u.update_time);
    return s.Run("create user");
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
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kUserSelect) + " WHERE group_id = ? ORDER BY id",
                      "list users");
    s.Bind(1, group);
    std::vector<User> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(UserFromRow(s));
    if (rc != SQLITE_DONE) return ErrorFrom(l->conn->db(), rc, "list users");
    return out;
  }

  Status UpdateUser(const User& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "UPDATE users SET group_id = ?, email = ?, name = ?, timezone = ?, "
                      "password_hash = ?, roles = ?, update_time = ? WHERE id = ?",
                      "update user");
    s.Bind(1, u.group).Bind(2, u.email).Bind(3, u.name).Bind(4, u.timezone);
    s.Bind(5, u.password_hash).Bind(6, JoinRoles(u.roles)).Bind(7, u.update_time).Bind(8, u.id);
    ROOST_RETURN_IF_ERROR(s.Run("update user"));
    if (s.Changes() == 0) return Status::NotFound("user " + u.id + " not found");
    return Status::Ok();
  }

  Status DeleteUser(std::string_view id) override {
    return DeleteWhere("DELETE FROM users WHERE id = ?", id, "delete user",
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
      ROOST_ASSIGN_STMT(s, c, "DELETE FROM password_tokens WHERE user_id = ?",
                        "store password token");
      s.Bind(1, t.user);
      ROOST_RETURN_IF_ERROR(s.Run("store password token"));
    }
    {
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO password_tokens (token_hash, user_id, expires, creation_time) "
                        "VALUES (?, ?, ?, ?)",
                        "store password token");
      s.Bind(1, t.token_hash).Bind(2, t.user).Bind(3, t.expires).Bind(4, t.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("store password token"));
    }
    return tx.Commit("store password token");
  }

  Result<UserToken> TakePasswordToken(std::string_view token_hash) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("take password token"));
    UserToken t;
    {
      ROOST_ASSIGN_STMT(s, c,
                        "DELETE FROM password_tokens WHERE token_hash = ? "
                        "RETURNING token_hash, user_id, expires, creation_time",
                        "take password token");
      s.Bind(1, token_hash);
      int rc = s.Step();
      if (rc != SQLITE_ROW) return NotFoundOr(rc, c, "take password token", "no such token");
      t = UserTokenFromRow(s);
      while ((rc = s.Step()) == SQLITE_ROW) {
      }
      if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "take password token");
    }
    ROOST_RETURN_IF_ERROR(tx.Commit("take password token"));
    return t;
  }

  Status DeletePasswordTokens(std::string_view user) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "DELETE FROM password_tokens WHERE user_id = ?",
                      "delete password tokens");
    s.Bind(1, user);
    return s.Run("delete password tokens");
  }

  // --- sessions ---
  Status CreateSession(const UserToken& t) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("create session"));
    {
      ROOST_ASSIGN_STMT(s, c, "DELETE FROM sessions WHERE expires < ?", "create session");
      s.Bind(1, t.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("create session"));
    }
    {
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO sessions (token_hash, user_id, expires, creation_time) "
                        "VALUES (?, ?, ?, ?)",
                        "create session");
      s.Bind(1, t.token_hash).Bind(2, t.user).Bind(3, t.expires).Bind(4, t.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("create session"));
    }
    return tx.Commit("create session");
  }

  Result<UserToken> GetSession(std::string_view token_hash) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "SELECT token_hash, user_id, expires, creation_time FROM sessions "
                      "WHERE token_hash = ?",
                      "get session");
    s.Bind(1, token_hash);
    int rc = s.Step();
    if (rc != SQLITE_ROW) return NotFoundOr(rc, *l->conn, "get session", "no such session");
    return UserTokenFromRow(s);
  }

  Status DeleteSession(std::string_view token_hash) override {
    return DeleteWhere("DELETE FROM sessions WHERE token_hash = ?", token_hash, "delete session",
                       "no such session");
  }

  Result<int64_t> DeleteUserSessions(std::string_view user, std::string_view keep) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?",
                      "delete sessions");
    s.Bind(1, user).Bind(2, keep);
    ROOST_RETURN_IF_ERROR(s.Run("delete sessions"));
    return static_cast<int64_t>(s.Changes());
  }

  // --- API users ---
  Status CreateApiUser(const ApiUser& u) override {
    ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "INSERT INTO api_users (login, name, group_id, password_hash, roles, "
                      "creation_time) VALUES (?, ?, ?, ?, ?, ?)",
                      "create API user");
    s.Bind(1, u.login).Bind(2, u.name).Bind(3, u.group).Bind(4, u.password_hash);
    s.Bind(5, JoinRoles(u.roles)).Bind(6, u.creation_time);
    return s.Run("create API user");
  }

  Result<ApiUser> GetApiUser(std::string_view login) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kApiUserSelect) + " WHERE login = ?",
                      "get API user");
    s.Bind(1, login);
    int rc = s.Step();
    if (rc != SQLITE_ROW) {
      return NotFoundOr(rc, *l->conn, "get API user",
                        "API user " + std::string(login) + " not found");
    }
    return ApiUserFromRow(s);
  }

  Result<std::vector<ApiUser>> ListApiUsers(std::string_view group) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      std::string(kApiUserSelect) + " WHERE group_id = ? ORDER BY login",
                      "list API users");
    s.Bind(1, group);
    std::vector<ApiUser> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ApiUserFromRow(s));
    if (rc != SQLITE_DONE) return ErrorFrom(l->conn->db(), rc, "list API users");
    return out;
  }

  Status DeleteApiUser(std::string_view login) override {
    return DeleteWhere("DELETE FROM api_users WHERE login = ?", login, "delete API user",
                       "API user " + std::string(login) + " not found");
  }

  Result<std::vector<ApiUser>> ListApiUsersInSubtree(std::string_view root) override {
    return SelectInSubtree<ApiUser>(root, std::string(kApiUserSelect) + kInSubtreeGroups, "login",
                                    "list API users", ApiUserFromRow);
  }

  // --- device types ---
  Status CreateDeviceType(const DeviceType& t) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "INSERT INTO device_types (id, name, description, group_id, keep_alive, "
                      "alert_email, payload_type, payload_config, downlink_mode, "
                      "downlink_data_string, automatic_renewal, creation_time, update_time) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "create device type");
    BindDeviceType(s, t);
    return s.Run("create device type");
  }

  Result<DeviceType> GetDeviceType(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kDeviceTypeSelect) + " WHERE id = ?",
                      "get device type");
    s.Bind(1, id);
    int rc = s.Step();
    if (rc != SQLITE_ROW) {
      return NotFoundOr(rc, *l->conn, "get device type",
                        "device type " + std::string(id) + " not found");
    }
    return DeviceTypeFromRow(s);
  }

  Result<std::vector<DeviceType>> ListDeviceTypes(std::string_view group_subtree) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    std::string sql = kDeviceTypeSelect;
    std::string lo, hi;
    if (!group_subtree.empty()) {
      auto range = SubtreeRange(c, group_subtree);
      if (!range.ok()) return range.status();
      std::tie(lo, hi) = *range;
      sql += kInSubtreeGroups;
    }
    sql += " ORDER BY id";
    ROOST_ASSIGN_STMT(s, c, sql, "list device types");
    if (!group_subtree.empty()) s.Bind(1, lo).Bind(2, hi);
    std::vector<DeviceType> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(DeviceTypeFromRow(s));
    if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "list device types");
    return out;
  }

  Status UpdateDeviceType(const DeviceType& t) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn,
                      "UPDATE device_types SET name = ?2, description = ?3, group_id = ?4, "
                      "keep_alive = ?5, alert_email = ?6, payload_type = ?7, payload_config = ?8, "
                      "downlink_mode = ?9, downlink_data_string = ?10, automatic_renewal = ?11, "
                      "update_time = ?13 WHERE id = ?1",
                      "update device type");
    BindDeviceType(s, t);
    ROOST_RETURN_IF_ERROR(s.Run("update device type"));
    if (s.Changes() == 0) return Status::NotFound("device type " + t.id + " not found");
    return Status::Ok();
  }

  Status DeleteDeviceType(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("delete device type"));
    auto count = CountDevicesOn(c, id);
    if (!count.ok()) return count.status();
    if (*count > 0) {
      return Status::InvalidInput("device type " + std::string(id) + " still has " +
                                  std::to_string(*count) + " devices");
    }
    {
      ROOST_ASSIGN_STMT(s, c, "DELETE FROM device_types WHERE id = ?", "delete device type");
      s.Bind(1, id);
      ROOST_RETURN_IF_ERROR(s.Run("delete device type"));
      if (s.Changes() == 0)
        return Status::NotFound("device type " + std::string(id) + " not found");
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
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(
        s, *l->conn,
        std::string("INSERT INTO devices (") + kDeviceColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "insert device");
    BindDevice(s, d);
    Status st = s.Run("insert device");
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
    ROOST_ASSIGN_STMT(s, *l->conn,
                      std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = ?",
                      "get device");
    s.Bind(1, static_cast<int64_t>(id));
    int rc = s.Step();
    if (rc != SQLITE_ROW) {
      return NotFoundOr(rc, *l->conn, "get device",
                        "device " + SigfoxId{id}.ToApi() + " not found");
    }
    return DeviceFromRow(s);
  }

  Status UpdateDevice(const Device& d) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(
        s, *l->conn,
        "UPDATE devices SET name = ?2, type_id = ?3, group_id = ?4, pac = ?5, "
        "product_certificate = ?6, lat = ?7, lng = ?8, activation_time = ?9, state = ?10, "
        "token_renew_forbidden = ?11, last_time = ?12, average_snr = ?13, average_rssi = ?14, "
        "sequence_number = ?15, dev_eui = ?17, join_eui = ?18, provision_id = ?19, "
        "serial_number = ?20, model = ?21 WHERE id = ?1",
        "update device");
    BindDevice(s, d);
    ROOST_RETURN_IF_ERROR(s.Run("update device"));
    if (s.Changes() == 0) return Status::NotFound("device " + d.id.ToApi() + " not found");
    return Status::Ok();
  }

  Status DeleteDevice(uint32_t id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "DELETE FROM devices WHERE id = ?", "delete device");
    s.Bind(1, static_cast<int64_t>(id));
    ROOST_RETURN_IF_ERROR(s.Run("delete device"));
    if (s.Changes() == 0) return Status::NotFound("device " + SigfoxId{id}.ToApi() + " not found");
    return Status::Ok();
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
    std::string sql = std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id > ?1";
    std::string tree_lo, tree_hi;
    if (!q.group_subtree.empty()) {
      auto range = SubtreeRange(c, q.group_subtree);
      if (!range.ok()) return range.status();
      std::tie(tree_lo, tree_hi) = *range;
      sql += " AND group_id IN (SELECT id FROM groups WHERE tree >= ?2 AND tree < ?3)";
    }
    if (!q.type.empty()) sql += " AND type_id = ?4";
    IdRange ids{0, 0xFFFFFFFFu};
    if (!q.id_prefix.empty()) {
      ids = *IdPrefixRange(q.id_prefix);
      sql += " AND id BETWEEN ?5 AND ?6";
    }
    std::optional<std::string> name_hi;
    if (!q.name_prefix.empty()) {
      name_hi = PrefixUpperBound(q.name_prefix);
      sql += name_hi ? " AND name >= ?7 AND name < ?8" : " AND name >= ?7";
    }
    sql += " ORDER BY id LIMIT ?9";
    ROOST_ASSIGN_STMT(s, c, sql, "list devices");
    s.Bind(1, q.after ? static_cast<int64_t>(*q.after) : int64_t{-1});
    if (!q.group_subtree.empty()) s.Bind(2, tree_lo).Bind(3, tree_hi);
    if (!q.type.empty()) s.Bind(4, q.type);
    if (!q.id_prefix.empty()) s.Bind(5, int64_t{ids.lo}).Bind(6, int64_t{ids.hi});
    if (!q.name_prefix.empty()) {
      s.Bind(7, q.name_prefix);
      if (name_hi) s.Bind(8, *name_hi);
    }
    s.Bind(9, int64_t{q.limit} + 1);
    DevicePage page;
    page.devices.reserve(static_cast<size_t>(q.limit));
    int rc;
    bool more = false;
    while ((rc = s.Step()) == SQLITE_ROW) {
      if (page.devices.size() == static_cast<size_t>(q.limit)) {
        more = true;
        break;
      }
      page.devices.push_back(DeviceFromRow(s));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "list devices");
    if (more) page.next = page.devices.back().id.value;
    return page;
  }

  // --- credentials ---
  Status UpsertCredentials(std::span<const Credential> creds) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("store credentials"));
    ROOST_ASSIGN_STMT(s, c,
                      "INSERT INTO credentials (device_id, sealed_key, initial_pac, creation_time) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                      "sealed_key = excluded.sealed_key, initial_pac = excluded.initial_pac, "
                      "creation_time = excluded.creation_time",
                      "store credentials");
    for (const Credential& cr : creds) {
      s.Bind(1, static_cast<int64_t>(cr.device_id.value));
      s.BindBlob(2, std::string_view(reinterpret_cast<const char*>(cr.sealed_key.data()),
                                     cr.sealed_key.size()));
      s.BindStatic(3, cr.initial_pac).Bind(4, cr.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("store credentials"));
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
    Conn& c = *l->conn;
    Tx tx(c);
    if (ids.size() > 1) ROOST_RETURN_IF_ERROR(tx.Begin("read credentials", false));
    ROOST_ASSIGN_STMT(s, c,
                      "SELECT device_id, sealed_key, initial_pac, creation_time FROM credentials "
                      "WHERE device_id = ?",
                      "read credentials");
    std::vector<std::optional<Credential>> out;
    out.reserve(ids.size());
    for (uint32_t id : ids) {
      s.Bind(1, static_cast<int64_t>(id));
      int rc = s.Step();
      if (rc == SQLITE_ROW) {
        Credential cr;
        cr.device_id.value = static_cast<uint32_t>(s.Int(0));
        cr.sealed_key = s.Blob(1);
        cr.initial_pac = s.Text(2);
        cr.creation_time = s.Int(3);
        out.emplace_back(std::move(cr));
      } else if (rc == SQLITE_DONE) {
        out.emplace_back();
      } else {
        return ErrorFrom(c.db(), rc, "read credentials");
      }
      s.Reset();
    }
    if (ids.size() > 1) ROOST_RETURN_IF_ERROR(tx.Commit("read credentials"));
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
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO jobs (id, kind, group_id, params, total, processed, success, "
                        "chunks_left, creation_time) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
                        "create job");
      s.Bind(1, job.id).Bind(2, job.kind).Bind(3, job.group).Bind(4, job.params);
      s.Bind(5, total).Bind(6, chunks).Bind(7, job.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("create job"));
    }
    ROOST_ASSIGN_STMT(s, c,
                      "INSERT INTO job_chunks (job_id, chunk, first_item, items, state, "
                      "job_created) VALUES (?, ?, ?, ?, 0, ?)",
                      "create job");
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t first = k * chunk_size;
      const int64_t n = std::min(chunk_size, total - first);
      s.Bind(1, job.id).Bind(2, k).Bind(3, first);
      s.BindBlob(4, PackItems(items.subspan(static_cast<size_t>(first), static_cast<size_t>(n))));
      s.Bind(5, job.creation_time);
      ROOST_RETURN_IF_ERROR(s.Run("create job"));
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
    Tx tx(c);
    // BEGIN IMMEDIATE takes the write lock first: no other claimer can read the same chunk.
    ROOST_RETURN_IF_ERROR(tx.Begin("claim job chunk"));
    JobClaim claim;
    std::string packed;
    {
      ROOST_ASSIGN_STMT(s, c,
                        "SELECT job_id, chunk, first_item, items FROM job_chunks "
                        "WHERE state < 2 AND (state = 0 OR lease_until < ?) "
                        "ORDER BY job_created, job_id, chunk LIMIT 1",
                        "claim job chunk");
      s.Bind(1, now);
      int rc = s.Step();
      if (rc == SQLITE_DONE) return std::optional<JobClaim>();
      if (rc != SQLITE_ROW) return ErrorFrom(c.db(), rc, "claim job chunk");
      claim.job.id = s.Text(0);
      claim.chunk = s.Int(1);
      claim.first_item = s.Int(2);
      packed = s.Text(3);
    }
    claim.token = NewLeaseToken(worker);
    claim.lease_until = now + lease_ms;
    {
      ROOST_ASSIGN_STMT(s, c,
                        "UPDATE job_chunks SET state = 1, worker = ?, token = ?, lease_until = ? "
                        "WHERE job_id = ? AND chunk = ?",
                        "claim job chunk");
      s.Bind(1, worker).Bind(2, claim.token).Bind(3, claim.lease_until);
      s.Bind(4, claim.job.id).Bind(5, claim.chunk);
      ROOST_RETURN_IF_ERROR(s.Run("claim job chunk"));
    }
    auto job = GetJobOn(c, claim.job.id);
    if (!job.ok()) return job.status();
    claim.job = std::move(*job);
    auto items = UnpackItems(packed);
    if (!items.ok()) return items.status();
    claim.items = std::move(*items);
    ROOST_RETURN_IF_ERROR(tx.Commit("claim job chunk"));
    return std::optional<JobClaim>(std::move(claim));
  }

  Status CompleteChunk(const JobClaim& claim, const ChunkOutcome& outcome) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("complete job chunk"));
    {
      ROOST_ASSIGN_STMT(s, c,
                        "UPDATE job_chunks SET state = 2, token = NULL, items = X'' "
                        "WHERE job_id = ? AND chunk = ? AND state = 1 AND token = ?",
                        "complete job chunk");
      s.Bind(1, claim.job.id).Bind(2, claim.chunk).Bind(3, claim.token);
      ROOST_RETURN_IF_ERROR(s.Run("complete job chunk"));
      if (s.Changes() == 0) {
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
    {
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO job_failures (job_id, chunk, seq, item_id, message) "
                        "VALUES (?, ?, ?, ?, ?)",
                        "complete job chunk");
      for (size_t i = 0; i < failures.size(); ++i) {
        s.Bind(1, claim.job.id).Bind(2, claim.chunk).Bind(3, static_cast<int64_t>(i));
        s.BindStatic(4, failures[i].id).BindStatic(5, failures[i].message);
        ROOST_RETURN_IF_ERROR(s.Run("complete job chunk"));
      }
    }
    const auto n = static_cast<int64_t>(claim.items.size());
    const int64_t success = std::max<int64_t>(0, n - static_cast<int64_t>(failures.size()));
    {
      ROOST_ASSIGN_STMT(s, c,
                        "UPDATE jobs SET processed = processed + ?, success = success + ?, "
                        "chunks_left = chunks_left - 1 WHERE id = ?",
                        "complete job chunk");
      s.Bind(1, n).Bind(2, success).Bind(3, claim.job.id);
      ROOST_RETURN_IF_ERROR(s.Run("complete job chunk"));
    }
    return tx.Commit("complete job chunk");
  }

  Result<JobStatus> GetJobStatus(std::string_view id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("read job status", false));
    JobStatus st;
    {
      ROOST_ASSIGN_STMT(s, c,
                        "SELECT total, processed, success, chunks_left FROM jobs WHERE id = ?",
                        "read job status");
      s.Bind(1, id);
      int rc = s.Step();
      if (rc != SQLITE_ROW) {
        return NotFoundOr(rc, c, "read job status", "job " + std::string(id) + " not found");
      }
      st.total = s.Int(0);
      st.processed = s.Int(1);
      st.success = s.Int(2);
      st.done = s.Int(3) == 0;
    }
    ROOST_ASSIGN_STMT(s, c,
                      "SELECT item_id, message FROM job_failures WHERE job_id = ? "
                      "ORDER BY chunk, seq",
                      "read job status");
    s.Bind(1, id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) st.failed.push_back({s.Text(0), s.Text(1)});
    if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "read job status");
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
    ROOST_ASSIGN_STMT(s, c,
                      "INSERT INTO product_certificates (cert_key, manufacturer, product_name, "
                      "revision, link, notes, search_text, creation_time, update_time) VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (cert_key) DO UPDATE SET "
                      "manufacturer = excluded.manufacturer, product_name = "
                      "excluded.product_name, revision = excluded.revision, link = excluded.link, "
                      "notes = excluded.notes, search_text = excluded.search_text, update_time = "
                      "excluded.update_time",
                      "store product certificates");
    for (const ProductCertificate& pc : certs) {
      const std::string search = CertificateSearchText(pc);
      s.BindStatic(1, pc.key)
          .BindStatic(2, pc.manufacturer)
          .BindStatic(3, pc.product_name)
          .BindStatic(4, pc.revision)
          .BindStatic(5, pc.link)
          .BindStatic(6, pc.notes)
          .BindStatic(7, search)
          .Bind(8, pc.creation_time)
          .Bind(9, pc.update_time);
      ROOST_RETURN_IF_ERROR(s.Run("store product certificates"));
    }
    return tx.Commit("store product certificates");
  }

  Result<ProductCertificate> GetProductCertificate(std::string_view key) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kCertificateSelect) + " WHERE cert_key = ?",
                      "get product certificate");
    s.Bind(1, key);
    int rc = s.Step();
    if (rc != SQLITE_ROW) {
      return NotFoundOr(rc, *l->conn, "get product certificate",
                        "product certificate " + std::string(key) + " not found");
    }
    return CertificateFromRow(s);
  }

  Result<CertificatePage> SearchProductCertificates(const CertificateQuery& q) override {
    ROOST_RETURN_IF_ERROR(ValidateCertificateQuery(q));
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    std::string sql = std::string(kCertificateSelect) + " WHERE cert_key > ?1";
    if (!q.text.empty()) sql += " AND instr(search_text, ?2) > 0";
    sql += " ORDER BY cert_key LIMIT ?3";
    ROOST_ASSIGN_STMT(s, c, sql, "search product certificates");
    s.Bind(1, q.after);
    if (!q.text.empty()) s.Bind(2, CertificateNeedle(q.text));
    s.Bind(3, int64_t{q.limit} + 1);
    CertificatePage page;
    int rc;
    bool more = false;
    while ((rc = s.Step()) == SQLITE_ROW) {
      if (page.certificates.size() == static_cast<size_t>(q.limit)) {
        more = true;
        break;
      }
      page.certificates.push_back(CertificateFromRow(s));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return ErrorFrom(c.db(), rc, "search product certificates");
    }
    if (more) page.next = page.certificates.back().key;
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
      ROOST_ASSIGN_STMT(s, c, "SELECT 1 FROM device_types WHERE id = ?",
                        "disengage sequence check");
      s.Bind(1, type);
      int rc = s.Step();
      if (rc != SQLITE_ROW) {
        return NotFoundOr(rc, c, "disengage sequence check",
                          "device type " + std::string(type) + " not found");
      }
    }
    int64_t flagged = 0;
    {
      ROOST_ASSIGN_STMT(s, c,
                        "INSERT INTO sequence_check_disengaged (device_id, since) "
                        "SELECT id, ?1 FROM devices WHERE type_id = ?2 "
                        "ON CONFLICT (device_id) DO UPDATE SET since = excluded.since",
                        "disengage sequence check");
      s.Bind(1, now).Bind(2, type);
      ROOST_RETURN_IF_ERROR(s.Run("disengage sequence check"));
      flagged = s.Changes();
    }
    ROOST_RETURN_IF_ERROR(tx.Commit("disengage sequence check"));
    return flagged;
  }

  Result<bool> ClearSequenceCheckDisengaged(uint32_t device_id) override {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, "DELETE FROM sequence_check_disengaged WHERE device_id = ?",
                      "clear disengaged flag");
    s.Bind(1, static_cast<int64_t>(device_id));
    ROOST_RETURN_IF_ERROR(s.Run("clear disengaged flag"));
    return s.Changes() > 0;
  }

 private:
  static constexpr const char* kUserSelect =
      "SELECT id, group_id, email, name, timezone, password_hash, roles, creation_time, "
      "update_time FROM users";
  static constexpr const char* kApiUserSelect =
      "SELECT login, name, group_id, password_hash, roles, creation_time FROM api_users";
  static constexpr const char* kDeviceTypeSelect =
      "SELECT id, name, description, group_id, keep_alive, alert_email, payload_type, "
      "payload_config, downlink_mode, downlink_data_string, automatic_renewal, creation_time, "
      "update_time FROM device_types";

  struct Lease {
    SqliteStore* store = nullptr;
    std::unique_ptr<Conn> conn;
    Lease(SqliteStore* s, std::unique_ptr<Conn> c) : store(s), conn(std::move(c)) {}
    Lease(Lease&& o) noexcept : store(o.store), conn(std::move(o.conn)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn) store->Release(std::move(conn));
    }
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < kPoolSize; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    ++open_;
    lock.unlock();
    auto c = OpenConn();
    if (!c.ok()) {
      std::lock_guard relock(mu_);
      --open_;
      cv_.notify_one();
      return c.status();
    }
    return Lease(this, std::move(*c));
  }

  void Release(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }

  Result<std::unique_ptr<Conn>> OpenConn() {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Status st = ErrorFrom(db, rc, "open " + path_);
      sqlite3_close_v2(db);
      return st;
    }
    auto c = std::make_unique<Conn>(db);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    ROOST_RETURN_IF_ERROR(
        c->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
                "PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY",
                "configure connection"));
    return c;
  }

  Status Migrate(Conn& c) {
    Tx tx(c);
    ROOST_RETURN_IF_ERROR(tx.Begin("migrate schema"));
    ROOST_RETURN_IF_ERROR(
        c.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
               "PRIMARY KEY, name TEXT NOT NULL)",
               "migrate schema"));
    int current = 0;
    {
      ROOST_ASSIGN_STMT(s, c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                        "migrate schema");
      if (s.Step() != SQLITE_ROW) return ErrorFrom(c.db(), SQLITE_ERROR, "migrate schema");
      current = static_cast<int>(s.Int(0));
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      const std::string op =
          "migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")";
      ROOST_RETURN_IF_ERROR(c.Exec(ForDialect(m.sql, Dialect::kSqlite).c_str(), op));
      ROOST_ASSIGN_STMT(s, c, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", op);
      s.Bind(1, int64_t{m.version}).Bind(2, m.name);
      ROOST_RETURN_IF_ERROR(s.Run(op));
    }
    return tx.Commit("migrate schema");
  }

  Result<Group> GetGroupOn(Conn& c, std::string_view id) {
    ROOST_ASSIGN_STMT(s, c, std::string(kGroupSelect) + " WHERE id = ?", "get group");
    s.Bind(1, id);
    int rc = s.Step();
    if (rc != SQLITE_ROW)
      return NotFoundOr(rc, c, "get group", "group " + std::string(id) + " not found");
    return GroupFromRow(s);
  }

  // The rows of `select` (whose two ? are the subtree's bounds of the tree
  // column) for the subtree rooted at `root`, ordered by `order_by`.
  template <typename T, typename FromRow>
  Result<std::vector<T>> SelectInSubtree(std::string_view root, const std::string& select,
                                         const char* order_by, const char* what, FromRow from_row) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    Conn& c = *l->conn;
    auto range = SubtreeRange(c, root);
    if (!range.ok()) return range.status();
    ROOST_ASSIGN_STMT(s, c, select + " ORDER BY " + order_by, what);
    s.Bind(1, range->first).Bind(2, range->second);
    std::vector<T> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(from_row(s));
    if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, what);
    return out;
  }

  // [lo, hi) of the tree column for the subtree rooted at `group`.
  Result<std::pair<std::string, std::string>> SubtreeRange(Conn& c, std::string_view group) {
    ROOST_ASSIGN_STMT(s, c, "SELECT tree FROM groups WHERE id = ?", "get group");
    s.Bind(1, group);
    int rc = s.Step();
    if (rc != SQLITE_ROW) {
      return NotFoundOr(rc, c, "get group", "group " + std::string(group) + " not found");
    }
    std::string lo = s.Text(0);
    std::string hi = lo;
    hi.back() = '/' + 1;  // the tree always ends in '/'
    return std::make_pair(std::move(lo), std::move(hi));
  }

  Result<User> GetUserWhere(const char* column, std::string_view value, std::string not_found) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, std::string(kUserSelect) + " WHERE " + column + " = ?",
                      "get user");
    s.Bind(1, value);
    int rc = s.Step();
    if (rc != SQLITE_ROW) return NotFoundOr(rc, *l->conn, "get user", std::move(not_found));
    return UserFromRow(s);
  }

  Status DeleteWhere(const char* sql, std::string_view key, std::string_view op,
                     std::string not_found) {
    auto l = Acquire();
    if (!l.ok()) return l.status();
    ROOST_ASSIGN_STMT(s, *l->conn, sql, op);
    s.Bind(1, key);
    ROOST_RETURN_IF_ERROR(s.Run(op));
    if (s.Changes() == 0) return Status::NotFound(std::move(not_found));
    return Status::Ok();
  }

  Result<int64_t> CountDevicesOn(Conn& c, std::string_view type) {
    ROOST_ASSIGN_STMT(s, c, "SELECT COUNT(*) FROM devices WHERE type_id = ?", "count devices");
    s.Bind(1, type);
    int rc = s.Step();
    if (rc != SQLITE_ROW) return ErrorFrom(c.db(), rc, "count devices");
    return s.Int(0);
  }

  Result<Job> GetJobOn(Conn& c, std::string_view id) {
    ROOST_ASSIGN_STMT(s, c,
                      "SELECT id, kind, group_id, params, total, creation_time FROM jobs "
                      "WHERE id = ?",
                      "get job");
    s.Bind(1, id);
    int rc = s.Step();
    if (rc != SQLITE_ROW)
      return NotFoundOr(rc, c, "get job", "job " + std::string(id) + " not found");
    Job j;
    j.id = s.Text(0);
    j.kind = s.Text(1);
    j.group = s.Text(2);
    j.params = s.Text(3);
    j.total = s.Int(4);
    j.creation_time = s.Int(5);
    return j;
  }

  // Inside a write transaction.
  Result<BatchInsertResult> InsertDevicesOn(Conn& c, std::span<const Device> devices) {
    BatchInsertResult r;
    if (devices.empty()) return r;
    ROOST_ASSIGN_STMT(s, c,
                      std::string("INSERT INTO devices (") + kDeviceColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                          "?) ON CONFLICT (id) DO NOTHING",
                      "insert devices");
    for (size_t i = 0; i < devices.size(); ++i) {
      BindDevice(s, devices[i]);
      int rc = s.Step();
      if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "insert devices");
      if (s.Changes() == 0) {
        r.conflicts.push_back(i);
      } else {
        ++r.inserted;
      }
      s.Reset();
    }
    return r;
  }

  // Inside a write transaction. One statement for every patch: absent fields bind
  // NULL and COALESCE keeps the column; lat/lng carry a "set" flag since NULL
  // is also a value for them.
  Result<std::vector<size_t>> PatchDevicesOn(Conn& c, std::span<const DevicePatch> patches) {
    std::vector<size_t> mismatched;
    if (patches.empty()) return mismatched;
    const std::vector<bool> repeated = RepeatedPatchIds(patches);
    ROOST_ASSIGN_STMT(s, c,
                      "UPDATE devices SET name = COALESCE(?4, name), type_id = COALESCE(?5, "
                      "type_id), group_id = COALESCE(?6, group_id), pac = COALESCE(?7, pac), "
                      "product_certificate = COALESCE(?8, product_certificate), "
                      "lat = CASE WHEN ?9 THEN ?10 ELSE lat END, "
                      "lng = CASE WHEN ?11 THEN ?12 ELSE lng END, "
                      "token_renew_forbidden = COALESCE(?13, token_renew_forbidden) "
                      "WHERE id = ?1 AND group_id = ?2 AND (?3 = '' OR pac = ?3)",
                      "patch devices");
    for (size_t i = 0; i < patches.size(); ++i) {
      if (repeated[i]) {
        mismatched.push_back(i);
        continue;
      }
      const DevicePatch& p = patches[i];
      s.Bind(1, static_cast<int64_t>(p.id))
          .BindStatic(2, p.expect_group)
          .BindStatic(3, p.expect_pac);
      if (p.name) s.BindStatic(4, *p.name);
      if (p.type) s.BindStatic(5, *p.type);
      if (p.group) s.BindStatic(6, *p.group);
      if (p.pac) s.BindStatic(7, *p.pac);
      if (p.product_certificate) s.BindStatic(8, *p.product_certificate);
      s.Bind(9, int64_t{p.lat ? 1 : 0}).Bind(10, p.lat ? *p.lat : std::nullopt);
      s.Bind(11, int64_t{p.lng ? 1 : 0}).Bind(12, p.lng ? *p.lng : std::nullopt);
      if (p.token_renew_forbidden) s.Bind(13, int64_t{*p.token_renew_forbidden ? 1 : 0});
      int rc = s.Step();
      if (rc != SQLITE_DONE) return ErrorFrom(c.db(), rc, "patch devices");
      if (s.Changes() == 0) mismatched.push_back(i);
      s.Reset();
    }
    return mismatched;
  }

  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = path;
  if (!path.ends_with(".db")) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return Status::IoError("sqlite: create data directory " + path + ": " + ec.message());
    file = (fs::path(path) / "roost.db").string();
  }
  auto store = std::make_unique<SqliteStore>(file);
  ROOST_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace roost::storage
