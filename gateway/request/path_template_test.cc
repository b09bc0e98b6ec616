#include "gateway/request/path_template.h"

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gateway/common/field_violation.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// Percent-encoding. (How an encoded user id lands in the URL is tested with
// BuildUpstreamRequest in request_translator_test.cc.)

TEST(PercentEncodePathSegmentTest, EncodesEveryByteOutsideUnreserved) {
  for (int b = 0; b < 256; ++b) {
    const char byte = static_cast<char>(b);
    const std::string encoded =
        PercentEncodePathSegment(absl::string_view(&byte, 1));
    const bool unreserved = absl::ascii_isalnum(b) || b == '-' || b == '.' ||
                            b == '_' || b == '~';
    if (unreserved) {
      EXPECT_EQ(encoded, std::string(1, byte)) << b;
    } else {
      EXPECT_EQ(encoded, absl::StrFormat("%%%02X", b)) << b;
    }
  }
}

// ---------------------------------------------------------------------------
// Validating templates.

struct TemplateCase {
  std::string path_template;
  bool valid;
  std::string message_part;  // when invalid
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const TemplateCase& c, std::ostream* os) {
  *os << absl::CHexEscape(c.path_template);
}

class ValidatePathTemplateTest : public ::testing::TestWithParam<TemplateCase> {
};

