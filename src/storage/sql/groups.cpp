// Groups: a tree whose paths are kept in the `tree` column ("/a/b/c/"), so that
// a subtree is a range of it.
#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

Result<Group> SqlStore::CreateGroup(const Group& group) {
  if (group.id.empty() || group.id.find('/') != std::string::npos) {
    return Status::InvalidInput("group id '" + group.id + "' is empty or contains '/'");
  }
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
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
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO groups (id, name, parent, tree, creation_time, description) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    "create group");
    q.Bind(1, g.id).Bind(2, g.name);
    g.parent.empty() ? q.BindNull(3) : q.Bind(3, g.parent);
    q.Bind(4, internal::TreeOf(g)).Bind(5, g.creation_time).Bind(6, g.description);
    ROOST_RETURN_IF_ERROR(q.Run());
  }
  ROOST_RETURN_IF_ERROR(tx.Commit("create group"));
  return g;
}

Result<Group> SqlStore::GetGroup(std::string_view id) {
  ROOST_SQL_LEASE(c);
  return GetGroupOn(c, id);
}

Result<Group> SqlStore::GetGroupOn(Connection& c, std::string_view id) {
  ROOST_SQL_QUERY(q, c, std::string(kGroupSelect) + " WHERE id = $1", "get group");
  q.Bind(1, id);
  return ReadOne(q, GroupFromRow, "group " + std::string(id) + " not found");
}

Result<std::vector<Group>> SqlStore::ListChildGroups(std::string_view parent) {
  ROOST_SQL_LEASE(c);
  // Root groups have no parent (NULL): "" lists them.
  ROOST_SQL_QUERY(q, c,
                  std::string(kGroupSelect) +
                      (parent.empty() ? " WHERE parent IS NULL" : " WHERE parent = $1") +
                      " ORDER BY id",
                  "list groups");
  if (!parent.empty()) q.Bind(1, parent);
  return ReadAll<Group>(q, GroupFromRow);
}

Result<bool> SqlStore::IsInSubtree(std::string_view group, std::string_view ancestor) {
  auto g = GetGroup(group);
  if (!g.ok()) return g.status();
  if (g->id == ancestor) return true;
  for (const auto& a : g->path) {
    if (a == ancestor) return true;
  }
  return false;
}

Result<std::vector<Group>> SqlStore::ListGroupsInSubtree(std::string_view root) {
  return SelectInSubtree<Group>(root, std::string(kGroupSelect) + " WHERE tree >= $1 AND tree < $2",
                                "id", "list groups", GroupFromRow);
}

Result<std::pair<std::string, std::string>> SqlStore::SubtreeRange(Connection& c,
                                                                   std::string_view group) {
  ROOST_SQL_QUERY(q, c, "SELECT tree FROM groups WHERE id = $1", "get group");
  q.Bind(1, group);
  auto lo = ReadOne(
      q, [](const Query& r) { return r.Text(0); }, "group " + std::string(group) + " not found");
  if (!lo.ok()) return lo.status();
  std::string hi = *lo;
  hi.back() = '/' + 1;  // the tree always ends in '/'
  return std::make_pair(std::move(*lo), std::move(hi));
}

Result<bool> SqlStore::UpdateGroup(const Group& g, const Group& read) {
  return RunIfUnchanged(
      "UPDATE groups SET name = $1, description = $2 WHERE id = $3 AND name = $4 AND "
      "description = $5",
      "update group",
      [&](Query& q) {
        q.Bind(1, g.name).Bind(2, g.description).Bind(3, g.id);
        q.Bind(4, read.name).Bind(5, read.description);
      },
      "SELECT 1 FROM groups WHERE id = $1", [&](Query& q) { q.Bind(1, g.id); },
      "group " + g.id + " not found");
}

Status SqlStore::DeleteGroup(std::string_view id) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("delete group"));
  // The chunks of the group's jobs first, in order. A worker completing a
  // chunk holds the chunk's row and then takes a key share on the group (the
  // devices it registers there); with the group locked first, its jobs'
  // delete waited for that chunk while the worker waited for the group: a
  // deadlock on PostgreSQL. Now this waits for the worker, and then sees its
  // devices.
  if (!c.dialect().for_update.empty()) {
    ROOST_SQL_QUERY(q, c,
                    "SELECT c.job_id, c.chunk FROM job_chunks c JOIN jobs j ON j.id = c.job_id "
                    "WHERE j.group_id = $1 ORDER BY c.job_id, c.chunk FOR UPDATE OF c",
                    "delete group");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Run());
  }
  // Lock the group: rows that reference it (children, users, ...) take a key share
  // lock on it when inserted, so none can appear between the counts and the delete.
  {
    auto found = LockRow(c, "groups", id, RowLock::kUpdate, "delete group");
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("group " + std::string(id) + " not found");
  }
  static constexpr const char* kWhat[] = {"child groups", "device types", "devices",
                                          "users",        "API users",    "stations"};
  std::string held;
  {
    ROOST_SQL_QUERY(q, c,
                    "SELECT (SELECT COUNT(*) FROM groups WHERE parent = $1), "
                    "(SELECT COUNT(*) FROM device_types WHERE group_id = $1), "
                    "(SELECT COUNT(*) FROM devices WHERE group_id = $1), "
                    "(SELECT COUNT(*) FROM users WHERE group_id = $1), "
                    "(SELECT COUNT(*) FROM api_users WHERE group_id = $1), "
                    "(SELECT COUNT(*) FROM stations WHERE group_id = $1)",
                    "delete group");
    q.Bind(1, id);
    auto row = q.Next();
    if (!row.ok()) return row.status();
    for (int col = 0; col < 6; ++col) {
      if (int64_t n = q.Int(col); n > 0) {
        held += (held.empty() ? "" : ", ") + std::to_string(n) + " " + kWhat[col];
      }
    }
  }
  if (!held.empty()) {
    return Status::InvalidInput("group " + std::string(id) + " still has " + held);
  }
  for (const char* sql :
       {"DELETE FROM jobs WHERE group_id = $1", "DELETE FROM groups WHERE id = $1"}) {
    ROOST_SQL_QUERY(q, c, sql, "delete group");
    ROOST_RETURN_IF_ERROR(q.Bind(1, id).Run());
  }
  return tx.Commit("delete group");
}

}  // namespace roost::storage::sql
