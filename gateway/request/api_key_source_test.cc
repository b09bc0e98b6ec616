#include "gateway/request/api_key_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gateway/common/fake_clock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

class ApiKeySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp ? tmp : "/tmp") + "/apikey-XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    path_ = dir_ + "/key";
  }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }
  // Replaces the file the way Kubernetes updates a Secret: a new file
  // renamed over the old one.
  void Rotate(const std::string& text) {
    Write(path_ + ".new", text);
    ASSERT_EQ(std::rename((path_ + ".new").c_str(), path_.c_str()), 0);
  }
  std::string dir_;
  std::string path_;
  FakeClock clock_{absl::FromUnixSeconds(1000)};
};

TEST_F(ApiKeySourceTest, ReadsAndTrimsTheKey) {
  Write(path_, "fixture-key\n");
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1),
                                       clock_);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ(*(*source)->Get(), "fixture-key");
}

TEST_F(ApiKeySourceTest, PicksUpARotatedKeyAfterTheInterval) {
  Write(path_, "old-key");
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1),
                                       clock_);
  ASSERT_TRUE(source.ok());
  Rotate("new-key\n");
  // Within the interval the cached key is served without touching the file.
  EXPECT_EQ(*(*source)->Get(), "old-key");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*(*source)->Get(), "new-key");
  EXPECT_EQ((*source)->reloads(), 1);
}

TEST_F(ApiKeySourceTest, KeepsTheLastGoodKeyWhenTheFileBreaks) {
  Write(path_, "good-key");
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1),
                                       clock_);
  ASSERT_TRUE(source.ok());
  Rotate("   \n");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*(*source)->Get(), "good-key");
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*(*source)->Get(), "good-key");
  Rotate("fixed-key");
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(*(*source)->Get(), "fixed-key");
}

TEST_F(ApiKeySourceTest, WarningIsOneJsonLineWhateverThePath) {
  std::string dir = dir_ + "/odd \"name\"";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::string path = dir + "/key";
  Write(path, "good-key");
  auto source = ApiKeySource::FromFile(path, absl::Seconds(1),
                                       clock_);
  ASSERT_TRUE(source.ok());
  ASSERT_EQ(std::remove(path.c_str()), 0);
  clock_.Advance(absl::Seconds(2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(*(*source)->Get(), "good-key");
  std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged,
            "{\"level\":\"warning\",\"msg\":\"API key file " + dir_ +
                "/odd \\\"name\\\"/key is unreadable; keeping the last "
                "key\"}\n");
  EXPECT_EQ(logged.find("good-key"), std::string::npos);
}

TEST_F(ApiKeySourceTest, FailsClearlyWithoutAKey) {
  auto missing = ApiKeySource::FromFile(path_, absl::Seconds(1));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path_), std::string::npos);
  Write(path_, "\n");
  EXPECT_FALSE(ApiKeySource::FromFile(path_, absl::Seconds(1)).ok());
  EXPECT_FALSE(ApiKeySource::FromValue("  ").ok());
  auto fixed = ApiKeySource::FromValue("env-key\n");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(*(*fixed)->Get(), "env-key");
}

}  // namespace
}  // namespace usergateway
