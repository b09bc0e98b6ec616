#include "gateway/upstream/retry_after.h"

#include <optional>
#include <ostream>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

struct Case {
  std::string name;
  std::string value;
  absl::Time now;
  std::optional<absl::Duration> want;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name << " [" << c.value << "]";
}

// The RFC's example instant, 1994-11-06 08:49:37 UTC, minus 37 seconds.
const absl::Time kNow1994 = Utc(1994, 11, 6, 8, 49, 0);
const absl::Time kNow2024 = Utc(2024, 12, 31, 23, 59, 0);

class ParseRetryAfterTest : public testing::TestWithParam<Case> {};

TEST_P(ParseRetryAfterTest, Parses) {
  const Case& c = GetParam();
  std::optional<absl::Duration> got = ParseRetryAfter(c.value, c.now);
  ASSERT_EQ(got.has_value(), c.want.has_value())
      << (got.has_value() ? absl::FormatDuration(*got) : "nullopt");
  if (c.want.has_value()) {
    EXPECT_EQ(*got, *c.want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseRetryAfterTest,
    testing::Values(
        // delta-seconds
        Case{"seconds", "120", kNow1994, absl::Seconds(120)},
        Case{"zero", "0", kNow1994, absl::ZeroDuration()},
        Case{"leading_zeros", "007", kNow1994, absl::Seconds(7)},
        Case{"one_day_exactly", "86400", kNow1994, absl::Hours(24)},
        Case{"over_one_day_clamped", "86401", kNow1994, kMaxRetryAfter},
        Case{"huge_clamped", "99999999999999999999999999", kNow1994,
             kMaxRetryAfter},
        Case{"surrounding_whitespace", " \t 120 \t", kNow1994,
             absl::Seconds(120)},
        Case{"negative", "-1", kNow1994, std::nullopt},
        Case{"plus_sign", "+5", kNow1994, std::nullopt},
        Case{"fraction", "1.5", kNow1994, std::nullopt},
        Case{"inner_space", "12 0", kNow1994, std::nullopt},
        Case{"digits_then_garbage", "120s", kNow1994, std::nullopt},
        Case{"garbage", "soon", kNow1994, std::nullopt},
        Case{"empty", "", kNow1994, std::nullopt},
        Case{"only_whitespace", "  \t ", kNow1994, std::nullopt},
        Case{"newline_not_ows", "120\n", kNow1994, std::nullopt},
        // IMF-fixdate
        Case{"imf_future", "Sun, 06 Nov 1994 08:49:37 GMT", kNow1994,
             absl::Seconds(37)},
        Case{"imf_past_is_zero", "Sun, 06 Nov 1994 08:48:00 GMT", kNow1994,
             absl::ZeroDuration()},
        Case{"imf_now_is_zero", "Sun, 06 Nov 1994 08:49:00 GMT", kNow1994,
             absl::ZeroDuration()},
        Case{"imf_next_day", "Mon, 07 Nov 1994 08:49:00 GMT", kNow1994,
             absl::Hours(24)},
        Case{"imf_far_future_clamped", "Fri, 31 Dec 9999 23:59:59 GMT",
             kNow1994, kMaxRetryAfter},
        Case{"imf_lowercase_names", "sun, 06 nov 1994 08:49:37 gmt", kNow1994,
             absl::Seconds(37)},
        Case{"imf_whitespace", "  Sun, 06 Nov 1994 08:49:37 GMT\t", kNow1994,
             absl::Seconds(37)},
        Case{"imf_leap_second", "Sun, 06 Nov 1994 08:49:60 GMT", kNow1994,
             absl::Seconds(60)},
        Case{"imf_leap_day", "Thu, 29 Feb 1996 00:00:00 GMT",
             Utc(1996, 2, 28, 23, 0, 0), absl::Hours(1)},
        Case{"imf_no_gmt", "Sun, 06 Nov 1994 08:49:37", kNow1994,
             std::nullopt},
        Case{"imf_other_zone", "Sun, 06 Nov 1994 08:49:37 PST", kNow1994,
             std::nullopt},
        Case{"imf_trailing_garbage", "Sun, 06 Nov 1994 08:49:37 GMT x",
             kNow1994, std::nullopt},
        Case{"imf_bad_day_name", "Xyz, 06 Nov 1994 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_bad_month", "Sun, 06 Nox 1994 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_31_feb", "Sun, 31 Feb 1994 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_29_feb_non_leap", "Tue, 29 Feb 1994 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_hour_25", "Sun, 06 Nov 1994 25:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_minute_60", "Sun, 06 Nov 1994 08:60:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_two_digit_year", "Sun, 06 Nov 94 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"imf_day_zero", "Sun, 00 Nov 1994 08:49:37 GMT", kNow1994,
             std::nullopt},
        Case{"truncated_date", "Sun, 06 Nov 1994 08:4", kNow1994,
             std::nullopt},
        // obsolete RFC 850
        Case{"rfc850", "Sunday, 06-Nov-94 08:49:37 GMT", kNow1994,
             absl::Seconds(37)},
        Case{"rfc850_next_century", "Wednesday, 01-Jan-25 00:00:30 GMT",
             kNow2024, absl::Seconds(90)},
        Case{"rfc850_50_years_rule_is_past", "Sunday, 06-Nov-94 08:49:37 GMT",
             kNow2024, absl::ZeroDuration()},
        // Found by //tests/fuzz:retry_after_fuzzer: on the last day of a
        // century, "00" is the next day, not 100 years ago.
        Case{"rfc850_across_the_century_end", "Friday, 01-Jan-00 06:00:00 GMT",
             Utc(2099, 12, 31, 12, 0, 0), absl::Hours(18)},
        Case{"rfc850_fifty_years_ahead", "Friday, 01-Jan-76 00:00:00 GMT",
             Utc(2026, 1, 1, 0, 0, 0), kMaxRetryAfter},
        Case{"rfc850_fifty_one_years_ahead_is_past",
             "Friday, 01-Jan-77 00:00:00 GMT", Utc(2026, 1, 1, 0, 0, 0),
             absl::ZeroDuration()},
        Case{"rfc850_short_day_name", "Sun, 06-Nov-94 08:49:37 GMT", kNow1994,
             std::nullopt},
        // asctime
        Case{"asctime", "Sun Nov  6 08:49:37 1994", kNow1994,
             absl::Seconds(37)},
        Case{"asctime_two_digit_day", "Thu Nov 10 08:49:00 1994",
             Utc(1994, 11, 10, 8, 0, 0), absl::Minutes(49)},
        Case{"asctime_with_gmt", "Sun Nov  6 08:49:37 1994 GMT", kNow1994,
             std::nullopt}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ParseRetryAfterTest, InfinitePastNowClampsToMax) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT",
                            absl::InfinitePast()),
            kMaxRetryAfter);
}

}  // namespace
}  // namespace usergateway
