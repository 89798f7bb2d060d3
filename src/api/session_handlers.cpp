// /api/session… (docs/api.md): the console's log in, "who am I", log out and
// own password change.
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/api_user_json.h"
#include "api/json/body.h"
#include "api/json/user_json.h"
#include "crypto/aes.h"
#include "registry/users.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The email and password open accounts in several groups: the caller has
// proved to own each of them, so naming their groups tells nothing new.
Response ChooseGroup(ApiContext& ctx, const std::vector<User>& opened) {
  json groups = json::array();
  for (const User& u : opened) {
    auto g = ctx.accounts.GetGroup(u.group);
    if (!g.ok()) return FromStatus(g.status()).ToResponse();
    groups.push_back(json{{"id", g->id}, {"name", g->name}});
  }
  return JsonResponse(
      409, json{{"message",
                 "this email and password open accounts in several groups; log in "
                 "again with the id of one of them as group"},
                {"errors", json::array({json{{"field", "group"}, {"message", "choose a group"}}})},
                {"groups", groups}});
}

}  // namespace

Response Login(ApiContext& ctx, const Principal&, const Request& req) {
  if (auto e = RequireJsonBody(req)) return e->ToResponse();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"email", "password", "group"})) return e->ToResponse();
  auto email = StringField(*body, "email", true, 254);
  if (!email.ok()) return email.error().ToResponse();
  auto password = StringField(*body, "password", true);
  if (!password.ok()) return password.error().ToResponse();
  auto group = StringField(*body, "group", false, 64);
  if (!group.ok()) return group.error().ToResponse();
  if (auto e = CheckCredentialText("email", **email)) return e->ToResponse();
  if (auto e = CheckCredentialText("password", **password)) return e->ToResponse();
  const std::string key = "email:" + registry::NormalizeEmail(**email);
  const int64_t now = ctx.now_ms();
  const LoginThrottle::Attempt attempt = ctx.throttle.Acquire(key, req.remote, now);
  if (!attempt.allowed()) return TooManyAttempts("too many failed logins", attempt.retry_after_ms);
  auto user = ctx.accounts.CheckLogin(**email, **password, (*group).value_or(std::string()));
  if (!user.ok()) {
    if (user.status().code() != Status::Code::kInvalidInput) {
      ctx.throttle.Abandon(attempt);  // nothing was checked (e.g. no Argon2id slot: 503)
      return FromStatus(user.status()).ToResponse();
    }
    return Response::Error(401, "wrong email or password");
  }
  ctx.throttle.Succeeded(attempt, now);
  if (user->size() > 1) return ChooseGroup(ctx, *user);
  auto session = ctx.accounts.StartSession(user->front());
  if (!session.ok()) return FromStatus(session.status()).ToResponse();
  Response r = JsonResponse(200, json{{"csrfToken", session->csrf_token},
                                      {"expires", session->expires},
                                      {"user", UserJson(session->user)}});
  r.headers.emplace_back(
      "Set-Cookie",
      SessionCookieHeader(ctx, session->token, ctx.accounts.settings().session_ttl_ms / 1000));
  r.headers.emplace_back("Cache-Control", "no-store");
  crypto::Cleanse(session->token.data(), session->token.size());
  return r;
}

Response GetSession(ApiContext& ctx, const Principal& p, const Request&) {
  if (p.user_id.empty()) {
    auto u = ctx.accounts.GetApiUser(p.login);
    if (!u.ok()) return FromStatus(u.status()).ToResponse();
    return JsonResponse(200, json{{"apiUser", ApiUserJson(*u)}});
  }
  auto u = ctx.accounts.GetUser(p.user_id);
  if (!u.ok()) return FromStatus(u.status()).ToResponse();
  Response r = JsonResponse(200, json{{"csrfToken", p.csrf_token}, {"user", UserJson(*u)}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Logout(ApiContext& ctx, const Principal& p, const Request&) {
  if (p.session_hash.empty()) {
    return ApiError{400, "there is no session to end: API users authenticate on every request", {}}
        .ToResponse();
  }
  Status ended = ctx.accounts.EndSession(p.session_hash);
  if (!ended.ok() && ended.code() != Status::Code::kNotFound) {
    return FromStatus(ended).ToResponse();
  }
  Response r = NoContent();
  r.headers.emplace_back("Set-Cookie", SessionCookieHeader(ctx, "", 0));
  return r;
}

Response ChangeOwnPassword(ApiContext& ctx, const Principal& p, const Request& req) {
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
  auto me = ctx.accounts.GetUser(p.user_id);
  if (!me.ok()) return FromStatus(me.status()).ToResponse();
  return ThrottledEdit(ctx, p, req, *me, edit);
}

}  // namespace roost::api
