#include "registry/users.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "crypto/password.h"
#include "model/object_id.h"
#include "registry/accounts.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

constexpr const char* kPassword = "a long enough password";

class UsersTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    now_ = 10000;
    auto boot = Bootstrap(*store_, "admin@localhost", std::string(kPassword), 1000);
    ASSERT_TRUE(boot.ok()) << boot.status().message();
    root_ = boot->root_group;
    admin_ = store_->ListUsersByEmail("admin@localhost").value().at(0);
    AccountSettings settings;
    settings.password_link_ttl_ms = 60000;
    settings.session_ttl_ms = 3600000;
    settings.public_url = "https://roost.example.com";
    accounts_ = std::make_unique<Accounts>(
        *store_, [this] { return now_; }, settings);
  }
  Actor AdminActor() const { return Actor{admin_.id, "", admin_.password_hash}; }

  User NewUser(const std::string& email, Roles roles = {"READER"}) {
    auto u = accounts_->CreateUser(root_, email, "Ann", "Europe/Paris", roles);
    EXPECT_TRUE(u.ok()) << u.status().message();
    return u.ok() ? *u : User{};
  }

  // A group right below the root.
  Group NewChildGroup() {
    Group child;
    child.id = NewObjectId();
    child.name = "child";
    child.parent = root_;
    EXPECT_TRUE(accounts_->CreateGroup(child).ok());
    return child;
  }

  std::unique_ptr<Accounts> accounts_;
  std::string root_;
  User admin_;
};

TEST(UserValidation, Emails) {
  EXPECT_EQ(NormalizeEmail("  Ann.B@Example.COM "), "ann.b@example.com");
  for (const char* ok : {"a@b", "ann.b+tag@example.com", "admin@localhost"}) {
    EXPECT_TRUE(ValidateEmail(ok).ok()) << ok;
  }
  for (const char* bad :
       {"", "no-at.example.com", "a@@b", "a@b@c", "@example.com", "ann@", "ann @example.com",
        "ann@exa mple.com", "<ann>@x", "a@.x", "a@x.", "a@x..y", "a,b@x", "a@x\r\nBcc: evil@x"}) {
    Status st = ValidateEmail(bad);
    EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << bad;
    EXPECT_EQ(st.message().rfind("email: ", 0), 0u) << st.message();
  }
  EXPECT_FALSE(ValidateEmail(std::string(250, 'a') + "@x.io").ok());
}

TEST(UserValidation, TimezonesPasswordsRoles) {
  for (const char* ok : {"UTC", "Europe/Paris", "America/Argentina/Salta", "Etc/GMT+3",
                         "Etc/GMT-14", "EST5EDT", "America/Port-au-Prince"}) {
    EXPECT_TRUE(ValidateTimezone(ok).ok()) << ok;
  }
  for (const char* bad : {"", "/Europe", "Europe/", "Europe//Paris", "Europe/Pa ris", "../etc",
                          "3Europe", "Europe/Paris\n"}) {
    Status st = ValidateTimezone(bad);
    EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << bad;
    EXPECT_EQ(st.message().rfind("timezone: ", 0), 0u);
  }
  EXPECT_FALSE(ValidateTimezone(std::string(65, 'A')).ok());
  EXPECT_EQ(ValidateNewPassword("short").code(), Status::Code::kInvalidInput);
  EXPECT_EQ(ValidateNewPassword("short").message().rfind("password: ", 0), 0u);
  EXPECT_TRUE(ValidateNewPassword(std::string(12, 'x')).ok());
  EXPECT_FALSE(ValidateNewPassword(std::string(1025, 'x')).ok());
}

TEST(UserTokens, HashAndCsrfAreDerivedNotStored) {
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(CsrfTokenFor("t1"), CsrfTokenFor("t1"));
  EXPECT_NE(CsrfTokenFor("t1"), CsrfTokenFor("t2"));
  EXPECT_NE(CsrfTokenFor("t1"), HashToken("t1"));  // the CSRF token is not the stored hash
  EXPECT_EQ(CsrfTokenFor("t1").size(), 64u);
}

