#include "registry/users.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/hex.h"
#include "core/text.h"
#include "crypto/aes.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "model/object_id.h"

namespace roost::registry {
namespace {

// 43 characters of a 64-symbol alphabet: 258 bits.
constexpr size_t kTokenLength = 43;
constexpr size_t kMaxTokenLength = 256;

std::string Duration(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s >= 2 * 3600) return std::to_string(s / 3600) + " hours";
  if (s >= 120) return std::to_string(s / 60) + " minutes";
  return std::to_string(s) + (s == 1 ? " second" : " seconds");
}

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidInput("name: must not be empty");
  if (CountCharacters(name) > kMaxNameLength) {
    return Status::InvalidInput("name: at most " + std::to_string(kMaxNameLength) + " characters");
  }
  if (HasControl(name)) {
    return Status::InvalidInput("name: must not contain control characters");
  }
  return Status::Ok();
}

}  // namespace

std::string NormalizeEmail(std::string_view email) {
  while (!email.empty() && (email.front() == ' ' || email.front() == '\t')) email.remove_prefix(1);
  while (!email.empty() && (email.back() == ' ' || email.back() == '\t')) email.remove_suffix(1);
  std::string out(email);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status ValidateEmail(std::string_view email) {
  static constexpr std::string_view kForbidden = " \"<>,;:()[]\\";
  if (email.empty()) return Status::InvalidInput("email: must not be empty");
  if (email.size() > 254) return Status::InvalidInput("email: at most 254 characters");
  for (char c : email) {
    if (IsControl(c) || kForbidden.find(c) != std::string_view::npos) {
      return Status::InvalidInput("email: not an email address (character not allowed)");
    }
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return Status::InvalidInput("email: not an email address (needs exactly one '@')");
  }
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.empty() || domain.empty() || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return Status::InvalidInput("email: not an email address (local part or domain missing)");
  }
  return Status::Ok();
}

