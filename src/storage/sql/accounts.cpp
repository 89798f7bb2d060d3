// Accounts: users (people), their one-time password tokens and console
// sessions, and API users. Tokens are stored as hashes only.
#include <algorithm>

#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

using internal::CheckStorableRoles;
using internal::JoinRoles;

Status SqlStore::CreateUser(const User& u) {
  ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
  return Run(
      "INSERT INTO users (id, group_id, email, name, timezone, password_hash, roles, "
      "creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      "create user", [&](Query& q) {
        q.Bind(1, u.id).Bind(2, u.group).Bind(3, u.email).Bind(4, u.name).Bind(5, u.timezone);
        q.Bind(6, u.password_hash).Bind(7, JoinRoles(u.roles)).Bind(8, u.creation_time);
        q.Bind(9, u.update_time);
      });
}

Result<User> SqlStore::GetUser(std::string_view id) {
  return GetUserWhere("id", id, "user " + std::string(id) + " not found");
}

Result<std::vector<User>> SqlStore::ListUsersByEmail(std::string_view email) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kUserSelect) + " WHERE email = $1 ORDER BY id",
                  "list users by email");
  q.Bind(1, email);
  return ReadAll<User>(q, UserFromRow);
}

Result<User> SqlStore::GetUserWhere(std::string_view column, std::string_view value,
                                    std::string not_found) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kUserSelect) + " WHERE " + std::string(column) + " = $1",
                  "get user");
  q.Bind(1, value);
  return ReadOne(q, UserFromRow, std::move(not_found));
}

Result<std::vector<User>> SqlStore::ListUsers(std::string_view group) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kUserSelect) + " WHERE group_id = $1 ORDER BY id",
                  "list users");
  q.Bind(1, group);
  return ReadAll<User>(q, UserFromRow);
}

// Inside a write transaction: locks the rows of `editor` (shared) and `target`
// (for update), in id order as every such pair is locked, and checks that the
// editor still holds ADMIN. Two administrators who take ADMIN from each other
// at once would otherwise both succeed and leave none: the second now waits for
// the first and finds its editor no longer an administrator. The editor's row
// is only shared, so that the editor's own login (a session row referencing it)
// meanwhile neither waits nor deadlocks.
Status SqlStore::CheckEditorStillAdmin(Connection& c, std::string_view editor,
                                       std::string_view target, std::string_view op) {
  auto lock = [&](std::string_view id) -> Status {
    const RowLock mode = id == target ? RowLock::kUpdate : RowLock::kShare;
    auto found = LockRow(c, "users", id, mode, op);
    if (!found.ok()) return found.status();
    if (!*found && id == target) return Status::NotFound("user " + std::string(id) + " not found");
    return Status::Ok();
  };
  ROOST_RETURN_IF_ERROR(lock(std::min(editor, target)));
  if (editor != target) ROOST_RETURN_IF_ERROR(lock(std::max(editor, target)));
  ROOST_SQL_QUERY(q, c, "SELECT roles FROM users WHERE id = $1", op);
  q.Bind(1, editor);
  auto row = q.Next();
  if (!row.ok()) return row.status();
  const Roles roles = *row ? internal::SplitRoles(q.Text(0)) : Roles{};
  if (std::find(roles.begin(), roles.end(), "ADMIN") == roles.end()) {
    return Status::AlreadyExists(
        "your account no longer holds ADMIN (changed since this request began): nothing was "
        "changed");
  }
  return Status::Ok();
}

