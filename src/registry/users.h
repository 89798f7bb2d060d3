// Users (people): creation, one-time password links, password rules, console
// sessions, and who may edit or delete whom.
//
// Secrets. A password link token and a session token are 256-bit random strings
// (43 characters of crypto::kPasswordAlphabet) handed to the person once — in the
// email, in the Set-Cookie header — and stored only as the SHA-256 (hex) of the
// token (HashToken). Passwords are stored only as Argon2id hashes. Nothing here
// logs; error messages never contain a secret.
//
// CSRF. A session's CSRF token is derived from its session token
// (CsrfTokenFor: a SHA-256 of a fixed label and the token), so it is never stored
// and the server can check it on any instance; knowing it does not reveal the
// session token.
//
// Errors are Status values whose message starts with the field they are about
// ("email: ...", "currentPassword: ...") so that the API can name the field:
// InvalidInput for bad input and broken rules (a reused or expired link, deleting
// oneself, a missing or wrong currentPassword), NotFound, AlreadyExists (email taken),
// and Unavailable when a password had to be hashed or verified and the process had
// no Argon2id slot free (crypto/password.h; nothing was changed, retry later).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "model/accounts.h"
#include "model/credential.h"
#include "model/device.h"
#include "model/device_type.h"
#include "model/job.h"
#include "registry/accounts.h"
#include "storage/store.h"

namespace roost::registry {

struct AccountSettings {
  int64_t password_link_ttl_ms = 72LL * 3600 * 1000;  // accounts.password_link_ttl_s
  int64_t session_ttl_ms = 12LL * 3600 * 1000;        // accounts.session_ttl_s
  std::string public_url = "http://127.0.0.1:8080";   // links are <public_url>/set-password...
  // How long an API user read from the store is used without asking it again
  // (HTTP Basic looks the user up on every request); 0 = not cached.
  int64_t api_user_cache_ms = 5'000;
};

// API users kept in memory at most (Accounts::GetApiUser).
inline constexpr size_t kApiUserCacheSize = 1024;

// Sends one text email; empty = the server has no SMTP configured. The error
// message must not contain secrets.
using SendEmail = std::function<Status(const std::string& to, const std::string& subject,
                                       const std::string& body)>;

inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;
inline constexpr size_t kMaxNameLength = 200;

// Lowercased, surrounding spaces removed.
std::string NormalizeEmail(std::string_view email);
// "email: ..." unless `email` (normalized) is one address: a non-empty local part,
// one '@', a non-empty domain without spaces, control characters, quotes or
// <>,;()[]\, at most 254 characters.
Status ValidateEmail(std::string_view email);
// "timezone: ..." unless `tz` looks like an IANA zone name: "UTC" or
// Area/Location segments of letters, digits and "_+-" (e.g. "America/Argentina/Salta",
// "Etc/GMT+3"), at most 64 characters. Checked by shape, not against a tz database.
Status ValidateTimezone(std::string_view tz);
// "password: ..." unless kMinPasswordLength..kMaxPasswordLength characters.
Status ValidateNewPassword(std::string_view password);

// SHA-256 of a token, lowercase hex: what the store keeps.
std::string HashToken(std::string_view token);
// The CSRF token of the session whose token is `session_token`.
std::string CsrfTokenFor(std::string_view session_token);

// Who is acting, for the rules that depend on it.
struct Actor {
  std::string user_id;        // a user (person); "" for an API user
  std::string api_login;      // an API user; "" for a person
  std::string password_hash;  // the actor's own stored hash, to check currentPassword
};

// An edit of a user: absent members stay as they are.
struct UserEdit {
  std::optional<std::string> name;
  std::optional<std::string> timezone;
  std::optional<Roles> roles;
  std::optional<std::string> password;
  std::optional<std::string> current_password;  // the ACTOR's own password
};

struct PasswordLink {
  std::string token;  // the only clear copy: put it in the email, nowhere else
  // <public_url>/set-password#token=<token>: in the fragment, which
  // browsers never send, so the token stays out of server and proxy logs.
  std::string url;
  EpochMillis expires = 0;
};

struct InviteOutcome {
  bool email_sent = false;
  std::string email_error;  // why not sent: no SMTP configured, or the SMTP error
  EpochMillis expires = 0;  // of the link (0 when no link was made)
};

struct NewSession {
  std::string token;       // the cookie value: only clear copy
  std::string csrf_token;  // CsrfTokenFor(token)
  EpochMillis expires = 0;
  User user;
};

struct ActiveSession {
  User user;
  std::string token_hash;
  EpochMillis expires = 0;
};

class Accounts {
 public:
  // `send_email` may be empty (no SMTP). Everything must outlive this object.
  Accounts(storage::Store& store, std::function<EpochMillis()> now, AccountSettings settings,
           SendEmail send_email = {});

  const AccountSettings& settings() const { return settings_; }
  bool can_send_email() const { return static_cast<bool>(send_email_); }

  // Creates a user with no usable password. Validates email (normalized), name
  // (1..200 characters), timezone and roles; `group` must exist (NotFound).
  // AlreadyExists when `group` already has a user with this email. The same
  // email in another group is no conflict (one person, one account per group),
  // so the outcome never depends on what other groups hold. Returns the stored user.
  Result<User> CreateUser(std::string_view group, std::string_view email, std::string_view name,
                          std::string_view timezone, const Roles& roles);