Status ValidateTimezone(std::string_view tz) {
  const Status bad = Status::InvalidInput(
      "timezone: expected an IANA time zone name such as \"Europe/Paris\" or \"UTC\"");
  if (tz.empty() || tz.size() > 64) return bad;
  size_t start = 0;
  while (start <= tz.size()) {
    size_t slash = tz.find('/', start);
    std::string_view seg =
        tz.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return bad;
    const char first = seg.front();
    if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z'))) return bad;
    for (char c : seg) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '+' || c == '-';
      if (!ok) return bad;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

Status ValidateNewPassword(std::string_view password) {
  if (CountCharacters(password) < kMinPasswordLength) {
    return Status::InvalidInput("password: at least " + std::to_string(kMinPasswordLength) +
                                " characters");
  }
  if (CountCharacters(password) > kMaxPasswordLength) {
    return Status::InvalidInput("password: at most " + std::to_string(kMaxPasswordLength) +
                                " characters");
  }
  return Status::Ok();
}

std::string HashToken(std::string_view token) {
  return ToHex(crypto::Sha256(token));
}

std::string CsrfTokenFor(std::string_view session_token) {
  std::string input = "roost-csrf-v1";
  input.push_back('\0');
  input.append(session_token);
  auto digest = crypto::Sha256(input);
  crypto::Cleanse(input.data(), input.size());
  return ToHex(digest);
}

Accounts::Accounts(storage::Store& store, std::function<EpochMillis()> now,
                   AccountSettings settings, SendEmail send_email)
    : store_(store),
      now_(std::move(now)),
      settings_(std::move(settings)),
      send_email_(std::move(send_email)) {}

Result<User> Accounts::CreateUser(std::string_view group, std::string_view email,
                                  std::string_view name, std::string_view timezone,
                                  const Roles& roles) {
  User user;
  user.email = NormalizeEmail(email);
  ROOST_RETURN_IF_ERROR(ValidateEmail(user.email));
  ROOST_RETURN_IF_ERROR(ValidateName(name));
  ROOST_RETURN_IF_ERROR(ValidateTimezone(timezone));
  ROOST_RETURN_IF_ERROR(ValidateRoles(roles));
  auto g = store_.GetGroup(group);
  if (!g.ok()) return g.status();
  user.id = NewObjectId();
  user.group = std::string(group);
  user.name = std::string(name);
  user.timezone = std::string(timezone);
  user.roles = roles;
  user.creation_time = user.update_time = now_();
  Status created = store_.CreateUser(user);
  if (created.code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("email: a user with this email already exists in this group");
  }
  ROOST_RETURN_IF_ERROR(created);
  return user;
}

Result<PasswordLink> Accounts::IssuePasswordLink(std::string_view user_id) {
  PasswordLink link;
  link.token = crypto::GeneratePassword(kTokenLength);
  const EpochMillis now = now_();
  link.expires = now + settings_.password_link_ttl_ms;
  UserToken stored{HashToken(link.token), std::string(user_id), link.expires, now};
  Status st = store_.ReplacePasswordToken(stored);
  if (st.code() == Status::Code::kInvalidInput) {
    return Status::NotFound("user " + std::string(user_id) + " not found");
  }
  ROOST_RETURN_IF_ERROR(st);
  link.url = settings_.public_url + "/set-password#token=" + link.token;
  return link;
}

Result<InviteOutcome> Accounts::Invite(const User& user) {
  InviteOutcome out;
  if (!send_email_) {
    out.email_error = "email is not configured on this server (smtp.host)";
    return out;
  }
  auto link = IssuePasswordLink(user.id);
  if (!link.ok()) return link.status();
  out.expires = link->expires;
  std::string body = "Hello " + user.name + ",\n\n" + "An account on Roost (" +
                     settings_.public_url + ") is waiting for you.\n" +
                     "Set your password with this link. It works once and expires in " +
                     Duration(settings_.password_link_ttl_ms) + ":\n\n" + link->url + "\n\n" +
                     "If you did not expect this email, you can ignore it.\n";
  Status sent = send_email_(user.email, "Set your Roost password", body);
  crypto::Cleanse(body.data(), body.size());
  crypto::Cleanse(link->token.data(), link->token.size());
  crypto::Cleanse(link->url.data(), link->url.size());
  if (sent.ok()) {
    out.email_sent = true;
  } else {
    out.email_error = sent.message();
  }
  return out;
}

Status Accounts::SetPasswordWithLink(std::string_view token, std::string_view password) {
  if (token.empty()) return Status::InvalidInput("token: must not be empty");
  ROOST_RETURN_IF_ERROR(ValidateNewPassword(password));
  const Status unknown = Status::InvalidInput(
      "token: this link is not valid: it was already used, replaced by a newer one, or never "
      "existed; ask an administrator for a new one");
  const Status expired =
      Status::InvalidInput("token: this link has expired; ask an administrator for a new one");
  if (token.size() > kMaxTokenLength) return unknown;
  // The link is checked before the password is hashed: anyone can send a made-up
  // token, and only the holder of a real link may cost an Argon2id hash.
  const std::string token_hash = HashToken(token);
  auto found = store_.FindPasswordToken(token_hash);
  if (!found.ok()) {
    return found.status().code() == Status::Code::kNotFound ? unknown : found.status();
  }
  if (found->expires <= now_()) return expired;
  // Hashed before the link is taken, so that a busy server (kUnavailable) does
  // not burn it.
  auto hash = crypto::HashPassword(password);
  if (!hash.ok()) return hash.status();
  auto taken = store_.TakePasswordToken(token_hash);
  if (!taken.ok()) {
    return taken.status().code() == Status::Code::kNotFound ? unknown : taken.status();
  }
  if (taken->expires <= now_()) return expired;
  // The password alone: an edit of the user's other fields meanwhile stays.
  storage::UserPatch patch;
  patch.password_hash = *hash;
  patch.update_time = now_();
  auto user = store_.PatchUser(taken->user, patch);
  if (!user.ok()) {
    return user.status().code() == Status::Code::kNotFound ? unknown : user.status();
  }
  auto ended = store_.DeleteUserSessions(user->id, "");
  return ended.status();
}

Result<User> Accounts::EditUser(const Actor& actor, const User& target, const UserEdit& edit,
                                std::string_view keep_session_hash) {
  // Only the fields the edit gives are written: `target` was read before, and
  // another edit of its other fields (a role taken away) may have landed since.
  storage::UserPatch patch;
  if (edit.name) {
    ROOST_RETURN_IF_ERROR(ValidateName(*edit.name));
    patch.name = *edit.name;
  }
  if (edit.timezone) {
    ROOST_RETURN_IF_ERROR(ValidateTimezone(*edit.timezone));
    patch.timezone = *edit.timezone;
  }
  if (edit.roles) {
    ROOST_RETURN_IF_ERROR(ValidateRoles(*edit.roles));
    auto has_admin = [](const Roles& r) {
      return std::find(r.begin(), r.end(), "ADMIN") != r.end();
    };
    if (!actor.user_id.empty() && actor.user_id == target.id && has_admin(target.roles) &&
        !has_admin(*edit.roles)) {
      return Status::InvalidInput(
          "roles: you cannot take ADMIN away from yourself; ask another administrator");
    }
    patch.roles = *edit.roles;
    // Checked again when the edit lands: two administrators demoting each
    // other at once must not leave the group with none.
    patch.admin_editor = actor.user_id;
  }
  if (edit.password) {
    ROOST_RETURN_IF_ERROR(ValidateNewPassword(*edit.password));
    if (!edit.current_password) {
      return Status::InvalidInput(
          "currentPassword: required to set a password: re-enter your own password");
    }
    const Status wrong = Status::InvalidInput("currentPassword: is not your current password");
    if (actor.password_hash.empty()) return wrong;
    auto verified = crypto::VerifyPassword(*edit.current_password, actor.password_hash);
    if (!verified.ok()) return verified.status();
    if (!*verified) return wrong;
    auto hash = crypto::HashPassword(*edit.password);
    if (!hash.ok()) return hash.status();
    patch.password_hash = *hash;
  }
  patch.update_time = now_();
  auto patched = store_.PatchUser(target.id, patch);
  if (!patched.ok()) return patched.status();
  User out = std::move(*patched);
  if (edit.password) {
    auto ended = store_.DeleteUserSessions(out.id, keep_session_hash);
    if (!ended.ok()) return ended.status();
    ROOST_RETURN_IF_ERROR(store_.DeletePasswordTokens(out.id));
  }
  return out;
}

Status Accounts::DeleteUser(const Actor& actor, std::string_view target_id) {
  if (!actor.user_id.empty() && actor.user_id == target_id) {
    return Status::InvalidInput("id: you cannot delete yourself");
  }
  return store_.DeleteUser(target_id, actor.user_id);  // the same check as a role edit
}

Result<std::vector<User>> Accounts::CheckLogin(std::string_view email, std::string_view password,
                                               std::string_view group) {
  auto users = store_.ListUsersByEmail(NormalizeEmail(email));
  if (!users.ok()) return users.status();
  std::vector<User> opened;
  size_t verified = 0;
  for (User& user : *users) {
    if (!group.empty() && user.group != group) continue;
    if (user.password_hash.empty()) continue;
    ++verified;
    auto matches = crypto::VerifyPassword(password, user.password_hash);
    if (!matches.ok()) return matches.status();
    if (*matches) opened.push_back(std::move(user));
  }
  if (verified == 0) {
    // An unknown email costs what a wrong password costs.
    auto matches = crypto::VerifyPassword(password, crypto::UnmatchableHash());
    if (!matches.ok()) return matches.status();
  }
  if (opened.empty()) return Status::InvalidInput("wrong email or password");
  return opened;
}

Result<NewSession> Accounts::StartSession(const User& user) {
  NewSession s;
  s.token = crypto::GeneratePassword(kTokenLength);
  s.csrf_token = CsrfTokenFor(s.token);
  const EpochMillis now = now_();
  s.expires = now + settings_.session_ttl_ms;
  s.user = user;
  ROOST_RETURN_IF_ERROR(
      store_.CreateSession(UserToken{HashToken(s.token), user.id, s.expires, now}));
  return s;
}

Result<ActiveSession> Accounts::ResolveSession(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) return Status::NotFound("no such session");
  ActiveSession out;
  out.token_hash = HashToken(token);
  auto session = store_.GetSession(out.token_hash);
  if (!session.ok()) return session.status();
  if (session->expires <= now_()) {
    (void)store_.DeleteSession(out.token_hash);
    return Status::NotFound("session expired");
  }
  auto user = store_.GetUser(session->user);
  if (!user.ok()) return user.status();
  out.user = std::move(user).value();
  out.expires = session->expires;
  return out;
}

Result<bool> Accounts::SessionActive(std::string_view token_hash) {
  auto session = store_.GetSession(token_hash);
  if (!session.ok()) {
    if (session.status().code() == Status::Code::kNotFound) return false;
    return session.status();
  }
  return session->expires > now_();
}

Status Accounts::EndSession(std::string_view token_hash) {
  return store_.DeleteSession(token_hash);
}

// --- the account directory --------------------------------------------------

Result<bool> Accounts::IsInSubtree(std::string_view group, std::string_view ancestor) {
  return store_.IsInSubtree(group, ancestor);
}

Result<Group> Accounts::GetGroup(std::string_view id) {
  return store_.GetGroup(id);
}

Result<std::vector<Group>> Accounts::ListGroupsInSubtree(std::string_view root) {
  return store_.ListGroupsInSubtree(root);
}

Result<std::vector<Group>> Accounts::ListChildGroups(std::string_view parent) {
  return store_.ListChildGroups(parent);
}

Result<Group> Accounts::CreateGroup(const Group& group) {
  return store_.CreateGroup(group);
}

Result<bool> Accounts::UpdateGroup(const Group& group, const Group& read) {
  return store_.UpdateGroup(group, read);
}

Status Accounts::DeleteGroup(std::string_view id) {
  return store_.DeleteGroup(id);
}

Result<User> Accounts::GetUser(std::string_view id) {
  return store_.GetUser(id);
}

Result<std::vector<User>> Accounts::ListUsersInSubtree(std::string_view root) {
  return store_.ListUsersInSubtree(root);
}

std::shared_ptr<const ApiUser> Accounts::CachedApiUser(std::string_view login) {
  if (settings_.api_user_cache_ms <= 0) return nullptr;
  const EpochMillis now = now_();
  std::lock_guard lock(api_users_mu_);
  auto it = api_users_.find(std::string(login));
  if (it == api_users_.end()) return nullptr;
  // A clock that went back counts as expired too.
  if (now < it->second.read_at || now - it->second.read_at >= settings_.api_user_cache_ms) {
    api_users_.erase(it);
    return nullptr;
  }
  return it->second.user;
}

Result<ApiUser> Accounts::GetApiUser(std::string_view login) {
  if (auto cached = CachedApiUser(login)) return *cached;
  const EpochMillis read_at = now_();
  uint64_t deletions;
  {
    std::lock_guard lock(api_users_mu_);
    deletions = api_user_deletions_;
  }
  auto user = store_.GetApiUser(login);
  if (!user.ok() || settings_.api_user_cache_ms <= 0) return user;
  std::lock_guard lock(api_users_mu_);
  // A user deleted while it was read must not come back from the cache.
  if (deletions != api_user_deletions_) return user;
  if (api_users_.size() >= kApiUserCacheSize) {
    std::erase_if(api_users_, [&](const auto& entry) {
      return read_at - entry.second.read_at >= settings_.api_user_cache_ms;
    });
    if (api_users_.size() >= kApiUserCacheSize) api_users_.clear();
  }
  api_users_[user->login] = CachedUser{std::make_shared<const ApiUser>(*user), read_at};
  return user;
}

Result<std::vector<ApiUser>> Accounts::ListApiUsersInSubtree(std::string_view root) {
  return store_.ListApiUsersInSubtree(root);
}

Result<NewApiUser> Accounts::CreateApiUser(std::string_view name, const Roles& roles,
                                           std::string_view group) {
  return registry::CreateApiUser(store_, name, roles, group, now_());
}

Status Accounts::DeleteApiUser(std::string_view login) {
  Status deleted = store_.DeleteApiUser(login);
  // Also when the store failed: it may have deleted the user all the same.
  std::lock_guard lock(api_users_mu_);
  ++api_user_deletions_;
  api_users_.erase(std::string(login));
  return deleted;
}

}  // namespace roost::registry
