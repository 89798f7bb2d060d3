#include "api/authenticate.h"

#include <cstdint>
#include <memory>
#include <string>

#include "api/auth.h"
#include "api/errors.h"
#include "core/text.h"
#include "crypto/password.h"
#include "registry/users.h"

namespace roost::api {

using http::Request;
using http::Response;

namespace {

constexpr std::string_view kAuthenticationRequired =
    "authentication required: HTTP Basic with an API login, or a console session cookie";

// A browser that meets a Basic challenge asks for a password in its own dialog,
// and holds the request until someone answers it: for the console's fetch and
// EventSource calls, which then just hang. Browsers mark a request a page's
// script made with Sec-Fetch-Mode (cors, same-origin, no-cors); those get the
// 401 without the challenge, so the console shows its own login page. Scripts
// and a browser opening an API URL directly (navigate) still get it.
bool FromPageScript(const Request& request) {
  std::optional<std::string_view> mode = request.Header("Sec-Fetch-Mode");
  return mode && !EqualsIgnoreCase(*mode, "navigate");
}

Response Unauthorized(const Request& request, std::string_view message = kAuthenticationRequired) {
  Response r = Response::Error(401, message);
  if (!FromPageScript(request)) {
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"roost\"");
  }
  return r;
}

}  // namespace

std::string_view SessionCookieName(const ApiContext& ctx) {
  return ctx.secure_cookies ? kSecureSessionCookie : kSessionCookie;
}

std::string SessionCookieHeader(const ApiContext& ctx, std::string_view value, int64_t max_age_s) {
  std::string c = std::string(SessionCookieName(ctx)) + "=" + std::string(value) +
                  "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age_s);
  if (ctx.secure_cookies) c += "; Secure";
  return c;
}

std::optional<ApiError> CheckCredentialText(std::string_view field, std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    return ApiError::BadField(field, "must not contain NUL characters");
  }
  if (!IsValidUtf8(value)) return ApiError::BadField(field, "must be valid UTF-8");
  return std::nullopt;
}

Response TooManyAttempts(std::string_view what, int64_t wait_ms) {
  Response r = Response::Error(429, std::string(what) + "; retry later");
  r.headers.emplace_back("Retry-After", std::to_string((wait_ms + 999) / 1000));
  return r;
}

std::string ClientAddress(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    size_t close = remote.find(']');
    if (close != std::string_view::npos) return std::string(remote.substr(1, close - 1));
  }
  size_t colon = remote.rfind(':');
  if (colon != std::string_view::npos && remote.find(':') == colon) {
    return std::string(remote.substr(0, colon));
  }
  return std::string(remote);
}

namespace {

// A request with the console's session cookie (and no Authorization header).
AuthOutcome AuthenticateSession(ApiContext& ctx, const Request& request, const std::string& token,
                                bool changes_state) {
  AuthOutcome out;
  auto active = ctx.accounts.ResolveSession(token);
  if (!active.ok()) {
    if (active.status().code() != Status::Code::kNotFound) {
      out.refusal = Response::Error(500, "internal error");
      return out;
    }
    out.refusal = Unauthorized(request, "your session has expired or is not valid; log in again");
    out.refusal.headers.emplace_back("Set-Cookie", SessionCookieHeader(ctx, "", 0));
    return out;
  }
  const std::string csrf = registry::CsrfTokenFor(token);
  // The method alone is not enough: a GET may change state (disengage), and a
  // cross-site page can make the browser send a GET with the cookie.
  if (changes_state || IsUnsafeMethod(request.method)) {
    auto sent = request.Header(kCsrfHeader);
    if (!sent || !crypto::ConstantTimeEquals(*sent, csrf)) {
      out.refusal = Response::Error(
          403, "a " + request.method + " request with a session cookie needs the header " +
                   std::string(kCsrfHeader) + " with the csrfToken of the login response");
      return out;
    }
  }
  out.ok = true;
  out.principal.user_id = active->user.id;
  out.principal.group = active->user.group;
  out.principal.roles = RoleSetOf(active->user.roles);
  out.principal.session_hash = active->token_hash;
  out.principal.csrf_token = csrf;
  return out;
}

}  // namespace

std::optional<Principal> AuthenticateFromCache(ApiContext& ctx, const Request& request) {
  auto header = request.Header("Authorization");
  if (!header) return std::nullopt;
  auto creds = ParseBasicAuthorization(*header);
  if (!creds.ok()) return std::nullopt;
  std::shared_ptr<const ApiUser> user = ctx.accounts.CachedApiUser(creds->login);
  if (!user || !ctx.passwords.Recalls(creds->login, creds->password, user->password_hash)) {
    return std::nullopt;
  }
  // Refused by the throttle: the usual way answers (429).
  if (!ctx.throttle.AdmitKnown(creds->login, request.remote, ctx.now_ms())) return std::nullopt;
  Principal principal;
  principal.login = user->login;
  principal.group = user->group;
  principal.roles = RoleSetOf(user->roles);
  return principal;
}

AuthOutcome Authenticate(ApiContext& ctx, const Request& request, bool changes_state) {
  AuthOutcome out;
  auto header = request.Header("Authorization");
  if (!header) {
    if (auto cookies = request.Header("Cookie")) {
      if (auto token = FindCookie(*cookies, SessionCookieName(ctx))) {
        return AuthenticateSession(ctx, request, *token, changes_state);
      }
    }
    out.refusal = Unauthorized(request);
    return out;
  }
  // Malformed credentials (NUL, not UTF-8 included) are refused before any
  // lookup or throttle.
  auto creds = ParseBasicAuthorization(*header);
  if (!creds.ok()) {
    out.refusal = Unauthorized(request);
    return out;
  }
  const int64_t now = ctx.now_ms();
  const LoginThrottle::Attempt attempt = ctx.throttle.Acquire(creds->login, request.remote, now);
  if (!attempt.allowed()) {
    out.refusal = TooManyAttempts("too many failed logins", attempt.retry_after_ms);
    return out;
  }
  auto user = ctx.accounts.GetApiUser(creds->login);
  Result<bool> verified = false;
  if (user.ok()) {
    verified = ctx.passwords.Verify(creds->login, creds->password, user->password_hash);
  } else if (user.status().code() == Status::Code::kNotFound) {
    auto dummy = crypto::VerifyPassword(creds->password, crypto::UnmatchableHash());
    if (!dummy.ok()) verified = dummy.status();
  } else {
    ctx.throttle.Abandon(attempt);
    out.refusal = Response::Error(500, "internal error");
    return out;
  }
  if (!verified.ok()) {  // no Argon2id slot: nothing was checked
    ctx.throttle.Abandon(attempt);
    out.refusal = FromStatus(verified.status()).ToResponse();
    return out;
  }
  if (!*verified) {  // the reservation stays a failure
    out.refusal = Unauthorized(request);
    return out;
  }
  ctx.throttle.Succeeded(attempt, now);
  out.ok = true;
  out.principal.login = user->login;
  out.principal.group = user->group;
  out.principal.roles = RoleSetOf(user->roles);
  return out;
}

}  // namespace roost::api
