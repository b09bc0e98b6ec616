#include "tests/emulator/fault.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;

TEST(ParseFaultSpecTest, DelayAloneHandlesNormally) {
  absl::StatusOr<Fault> fault = ParseFaultSpec("delay_ms=3000");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->action, Fault::Action::kNone);
  EXPECT_EQ(fault->delay, absl::Seconds(3));
  EXPECT_EQ(fault->times, 1);
}

TEST(ParseFaultSpecTest, StatusImpliesStatusActionAndBodyTakesTheRest) {
  absl::StatusOr<Fault> fault = ParseFaultSpec(
      " status = 503 ; retry_after=2;content_type=text/html;"
      "body=<p>a; b = c</p> ");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->action, Fault::Action::kStatus);
  EXPECT_EQ(fault->status, 503);
  EXPECT_EQ(fault->retry_after, "2");
  EXPECT_EQ(fault->content_type, "text/html");
  EXPECT_EQ(fault->body, "<p>a; b = c</p> ");
}

TEST(ParseFaultSpecTest, EveryAction) {
  const std::vector<std::pair<std::string, Fault::Action>> cases = {
      {"action=none", Fault::Action::kNone},
      {"action=status", Fault::Action::kStatus},
      {"action=truncate", Fault::Action::kTruncateBody},
      {"action=malformed", Fault::Action::kMalformedBody},
      {"action=oversized;bytes=10", Fault::Action::kOversizedBody},
      {"action=reset", Fault::Action::kReset},
      {"action=echo_key", Fault::Action::kEchoKey},
      // An explicit action wins over the implied one.
      {"action=malformed;status=502", Fault::Action::kMalformedBody},
      {"action=echo_key;status=400", Fault::Action::kEchoKey},
  };
  for (const auto& [spec, action] : cases) {
    absl::StatusOr<Fault> fault = ParseFaultSpec(spec);
    ASSERT_TRUE(fault.ok()) << spec << ": " << fault.status();
    EXPECT_EQ(fault->action, action) << spec;
    EXPECT_EQ(FaultActionName(fault->action),
              spec.substr(7, spec.find(';') - 7))
        << spec;
  }
}

TEST(ParseFaultSpecTest, EchoKeyKeepsItsStatusAndTimes) {
  absl::StatusOr<Fault> fault =
      ParseFaultSpec("action=echo_key;status=400;times=2");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->action, Fault::Action::kEchoKey);
  EXPECT_EQ(fault->status, 400);
  EXPECT_EQ(fault->times, 2);

  // Without a status the emulator's default (401) applies.
  absl::StatusOr<std::vector<Fault>> json =
      ParseFaultsJson(R"({"action": "echo_key"})");
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_EQ(json->size(), 1u);
  EXPECT_EQ((*json)[0].action, Fault::Action::kEchoKey);
  EXPECT_EQ((*json)[0].status, 0);
}

TEST(ParseFaultSpecTest, TimesAndBytes) {
  absl::StatusOr<Fault> fault =
      ParseFaultSpec("action=oversized;bytes=1048576;times=3");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->body_bytes, 1048576u);
  EXPECT_EQ(fault->times, 3);
}

struct BadSpec {
  std::string spec;
  std::string message;
};

TEST(ParseFaultSpecTest, RejectsBadSpecsNamingTheProblem) {
  const std::vector<BadSpec> cases = {
      {"delay", "not key=value"},
      {"delay_ms=abc", "delay_ms"},
      {"delay_ms=-1", "delay_ms"},
      {"delay_ms=600001", "delay_ms"},
      {"status=99", "status"},
      {"status=600", "status"},
      {"times=0", "times"},
      {"bytes=0", "bytes"},
      {"action=explode", "unknown fault action"},
      {"colour=red", "unknown fault key 'colour'"},
      {"status=503;status=502", "repeated"},
      {"action=oversized", "needs 'bytes'"},
  };
  for (const BadSpec& bad : cases) {
    absl::StatusOr<Fault> fault = ParseFaultSpec(bad.spec);
    ASSERT_FALSE(fault.ok()) << bad.spec;
    EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(fault.status().message(), HasSubstr(bad.message)) << bad.spec;
  }
}

TEST(ParseFaultsJsonTest, ObjectAndArray) {
  absl::StatusOr<std::vector<Fault>> one = ParseFaultsJson(
      R"({"status": 503, "retry_after": 2, "times": 2, "delay_ms": 5})");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].action, Fault::Action::kStatus);
  EXPECT_EQ((*one)[0].status, 503);
  EXPECT_EQ((*one)[0].retry_after, "2");
  EXPECT_EQ((*one)[0].times, 2);
  EXPECT_EQ((*one)[0].delay, absl::Milliseconds(5));

  absl::StatusOr<std::vector<Fault>> two = ParseFaultsJson(
      R"([{"action": "reset"},
          {"action": "status", "status": 502, "body": "a;b=c",
           "content_type": "text/html",
           "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}])");
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].action, Fault::Action::kReset);
  EXPECT_EQ((*two)[1].body, "a;b=c");
  EXPECT_EQ((*two)[1].retry_after, "Wed, 21 Oct 2015 07:28:00 GMT");
}

TEST(ParseFaultsJsonTest, RejectsWrongTypes) {
  for (const char* json : {
           R"({"status": "503"})",
           R"({"body": 5})",
           R"({"retry_after": true})",
           R"([1])",
           R"({"status": 503.5})",
           R"({"content_type": "a\r\nX-Injected: 1"})",
           "not json",
       }) {
    absl::StatusOr<std::vector<Fault>> faults = ParseFaultsJson(json);
    EXPECT_FALSE(faults.ok()) << json;
  }
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
