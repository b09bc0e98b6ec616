#include "gateway/response/message_sanitizer.h"

#include <cstddef>
#include <ostream>
#include <string>

#include "absl/strings/match.h"
#include "gateway/response/response_test_util.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(IsValidUtf8Test, CatchesBadInput) {
  EXPECT_TRUE(IsValidUtf8("ok \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

struct SanitizeCase {
  std::string name;
  std::string input;
  size_t max_bytes;
  std::string want;
};

std::ostream& operator<<(std::ostream& os, const SanitizeCase& c) {
  return os << c.name;
}

class SanitizeMessageTest : public testing::TestWithParam<SanitizeCase> {};

TEST_P(SanitizeMessageTest, Sanitizes) {
  const SanitizeCase& c = GetParam();
  const std::string got = SanitizeMessage(c.input, c.max_bytes);
  EXPECT_EQ(got, c.want);
  EXPECT_LE(got.size(), c.max_bytes);
  EXPECT_TRUE(IsValidUtf8(got));
}

INSTANTIATE_TEST_SUITE_P(
    Table, SanitizeMessageTest,
    testing::Values(
        SanitizeCase{"plain", "hello", 512, "hello"},
        SanitizeCase{"empty", "", 512, ""},
        SanitizeCase{"trim_and_collapse", "  a \t\n b  ", 512, "a b"},
        SanitizeCase{"c1_control", "a\xC2\x85" "b", 512, "a b"},
        SanitizeCase{"del", "a\x7F" "b", 512, "a b"},
        SanitizeCase{"invalid_utf8", "a\xFF" "b\xC0\xAF" "c", 512,
                     "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c"},
        SanitizeCase{"surrogate_bytes", "x\xED\xA0\x80y", 512,
                     "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy"},
        SanitizeCase{"truncated_sequence_at_end", "ab\xE2\x82", 512,
                     "ab\xEF\xBF\xBD\xEF\xBF\xBD"},
        SanitizeCase{"four_byte_kept", "\xF0\x9F\x98\x80 ok", 512,
                     "\xF0\x9F\x98\x80 ok"},
        SanitizeCase{"bearer", "Bearer abc", 512, "Bearer [REDACTED]"},
        SanitizeCase{"bearer_case_and_tab", "x BEARER\tabc.def y", 512,
                     "x BEARER [REDACTED] y"},
        SanitizeCase{"bearer_twice", "Bearer a, bearer b", 512,
                     "Bearer [REDACTED] bearer [REDACTED]"},
        SanitizeCase{"bearer_at_end", "scheme Bearer", 512, "scheme Bearer"},
        SanitizeCase{"not_a_word_start", "nobearer abc", 512, "nobearer abc"},
        SanitizeCase{"cut_ascii", "abcdefghij", 8, "abcde\xE2\x80\xA6"},
        SanitizeCase{"fits_exactly", "abcdefgh", 8, "abcdefgh"},
        SanitizeCase{"cut_inside_char", "ab\xE2\x82\xAC\xE2\x82\xAC", 7,
                     "ab\xE2\x80\xA6"},
        SanitizeCase{"cut_drops_trailing_space", "abcd efgh", 8,
                     "abcd\xE2\x80\xA6"},
        SanitizeCase{"bearer_token_never_half_shown",
                     "Bearer 0123456789abcdef", 12, "Bearer [R\xE2\x80\xA6"}),
    [](const testing::TestParamInfo<SanitizeCase>& info) {
      return info.param.name;
    });

TEST(SanitizeMessageTest, HugeInputIsBoundedAndMarked) {
  const std::string got = SanitizeMessage(std::string(1 << 20, 'x'));
  EXPECT_EQ(got.size(), 512u);
  EXPECT_TRUE(absl::EndsWith(got, "\xE2\x80\xA6"));
}

TEST(SanitizeMessageTest, LongTokenScrubbedEvenPastCollectLimit) {
  const std::string got =
      SanitizeMessage("Bearer " + std::string(100000, 'k') + " tail");
  EXPECT_EQ(got, "Bearer [REDACTED]\xE2\x80\xA6");
}

}  // namespace
}  // namespace usergateway
