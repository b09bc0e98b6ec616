#include "gateway/request/request_validator.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::usergateway::v1::UpdateUserProfileRequest;

constexpr char kUuid[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kEmoji[] = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes

UpdateUserProfileRequest MakeRequest(std::string enterprise_id,
                                     std::string user_id,
                                     std::string first_name) {
  UpdateUserProfileRequest request;
  request.set_enterprise_id(std::move(enterprise_id));
  request.set_user_id(std::move(user_id));
  request.set_first_name(std::move(first_name));
  return request;
}

std::string Repeat(absl::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out.append(piece.data(), piece.size());
  return out;
}

auto Violation(absl::string_view field, absl::string_view description_part) {
  return AllOf(Field(&FieldViolation::field, std::string(field)),
               Field(&FieldViolation::description,
                     HasSubstr(std::string(description_part))));
}

TEST(ValidateRequestTest, ValidRequestHasNoViolations) {
  EXPECT_THAT(ValidateRequest(MakeRequest("ent-1", kUuid, "Ada"), {}),
              IsEmpty());
}

TEST(ValidateRequestTest, EveryMissingFieldIsReportedTogether) {
  EXPECT_THAT(
      ValidateRequest(UpdateUserProfileRequest(), {}),
      ElementsAre(
          AllOf(Field(&FieldViolation::field, "enterprise_id"),
                Field(&FieldViolation::description, "is required")),
          AllOf(Field(&FieldViolation::field, "user_id"),
                Field(&FieldViolation::description, "is required")),
          AllOf(Field(&FieldViolation::field, "first_name"),
                Field(&FieldViolation::description, "is required"))));
}

TEST(ValidateRequestTest, ViolationsOfDifferentFieldsAreAllReported) {
  EXPECT_THAT(ValidateRequest(MakeRequest("", "..", std::string("A\0B", 3)),
                              {}),
              ElementsAre(Violation("enterprise_id", "is required"),
                          Violation("user_id", "\"..\""),
                          Violation("first_name", "NUL")));
}

struct IdCase {
  std::string name;
  std::string id;
  bool valid;
  std::string description_part;  // when invalid
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const IdCase& c, std::ostream* os) { *os << c.name; }

class UserIdTest : public ::testing::TestWithParam<IdCase> {};

TEST_P(UserIdTest, Validates) {
  const IdCase& c = GetParam();
  const std::vector<FieldViolation> violations =
      ValidateRequest(MakeRequest("ent-1", c.id, "Ada"), {});
  if (c.valid) {
    EXPECT_THAT(violations, IsEmpty());
  } else {
    EXPECT_THAT(violations,
                ElementsAre(Violation("user_id", c.description_part)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, UserIdTest,
    ::testing::Values(
        IdCase{"Uuid", kUuid, true, ""},
        IdCase{"Dot", ".", false, "must not be \".\" or \"..\""},
        IdCase{"DotDot", "..", false, "must not be \".\" or \"..\""},
        IdCase{"DotsInside", "a..b", true, ""},
        IdCase{"ThreeDots", "...", true, ""},
        IdCase{"LeadingDot", ".a", true, ""},
        IdCase{"SlashAndQuery", "a/b?c#d%e f", true, ""},
        IdCase{"NonAscii", "\xC3\xA9", true, ""},
        IdCase{"NoBreakSpaceIsNotControl", "a\xC2\xA0" "b", true, ""},
        IdCase{"Nul", std::string("a\0b", 3), false, "control characters"},
        IdCase{"Newline", "a\nb", false, "control characters"},
        IdCase{"UnitSeparator", "a\x1F" "b", false, "control characters"},
        IdCase{"Del", "a\x7F" "b", false, "control characters"},
        IdCase{"C1First", "a\xC2\x80" "b", false, "control characters"},
        IdCase{"C1Last", "a\xC2\x9F" "b", false, "control characters"},
        IdCase{"Bytes256", std::string(256, 'a'), true, ""},
        IdCase{"Bytes257", std::string(257, 'a'), false,
               "at most 256 bytes"},
        IdCase{"Multibyte256Bytes", Repeat("\xC3\xA9", 128), true, ""},
        IdCase{"Multibyte258Bytes", Repeat("\xC3\xA9", 129), false,
               "at most 256 bytes"},
        IdCase{"InvalidLeadByte", "a\xFF", false, "valid UTF-8"},
        IdCase{"Overlong", "\xC0\xAF", false, "valid UTF-8"},
        IdCase{"Surrogate", "\xED\xA0\x80", false, "valid UTF-8"},
        IdCase{"PastMaxCodePoint", "\xF4\x90\x80\x80", false, "valid UTF-8"},
        IdCase{"Truncated", "\xE2\x82", false, "valid UTF-8"}),
    [](const ::testing::TestParamInfo<IdCase>& info) {
      return info.param.name;
    });

TEST(ValidateRequestTest, EnterpriseIdRules) {
  EXPECT_THAT(ValidateRequest(MakeRequest("a\tb", "u", "Ada"), {}),
              ElementsAre(Violation("enterprise_id", "control characters")));
  EXPECT_THAT(
      ValidateRequest(MakeRequest(std::string(257, 'e'), "u", "Ada"), {}),
      ElementsAre(Violation("enterprise_id", "at most 256 bytes")));
  EXPECT_THAT(ValidateRequest(MakeRequest("\xFF", "u", "Ada"), {}),
              ElementsAre(Violation("enterprise_id", "valid UTF-8")));
}

// Every field a path placeholder stands for is refused as "." or "..",
// whether or not the configured template uses it: a template with
// {enterprise_id} must not be steerable to another route either.
struct DotCase {
  std::string name;
  std::string enterprise_id;
  std::string user_id;
  std::vector<std::string> fields;  // with a dot-segment violation
};

void PrintTo(const DotCase& c, std::ostream* os) { *os << c.name; }

class DotSegmentTest : public ::testing::TestWithParam<DotCase> {};

TEST_P(DotSegmentTest, RefusedForEveryPathField) {
  const DotCase& c = GetParam();
  const std::vector<FieldViolation> violations =
      ValidateRequest(MakeRequest(c.enterprise_id, c.user_id, "Ada"), {});
  std::vector<std::string> fields;
  for (const FieldViolation& v : violations) {
    EXPECT_THAT(v.description, HasSubstr("must not be \".\" or \"..\""))
        << v.field;
    fields.push_back(v.field);
  }
  EXPECT_EQ(fields, c.fields);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DotSegmentTest,
    ::testing::Values(
        DotCase{"EnterpriseIdDot", ".", "u", {"enterprise_id"}},
        DotCase{"EnterpriseIdDotDot", "..", "u", {"enterprise_id"}},
        DotCase{"UserIdDot", "e", ".", {"user_id"}},
        DotCase{"UserIdDotDot", "e", "..", {"user_id"}},
        DotCase{"Both", "..", ".", {"enterprise_id", "user_id"}},
        DotCase{"ThreeDots", "...", "...", {}},
        DotCase{"EncodedDots", "%2E%2E", "%2e", {}},
        DotCase{"DotsInside", "a..b", ".a", {}}),
    [](const ::testing::TestParamInfo<DotCase>& info) {
      return info.param.name;
    });

TEST(ValidateRequestTest, DotSegmentViolationComesFirstForItsField) {
  EXPECT_THAT(
      ValidateRequest(MakeRequest("..", "..", std::string(151, 'x')), {}),
      ElementsAre(Violation("enterprise_id", "\"..\""),
                  Violation("user_id", "\"..\""),
                  Violation("first_name", "at most 150")));
}

TEST(ValidateRequestTest, OneFieldCanBreakSeveralRules) {
  EXPECT_THAT(ValidateRequest(
                  MakeRequest("ent-1", "\x01" + std::string(300, 'a'), "Ada"),
                  {}),
              ElementsAre(Violation("user_id", "control characters"),
                          Violation("user_id", "at most 256 bytes")));
}

TEST(ValidateRequestTest, IdLimitIsConfigurable) {
  RequestLimits limits;
  limits.max_id_bytes = 4;
  EXPECT_THAT(ValidateRequest(MakeRequest("ent1", "abcd", "Ada"), limits),
              IsEmpty());
  EXPECT_THAT(ValidateRequest(MakeRequest("ent12", "abcde", "Ada"), limits),
              ElementsAre(Violation("enterprise_id", "at most 4 bytes"),
                          Violation("user_id", "at most 4 bytes")));
}

struct NameCase {
  std::string name;
  std::string first_name;
  bool valid;
  std::string description_part;  // when invalid
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class FirstNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(FirstNameTest, Validates) {
  const NameCase& c = GetParam();
  const std::vector<FieldViolation> violations =
      ValidateRequest(MakeRequest("ent-1", kUuid, c.first_name), {});
  if (c.valid) {
    EXPECT_THAT(violations, IsEmpty());
  } else {
    EXPECT_THAT(violations,
                ElementsAre(Violation("first_name", c.description_part)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FirstNameTest,
    ::testing::Values(
        NameCase{"Ascii150", std::string(150, 'a'), true, ""},
        NameCase{"Ascii151", std::string(151, 'a'), false,
                 "at most 150 characters"},
        NameCase{"Emoji150", Repeat(kEmoji, 150), true, ""},
        NameCase{"Emoji151", Repeat(kEmoji, 151), false,
                 "at most 150 characters"},
        NameCase{"TwoByte150", Repeat("\xC3\xA9", 150), true, ""},
        NameCase{"ThreeByte151", Repeat("\xE6\x97\xA5", 151), false,
                 "at most 150 characters"},
        NameCase{"QuotesAndBackslashes", "\"O'Brien\" \\ x", true, ""},
        NameCase{"InnerControls", "A\x01\x1F\x7F\tB\nC", true, ""},
        NameCase{"LineSeparator", "A\xE2\x80\xA8" "B", true, ""},
        NameCase{"Nul", std::string("Ada\0", 4), false, "NUL"},
        NameCase{"Space", " ", false, "is required"},
        NameCase{"AsciiWhitespace", " \t\n\r\v\f", false, "is required"},
        NameCase{"FileSeparators", "\x1C\x1D\x1E\x1F", false, "is required"},
        NameCase{"UnicodeWhitespace",
                 "\xC2\xA0\xE3\x80\x80\xE2\x80\x83\xC2\x85", false,
                 "is required"},
        NameCase{"SpacesAroundName", "  Ada  ", true, ""},
        NameCase{"ControlThatIsNotSpace", "\x01", true, ""},
        NameCase{"InvalidUtf8", "Ad\xFF", false, "valid UTF-8"},
        NameCase{"Surrogate", "\xED\xB0\x80", false, "valid UTF-8"}),
    [](const ::testing::TestParamInfo<NameCase>& info) {
      return info.param.name;
    });

TEST(ValidateRequestTest, FirstNameLimitIsConfigurable) {
  RequestLimits limits;
  limits.max_first_name_chars = 3;
  EXPECT_THAT(ValidateRequest(MakeRequest("e", "u", Repeat(kEmoji, 3)), limits),
              IsEmpty());
  EXPECT_THAT(
      ValidateRequest(MakeRequest("e", "u", Repeat(kEmoji, 4)), limits),
      ElementsAre(Violation("first_name", "at most 3 characters")));
}

TEST(ValidateRequestTest, DescriptionsNeverEchoTheValue) {
  const std::string secretish = "s3cr3t-value-\x01";
  const std::vector<FieldViolation> violations =
      ValidateRequest(MakeRequest(secretish + std::string(300, 'x'),
                                  secretish, secretish + '\0'),
                      {});
  ASSERT_EQ(violations.size(), 4);
  for (const FieldViolation& v : violations) {
    EXPECT_THAT(v.description, Not(HasSubstr("s3cr3t"))) << v.field;
    EXPECT_THAT(v.description, Not(StartsWith(" ")));
  }
}

}  // namespace
}  // namespace usergateway
