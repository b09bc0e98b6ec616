#include "gateway/common/file_util.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

std::string TempPath(const char* name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(ReadFileToStringTest, ReturnsEveryByte) {
  const std::string path = TempPath("file_util_bytes");
  const std::string bytes("line one\n\0binary\xff\n", 18);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  std::fclose(file);
  EXPECT_EQ(ReadFileToString(path), bytes);
}

TEST(ReadFileToStringTest, EmptyFileIsEmptyString) {
  const std::string path = TempPath("file_util_empty");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fclose(file);
  EXPECT_EQ(ReadFileToString(path), std::string());
}

TEST(ReadFileToStringTest, MissingFileIsNullopt) {
  EXPECT_EQ(ReadFileToString(TempPath("file_util_missing")), std::nullopt);
}

}  // namespace
}  // namespace usergateway