Result<User> SqlStore::PatchUser(std::string_view id, const UserPatch& patch) {
  if (patch.roles) ROOST_RETURN_IF_ERROR(CheckStorableRoles(*patch.roles));
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  if (!patch.admin_editor.empty()) {
    ROOST_RETURN_IF_ERROR(tx.Begin("update user"));
    ROOST_RETURN_IF_ERROR(CheckEditorStillAdmin(c, patch.admin_editor, id, "update user"));
  }
  Result<User> user = Status::Internal("update user: no row read");
  {
    // One statement: absent fields bind NULL and COALESCE keeps the column.
    ROOST_SQL_QUERY(q, c,
                    "UPDATE users SET name = COALESCE(CAST($2 AS TEXT), name), "
                    "timezone = COALESCE(CAST($3 AS TEXT), timezone), "
                    "password_hash = COALESCE(CAST($4 AS TEXT), password_hash), "
                    "roles = COALESCE(CAST($5 AS TEXT), roles), update_time = $6 WHERE id = $1 "
                    "RETURNING id, group_id, email, name, timezone, password_hash, roles, "
                    "creation_time, update_time",
                    "update user");
    q.Bind(1, id);
    patch.name ? q.BindRef(2, *patch.name) : q.BindNull(2);
    patch.timezone ? q.BindRef(3, *patch.timezone) : q.BindNull(3);
    patch.password_hash ? q.BindRef(4, *patch.password_hash) : q.BindNull(4);
    if (patch.roles) {
      q.Bind(5, JoinRoles(*patch.roles));
    } else {
      q.BindNull(5);
    }
    q.Bind(6, patch.update_time);
    user = ReadOne(q, UserFromRow, "user " + std::string(id) + " not found");
    if (!user.ok()) return user;
    ROOST_RETURN_IF_ERROR(q.Run());  // to the end of the statement
  }
  if (!patch.admin_editor.empty()) ROOST_RETURN_IF_ERROR(tx.Commit("update user"));
  return user;
}

Status SqlStore::DeleteUser(std::string_view id, std::string_view admin_editor) {
  if (admin_editor.empty()) {
    return RunOne(
        "DELETE FROM users WHERE id = $1", "delete user", [&](Query& q) { q.Bind(1, id); },
        "user " + std::string(id) + " not found");
  }
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("delete user"));
  ROOST_RETURN_IF_ERROR(CheckEditorStillAdmin(c, admin_editor, id, "delete user"));
  {
    ROOST_SQL_QUERY(q, c, "DELETE FROM users WHERE id = $1", "delete user");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Run());
    if (q.Affected() == 0) return Status::NotFound("user " + std::string(id) + " not found");
  }
  return tx.Commit("delete user");
}

Result<std::vector<User>> SqlStore::ListUsersInSubtree(std::string_view root) {
  return SelectInSubtree<User>(root, std::string(kUserSelect) + kInSubtreeGroups, "id",
                               "list users", UserFromRow);
}

Status SqlStore::ReplacePasswordToken(const UserToken& t) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("store password token"));
  {
    // The user's row locked first: of two links asked for at once, the second
    // waits and deletes the first (each would otherwise find nothing to
    // delete, and both links would stay valid).
    auto found = LockRow(c, "users", t.user, RowLock::kUpdate, "store password token");
    if (!found.ok()) return found.status();
    if (!*found) return Status::InvalidInput("user " + t.user + " not found");
  }
  {
    ROOST_SQL_QUERY(q, c, "DELETE FROM password_tokens WHERE user_id = $1", "store password token");
    ROOST_RETURN_IF_ERROR(q.Bind(1, t.user).Run());
  }
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO password_tokens (token_hash, user_id, expires, creation_time) "
                    "VALUES ($1, $2, $3, $4)",
                    "store password token");
    q.Bind(1, t.token_hash).Bind(2, t.user).Bind(3, t.expires).Bind(4, t.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  return tx.Commit("store password token");
}

Result<UserToken> SqlStore::TakePasswordToken(std::string_view token_hash) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("take password token"));
  Result<UserToken> token = Status::NotFound("no such token");
  {
    // One statement: of two concurrent takers, one deletes the row.
    ROOST_SQL_QUERY(q, c,
                    "DELETE FROM password_tokens WHERE token_hash = $1 RETURNING " +
                        std::string(kUserTokenColumns),
                    "take password token");
    q.Bind(1, token_hash);
    token = ReadOne(q, UserTokenFromRow, "no such token");
    if (!token.ok()) return token;
    ROOST_RETURN_IF_ERROR(q.Run());  // to the end of the statement
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("take password token"));
  return token;
}

