#include "gateway/request/path_template.h"

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;

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
        TemplateCase{"/u/{user_id}?x=1", false, "'?' or '#'"},
        TemplateCase{"/u/{user_id}#frag", false, "'?' or '#'"},
        TemplateCase{"/u/{user_id", false, "without a matching '}'"},
        TemplateCase{"/u/{{user_id}", false, "without a matching '}'"},
        TemplateCase{"/u/user_id}", false, "without a matching '{'"},
        TemplateCase{"/u/{user_id}/a b", false, "not allowed"},
        TemplateCase{"/u/{user_id}\n", false, "not allowed"},
        TemplateCase{"/u/%zz/{user_id}", false, "two hex digits"},
        TemplateCase{"/u/{user_id}%2", false, "two hex digits"}));

}  // namespace
}  // namespace usergateway
