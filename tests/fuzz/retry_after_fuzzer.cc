// Fuzz target: the Retry-After parser (gateway/upstream/retry_after.h).
//
// Input: the header value. When the input starts with a line of 1 to 11
// digits, that line is `now` in Unix seconds and the rest is the value;
// otherwise `now` is 2026-01-01T00:00:00Z. Properties:
//   - a delay is never negative and never over kMaxRetryAfter;
//   - delta-seconds (digits only, after trimming spaces and tabs) always
//     parse, to exactly min(value, 24h) seconds, whatever the length;
//   - anything else that starts with a digit or a sign is refused (no sign,
//     no fraction);
//   - spaces and tabs around the value change nothing, nor does the case of
//     its letters (day and month names, "GMT");
//   - a parsed HTTP-date less than 24 h ahead round-trips: written again as
//     IMF-fixdate, RFC 850 and asctime, each parses to the same delay;
//   - a parsed delay round-trips through delta-seconds when it is whole
//     seconds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/upstream/retry_after.h"
#include "tests/fuzz/fuzz_check.h"

namespace usergateway {
namespace fuzz {
namespace {

std::string Show(const std::optional<absl::Duration>& d) {
  return d.has_value() ? absl::FormatDuration(*d) : "nullopt";
}

absl::string_view TrimSpacesAndTabs(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// min(digits, 86400) without overflowing on long inputs.
int64_t ClampedSeconds(absl::string_view digits) {
  const int64_t max = absl::ToInt64Seconds(kMaxRetryAfter);
  int64_t value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > max) return max;
  }
  return value;
}

void CheckSame(absl::string_view what, absl::string_view value,
               absl::Time now, const std::optional<absl::Duration>& want) {
  const std::optional<absl::Duration> got = ParseRetryAfter(value, now);
  FUZZ_CHECK(got == want, absl::StrCat(what, " ", Quote(value), " gave ",
                                       Show(got), ", expected ", Show(want)));
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ::usergateway::fuzz;
  using ::usergateway::kMaxRetryAfter;
  using ::usergateway::ParseRetryAfter;
  absl::string_view value(reinterpret_cast<const char*>(data), size);
  absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  const size_t newline = value.find('\n');
  int64_t now_seconds = 0;
  if (newline != absl::string_view::npos && newline >= 1 && newline <= 11 &&
      value.substr(0, newline).find_first_not_of("0123456789") ==
          absl::string_view::npos &&
      absl::SimpleAtoi(value.substr(0, newline), &now_seconds)) {
    now = absl::FromUnixSeconds(now_seconds);
    value.remove_prefix(newline + 1);
  }

  const std::optional<absl::Duration> delay = ParseRetryAfter(value, now);
  const std::string shown = absl::StrCat(fuzz::Quote(value), " gave ",
                                         fuzz::Show(delay));
  if (delay.has_value()) {
    FUZZ_CHECK(*delay >= absl::ZeroDuration() && *delay <= kMaxRetryAfter,
               shown);
  }

  const absl::string_view trimmed = fuzz::TrimSpacesAndTabs(value);
  const bool all_digits =
      !trimmed.empty() &&
      trimmed.find_first_not_of("0123456789") == absl::string_view::npos;
  if (all_digits) {
    FUZZ_CHECK(delay == absl::Seconds(fuzz::ClampedSeconds(trimmed)), shown);
  } else if (!trimmed.empty() &&
             (absl::ascii_isdigit(static_cast<unsigned char>(trimmed[0])) ||
              trimmed[0] == '-' || trimmed[0] == '+')) {
    FUZZ_CHECK(!delay.has_value(), shown);
  }

  fuzz::CheckSame("padded", absl::StrCat(" \t", value, "\t "), now, delay);
  fuzz::CheckSame("lower-cased", absl::AsciiStrToLower(value), now, delay);
  fuzz::CheckSame("upper-cased", absl::AsciiStrToUpper(value), now, delay);

  if (!delay.has_value()) return 0;
  if (*delay % absl::Seconds(1) == absl::ZeroDuration()) {
    fuzz::CheckSame("delta-seconds",
                    absl::StrCat(absl::ToInt64Seconds(*delay)), now, delay);
  }
  if (!all_digits && *delay > absl::ZeroDuration() &&
      *delay < kMaxRetryAfter) {
    const absl::Time when = now + *delay;
    const absl::TimeZone utc = absl::UTCTimeZone();
    fuzz::CheckSame("IMF-fixdate",
                    absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", when, utc),
                    now, delay);
    fuzz::CheckSame("RFC 850",
                    absl::FormatTime("%A, %d-%b-%y %H:%M:%S GMT", when, utc),
                    now, delay);
    fuzz::CheckSame("asctime",
                    absl::FormatTime("%a %b %e %H:%M:%S %Y", when, utc), now,
                    delay);
  }
  return 0;
}
