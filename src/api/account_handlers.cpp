// Handlers of groups, API users, users and console sessions (docs/api.md).
// Visibility: every object outside the principal's group subtree is 404, the
// same answer as for one that does not exist.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/api_user_json.h"
#include "api/json/body.h"
#include "api/json/group_json.h"
#include "api/json/role_json.h"
#include "api/json/user_json.h"
#include "core/text.h"
#include "crypto/aes.h"
#include "crypto/password.h"
#include "registry/accounts.h"
#include "registry/users.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

constexpr size_t kMaxGroupName = 200;
constexpr size_t kMaxDescription = 2000;

Parsed<Group> VisibleGroup(ApiContext& ctx, const Principal& p, std::string_view id) {
  std::string what = "group " + std::string(id);
  auto g = ctx.store.GetGroup(id);
  if (!g.ok()) return NotFoundOr(g.status(), what);
  if (auto e = CheckVisible(ctx, p, g->id, what)) return *e;
  return *g;
}

Parsed<User> VisibleUser(ApiContext& ctx, const Principal& p, std::string_view id) {
  std::string what = "user " + std::string(id);
  auto u = ctx.store.GetUser(id);
  if (!u.ok()) return NotFoundOr(u.status(), what);
  if (auto e = CheckVisible(ctx, p, u->group, what)) return *e;
  return *u;
}

Parsed<ApiUser> VisibleApiUser(ApiContext& ctx, const Principal& p, std::string_view login) {
  std::string what = "API user " + std::string(login);
  auto u = ctx.store.GetApiUser(login);
  if (!u.ok()) return NotFoundOr(u.status(), what);
  if (auto e = CheckVisible(ctx, p, u->group, what)) return *e;
  return *u;
}

// "group"/"parentId" of a create body: a visible group id, or the principal's
// group when absent. 404 naming the field otherwise.
Parsed<std::string> TargetGroup(ApiContext& ctx, const Principal& p, const json& body,
                                std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return p.group;
  if (!it->is_string()) {
    return ApiError::BadField(field,
                              "must be a group id string, not " + std::string(JsonTypeName(*it)));
  }
  std::string id = it->get<std::string>();
  if (auto e = CheckVisible(ctx, p, id, "group " + id)) {
    e->errors.push_back(http::ErrorDetail::Field(field, "not found"));
    return *e;
  }
  return id;
}

// The principal as an actor of the account rules, with its own password hash.
Parsed<registry::Actor> ActorOf(ApiContext& ctx, const Principal& p) {
  registry::Actor a;
  if (!p.user_id.empty()) {
    auto u = ctx.store.GetUser(p.user_id);
    if (!u.ok()) return FromStatus(u.status());
    a.user_id = u->id;
    a.password_hash = u->password_hash;
  } else {
    auto u = ctx.store.GetApiUser(p.login);
    if (!u.ok()) return FromStatus(u.status());
    a.api_login = u->login;
    a.password_hash = u->password_hash;
  }
  return a;
}

// Keyset page of `items` (ordered by `key`), after the "after" query parameter.
template <typename T, typename Key, typename Render>
Response Page(const Request& req, const std::vector<T>& items, Key key, Render render,
              const std::vector<std::string_view>& keep = {}) {
  auto limit = ParseLimit(req.QueryParam("limit"));
  if (!limit.ok()) return limit.error().ToResponse();
  const std::string after = req.QueryParam("after").value_or("");
  json data = json::array();
  std::string last;
  bool more = false;
  for (const T& item : items) {
    const std::string& k = key(item);
    if (!after.empty() && k <= after) continue;
    if (static_cast<int>(data.size()) == *limit) {
      more = true;
      break;
    }
    data.push_back(render(item));
    last = k;
  }
  json body{{"data", std::move(data)}, {"paging", json::object()}};
  if (more) body["paging"]["next"] = NextUrl(req, keep, *limit, last);
  return JsonResponse(200, body);
}

