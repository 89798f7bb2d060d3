// /api/users… (docs/api.md): people, their invitations and password links. A
// user outside the principal's subtree is 404, the same answer as for one that
// does not exist.
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/role_json.h"
#include "api/json/user_json.h"
#include "core/text.h"
#include "registry/users.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Parsed<User> VisibleUser(ApiContext& ctx, const Principal& p, std::string_view id) {
  std::string what = "user " + QuoteForMessage(id);
  auto u = ctx.accounts.GetUser(id);
  if (!u.ok()) return NotFoundOr(u.status(), what);
  if (auto e = CheckVisible(ctx, p, u->group, what)) return *e;
  return *u;
}

// The principal as an actor of the account rules, with its own password hash.
Parsed<registry::Actor> ActorOf(ApiContext& ctx, const Principal& p) {
  registry::Actor a;
  if (!p.user_id.empty()) {
    auto u = ctx.accounts.GetUser(p.user_id);
    if (!u.ok()) return FromStatus(u.status());
    a.user_id = u->id;
    a.password_hash = u->password_hash;
  } else {
    auto u = ctx.accounts.GetApiUser(p.login);
    if (!u.ok()) return FromStatus(u.status());
    a.api_login = u->login;
    a.password_hash = u->password_hash;
  }
  return a;
}

std::string Who(const Principal& p) {
  return p.user_id.empty() ? p.login : p.user_id;
}

}  // namespace

Response ListUsers(ApiContext& ctx, const Principal& p, const Request& req) {
  auto subtree = ListSubtree(ctx, p, req);
  if (!subtree.ok()) return subtree.error().ToResponse();
  auto text = ContainsFilter(req, "text");
  if (!text.ok()) return text.error().ToResponse();
  auto users = ctx.accounts.ListUsersInSubtree(*subtree);
  if (!users.ok()) return FromStatus(users.status()).ToResponse();
  if (!text->empty()) {  // Sigfox API v1's "text": the name or the email contains it
    std::erase_if(*users, [&](const User& u) {
      return !ContainsIgnoreCase(u.name, *text) && !ContainsIgnoreCase(u.email, *text);
    });
  }
  return Page(req, *users, [](const User& u) -> const std::string& { return u.id; }, UserJson,
              {"groupId", "text"});
}

Response GetUser(ApiContext& ctx, const Principal& p, const Request& req) {
  auto u = VisibleUser(ctx, p, req.Param("id"));
  if (!u.ok()) return u.error().ToResponse();
  return JsonResponse(200, UserJson(*u));
}

Response CreateUser(ApiContext& ctx, const Principal& p, const Request& req) {
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
  auto user = ctx.accounts.CreateUser(*group, **email, **name, **tz, *roles);
  if (!user.ok()) return FromStatus(user.status()).ToResponse();
  auto invite = ctx.accounts.Invite(*user);
  if (!invite.ok()) return FromStatus(invite.status()).ToResponse();
  json out = InviteJson(*invite);
  out["id"] = user->id;
  return JsonResponse(200, out);
}

// Runs a password-setting edit with the re-authentication throttled like a login.
Response ThrottledEdit(ApiContext& ctx, const Principal& p, const Request& req, const User& target,
                       const registry::UserEdit& edit) {
  auto actor = ActorOf(ctx, p);
  if (!actor.ok()) return actor.error().ToResponse();
  if (edit.current_password) {
    if (auto e = CheckCredentialText("currentPassword", *edit.current_password)) {
      return e->ToResponse();
    }
  }
  const int64_t now = ctx.now_ms();
  std::optional<LoginThrottle::Attempt> attempt;
  if (edit.password) {
    attempt = ctx.throttle.Acquire(Who(p), req.remote, now);
    if (!attempt->allowed()) {
      return TooManyAttempts("too many wrong passwords", attempt->retry_after_ms);
    }
  }
  auto edited = ctx.accounts.EditUser(*actor, target, edit, p.session_hash);
  if (attempt) {
    const bool wrong_current = !edited.ok() && edit.current_password &&
                               edited.status().code() == Status::Code::kInvalidInput &&
                               edited.status().message().rfind("currentPassword: ", 0) == 0;
    if (edited.ok()) {
      ctx.throttle.Succeeded(*attempt, now);
    } else if (!wrong_current) {
      ctx.throttle.Abandon(*attempt);  // refused for another reason: no password was wrong
    }
  }
  if (!edited.ok()) return FromStatus(edited.status()).ToResponse();
  return JsonResponse(200, UserJson(*edited));
}

Response EditUser(ApiContext& ctx, const Principal& p, const Request& req) {
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
  auto target = VisibleUser(ctx, p, req.Param("id"));
  if (!target.ok()) return target.error().ToResponse();
  if (target->id == p.user_id) {
    return ApiError{409, "you cannot delete yourself", {}}.ToResponse();
  }
  auto actor = ActorOf(ctx, p);
  if (!actor.ok()) return actor.error().ToResponse();
  Status deleted = ctx.accounts.DeleteUser(*actor, target->id);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

Response InviteUser(ApiContext& ctx, const Principal& p, const Request& req) {
  auto target = VisibleUser(ctx, p, req.Param("id"));
  if (!target.ok()) return target.error().ToResponse();
  if (!ctx.accounts.can_send_email()) {
    return ApiError{409,
                    "email is not configured on this server (smtp.host), so no link can be sent; "
                    "set the password with POST /api/users/edit instead",
                    {}}
        .ToResponse();
  }
  auto invite = ctx.accounts.Invite(*target);
  if (!invite.ok()) return FromStatus(invite.status()).ToResponse();
  return JsonResponse(200, InviteJson(*invite));
}

Response SetPassword(ApiContext& ctx, const Principal&, const Request& req) {
  if (auto e = RequireJsonBody(req)) return e->ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"token", "password"})) return e->ToResponse();
  auto token = StringField(*body, "token", true);
  if (!token.ok()) return token.error().ToResponse();
  auto password = StringField(*body, "password", true);
  if (!password.ok()) return password.error().ToResponse();
  if (auto e = CheckCredentialText("token", **token)) return e->ToResponse();
  if (auto e = CheckCredentialText("password", **password)) return e->ToResponse();
  // A link token names nobody: invalid ones count against the address only.
  const int64_t now = ctx.now_ms();
  const LoginThrottle::Attempt attempt = ctx.throttle.Acquire("", req.remote, now);
  if (!attempt.allowed()) {
    return TooManyAttempts("too many invalid password links", attempt.retry_after_ms);
  }
  Status set = ctx.accounts.SetPasswordWithLink(**token, **password);
  if (set.ok()) {
    ctx.throttle.Succeeded(attempt, now);
    return NoContent();
  }
  if (set.code() != Status::Code::kInvalidInput || set.message().rfind("token: ", 0) != 0) {
    ctx.throttle.Abandon(attempt);
  }
  return FromStatus(set).ToResponse();
}

}  // namespace roost::api
