#include "gateway/request/api_key_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/common/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

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

// A key that would fail or corrupt every call is refused at start-up, from
// either source, with a message naming the source and the problem and
// holding nothing of the key.
struct BadKeyCase {
  std::string name;
  std::string raw;
  std::string problem;
};

void PrintTo(const BadKeyCase& c, std::ostream* os) { *os << c.name; }

const BadKeyCase kBadKeys[] = {
    {"Empty", "", "the key is empty"},
    {"OnlyWhitespace", " \t\r\n", "the key is empty"},
    {"InnerSpace", "sk-live-ab cd\n", "contains a space"},
    {"InnerTab", "sk-live-ab\tcd", "contains a control character"},
    {"InnerNewline", "sk-live-ab\ncd\n", "contains a control character"},
    {"Nul", std::string("sk-live-ab\0cd", 13), "contains a control character"},
    {"Escape", "sk-live-ab\x1B[0m", "contains a control character"},
    {"Del", "sk-live-ab\x7F", "contains DEL"},
    {"NonAscii", "sk-live-ab\xC3\xA9", "contains a non-ASCII byte"},
    {"NonBreakingSpace", "sk-live-ab\xC2\xA0", "contains a non-ASCII byte"},
    {"SeveralKinds", "sk-live-a b\x01\xFF",
     "a control character (0x00..0x1F), a space, a non-ASCII byte"},
};

class BadKeyTest : public ApiKeySourceTest,
                   public ::testing::WithParamInterface<BadKeyCase> {};

TEST_P(BadKeyTest, RefusedFromAFile) {
  const BadKeyCase& c = GetParam();
  Write(path_, c.raw);
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1), clock_);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(source.status().message());
  EXPECT_THAT(message, HasSubstr("API key file " + path_));
  EXPECT_THAT(message, HasSubstr(c.problem));
  EXPECT_THAT(message, Not(HasSubstr("sk-live")));
}

TEST_P(BadKeyTest, RefusedFromTheEnvironment) {
  const BadKeyCase& c = GetParam();
  auto source = ApiKeySource::FromValue(c.raw);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(source.status().message());
  EXPECT_THAT(message, StartsWith("GATEWAY_API_KEY: "));
  EXPECT_THAT(message, HasSubstr(c.problem));
  EXPECT_THAT(message, Not(HasSubstr("sk-live")));
}

INSTANTIATE_TEST_SUITE_P(Table, BadKeyTest, ::testing::ValuesIn(kBadKeys),
                         [](const ::testing::TestParamInfo<BadKeyCase>& info) {
                           return info.param.name;
                         });

TEST(CheckApiKeyTest, TrimsSurroundingWhitespaceOnly) {
  for (const char* raw : {"k3y!~", "k3y!~\n", "\t k3y!~\r\n", "k3y!~ \n\n"}) {
    absl::StatusOr<std::string> key = CheckApiKey(raw, "test");
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(*key, "k3y!~");
  }
  // Every visible ASCII byte may be part of a key.
  std::string visible;
  for (int c = 0x21; c <= 0x7E; ++c) visible.push_back(static_cast<char>(c));
  absl::StatusOr<std::string> key = CheckApiKey(visible, "test");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, visible);
  EXPECT_THAT(std::string(CheckApiKey("a b", "somewhere").status().message()),
              StartsWith("somewhere: "));
}

// On reload a bad new key keeps the last good one, logs one line saying why
// (never the key), and a later good key is picked up.
TEST_F(ApiKeySourceTest, ReloadObserverSeesEachLoadAndEachRefusalOnce) {
  Write(path_, "good-key-1\n");
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1), clock_);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<bool> seen;
  (*source)->SetReloadObserver([&seen](bool ok) { seen.push_back(ok); });
  ::testing::internal::CaptureStderr();
  Rotate("bad key\n");
  clock_.Advance(absl::Seconds(2));
  (*source)->Get();
  clock_.Advance(absl::Seconds(2));
  (*source)->Get();  // the same refused version: not again
  Rotate("good-key-2\n");
  clock_.Advance(absl::Seconds(2));
  (*source)->Get();
  clock_.Advance(absl::Seconds(2));
  (*source)->Get();  // unchanged: nothing
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(seen, (std::vector<bool>{false, true}));
}

TEST_F(ApiKeySourceTest, BadRotatedKeyKeepsTheLastGoodOneAndSaysWhyOnce) {
  Write(path_, "good-key-1\n");
  auto source = ApiKeySource::FromFile(path_, absl::Seconds(1), clock_);
  ASSERT_TRUE(source.ok()) << source.status();

  Rotate("sk-live-new key\n");
  clock_.Advance(absl::Seconds(2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(*(*source)->Get(), "good-key-1");
  std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged,
            "{\"level\":\"warning\",\"msg\":\"API key file " + path_ +
                ": the key contains a space; a key must be visible ASCII "
                "(0x21..0x7E) once surrounding whitespace is trimmed; keeping "
                "the last key\"}\n");
  EXPECT_THAT(logged, Not(HasSubstr("sk-live")));
  EXPECT_THAT(logged, Not(HasSubstr("key\\n")));

  // The same bad version is not read or reported again at later looks.
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(2));
    EXPECT_EQ(*(*source)->Get(), "good-key-1");
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");

  // Another bad version is reported, once.
  Rotate(std::string("sk-live-\x01", 9));
  clock_.Advance(absl::Seconds(2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(*(*source)->Get(), "good-key-1");
  logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr("contains a control character"));
  EXPECT_THAT(logged, Not(HasSubstr("sk-live")));
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 1);
  EXPECT_EQ((*source)->reloads(), 0);

  // A good key is picked up.
  Rotate("good-key-2\n");
  clock_.Advance(absl::Seconds(2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(*(*source)->Get(), "good-key-2");
  logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged, "{\"level\":\"info\",\"msg\":\"API key reloaded from " +
                        path_ + "\"}\n");
  EXPECT_EQ((*source)->reloads(), 1);
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