// Public routes take JSON only: an HTML form of another site cannot send it
// without a CORS preflight, so these cannot be triggered cross-site.
std::optional<ApiError> RequireJsonBody(const Request& req) {
  auto type = req.Header("Content-Type");
  if (!StartsWithIgnoreCase(type.value_or(""), "application/json")) {
    return ApiError{415, "Content-Type must be application/json", {}};
  }
  return std::nullopt;
}

std::string SessionCookie(const ApiContext& ctx, std::string_view value, int64_t max_age_s) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(value) +
                  "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age_s);
  if (ctx.accounts->settings().public_url.rfind("https://", 0) == 0) c += "; Secure";
  return c;
}

std::string Who(const Principal& p) {
  return p.user_id.empty() ? p.login : p.user_id;
}

}  // namespace

// --- groups -------------------------------------------------------------------

Response ListGroups(ApiContext& ctx, const Principal& p, const Request& req) {
  Result<std::vector<Group>> groups = Status::Internal("unset");
  if (auto parent = req.QueryParam("parentId")) {
    if (auto e = CheckVisible(ctx, p, *parent, "group " + *parent)) {
      e->errors.push_back(http::ErrorDetail::Field("parentId", "not found"));
      return e->ToResponse();
    }
    groups = ctx.store.ListChildGroups(*parent);
  } else {
    groups = ctx.store.ListGroupsInSubtree(p.group);
  }
  if (!groups.ok()) return FromStatus(groups.status()).ToResponse();
  return Page(
      req, *groups, [](const Group& g) -> const std::string& { return g.id; },
      [&p](const Group& g) { return GroupJson(g, p.group); }, {"parentId"});
}

Response GetGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto g = VisibleGroup(ctx, p, req.Param("id"));
  if (!g.ok()) return g.error().ToResponse();
  return JsonResponse(200, GroupJson(*g, p.group));
}

Response CreateGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"name", "description", "parentId"})) {
    return e->ToResponse();
  }
  auto name = StringField(*body, "name", true, kMaxGroupName);
  if (!name.ok()) return name.error().ToResponse();
  if (name->value().empty() || HasControl(name->value())) {
    return ApiError::BadField("name", "must be 1 to 200 characters without control characters")
        .ToResponse();
  }
  Group g;
  g.name = **name;
  if (auto d = body->find("description"); d != body->end() && !d->is_null()) {
    auto desc = StringField(*body, "description", false, kMaxDescription);
    if (!desc.ok()) return desc.error().ToResponse();
    g.description = **desc;
  }
  auto parent = TargetGroup(ctx, p, *body, "parentId");
  if (!parent.ok()) return parent.error().ToResponse();
  g.parent = *parent;
  g.id = registry::DeviceRegistry::NewObjectId();
  g.creation_time = ctx.now_ms();
  auto created = ctx.store.CreateGroup(g);
  if (!created.ok()) return FromStatus(created.status()).ToResponse();
  return JsonResponse(200, json{{"id", g.id}});
}

Response EditGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"id", "name", "description"})) return e->ToResponse();
  auto id = StringField(*body, "id", true);
  if (!id.ok()) return id.error().ToResponse();
  auto g = VisibleGroup(ctx, p, **id);
  if (!g.ok()) return g.error().ToResponse();
  Group edited = *g;
  if (body->contains("name")) {
    auto name = StringField(*body, "name", true, kMaxGroupName);
    if (!name.ok()) return name.error().ToResponse();
    if (name->value().empty() || HasControl(name->value())) {
      return ApiError::BadField("name", "must be 1 to 200 characters without control characters")
          .ToResponse();
    }
    edited.name = **name;
  }
  if (auto d = body->find("description"); d != body->end()) {
    if (d->is_null()) {
      edited.description.clear();
    } else {
      auto desc = StringField(*body, "description", false, kMaxDescription);
      if (!desc.ok()) return desc.error().ToResponse();
      edited.description = **desc;
    }
  }
  Status updated = ctx.store.UpdateGroup(edited);
  if (!updated.ok()) return FromStatus(updated).ToResponse();
  return JsonResponse(200, GroupJson(edited, p.group));
}