TEST_F(UsersTest, CreateUserValidatesAndHasNoPassword) {
  User u = NewUser("  Ann@Example.com");
  EXPECT_EQ(u.email, "ann@example.com");
  EXPECT_TRUE(u.password_hash.empty());
  EXPECT_EQ(u.id.size(), kObjectIdLength);
  EXPECT_EQ(*store_->GetUser(u.id), u);
  auto dup = accounts_->CreateUser(root_, "ANN@example.com", "Ann 2", "UTC", {"READER"});
  EXPECT_EQ(dup.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(dup.status().message().rfind("email: ", 0), 0u);
  EXPECT_EQ(accounts_->CreateUser(root_, "bad", "B", "UTC", {"READER"}).status().code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ(accounts_->CreateUser(root_, "b@x", "", "UTC", {"READER"})
                .status()
                .message()
                .rfind("name: ", 0),
            0u);
  EXPECT_EQ(accounts_->CreateUser(root_, "b@x", "B", "Mars/Base 1", {"READER"})
                .status()
                .message()
                .rfind("timezone: ", 0),
            0u);
  EXPECT_EQ(accounts_->CreateUser(root_, "b@x", "B", "UTC", {"ROOT"})
                .status()
                .message()
                .rfind("roles: ", 0),
            0u);
  EXPECT_EQ(
      accounts_->CreateUser(std::string(24, 'f'), "b@x", "B", "UTC", {"READER"}).status().code(),
      Status::Code::kNotFound);
  EXPECT_TRUE(store_->ListUsersByEmail("b@x")->empty());
  // A user without a password cannot log in, whatever is tried.
  EXPECT_FALSE(accounts_->CheckLogin("ann@example.com", "").ok());
  EXPECT_FALSE(accounts_->CheckLogin("ann@example.com", kPassword).ok());
}

TEST_F(UsersTest, PasswordLinkWorksOnceAndNotAfterExpiry) {
  User u = NewUser("ann@example.com");
  auto link = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(link.ok()) << link.status().message();
  EXPECT_EQ(link->url, "https://roost.example.com/set-password#token=" + link->token);
  EXPECT_GE(link->token.size(), 43u);
  EXPECT_EQ(link->expires, now_ + 60000);

  // A too-short password is refused before the link is used up.
  Status st = accounts_->SetPasswordWithLink(link->token, "short");
  EXPECT_EQ(st.message().rfind("password: ", 0), 0u) << st.message();
  ASSERT_TRUE(accounts_->SetPasswordWithLink(link->token, "ann's new password").ok());
  User stored = *store_->GetUser(u.id);
  EXPECT_TRUE(crypto::VerifyPassword("ann's new password", stored.password_hash).value());
  EXPECT_EQ(stored.password_hash.find("ann's new password"), std::string::npos);
  EXPECT_TRUE(accounts_->CheckLogin("ANN@example.com", "ann's new password").ok());

  // Used once: a second use is refused and changes nothing.
  st = accounts_->SetPasswordWithLink(link->token, "another password!");
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(st.message().rfind("token: ", 0), 0u);
  EXPECT_NE(st.message().find("already used"), std::string::npos);
  EXPECT_EQ(store_->GetUser(u.id)->password_hash, stored.password_hash);

  // Expiry: valid until `expires`, refused from then on.
  auto late = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(late.ok());
  now_ += 60000;
  st = accounts_->SetPasswordWithLink(late->token, "a password too late");
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_NE(st.message().find("expired"), std::string::npos) << st.message();
  EXPECT_EQ(store_->GetUser(u.id)->password_hash, stored.password_hash);
  EXPECT_FALSE(accounts_->SetPasswordWithLink("", "a long enough one").ok());
  EXPECT_FALSE(accounts_->SetPasswordWithLink(std::string(300, 'a'), "a long enough one").ok());
}

// Counts the process's Argon2id hashes while it lives.
class HashCounter {
 public:
  HashCounter() {
    crypto::ConfigurePasswordWork(Unbounded(), [this](crypto::PasswordWork w) {
      if (w == crypto::PasswordWork::kHashed) ++hashes_;
    });
  }
  ~HashCounter() { crypto::ConfigurePasswordWork(Unbounded()); }
  int hashes() const { return hashes_.load(); }

 private:
  static crypto::PasswordWorkLimits Unbounded() {
    return crypto::PasswordWorkLimits{4, 64, std::chrono::seconds(60)};
  }
  std::atomic<int> hashes_{0};
};

TEST_F(UsersTest, AMadeUpUsedOrExpiredLinkCostsNoPasswordHash) {
  User u = NewUser("ann@example.com");
  auto used = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(used.ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(used->token, "ann's first password").ok());
  auto expiring = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(expiring.ok());
  now_ += 60000;

  HashCounter counter;
  const std::string long_password(kMaxPasswordLength, 'p');
  for (const std::string& token :
       {std::string(43, 'A'), used->token, expiring->token, std::string(256, 'z')}) {
    Status st = accounts_->SetPasswordWithLink(token, long_password);
    EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
    EXPECT_EQ(st.message().rfind("token: ", 0), 0u) << st.message();
  }
  EXPECT_EQ(counter.hashes(), 0);

  auto good = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(good->token, "ann's second password").ok());
  EXPECT_EQ(counter.hashes(), 1);
}

TEST_F(UsersTest, ABusyServerDoesNotBurnThePasswordLink) {
  User u = NewUser("ann@example.com");
  auto link = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(link.ok());
  crypto::ConfigurePasswordWork(crypto::PasswordWorkLimits{0, 0, std::chrono::milliseconds(0)});
  Status busy = accounts_->SetPasswordWithLink(link->token, "ann's new password");
  crypto::ConfigurePasswordWork(crypto::PasswordWorkLimits{4, 64, std::chrono::seconds(60)});
  EXPECT_EQ(busy.code(), Status::Code::kUnavailable) << busy.message();
  EXPECT_TRUE(store_->GetUser(u.id)->password_hash.empty());
  EXPECT_TRUE(accounts_->SetPasswordWithLink(link->token, "ann's new password").ok());
}

TEST_F(UsersTest, ANewLinkReplacesTheOldOneAndSettingAPasswordEndsSessions) {
  User u = NewUser("ann@example.com");
  auto first = accounts_->IssuePasswordLink(u.id);
  auto second = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->token, second->token);
  EXPECT_FALSE(accounts_->SetPasswordWithLink(first->token, "ann's password 1").ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(second->token, "ann's password 1").ok());
  auto login = accounts_->CheckLogin("ann@example.com", "ann's password 1");
  ASSERT_TRUE(login.ok());
  ASSERT_EQ(login->size(), 1u);
  auto session = accounts_->StartSession(login->front());
  ASSERT_TRUE(session.ok());
  // A reset link used later logs the user out everywhere.
  auto reset = accounts_->IssuePasswordLink(u.id);
  ASSERT_TRUE(reset.ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(reset->token, "ann's password 2").ok());
  EXPECT_EQ(accounts_->ResolveSession(session->token).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(accounts_->IssuePasswordLink(std::string(24, 'e')).status().code(),
            Status::Code::kNotFound);
}

TEST_F(UsersTest, InviteWithoutSmtpMakesNoLink) {
  User u = NewUser("ann@example.com");
  EXPECT_FALSE(accounts_->can_send_email());
  auto out = accounts_->Invite(u);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->email_sent);
  EXPECT_NE(out->email_error.find("smtp.host"), std::string::npos);
  EXPECT_EQ(out->expires, 0);
}

