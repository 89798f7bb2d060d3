// /api/api-users… (docs/api.md). An API user outside the principal's subtree
// is 404, the same answer as for one that does not exist.
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/api_user_json.h"
#include "api/json/body.h"
#include "api/json/role_json.h"
#include "core/text.h"
#include "crypto/aes.h"
#include "registry/accounts.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Parsed<ApiUser> VisibleApiUser(ApiContext& ctx, const Principal& p, std::string_view login) {
  std::string what = "API user " + QuoteForMessage(login);
  auto u = ctx.accounts.GetApiUser(login);
  if (!u.ok()) return NotFoundOr(u.status(), what);
  if (auto e = CheckVisible(ctx, p, u->group, what)) return *e;
  return *u;
}

}  // namespace

Response ListApiUsers(ApiContext& ctx, const Principal& p, const Request& req) {
  auto users = ctx.accounts.ListApiUsersInSubtree(p.group);
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
  auto made = ctx.accounts.CreateApiUser(**name, *roles, *group);
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
  Status deleted = ctx.accounts.DeleteApiUser(u->login);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  ctx.passwords.Forget(u->login);
  return NoContent();
}

}  // namespace roost::api