Result<UserToken> SqlStore::FindPasswordToken(std::string_view token_hash) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(
      q, c,
      "SELECT " + std::string(kUserTokenColumns) + " FROM password_tokens WHERE token_hash = $1",
      "find password token");
  q.Bind(1, token_hash);
  return ReadOne(q, UserTokenFromRow, "no such token");
}

Status SqlStore::DeletePasswordTokens(std::string_view user) {
  return Run("DELETE FROM password_tokens WHERE user_id = $1", "delete password tokens",
             [&](Query& q) { q.Bind(1, user); });
}

Status SqlStore::CreateSession(const UserToken& t) {
  ROOST_SQL_LEASE(c);
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO sessions (token_hash, user_id, expires, creation_time) "
                    "VALUES ($1, $2, $3, $4)",
                    "create session");
    q.Bind(1, t.token_hash).Bind(2, t.user).Bind(3, t.expires).Bind(4, t.creation_time);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  // Expired sessions are swept after the new one is stored, in a statement of
  // their own that skips rows another transaction holds. Swept inside the
  // login's transaction, before its insert, they made a deadlock with the
  // deletion of that user: the delete held the user's row and waited for the
  // sessions the login had swept; the login's insert waited for the user's row.
  // A sweep that fails costs nothing but its rows, which the next login sweeps.
  ROOST_SQL_QUERY(q, c,
                  "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions "
                  "WHERE expires < $1 ORDER BY expires LIMIT 1000" +
                      std::string(c.dialect().skip_locked) + ")",
                  "sweep expired sessions");
  (void)q.Bind(1, t.creation_time).Run();
  return Status::Ok();
}

Result<UserToken> SqlStore::GetSession(std::string_view token_hash) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(
      q, c, "SELECT " + std::string(kUserTokenColumns) + " FROM sessions WHERE token_hash = $1",
      "get session");
  q.Bind(1, token_hash);
  return ReadOne(q, UserTokenFromRow, "no such session");
}

Status SqlStore::DeleteSession(std::string_view token_hash) {
  return RunOne(
      "DELETE FROM sessions WHERE token_hash = $1", "delete session",
      [&](Query& q) { q.Bind(1, token_hash); }, "no such session");
}

Result<int64_t> SqlStore::DeleteUserSessions(std::string_view user, std::string_view keep) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
                  "delete sessions");
  ROOST_RETURN_IF_ERROR(q.Bind(1, user).Bind(2, keep).Run());
  return q.Affected();
}

Status SqlStore::CreateApiUser(const ApiUser& u) {
  ROOST_RETURN_IF_ERROR(CheckStorableRoles(u.roles));
  return Run(
      "INSERT INTO api_users (login, name, group_id, password_hash, roles, creation_time) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      "create API user", [&](Query& q) {
        q.Bind(1, u.login).Bind(2, u.name).Bind(3, u.group).Bind(4, u.password_hash);
        q.Bind(5, JoinRoles(u.roles)).Bind(6, u.creation_time);
      });
}

Result<ApiUser> SqlStore::GetApiUser(std::string_view login) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kApiUserSelect) + " WHERE login = $1", "get API user");
  q.Bind(1, login);
  return ReadOne(q, ApiUserFromRow, "API user " + std::string(login) + " not found");
}

Result<std::vector<ApiUser>> SqlStore::ListApiUsers(std::string_view group) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kApiUserSelect) + " WHERE group_id = $1 ORDER BY login",
                  "list API users");
  q.Bind(1, group);
  return ReadAll<ApiUser>(q, ApiUserFromRow);
}

Status SqlStore::DeleteApiUser(std::string_view login) {
  return RunOne(
      "DELETE FROM api_users WHERE login = $1", "delete API user",
      [&](Query& q) { q.Bind(1, login); }, "API user " + std::string(login) + " not found");
}

Result<std::vector<ApiUser>> SqlStore::ListApiUsersInSubtree(std::string_view root) {
  return SelectInSubtree<ApiUser>(root, std::string(kApiUserSelect) + kInSubtreeGroups, "login",
                                  "list API users", ApiUserFromRow);
}

}  // namespace roost::storage::sql
