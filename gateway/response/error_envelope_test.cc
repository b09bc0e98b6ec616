#include "gateway/response/error_envelope.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/response/response_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::ElementsAre;

// ---------------------------------------------------------------------------
// Bodies that are not a JSON object: never fail, never trusted.

class BadBodyTest : public testing::TestWithParam<BadBodyCase> {};

TEST_P(BadBodyTest, EnvelopeIsNotJson) {
  const ErrorEnvelope env = ParseErrorEnvelope(GetParam().body);
  EXPECT_FALSE(env.is_json);
  EXPECT_FALSE(env.status.has_value());
  EXPECT_FALSE(env.code.has_value());
  EXPECT_FALSE(env.message.has_value());
  EXPECT_FALSE(env.error.has_value());
  EXPECT_FALSE(env.detail.has_value());
  EXPECT_TRUE(env.errors.empty());
  EXPECT_TRUE(env.field_errors.empty());
}

INSTANTIATE_TEST_SUITE_P(Bodies, BadBodyTest,
                         testing::ValuesIn(BadBodyCases()),
                         [](const testing::TestParamInfo<BadBodyCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// What is read from a JSON object.

TEST(ParseErrorEnvelopeTest, ReadsEveryField) {
  const ErrorEnvelope env = ParseErrorEnvelope(
      R"({"status": 400, "code": 7, "error": "e", "errors": ["a", "b"],
          "message": "m", "detail": "d", "first_name": ["blank"],
          "unknown": {"deep": 1}, "flag": true})");
  EXPECT_TRUE(env.is_json);
  EXPECT_EQ(env.status, 400);
  EXPECT_EQ(env.code, 7);
  EXPECT_EQ(env.error, "e");
  EXPECT_THAT(env.errors, ElementsAre("a", "b"));
  EXPECT_EQ(env.message, "m");
  EXPECT_EQ(env.detail, "d");
  ASSERT_EQ(env.field_errors.size(), 1u);
  EXPECT_EQ(env.field_errors[0].field, "first_name");
  EXPECT_EQ(env.field_errors[0].description, "blank");
}

TEST(ParseErrorEnvelopeTest, DeepValidNestingIsSkippedNotFatal) {
  std::string body = R"({"message": "m", "x": )";
  for (int i = 0; i < 3000; ++i) body += "[";
  body += std::string(3000, ']') + "}";
  const ErrorEnvelope env = ParseErrorEnvelope(body);
  EXPECT_TRUE(env.is_json);
  EXPECT_EQ(env.message, "m");
  EXPECT_TRUE(env.field_errors.empty());
}

TEST(ParseErrorEnvelopeTest, NestedFieldErrorsUpToThreeLevels) {
  const ErrorEnvelope env = ParseErrorEnvelope(
      R"({"a": {"b": ["x"], "c": {"d": ["y"], "e": {"f": ["too deep"]}}}})");
  EXPECT_TRUE(env.is_json);
  ASSERT_EQ(env.field_errors.size(), 2u);
  EXPECT_EQ(env.field_errors[0].field, "a.b");
  EXPECT_EQ(env.field_errors[0].description, "x");
  EXPECT_EQ(env.field_errors[1].field, "a.c.d");
  EXPECT_EQ(env.field_errors[1].description, "y");
}

TEST(ParseErrorEnvelopeTest, BadEscapeInOneValueIsSkipped) {
  const ErrorEnvelope env =
      ParseErrorEnvelope(R"({"error": "bad \x escape", "message": "m"})");
  EXPECT_TRUE(env.is_json);
  EXPECT_FALSE(env.error.has_value());
  EXPECT_EQ(env.message, "m");
}

TEST(ParseErrorEnvelopeTest, CapsEntries) {
  std::string body = R"({"errors": [)";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&body, i ? "," : "", "\"e\"");
  body += "]}";
  const ErrorEnvelope env = ParseErrorEnvelope(body);
  EXPECT_TRUE(env.is_json);
  EXPECT_EQ(env.errors.size(), kMaxEnvelopeEntries);
}

TEST(ParseErrorEnvelopeTest, BodyWithoutSpareCapacityParses) {
  // A string_view into the middle of a buffer: no padding after it.
  const std::string buffer = R"(xx{"message": "m"}yy)";
  const ErrorEnvelope env =
      ParseErrorEnvelope(absl::string_view(buffer).substr(2, 16));
  EXPECT_TRUE(env.is_json);
  EXPECT_EQ(env.message, "m");
}

}  // namespace
}  // namespace usergateway
