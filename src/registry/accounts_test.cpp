#include "registry/accounts.h"

#include <gtest/gtest.h>

#include "crypto/password.h"
#include "registry/registry_test_fixture.h"

namespace roost::registry {
namespace {

using AccountsTest = testing::RegistryTest;

TEST_F(AccountsTest, BootstrapOnceWithGeneratedPassword) {
  auto first = Bootstrap(*store_, "admin@localhost", std::nullopt, 1000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->created);
  EXPECT_GE(first->generated_password.size(), 24u);
  auto admins = store_->ListUsersByEmail("admin@localhost");
  ASSERT_TRUE(admins.ok());
  ASSERT_EQ(admins->size(), 1u);
  const User* admin = &admins->front();
  EXPECT_EQ(admin->group, first->root_group);
  EXPECT_EQ(admin->roles, Roles{"ADMIN"});
  EXPECT_EQ(admin->password_hash.find(first->generated_password), std::string::npos);
  EXPECT_TRUE(crypto::VerifyPassword(first->generated_password, admin->password_hash).value());

  auto second = Bootstrap(*store_, "admin@localhost", std::nullopt, 2000);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->root_group, first->root_group);
  EXPECT_TRUE(second->generated_password.empty());
}

TEST_F(AccountsTest, BootstrapWithSuppliedPassword) {
  EXPECT_EQ(Bootstrap(*store_, "a@b.c", std::string("short"), 1).status().code(),
            Status::Code::kInvalidInput);
  auto r = Bootstrap(*store_, "a@b.c", std::string("correct horse battery"), 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->generated_password.empty());
  EXPECT_TRUE(crypto::VerifyPassword("correct horse battery",
                                     store_->ListUsersByEmail("a@b.c")->at(0).password_hash)
                  .value());
}

TEST_F(AccountsTest, ApiUsers) {
  EXPECT_EQ(CreateApiUser(*store_, "n", {"READER"}, "", 1).status().code(),
            Status::Code::kNotFound);  // not bootstrapped
  auto boot = Bootstrap(*store_, "admin@localhost", std::nullopt, 1);
  ASSERT_TRUE(boot.ok());
  auto created = CreateApiUser(*store_, "integration", {"DEVICE_MANAGER"}, "", 5);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->user.login.size(), 24u);
  EXPECT_EQ(created->user.group, boot->root_group);
  auto stored = store_->GetApiUser(created->user.login);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(crypto::VerifyPassword(created->password, stored->password_hash).value());
  EXPECT_FALSE(crypto::VerifyPassword(created->password + "x", stored->password_hash).value());
  EXPECT_EQ(CreateApiUser(*store_, "x", {"READER"}, "000000000000000000000000", 1).status().code(),
            Status::Code::kNotFound);
  EXPECT_FALSE(CreateApiUser(*store_, "", {"READER"}, "", 1).ok());
  EXPECT_FALSE(CreateApiUser(*store_, "x", {}, "", 1).ok());
}

}  // namespace
}  // namespace roost::registry
