#include "storage/sql/sealed_column.h"

#include <gtest/gtest.h>

#include "crypto/seal.h"

namespace roost::storage::sql {
namespace {

crypto::Sealer TestSealer(uint8_t fill) {
  crypto::MasterKey key;
  key.fill(fill);
  return std::move(crypto::Sealer::FromKey(key)).value();
}

TEST(SealedColumn, OpensWhatItSealedForTheSameColumnAndRowOnly) {
  const crypto::Sealer sealer = TestSealer(7);
  const std::string sealed = SealColumn(&sealer, "callbacks.url", "cb1", "https://u:p@h/");
  EXPECT_TRUE(IsSealed(sealed));
  EXPECT_EQ(sealed.find("u:p"), std::string::npos);
  EXPECT_EQ(OpenColumn(&sealer, "callbacks.url", "cb1", sealed), "https://u:p@h/");
  EXPECT_EQ(OpenColumn(&sealer, "callbacks.url", "cb2", sealed), std::nullopt);
  EXPECT_EQ(OpenColumn(&sealer, "callbacks.headers", "cb1", sealed), std::nullopt);
  const crypto::Sealer other = TestSealer(8);
  EXPECT_EQ(OpenColumn(&other, "callbacks.url", "cb1", sealed), std::nullopt);
  EXPECT_EQ(OpenColumn(nullptr, "callbacks.url", "cb1", sealed), std::nullopt);
  // Each sealing has its own nonce.
  EXPECT_NE(SealColumn(&sealer, "callbacks.url", "cb1", "https://u:p@h/"), sealed);
  // An empty value seals and opens too.
  EXPECT_EQ(OpenColumn(&sealer, "c", "r", SealColumn(&sealer, "c", "r", "")), "");
}

TEST(SealedColumn, TextInClearReadsAsItselfAndIsKeptWithoutASealer) {
  const crypto::Sealer sealer = TestSealer(7);
  EXPECT_EQ(OpenColumn(&sealer, "callbacks.headers", "cb1", "[[\"A\",\"b\"]]"), "[[\"A\",\"b\"]]");
  EXPECT_EQ(OpenColumn(nullptr, "callbacks.url", "cb1", "https://h/"), "https://h/");
  EXPECT_EQ(SealColumn(nullptr, "callbacks.url", "cb1", "https://h/"), "https://h/");
}

TEST(SealedColumn, ADamagedValueDoesNotOpen) {
  const crypto::Sealer sealer = TestSealer(7);
  std::string sealed = SealColumn(&sealer, "c", "r", "text");
  EXPECT_EQ(OpenColumn(&sealer, "c", "r", "sealed:zz"), std::nullopt);
  EXPECT_EQ(OpenColumn(&sealer, "c", "r", "sealed:"), std::nullopt);
  sealed.back() = sealed.back() == '0' ? '1' : '0';
  EXPECT_EQ(OpenColumn(&sealer, "c", "r", sealed), std::nullopt);
}

}  // namespace
}  // namespace roost::storage::sql
