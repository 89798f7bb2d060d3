// /api/groups… (docs/api.md). A group outside the principal's subtree is 404,
// the same answer as for one that does not exist.
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/group_json.h"
#include "core/text.h"
#include "model/object_id.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

constexpr size_t kMaxGroupName = 200;
constexpr size_t kMaxDescription = 2000;

Parsed<Group> VisibleGroup(ApiContext& ctx, const Principal& p, std::string_view id) {
  std::string what = "group " + QuoteForMessage(id);
  auto g = ctx.accounts.GetGroup(id);
  if (!g.ok()) return NotFoundOr(g.status(), what);
  if (auto e = CheckVisible(ctx, p, g->id, what)) return *e;
  return *g;
}

}  // namespace

Response ListGroups(ApiContext& ctx, const Principal& p, const Request& req) {
  Result<std::vector<Group>> groups = Status::Internal("unset");
  if (auto parent = req.QueryParam("parentId")) {
    if (auto e = CheckVisible(ctx, p, *parent, "group " + *parent)) {
      e->errors.push_back(http::ErrorDetail::Field("parentId", "not found"));
      return e->ToResponse();
    }
    groups = ctx.accounts.ListChildGroups(*parent);
  } else {
    groups = ctx.accounts.ListGroupsInSubtree(p.group);
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
  g.id = NewObjectId();
  g.creation_time = ctx.now_ms();
  auto created = ctx.accounts.CreateGroup(g);
  if (!created.ok()) return FromStatus(created.status()).ToResponse();
  return JsonResponse(200, json{{"id", g.id}});
}

Response EditGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  if (auto e = RejectUnknownFields(*body, {"id", "name", "description"})) return e->ToResponse();
  auto id = StringField(*body, "id", true);
  if (!id.ok()) return id.error().ToResponse();
  for (int attempt = 0; attempt < kEditAttempts; ++attempt) {
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
    // Only while no other edit landed since the read: otherwise read again.
    auto updated = ctx.accounts.UpdateGroup(edited, *g);
    if (!updated.ok()) return FromStatus(updated.status()).ToResponse();
    if (*updated) return JsonResponse(200, GroupJson(edited, p.group));
  }
  return KeepsChanging("group " + **id);
}

Response DeleteGroup(ApiContext& ctx, const Principal& p, const Request& req) {
  auto g = VisibleGroup(ctx, p, req.Param("id"));
  if (!g.ok()) return g.error().ToResponse();
  if (g->id == p.group) {
    return ApiError{409, "you cannot delete your own group", {}}.ToResponse();
  }
  Status deleted = ctx.accounts.DeleteGroup(g->id);
  if (deleted.code() == Status::Code::kInvalidInput) {
    return ApiError{409, deleted.message() + "; delete or move them first", {}}.ToResponse();
  }
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

}  // namespace roost::api
