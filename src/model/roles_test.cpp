#include "model/roles.h"

#include <gtest/gtest.h>

namespace roost {
namespace {

TEST(Roles, ParseAndFormat) {
  EXPECT_EQ(ParseRole("device_manager").value(), Role::kDeviceManager);
  EXPECT_EQ(ParseRole("STATION").value(), Role::kStation);
  EXPECT_FALSE(ParseRole("ROOT").ok());
  auto set = ParseRoleList("reader, ADMIN");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Has(Role::kAdmin));
  EXPECT_TRUE(set->Has(Role::kReader));
  EXPECT_FALSE(set->Has(Role::kFactory));
  EXPECT_EQ(FormatRoleList(*set), "ADMIN,READER");
  EXPECT_FALSE(ParseRoleList("ADMIN,,READER").ok());
  EXPECT_FALSE(ParseRoleList("").ok());
  EXPECT_TRUE(RoleSet({Role::kReader}).Intersects(RoleSet{Role::kAdmin, Role::kReader}));
  EXPECT_FALSE(RoleSet({Role::kStation}).Intersects(RoleSet{Role::kAdmin, Role::kReader}));
}

TEST(Roles, ValidateRoles) {
  EXPECT_TRUE(ValidateRoles({"ADMIN", "READER"}).ok());
  EXPECT_FALSE(ValidateRoles({}).ok());
  Status unknown = ValidateRoles({"READER", "OWNER"});
  EXPECT_EQ(unknown.code(), Status::Code::kInvalidInput);
  EXPECT_NE(unknown.message().find("OWNER"), std::string::npos);
  EXPECT_FALSE(ValidateRoles({"READER", "READER"}).ok());
  EXPECT_FALSE(ValidateRoles({"admin"}).ok());  // names are canonical upper case here
}

TEST(Roles, SetOfStoredNames) {
  EXPECT_EQ(RoleSetOf({"READER", "FACTORY"}), (RoleSet{Role::kReader, Role::kFactory}));
  EXPECT_TRUE(RoleSetOf({"NOT_A_ROLE"}).Empty());
  for (int i = 0; i < kRoleCount; ++i) {
    const Role r = static_cast<Role>(i);
    EXPECT_EQ(ParseRole(RoleName(r)).value(), r);
  }
}

}  // namespace
}  // namespace roost