Response DeleteGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto g = VisibleGroup(ctx, p, req.Param("id"));
  if (!g.ok()) return g.error().ToResponse();
  if (g->id == p.group) {
    return ApiError{409, "you cannot delete your own group", {}}.ToResponse();
  }
  Status deleted = ctx.store.DeleteGroup(g->id);
  if (deleted.code() == Status::Code::kInvalidInput) {
    return ApiError{409, deleted.message() + "; delete or move them first", {}}.ToResponse();
  }
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

// --- API users ------------------------------------------------------------------

Response ListApiUsers(ApiContext& ctx, const Principal& p, const Request& req) {
  auto users = ctx.store.ListApiUsersInSubtree(p.group);
  if (!users.ok()) return FromStatus(users.status()).ToResponse();
  return Page(
      req, *users, [](const ApiUser& u) -> const std::string& { return u.login; }, ApiUserJson);
}

Response GetApiUser(ApiContext& ctx, const Principal& p, const Request& req) {
  auto u = VisibleApiUser(ctx, p, req.Param("login"));
  if (!u.ok()) return u.error().ToResponse();
  return JsonResponse(200, ApiUserJson(*u));
}

Response CreateApiUserRoute(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"name", "roles", "group"})) return e->ToResponse();
  auto name = StringField(*body, "name", true, registry::kMaxNameLength);
  if (!name.ok()) return name.error().ToResponse();
  if (name->value().empty() || HasControl(name->value())) {
    return ApiError::BadField("name", "must be 1 to 200 characters without control characters")
        .ToResponse();
  }
  auto roles = RolesField(*body, true);
  if (!roles.ok()) return roles.error().ToResponse();
  auto group = TargetGroup(ctx, p, *body, "group");
  if (!group.ok()) return group.error().ToResponse();
  auto made = registry::CreateApiUser(ctx.store, **name, *roles, *group, ctx.now_ms());
  if (!made.ok()) return FromStatus(made.status()).ToResponse();
  // The password is in this response only: it is stored as an Argon2id hash.
  Response r = JsonResponse(200, json{{"login", made->user.login}, {"password", made->password}});
  crypto::Cleanse(made->password.data(), made->password.size());
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response DeleteApiUser(ApiContext& ctx, const Principal& p, const Request& req) {
  auto u = VisibleApiUser(ctx, p, req.Param("login"));
  if (!u.ok()) return u.error().ToResponse();
  if (u->login == p.login) {
    return ApiError{409, "you cannot delete the API user you are authenticated as", {}}
        .ToResponse();
  }
  Status deleted = ctx.store.DeleteApiUser(u->login);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  ctx.passwords.Forget(u->login);
  return NoContent();
}

// --- users ----------------------------------------------------------------------

Response ListUsers(ApiContext& ctx, const Principal& p, const Request& req) {
  auto users = ctx.store.ListUsersInSubtree(p.group);
  if (!users.ok()) return FromStatus(users.status()).ToResponse();
  return Page(
      req, *users, [](const User& u) -> const std::string& { return u.id; }, UserJson);
}

Response GetUser(ApiContext& ctx, const Principal& p, const Request& req) {
  auto u = VisibleUser(ctx, p, req.Param("id"));
  if (!u.ok()) return u.error().ToResponse();
  return JsonResponse(200, UserJson(*u));
}