TEST_P(ValidatePathTemplateTest, Validates) {
  const TemplateCase& c = GetParam();
  const absl::Status status = ValidatePathTemplate(c.path_template);
  if (c.valid) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(c.message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidatePathTemplateTest,
    ::testing::Values(
        TemplateCase{"/authn2/v0/user/{user_id}", true, ""},
        TemplateCase{"/authn2/v0/tenant/{enterprise_id}/user/{user_id}", true,
                     ""},
        TemplateCase{"/v1/users/id-{user_id}:update", true, ""},
        TemplateCase{"/a%2Fb/{user_id}", true, ""},
        TemplateCase{"authn2/v0/user/{user_id}", false, "start with '/'"},
        TemplateCase{"", false, "start with '/'"},
        TemplateCase{"/authn2/v0/user", false, "{user_id}"},
        TemplateCase{"/t/{enterprise_id}", false, "{user_id}"},
        TemplateCase{"/u/{user_id}/{group_id}", false,
                     "unknown placeholder {group_id}"},
        TemplateCase{"/u/{User_Id}", false, "unknown placeholder"},
        // Found by //tests/fuzz:config_fuzzer: the name is quoted
        // C-escaped, so the message stays one printable line.
        TemplateCase{"/u/{user_id}/{a\x01\nb}", false,
                     "unknown placeholder {a\\x01\\nb}"},
        TemplateCase{"/u/{user_id}?x=1", false, "'?' or '#'"},
        TemplateCase{"/u/{user_id}#frag", false, "'?' or '#'"},
        TemplateCase{"/u/{user_id", false, "without a matching '}'"},
        TemplateCase{"/u/{{user_id}", false, "without a matching '}'"},
        TemplateCase{"/u/user_id}", false, "without a matching '{'"},
        TemplateCase{"/u/{user_id}/a b", false, "not allowed"},
        TemplateCase{"/u/{user_id}\n", false, "not allowed"},
        TemplateCase{"/u/%zz/{user_id}", false, "two hex digits"},
        TemplateCase{"/u/{user_id}%2", false, "two hex digits"},
        // Dot segments, which would take the call to another path.
        TemplateCase{"/./{user_id}", false, "\".\" or \"..\" segment"},
        TemplateCase{"/a/../{user_id}", false, "\".\" or \"..\" segment"},
        TemplateCase{"/u/{user_id}/.", false, "\".\" or \"..\" segment"},
        TemplateCase{"/u/{user_id}/..", false, "\".\" or \"..\" segment"},
        TemplateCase{"/a/%2E%2E/{user_id}", false,
                     "\".\" or \"..\" segment"},
        TemplateCase{"/a/%2e/{user_id}", false, "\".\" or \"..\" segment"},
        TemplateCase{"/a/.%2E/{user_id}", false, "\".\" or \"..\" segment"},
        TemplateCase{"/{user_id}/%2E./x", false, "\".\" or \"..\" segment"},
        // Dots that are names, not dot segments.
        TemplateCase{"/a/.../{user_id}", true, ""},
        TemplateCase{"/.well-known/{user_id}", true, ""},
        TemplateCase{"/a/v1.2/{user_id}.json", true, ""},
        TemplateCase{"/a/%2E%2E%2E/{user_id}", true, ""},
        TemplateCase{"/a/%2F../{user_id}", true, ""},
        TemplateCase{"/t/{enterprise_id}.{user_id}", true, ""}));

// ---------------------------------------------------------------------------
// The placeholders.

// PathValuesOf is the one list of placeholders: each must be a string field
// of the request of the same name (so that a violation names a real field),
// and ValidatePathTemplate must accept each of them.
TEST(PathValuesOfTest, EachPlaceholderIsTheRequestFieldOfItsName) {
  usergateway::v1::UpdateUserProfileRequest request;
  request.set_enterprise_id("ent-value");
  request.set_user_id("user-value");
  request.set_first_name("name-value");
  const google::protobuf::Descriptor* descriptor = request.GetDescriptor();
  const google::protobuf::Reflection* reflection = request.GetReflection();
  std::set<std::string> names;
  for (const PathValue& v : PathValuesOf(request)) {
    const google::protobuf::FieldDescriptor* field =
        descriptor->FindFieldByName(std::string(v.name));
    ASSERT_NE(field, nullptr) << v.name;
    ASSERT_EQ(field->type(), google::protobuf::FieldDescriptor::TYPE_STRING)
        << v.name;
    EXPECT_EQ(v.value, reflection->GetString(request, field)) << v.name;
    EXPECT_TRUE(names.insert(std::string(v.name)).second) << v.name;
    EXPECT_TRUE(
        ValidatePathTemplate(absl::StrCat("/x/{", v.name, "}/{user_id}")).ok())
        << v.name;
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("enterprise_id",
                                                     "user_id"));
}

// ---------------------------------------------------------------------------
// Dot segments.

TEST(IsDotSegmentTest, DotsAndTheirPercentEncodings) {
  for (const char* dot : {".", "..", "%2E", "%2e", "%2E%2E", ".%2e", "%2E."}) {
    EXPECT_TRUE(IsDotSegment(dot)) << dot;
  }
  for (const char* name : {"", "...", "a", ".a", "a.", "%2E%2E%2E", "%2F",
                           "%2", "%", "%2E%", ". "}) {
    EXPECT_FALSE(IsDotSegment(name)) << name;
  }
}

TEST(CheckPathValuesTest, RefusesDotValuesOfAnyPlaceholder) {
  const PathValue values[] = {{"enterprise_id", ".."},
                              {"user_id", "."},
                              {"future_id", ".."},
                              {"ok_1", "..."},
                              {"ok_2", "%2E"},
                              {"ok_3", ""},
                              {"ok_4", "a.."}};
  const std::vector<FieldViolation> violations = CheckPathValues(values);
  ASSERT_EQ(violations.size(), 3);
  EXPECT_EQ(violations[0].field, "enterprise_id");
  EXPECT_EQ(violations[1].field, "user_id");
  EXPECT_EQ(violations[2].field, "future_id");
  for (const FieldViolation& v : violations) {
    EXPECT_THAT(v.description, HasSubstr("must not be \".\" or \"..\""));
  }
}

// ---------------------------------------------------------------------------
// Expanding templates.

struct ExpandCase {
  std::string name;
  std::string path_template;
  std::string enterprise_id;
  std::string user_id;
  std::string path;           // when it succeeds
  std::string message_part;   // else
};

void PrintTo(const ExpandCase& c, std::ostream* os) { *os << c.name; }

class ExpandPathTemplateTest : public ::testing::TestWithParam<ExpandCase> {};

TEST_P(ExpandPathTemplateTest, Expands) {
  const ExpandCase& c = GetParam();
  const PathValue values[] = {{"enterprise_id", c.enterprise_id},
                              {"user_id", c.user_id}};
  const absl::StatusOr<std::string> path =
      ExpandPathTemplate(c.path_template, values);
  if (c.message_part.empty()) {
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_EQ(*path, c.path);
  } else {
    ASSERT_FALSE(path.ok()) << *path;
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(path.status().message(), HasSubstr(c.message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ExpandPathTemplateTest,
    ::testing::Values(
        ExpandCase{"UserId", "/authn2/v0/user/{user_id}", "e", "a/b",
                   "/authn2/v0/user/a%2Fb", ""},
        ExpandCase{"Both", "/t/{enterprise_id}/u/{user_id}", "e 1", "u",
                   "/t/e%201/u/u", ""},
        ExpandCase{"Repeated", "/{user_id}/{user_id}", "e", "u", "/u/u", ""},
        ExpandCase{"InsideASegment", "/v1/users/id-{user_id}:update", "e",
                   "u", "/v1/users/id-u:update", ""},
        ExpandCase{"DotsInsideValue", "/u/{user_id}", "e", "a..b", "/u/a..b",
                   ""},
        ExpandCase{"ThreeDots", "/u/{user_id}", "e", "...", "/u/...", ""},
        ExpandCase{"EncodedDotsAreNotDots", "/u/{user_id}", "e", "%2E%2E",
                   "/u/%252E%252E", ""},
        ExpandCase{"DotJoinedToAName", "/t/{enterprise_id}.{user_id}", "e",
                   ".", "/t/e..", ""},
        ExpandCase{"EmptyInsideASegment", "/v1/users/id-{user_id}", "e", "",
                   "/v1/users/id-", ""},
        ExpandCase{"UnknownPlaceholderVerbatim", "/{group}/{user_id}", "e",
                   "u", "/{group}/u", ""},
        ExpandCase{"UnclosedBraceVerbatim", "/{user_id}/{x", "e", "u",
                   "/u/{x", ""},
        // What must never be built.
        ExpandCase{"UserIdDot", "/u/{user_id}", "e", ".", "",
                   "{user_id} would make a \".\" or \"..\""},
        ExpandCase{"UserIdDotDot", "/u/{user_id}/x", "e", "..", "",
                   "{user_id} would make a \".\" or \"..\""},
        ExpandCase{"EnterpriseIdDotDot", "/t/{enterprise_id}/u/{user_id}",
                   "..", "u", "", "{enterprise_id} would make"},
        ExpandCase{"EnterpriseIdDot", "/t/{enterprise_id}/u/{user_id}", ".",
                   "u", "", "{enterprise_id} would make"},
        ExpandCase{"LiteralDotThenDot", "/u/.{user_id}", "e", ".", "",
                   "{user_id} would make"},
        ExpandCase{"EncodedDotThenDot", "/u/%2E{user_id}", "e", ".", "",
                   "{user_id} would make"},
        ExpandCase{"TwoDotValues", "/{enterprise_id}{user_id}", ".", ".", "",
                   "{enterprise_id} would make"},
        ExpandCase{"LiteralDotAndEmptyValue", "/u/.{user_id}", "e", "", "",
                   "{user_id} would make"},
        ExpandCase{"UncheckedTemplateWithDotDot", "/a/../{user_id}", "e", "u",
                   "", "path template has a \".\" or \"..\" segment"},
        ExpandCase{"EmptyValueLosesASegment", "/u/{user_id}", "e", "", "",
                   "{user_id} is empty"},
        ExpandCase{"EmptyEnterpriseLosesASegment",
                   "/t/{enterprise_id}/u/{user_id}", "", "u", "",
                   "{enterprise_id} is empty"}),
    [](const ::testing::TestParamInfo<ExpandCase>& info) {
      return info.param.name;
    });

TEST(ExpandPathTemplateTest, ErrorsNeverEchoAValue) {
  const PathValue values[] = {{"enterprise_id", "secret-ent"},
                              {"user_id", ".."}};
  const absl::StatusOr<std::string> path =
      ExpandPathTemplate("/secret-ent/{enterprise_id}/{user_id}", values);
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(path.status().message(), Not(HasSubstr("secret-ent")));
}

// Whatever the values, no expanded path holds a dot segment: every short
// value over an alphabet of dots, percent signs, "2E" and a letter, in every
// template shape that puts placeholders next to dots, either expands to a
// path without one or is refused.
TEST(ExpandPathTemplateTest, NeverProducesADotSegment) {
  const std::vector<std::string> templates = {
      "/u/{user_id}",
      "/t/{enterprise_id}/u/{user_id}",
      "/u/.{user_id}",
      "/u/{user_id}.",
      "/u/%2E{user_id}",
      "/u/{user_id}%2e",
      "/{enterprise_id}{user_id}",
      "/{enterprise_id}.{user_id}",
      "/x/{user_id}/{enterprise_id}",
  };
  std::vector<std::string> values = {""};
  for (int length = 1; length <= 3; ++length) {
    std::vector<std::string> longer;
    for (const std::string& v : values) {
      if (v.size() != static_cast<size_t>(length - 1)) continue;
      for (char c : std::string(".%2Ea")) longer.push_back(v + c);
    }
    values.insert(values.end(), longer.begin(), longer.end());
  }
  int built = 0;
  for (const std::string& path_template : templates) {
    for (const std::string& enterprise_id : values) {
      for (const std::string& user_id : values) {
        const PathValue path_values[] = {{"enterprise_id", enterprise_id},
                                         {"user_id", user_id}};
        const absl::StatusOr<std::string> path =
            ExpandPathTemplate(path_template, path_values);
        if (!path.ok()) continue;
        ++built;
        for (absl::string_view segment : absl::StrSplit(*path, '/')) {
          ASSERT_FALSE(IsDotSegment(segment))
              << path_template << " with " << absl::CHexEscape(enterprise_id)
              << ", " << absl::CHexEscape(user_id) << " -> " << *path;
        }
      }
    }
  }
  EXPECT_GT(built, 0);
}

}  // namespace
}  // namespace usergateway