TEST_F(UsersTest, SettingAPasswordNeedsTheActorsOwnCurrentPassword) {
  User u = NewUser("ann@example.com");
  UserEdit edit;
  edit.password = "set by the admin!";
  // Missing currentPassword: refused, nothing changes.
  auto r = accounts_->EditUser(AdminActor(), u, edit);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(r.status().message().rfind("currentPassword: ", 0), 0u);
  EXPECT_TRUE(store_->GetUser(u.id)->password_hash.empty());
  // The TARGET's password (or anything else) is not the admin's.
  edit.current_password = "set by the admin!";
  r = accounts_->EditUser(AdminActor(), u, edit);
  EXPECT_EQ(r.status().message().rfind("currentPassword: ", 0), 0u);
  EXPECT_TRUE(store_->GetUser(u.id)->password_hash.empty());
  // The admin's own password: accepted.
  edit.current_password = kPassword;
  edit.name = "Ann B.";
  r = accounts_->EditUser(AdminActor(), u, edit);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "Ann B.");
  EXPECT_TRUE(accounts_->CheckLogin("ann@example.com", "set by the admin!").ok());
  // An actor without a password (e.g. no hash known) can never set one.
  r = accounts_->EditUser(Actor{"", "someapiuser", ""}, u, edit);
  EXPECT_EQ(r.status().message().rfind("currentPassword: ", 0), 0u);
  // A too-short new password is named as such.
  edit.password = "short";
  r = accounts_->EditUser(AdminActor(), u, edit);
  EXPECT_EQ(r.status().message().rfind("password: ", 0), 0u);
}