Response CreateUser(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"email", "name", "timezone", "roles", "group"})) {
    return e->ToResponse();
  }
  auto email = StringField(*body, "email", true, 254);
  if (!email.ok()) return email.error().ToResponse();
  auto name = StringField(*body, "name", true, registry::kMaxNameLength);
  if (!name.ok()) return name.error().ToResponse();
  auto tz = StringField(*body, "timezone", true, 64);
  if (!tz.ok()) return tz.error().ToResponse();
  auto roles = RolesField(*body, true);
  if (!roles.ok()) return roles.error().ToResponse();
  auto group = TargetGroup(ctx, p, *body, "group");
  if (!group.ok()) return group.error().ToResponse();
  auto user = ctx.accounts->CreateUser(*group, **email, **name, **tz, *roles);
  if (!user.ok()) return FromStatus(user.status()).ToResponse();
  auto invite = ctx.accounts->Invite(*user);
  if (!invite.ok()) return FromStatus(invite.status()).ToResponse();
  json out = InviteJson(*invite);
  out["id"] = user->id;
  return JsonResponse(200, out);
}

namespace {

// Runs a password-setting edit with the re-authentication throttled like a login.
Response ThrottledEdit(ApiContext& ctx, const Principal& p, const Request& req, const User& target,
                       const registry::UserEdit& edit) {
  auto actor = ActorOf(ctx, p);
  if (!actor.ok()) return actor.error().ToResponse();
  const std::string address = ClientAddress(req.remote);
  const int64_t now = ctx.now_ms();
  if (edit.password) {
    if (int64_t wait = ctx.throttle.RetryAfterMs(Who(p), address, now); wait > 0) {
      return TooManyAttempts("too many wrong passwords", wait);
    }
  }
  auto edited = ctx.accounts->EditUser(*actor, target, edit, p.session_hash);
  if (!edited.ok()) {
    if (edit.password && edit.current_password &&
        edited.status().message().rfind("currentPassword: ", 0) == 0) {
      ctx.throttle.RecordFailure(Who(p), address, now);
    }
    return FromStatus(edited.status()).ToResponse();
  }
  return JsonResponse(200, UserJson(*edited));
}

}  // namespace

Response EditUser(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(
          *body, {"id", "name", "timezone", "roles", "password", "currentPassword"})) {
    return e->ToResponse();
  }
  auto id = StringField(*body, "id", true);
  if (!id.ok()) return id.error().ToResponse();
  registry::UserEdit edit;
  for (auto [field, slot] : {std::pair{"name", &edit.name}, std::pair{"timezone", &edit.timezone},
                             std::pair{"password", &edit.password},
                             std::pair{"currentPassword", &edit.current_password}}) {
    auto v = StringField(*body, field, false);
    if (!v.ok()) return v.error().ToResponse();
    *slot = std::move(*v);
  }
  if (body->contains("roles")) {
    auto roles = RolesField(*body, true);
    if (!roles.ok()) return roles.error().ToResponse();
    edit.roles = *roles;
  }
  auto target = VisibleUser(ctx, p, **id);
  if (!target.ok()) return target.error().ToResponse();
  return ThrottledEdit(ctx, p, req, *target, edit);
}

Response DeleteUser(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  auto target = VisibleUser(ctx, p, req.Param("id"));
  if (!target.ok()) return target.error().ToResponse();
  if (target->id == p.user_id) {
    return ApiError{409, "you cannot delete yourself", {}}.ToResponse();
  }
  auto actor = ActorOf(ctx, p);
  if (!actor.ok()) return actor.error().ToResponse();
  Status deleted = ctx.accounts->DeleteUser(*actor, target->id);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

Response InviteUser(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  auto target = VisibleUser(ctx, p, req.Param("id"));
  if (!target.ok()) return target.error().ToResponse();
  if (!ctx.accounts->can_send_email()) {
    return ApiError{409,
                    "email is not configured on this server (smtp.host), so no link can be sent; "
                    "set the password with POST /api/users/edit instead",
                    {}}
        .ToResponse();
  }
  auto invite = ctx.accounts->Invite(*target);
  if (!invite.ok()) return FromStatus(invite.status()).ToResponse();
  return JsonResponse(200, InviteJson(*invite));
}

Response SetPassword(ApiContext& ctx, const Principal&, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  if (auto e = RequireJsonBody(req)) return e->ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"token", "password"})) return e->ToResponse();
  auto token = StringField(*body, "token", true);
  if (!token.ok()) return token.error().ToResponse();
  auto password = StringField(*body, "password", true);
  if (!password.ok()) return password.error().ToResponse();
  Status set = ctx.accounts->SetPasswordWithLink(**token, **password);
  if (!set.ok()) return FromStatus(set).ToResponse();
  return NoContent();
}

