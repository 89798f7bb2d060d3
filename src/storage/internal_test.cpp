// Unit tests of the helpers both stores share (no database).
#include "storage/internal.h"

#include <gtest/gtest.h>

#include "storage/migrations.h"

namespace roost::storage::internal {
namespace {

TEST(IdPrefixRange, CoversTheIdsWhoseEightDigitFormStartsWithThePrefix) {
  auto r = IdPrefixRange("C0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0xC0000000u);
  EXPECT_EQ(r->hi, 0xC0FFFFFFu);
  r = IdPrefixRange("0041a2f0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0x0041A2F0u);
  EXPECT_EQ(r->hi, 0x0041A2F0u);
  r = IdPrefixRange("f");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0xF0000000u);
  EXPECT_EQ(r->hi, 0xFFFFFFFFu);
}

TEST(IdPrefixRange, RejectsBadPrefixes) {
  EXPECT_EQ(IdPrefixRange("").status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(IdPrefixRange("123456789").status().code(), Status::Code::kInvalidInput);
  auto r = IdPrefixRange("12g");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("12g"), std::string::npos);
}

TEST(PrefixUpperBound, IsTheNextStringAfterThePrefixRange) {
  EXPECT_EQ(PrefixUpperBound("abc"), "abd");
  EXPECT_EQ(PrefixUpperBound(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixUpperBound(std::string("\xff\xff", 2)), std::nullopt);
}

TEST(ValidateQuery, ChecksLimitAndIdPrefix) {
  DeviceQuery q;
  EXPECT_TRUE(ValidateQuery(q).ok());
  q.limit = 0;
  EXPECT_EQ(ValidateQuery(q).code(), Status::Code::kInvalidInput);
  q.limit = kMaxPageSize;
  EXPECT_TRUE(ValidateQuery(q).ok());
  q.limit = kMaxPageSize + 1;
  EXPECT_EQ(ValidateQuery(q).code(), Status::Code::kInvalidInput);
  q.limit = 10;
  q.id_prefix = "zz";
  EXPECT_EQ(ValidateQuery(q).code(), Status::Code::kInvalidInput);
}

TEST(PackItems, RoundTripsAnyBytes) {
  std::vector<std::string> items = {"C031;6A757C859B23471B", "", std::string("a:b\0c\n", 6), "12:"};
  auto back = UnpackItems(PackItems(items));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, items);
  auto none = UnpackItems("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(UnpackItems, RejectsCorruptChunks) {
  EXPECT_FALSE(UnpackItems("3:ab").ok());   // length past the end
  EXPECT_FALSE(UnpackItems("x:ab").ok());   // not a number
  EXPECT_FALSE(UnpackItems("2ab").ok());    // no ':'
  EXPECT_FALSE(UnpackItems("2:ab1").ok());  // trailing garbage
  auto r = UnpackItems("2:ab-1:");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
}

TEST(Roles, JoinAndSplit) {
  Roles roles = {"ADMIN", "READER"};
  EXPECT_EQ(JoinRoles(roles), "ADMIN,READER");
  EXPECT_EQ(SplitRoles("ADMIN,READER"), roles);
  EXPECT_TRUE(SplitRoles("").empty());
  EXPECT_TRUE(CheckStorableRoles(roles).ok());
  EXPECT_EQ(CheckStorableRoles({"A,B"}).code(), Status::Code::kInvalidInput);
  EXPECT_EQ(CheckStorableRoles({""}).code(), Status::Code::kInvalidInput);
}

TEST(Tree, FromPathAndBack) {
  Group g;
  g.id = "c";
  g.path = {"a", "b"};
  EXPECT_EQ(TreeOf(g), "/a/b/c/");
  EXPECT_EQ(PathFromTree("/a/b/c/", "c"), (std::vector<std::string>{"a", "b"}));
  Group root;
  root.id = "r";
  EXPECT_EQ(TreeOf(root), "/r/");
  EXPECT_TRUE(PathFromTree("/r/", "r").empty());
}

TEST(RepeatedIds, MarksLaterOccurrencesOnly) {
  std::vector<Device> d(4);
  d[0].id.value = 1;
  d[1].id.value = 2;
  d[2].id.value = 1;
  d[3].id.value = 1;
  EXPECT_EQ(RepeatedIds(d), (std::vector<bool>{false, false, true, true}));
}

TEST(LeaseToken, IsFreshEachTime) {
  EXPECT_NE(NewLeaseToken("w"), NewLeaseToken("w"));
  EXPECT_EQ(NewLeaseToken("worker-1").rfind("worker-1:", 0), 0u);
}

TEST(Migrations, AreNumberedFromOneWithoutGaps) {
  const auto& all = Migrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(all[i].name.empty());
    EXPECT_FALSE(all[i].sql.empty());
  }
}

TEST(Migrations, DialectTokensAreAllReplaced) {
  for (const auto& m : Migrations()) {
    for (Dialect d : {Dialect::kSqlite, Dialect::kPostgres}) {
      EXPECT_EQ(ForDialect(m.sql, d).find("{{"), std::string::npos) << m.name;
    }
  }
  EXPECT_EQ(ForDialect("a {{BLOB}} b {{DEVICE_ID}}", Dialect::kPostgres), "a BYTEA b BIGINT");
  EXPECT_EQ(ForDialect("a {{BLOB}} b {{DEVICE_ID}}", Dialect::kSqlite), "a BLOB b INTEGER");
  EXPECT_EQ(ForDialect("{{BYTES_TEXT}}", Dialect::kPostgres), "TEXT COLLATE \"C\"");
  EXPECT_EQ(ForDialect("{{POSTGRES_ONLY}}ALTER x;\nSELECT 1;", Dialect::kPostgres),
            "ALTER x;\nSELECT 1;");
  EXPECT_EQ(ForDialect("{{POSTGRES_ONLY}}ALTER x;\nSELECT 1;", Dialect::kSqlite),
            "--ALTER x;\nSELECT 1;");
  EXPECT_EQ(ForDialect("{{SQLITE_ONLY}}DROP x;\nSELECT 1;", Dialect::kSqlite),
            "DROP x;\nSELECT 1;");
  EXPECT_EQ(ForDialect("{{SQLITE_ONLY}}DROP x;\nSELECT 1;", Dialect::kPostgres),
            "--DROP x;\nSELECT 1;");
}

}  // namespace
}  // namespace roost::storage::internal
