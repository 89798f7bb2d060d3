#include "core/mapped_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace roost {
namespace {

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roost-mapped-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::string dir_;
};

TEST_F(MappedFileTest, ViewsTheWholeFileByteForByte) {
  std::string content(100000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
  auto file = MappedFile::Open(Write("data.bin", content));
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->size(), content.size());
  EXPECT_EQ(file->view(), content);
  EXPECT_EQ(file->bytes().size(), content.size());
  EXPECT_EQ(file->bytes()[1], static_cast<uint8_t>(content[1]));
}

TEST_F(MappedFileTest, EmptyFileGivesAnEmptyView) {
  auto file = MappedFile::Open(Write("empty", ""));
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_TRUE(file->view().empty());
  EXPECT_EQ(file->size(), 0u);
}

TEST_F(MappedFileTest, MissingFileNamesThePath) {
  auto file = MappedFile::Open(dir_ + "/absent");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kIoError);
  EXPECT_NE(file.status().message().find(dir_ + "/absent: cannot open"), std::string::npos);
}

TEST_F(MappedFileTest, DirectoryIsRefused) {
  auto file = MappedFile::Open(dir_);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(), dir_ + ": not a regular file");
}

TEST_F(MappedFileTest, MovedMappingStaysValidAfterTheFileIsRemoved) {
  std::string path = Write("gone.txt", "still here");
  auto opened = MappedFile::Open(path);
  ASSERT_TRUE(opened.ok());
  MappedFile file = std::move(opened).value();
  ASSERT_EQ(::unlink(path.c_str()), 0);
  MappedFile moved = std::move(file);
  EXPECT_TRUE(file.view().empty());  // NOLINT(bugprone-use-after-move): the contract says so
  EXPECT_EQ(moved.view(), "still here");
  MappedFile other = std::move(MappedFile::Open(Write("other.txt", "x")).value());
  other = std::move(moved);
  EXPECT_EQ(other.view(), "still here");
}

}  // namespace
}  // namespace roost