// Edits start from a user read earlier; each writes only its own fields, so
// two edits that overlap in time both hold (a revoked role never comes back).
TEST_F(UsersTest, EditsFromAnEarlierReadKeepWhatOtherEditsChanged) {
  User snapshot = NewUser("ann@example.com", {"ADMIN"});
  UserEdit demote;
  demote.roles = Roles{"READER"};
  ASSERT_TRUE(accounts_->EditUser(AdminActor(), snapshot, demote).ok());
  UserEdit rename;
  rename.name = "Ann B.";
  auto renamed = accounts_->EditUser(AdminActor(), snapshot, rename);  // the stale read
  ASSERT_TRUE(renamed.ok()) << renamed.status().message();
  EXPECT_EQ(renamed->roles, (Roles{"READER"}));
  EXPECT_EQ(renamed->name, "Ann B.");
  auto stored = store_->GetUser(snapshot.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->roles, (Roles{"READER"}));
  EXPECT_EQ(stored->timezone, "Europe/Paris");
  // A password set through a link, then an edit from a read made before it:
  // the new password stays.
  auto link = accounts_->IssuePasswordLink(snapshot.id);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(accounts_->SetPasswordWithLink(link->token, "ann's own password").ok());
  UserEdit tz;
  tz.timezone = "UTC";
  ASSERT_TRUE(accounts_->EditUser(AdminActor(), snapshot, tz).ok());
  EXPECT_TRUE(accounts_->CheckLogin("ann@example.com", "ann's own password").ok());
  EXPECT_EQ(store_->GetUser(snapshot.id)->name, "Ann B.");
}

