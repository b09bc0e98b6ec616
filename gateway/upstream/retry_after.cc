#include "gateway/upstream/retry_after.h"

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace usergateway {
namespace {

constexpr absl::string_view kShortDays[] = {"Mon", "Tue", "Wed", "Thu",
                                            "Fri", "Sat", "Sun"};
constexpr absl::string_view kLongDays[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sunday"};
constexpr absl::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};

bool IsOws(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

absl::Duration Clamp(absl::Duration d) {
  if (d < absl::ZeroDuration()) return absl::ZeroDuration();
  if (d > kMaxRetryAfter) return kMaxRetryAfter;
  return d;
}

// delta-seconds = 1*DIGIT. Any length of digits is accepted; values past
// kMaxRetryAfter clamp without overflowing.
std::optional<absl::Duration> ParseDeltaSeconds(absl::string_view s) {
  if (s.empty()) return std::nullopt;
  const int64_t max_seconds = kMaxRetryAfter / absl::Seconds(1);
  int64_t seconds = 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    if (seconds <= max_seconds) seconds = seconds * 10 + (c - '0');
  }
  return Clamp(absl::Seconds(seconds));
}

// A forward-only reader over the date text. Every method returns false
// (leaving the position unspecified) when the text does not match.
class Cursor {
 public:
  explicit Cursor(absl::string_view s) : s_(s) {}

  bool AtEnd() const { return pos_ == s_.size(); }

  bool Char(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // One or more spaces: lenient, so that asctime's padded day ("Nov  6")
  // and doubled separators parse.
  bool Spaces() {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
    return pos_ > start;
  }

  // Between min_digits and max_digits ASCII digits.
  bool Number(int min_digits, int max_digits, int* out) {
    int n = 0;
    int value = 0;
    while (n < max_digits && pos_ < s_.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s_[pos_]))) {
      value = value * 10 + (s_[pos_] - '0');
      ++pos_;
      ++n;
    }
    if (n < min_digits) return false;
    *out = value;
    return true;
  }

  // A run of ASCII letters.
  absl::string_view Word() {
    const size_t start = pos_;
    while (pos_ < s_.size() &&
           absl::ascii_isalpha(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  // Consumes `word` if the next letters equal it, ignoring case.
  bool Keyword(absl::string_view word) {
    const size_t start = pos_;
    if (absl::EqualsIgnoreCase(Word(), word)) return true;
    pos_ = start;
    return false;
  }

  // Month name to 1..12.
  bool Month(int* out) {
    absl::string_view word = Word();
    for (int i = 0; i < 12; ++i) {
      if (absl::EqualsIgnoreCase(word, kMonths[i])) {
        *out = i + 1;
        return true;
      }
    }
    return false;
  }

  // time-of-day = hour ":" minute ":" second, each two digits.
  bool TimeOfDay(int* hour, int* minute, int* second) {
    return Number(2, 2, hour) && Char(':') && Number(2, 2, minute) &&
           Char(':') && Number(2, 2, second);
  }

 private:
  absl::string_view s_;
  size_t pos_ = 0;
};

bool IsDayName(absl::string_view word, bool long_form) {
  if (long_form) {
    for (absl::string_view day : kLongDays) {
      if (absl::EqualsIgnoreCase(word, day)) return true;
    }
  } else {
    for (absl::string_view day : kShortDays) {
      if (absl::EqualsIgnoreCase(word, day)) return true;
    }
  }
  return false;
}

struct DateFields {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// Converts validated fields to an absolute time, or nullopt for an
// impossible date or time. Second 60 (a leap second) is allowed, as the
// grammar allows it, and lands on the next minute.
std::optional<absl::Time> ToTime(const DateFields& f) {
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 ||
      f.hour > 23 || f.minute > 59 || f.second > 60) {
    return std::nullopt;
  }
  const absl::CivilDay day(f.year, f.month, f.day);
  // CivilDay normalises 31 Feb to 3 Mar; a changed field means invalid.
  if (day.year() != f.year || day.month() != f.month || day.day() != f.day) {
    return std::nullopt;
  }
  const absl::CivilSecond civil(f.year, f.month, f.day, f.hour, f.minute, 0);
  return absl::FromCivil(civil, absl::UTCTimeZone()) +
         absl::Seconds(f.second);
}

// Returns the HTTP-date in `s`, or nullopt.
std::optional<absl::Time> ParseHttpDate(absl::string_view s, absl::Time now) {
  Cursor c(s);
  const absl::string_view day_name = c.Word();
  DateFields f;
  if (c.Char(',')) {
    if (!c.Spaces()) return std::nullopt;
    if (IsDayName(day_name, /*long_form=*/false)) {
      // IMF-fixdate: "06 Nov 1994 08:49:37 GMT".
      if (!c.Number(1, 2, &f.day) || !c.Spaces() || !c.Month(&f.month) ||
          !c.Spaces() || !c.Number(4, 4, &f.year) || !c.Spaces() ||
          !c.TimeOfDay(&f.hour, &f.minute, &f.second) || !c.Spaces() ||
          !c.Keyword("GMT") || !c.AtEnd()) {
        return std::nullopt;
      }
    } else if (IsDayName(day_name, /*long_form=*/true)) {
      // RFC 850: "06-Nov-94 08:49:37 GMT".
      int yy = 0;
      if (!c.Number(1, 2, &f.day) || !c.Char('-') || !c.Month(&f.month) ||
          !c.Char('-') || !c.Number(2, 2, &yy) || !c.Spaces() ||
          !c.TimeOfDay(&f.hour, &f.minute, &f.second) || !c.Spaces() ||
          !c.Keyword("GMT") || !c.AtEnd()) {
        return std::nullopt;
      }
      // RFC 9110 5.6.7: a two-digit year that appears more than 50 years in
      // the future is the most recent past year with the same digits. So
      // the year is the one ending in these digits within (now - 50,
      // now + 50]: near the end of a century, "00" is the next one's first.
      const int now_year = static_cast<int>(
          absl::ToCivilYear(now, absl::UTCTimeZone()).year());
      f.year = now_year - now_year % 100 + yy;
      if (f.year > now_year + 50) f.year -= 100;
      if (f.year <= now_year - 50) f.year += 100;
    } else {
      return std::nullopt;
    }
  } else {
    // asctime: "Sun Nov  6 08:49:37 1994".
    if (!IsDayName(day_name, /*long_form=*/false) || !c.Spaces() ||
        !c.Month(&f.month) || !c.Spaces() || !c.Number(1, 2, &f.day) ||
        !c.Spaces() || !c.TimeOfDay(&f.hour, &f.minute, &f.second) ||
        !c.Spaces() || !c.Number(4, 4, &f.year) || !c.AtEnd()) {
      return std::nullopt;
    }
  }
  return ToTime(f);
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = TrimOws(value);
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(static_cast<unsigned char>(value.front()))) {
    return ParseDeltaSeconds(value);
  }
  std::optional<absl::Time> when = ParseHttpDate(value, now);
  if (!when.has_value()) return std::nullopt;
  return Clamp(*when - now);
}

}  // namespace usergateway