  // A fresh one-time link for `user_id`; every earlier link of the user stops working.
  Result<PasswordLink> IssuePasswordLink(std::string_view user_id);
  // IssuePasswordLink and email the link to the user. Without SMTP no link is
  // made at all (nothing would reach the user) and email_error says so; an SMTP
  // failure keeps the new link (a later invite replaces it) and reports the error.
  Result<InviteOutcome> Invite(const User& user);

  // Consumes the link's token (once: a second use is refused, as is an expired
  // token) and sets the password. The password's rules are checked first, and an
  // unknown, used or expired token is refused before the password is hashed (no
  // Argon2id work for a made-up token); the token is taken only once the hash is
  // made, so neither a too-short password nor a busy server burns the link. Ends
  // the user's sessions. Errors: "token: ..." (unknown, used, replaced or expired),
  // "password: ...".
  Status SetPasswordWithLink(std::string_view token, std::string_view password);

  // Applies `edit` to `target`, which the caller has checked `actor` may see.
  // Setting a password (anyone's, one's own included) needs the actor's own
  // current password in edit.current_password ("currentPassword: ..." when
  // missing or wrong); a person cannot take ADMIN away from themselves (no lock-out).
  // A new password ends the target's sessions except `keep_session_hash`
  // and its pending password links. Returns the stored user.
  Result<User> EditUser(const Actor& actor, const User& target, const UserEdit& edit,
                        std::string_view keep_session_hash = "");

  // Deletes `target_id` unless it is the actor ("id: you cannot delete yourself").
  Status DeleteUser(const Actor& actor, std::string_view target_id);

  // The accounts (at least one) that this email and password open, ordered by
  // id: the email's accounts in every group, or in `group` only when it is not
  // empty, whose password is `password`. Several when the person gave several
  // accounts the same password; the caller then asks which group. InvalidInput
  // "wrong email or password" when none (also for accounts without a password
  // yet). Costs one Argon2id verification per account of the email (in `group`),
  // at least one whether or not the email exists.
  Result<std::vector<User>> CheckLogin(std::string_view email, std::string_view password,
                                       std::string_view group = "");
  Result<NewSession> StartSession(const User& user);
  // The session of a cookie value and its user; NotFound when unknown or
  // expired (an expired one is deleted).
  Result<ActiveSession> ResolveSession(std::string_view token);
  Status EndSession(std::string_view token_hash);
  // Whether the session of `token_hash` (ActiveSession::token_hash) still
  // exists and has not expired: for what outlives the request that checked it
  // (a live message stream). Errors other than NotFound are returned.
  Result<bool> SessionActive(std::string_view token_hash);

  // The account directory as stored, for the API. Visibility (the caller's
  // group subtree) is the caller's business: IsInSubtree decides it.
  Result<bool> IsInSubtree(std::string_view group, std::string_view ancestor);
  Result<Group> GetGroup(std::string_view id);
  Result<std::vector<Group>> ListGroupsInSubtree(std::string_view root);
  Result<std::vector<Group>> ListChildGroups(std::string_view parent);
  // Stores `group` as given (id and creation time set by the caller).
  Result<Group> CreateGroup(const Group& group);
  // storage::Store::UpdateGroup: false when edited since `read`.
  Result<bool> UpdateGroup(const Group& group, const Group& read);
  // InvalidInput while the group still holds groups, users or devices.
  Status DeleteGroup(std::string_view id);

  Result<User> GetUser(std::string_view id);
  Result<std::vector<User>> ListUsersInSubtree(std::string_view root);

  // The API user of `login`, from a cache when it was read from the store less
  // than settings.api_user_cache_ms ago (at most kApiUserCacheSize users;
  // NotFound and errors are never cached). DeleteApiUser through this object
  // takes effect at once; a deletion elsewhere (another instance) only once
  // the entry is that old.
  Result<ApiUser> GetApiUser(std::string_view login);
  // The same from the cache only: nullptr when the store would have to be
  // asked (for a caller that must not block).
  std::shared_ptr<const ApiUser> CachedApiUser(std::string_view login);
  Result<std::vector<ApiUser>> ListApiUsersInSubtree(std::string_view root);
  // CreateApiUser of registry/accounts.h at the current time.
  Result<NewApiUser> CreateApiUser(std::string_view name, const Roles& roles,
                                   std::string_view group);
  Status DeleteApiUser(std::string_view login);

 private:
  storage::Store& store_;
  std::function<EpochMillis()> now_;
  AccountSettings settings_;
  SendEmail send_email_;
  struct CachedUser {
    std::shared_ptr<const ApiUser> user;
    EpochMillis read_at = 0;
  };
  std::mutex api_users_mu_;
  std::unordered_map<std::string, CachedUser> api_users_;  // by login; guarded by api_users_mu_
  // Deletions so far; a read that overlapped one is not cached. Guarded by api_users_mu_.
  uint64_t api_user_deletions_ = 0;
};

}  // namespace roost::registry