TEST_F(UsersTest, AnAdministratorDemotedMeanwhileChangesNoRolesAndDeletesNoOne) {
  // Ann was authorised as an administrator, then demoted by another before her
  // edit lands: it changes nothing (two administrators demoting each other at
  // once would otherwise leave none).
  User ann = NewUser("ann@example.com", {"ADMIN"});
  User bob = NewUser("bob@example.com", {"ADMIN"});
  const Actor ann_actor{ann.id, "", ann.password_hash};
  UserEdit demote;
  demote.roles = Roles{"READER"};
  ASSERT_TRUE(accounts_->EditUser(AdminActor(), ann, demote).ok());
  auto refused = accounts_->EditUser(ann_actor, bob, demote);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(store_->GetUser(bob.id)->roles, Roles{"ADMIN"});
  EXPECT_EQ(accounts_->DeleteUser(ann_actor, bob.id).code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(store_->GetUser(bob.id).ok());
  // A rename needs no such check.
  UserEdit rename;
  rename.name = "Bob B.";
  EXPECT_TRUE(accounts_->EditUser(ann_actor, bob, rename).ok());
}

TEST_F(UsersTest, OwnPasswordChangeKeepsTheCurrentSessionOnly) {
  auto s1 = accounts_->StartSession(admin_);
  auto s2 = accounts_->StartSession(admin_);
  ASSERT_TRUE(s1.ok() && s2.ok());
  auto current = accounts_->ResolveSession(s1->token);
  ASSERT_TRUE(current.ok());
  UserEdit edit;
  edit.password = "the admin's new password";
  edit.current_password = kPassword;
  auto r = accounts_->EditUser(AdminActor(), admin_, edit, current->token_hash);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(accounts_->ResolveSession(s1->token).ok());
  EXPECT_FALSE(accounts_->ResolveSession(s2->token).ok());
}

TEST_F(UsersTest, RolesEditAndNoSelfLockOut) {
  User u = NewUser("ann@example.com", {"ADMIN"});
  UserEdit edit;
  edit.roles = Roles{"READER"};
  auto r = accounts_->EditUser(AdminActor(), u, edit);  // another admin: fine
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(store_->GetUser(u.id)->roles, Roles{"READER"});
  r = accounts_->EditUser(AdminActor(), admin_, edit);  // oneself: refused
  EXPECT_EQ(r.status().message().rfind("roles: ", 0), 0u);
  EXPECT_EQ(store_->GetUser(admin_.id)->roles, Roles{"ADMIN"});
  edit.roles = Roles{"ADMIN", "READER"};
  EXPECT_TRUE(accounts_->EditUser(AdminActor(), admin_, edit).ok());
  edit.roles = Roles{"NOPE"};
  EXPECT_FALSE(accounts_->EditUser(AdminActor(), u, edit).ok());
  UserEdit tz;
  tz.timezone = "not a zone";
  EXPECT_EQ(accounts_->EditUser(AdminActor(), u, tz).status().message().rfind("timezone: ", 0), 0u);
}

TEST_F(UsersTest, DeleteAnyoneButOneself) {
  User u = NewUser("ann@example.com");
  Status st = accounts_->DeleteUser(AdminActor(), admin_.id);
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(st.message(), "id: you cannot delete yourself");
  EXPECT_TRUE(store_->GetUser(admin_.id).ok());
  ASSERT_TRUE(accounts_->DeleteUser(AdminActor(), u.id).ok());
  EXPECT_EQ(store_->GetUser(u.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(accounts_->DeleteUser(AdminActor(), u.id).code(), Status::Code::kNotFound);
  // An API user may delete any user (it is none of them).
  EXPECT_TRUE(accounts_->DeleteUser(Actor{"", "0123456789abcdef01234567", ""}, admin_.id).ok());
}

TEST_F(UsersTest, AnEmailOfAnotherGroupIsCreatedLikeAFreshOne) {
  const Group child = NewChildGroup();
  User in_root = NewUser("sam@example.com");
  auto in_child = accounts_->CreateUser(child.id, "Sam@Example.com", "Sam", "UTC", {"READER"});
  ASSERT_TRUE(in_child.ok()) << in_child.status().message();
  EXPECT_NE(in_child->id, in_root.id);
  EXPECT_EQ(in_child->group, child.id);
  EXPECT_TRUE(in_child->password_hash.empty());
  auto again = accounts_->CreateUser(child.id, "sam@example.com", "Sam", "UTC", {"READER"});
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(again.status().message().rfind("email: ", 0), 0u);
}

TEST_F(UsersTest, LoginOpensTheAccountsWhosePasswordMatches) {
  const Group child = NewChildGroup();
  User a = NewUser("sam@example.com");
  auto b = accounts_->CreateUser(child.id, "sam@example.com", "Sam", "UTC", {"READER"});
  ASSERT_TRUE(b.ok());
  auto set = [&](const User& u, const std::string& password) {
    auto link = accounts_->IssuePasswordLink(u.id);
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(accounts_->SetPasswordWithLink(link->token, password).ok());
  };
  set(a, "the first password");
  set(*b, "the second password");
  auto one = accounts_->CheckLogin("sam@example.com", "the second password");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().id, b->id);
  EXPECT_FALSE(accounts_->CheckLogin("sam@example.com", "the second password", root_).ok());
  set(a, "the second password");
  auto both = accounts_->CheckLogin("sam@example.com", "the second password");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);
  auto chosen = accounts_->CheckLogin("sam@example.com", "the second password", child.id);
  ASSERT_TRUE(chosen.ok());
  ASSERT_EQ(chosen->size(), 1u);
  EXPECT_EQ(chosen->front().id, b->id);
}

// HTTP Basic reads the API user on every request, so reads are cached; a
// deletion through this process must not leave the user usable from the cache.
TEST_F(UsersTest, ADeletedApiUserIsNotServedFromTheCache) {
  auto made = accounts_->CreateApiUser("station", Roles{"STATION"}, root_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  const std::string login = made->user.login;
  ASSERT_TRUE(accounts_->GetApiUser(login).ok());
  ASSERT_NE(accounts_->CachedApiUser(login), nullptr);
  ASSERT_TRUE(accounts_->DeleteApiUser(login).ok());
  EXPECT_EQ(accounts_->CachedApiUser(login), nullptr);
  auto gone = accounts_->GetApiUser(login);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Status::Code::kNotFound);
}

// A deletion the cache cannot see (another instance's) counts once the entry
// is older than the cache time; a miss is never cached (a user created
// elsewhere works at once).
TEST_F(UsersTest, ApiUsersAreReadAgainOnceTheCacheTimeHasPassed) {
  EXPECT_EQ(accounts_->GetApiUser("not-yet").status().code(), Status::Code::kNotFound);
  auto made = accounts_->CreateApiUser("station", Roles{"STATION"}, root_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  const std::string login = made->user.login;
  EXPECT_EQ(accounts_->CachedApiUser(login), nullptr);  // not read yet
  ASSERT_TRUE(accounts_->GetApiUser(login).ok());
  ASSERT_TRUE(store_->DeleteApiUser(login).ok());  // behind the cache's back
  now_ += AccountSettings{}.api_user_cache_ms - 1;
  EXPECT_TRUE(accounts_->GetApiUser(login).ok());
  now_ += 1;
  EXPECT_EQ(accounts_->CachedApiUser(login), nullptr);
  EXPECT_EQ(accounts_->GetApiUser(login).status().code(), Status::Code::kNotFound);
}

TEST_F(UsersTest, LoginAndSessions) {
  EXPECT_FALSE(accounts_->CheckLogin("admin@localhost", "wrong password").ok());
  EXPECT_EQ(accounts_->CheckLogin("nobody@localhost", kPassword).status().message(),
            "wrong email or password");
  auto user = accounts_->CheckLogin("Admin@Localhost", kPassword);
  ASSERT_TRUE(user.ok()) << user.status().message();
  ASSERT_EQ(user->size(), 1u);
  auto s = accounts_->StartSession(user->front());
  ASSERT_TRUE(s.ok());
  EXPECT_GE(s->token.size(), 43u);
  EXPECT_EQ(s->csrf_token, CsrfTokenFor(s->token));
  EXPECT_EQ(s->expires, now_ + 3600000);
  // The store holds the hash only.
  EXPECT_EQ(store_->GetSession(s->token).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->GetSession(HashToken(s->token)).ok());

  auto active = accounts_->ResolveSession(s->token);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->user.id, admin_.id);
  EXPECT_EQ(accounts_->ResolveSession("forged").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(accounts_->ResolveSession("").status().code(), Status::Code::kNotFound);
  now_ += 3600000;  // expired now
  EXPECT_EQ(accounts_->ResolveSession(s->token).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetSession(HashToken(s->token)).status().code(), Status::Code::kNotFound);

  auto s2 = accounts_->StartSession(user->front());
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(accounts_->EndSession(HashToken(s2->token)).ok());
  EXPECT_FALSE(accounts_->ResolveSession(s2->token).ok());
}

}  // namespace
}  // namespace roost::registry