// --- sessions -----------------------------------------------------------------------

Response Login(ApiContext& ctx, const Principal&, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  if (auto e = RequireJsonBody(req)) return e->ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"email", "password"})) return e->ToResponse();
  auto email = StringField(*body, "email", true, 254);
  if (!email.ok()) return email.error().ToResponse();
  auto password = StringField(*body, "password", true);
  if (!password.ok()) return password.error().ToResponse();
  const std::string key = "email:" + registry::NormalizeEmail(**email);
  const std::string address = ClientAddress(req.remote);
  const int64_t now = ctx.now_ms();
  if (int64_t wait = ctx.throttle.RetryAfterMs(key, address, now); wait > 0) {
    return TooManyAttempts("too many failed logins", wait);
  }
  auto user = ctx.accounts->CheckLogin(**email, **password);
  if (!user.ok()) {
    if (user.status().code() != Status::Code::kInvalidInput) {
      return FromStatus(user.status()).ToResponse();
    }
    ctx.throttle.RecordFailure(key, address, now);
    return Response::Error(401, "wrong email or password");
  }
  ctx.throttle.RecordSuccess(key);
  auto session = ctx.accounts->StartSession(*user);
  if (!session.ok()) return FromStatus(session.status()).ToResponse();
  Response r = JsonResponse(200, json{{"csrfToken", session->csrf_token},
                                      {"expires", session->expires},
                                      {"user", UserJson(session->user)}});
  r.headers.emplace_back(
      "Set-Cookie",
      SessionCookie(ctx, session->token, ctx.accounts->settings().session_ttl_ms / 1000));
  r.headers.emplace_back("Cache-Control", "no-store");
  crypto::Cleanse(session->token.data(), session->token.size());
  return r;
}

Response GetSession(ApiContext& ctx, const Principal& p, const Request&) {
  if (p.user_id.empty()) {
    auto u = ctx.store.GetApiUser(p.login);
    if (!u.ok()) return FromStatus(u.status()).ToResponse();
    return JsonResponse(200, json{{"apiUser", ApiUserJson(*u)}});
  }
  auto u = ctx.store.GetUser(p.user_id);
  if (!u.ok()) return FromStatus(u.status()).ToResponse();
  Response r = JsonResponse(200, json{{"csrfToken", p.csrf_token}, {"user", UserJson(*u)}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Logout(ApiContext& ctx, const Principal& p, const Request&) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  if (p.session_hash.empty()) {
    return ApiError{400, "there is no session to end: API users authenticate on every request", {}}
        .ToResponse();
  }
  Status ended = ctx.accounts->EndSession(p.session_hash);
  if (!ended.ok() && ended.code() != Status::Code::kNotFound) {
    return FromStatus(ended).ToResponse();
  }
  Response r = NoContent();
  r.headers.emplace_back("Set-Cookie", SessionCookie(ctx, "", 0));
  return r;
}

Response ChangeOwnPassword(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.accounts == nullptr) return InternalError().ToResponse();
  if (p.user_id.empty()) {
    return ApiError{
        400, "API users have no console password; create new API credentials instead", {}}
        .ToResponse();
  }
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"currentPassword", "password"})) return e->ToResponse();
  registry::UserEdit edit;
  auto password = StringField(*body, "password", true);
  if (!password.ok()) return password.error().ToResponse();
  auto current = StringField(*body, "currentPassword", true);
  if (!current.ok()) return current.error().ToResponse();
  edit.password = **password;
  edit.current_password = **current;
  auto me = ctx.store.GetUser(p.user_id);
  if (!me.ok()) return FromStatus(me.status()).ToResponse();
  return ThrottledEdit(ctx, p, req, *me, edit);
}

}  // namespace roost::api
