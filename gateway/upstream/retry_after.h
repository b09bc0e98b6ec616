// Parsing of the HTTP Retry-After response header (RFC 9110 section 10.2.3)
// into a delay, for the upstream client's retry loop and for RetryInfo.
//
// Example:
//
//   std::optional<absl::Duration> delay =
//       ParseRetryAfter(header_value, absl::Now());
//   if (delay.has_value()) result.retry_after = *delay;
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_RETRY_AFTER_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_RETRY_AFTER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {

// The longest delay ParseRetryAfter returns. A server that asks for more is
// still telling us "not soon": clamping keeps the signal (the retry loop sees
// a delay past any deadline and gives up) without carrying absurd values
// into RetryInfo or arithmetic.
inline constexpr absl::Duration kMaxRetryAfter = absl::Hours(24);

// Parses a Retry-After value received at `now`. Accepts
//   - delta-seconds: one or more ASCII digits, e.g. "120" (no sign, no
//     fraction);
//   - an HTTP-date in any of the three forms recipients must accept:
//     IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
//     obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year
//     is the year ending in those digits that is at most 50 years ahead of
//     `now` and less than 50 years behind it: "94" is 1994 in 2026, and
//     "00" is 2100 on 31 Dec 2099), and
//     asctime "Sun Nov  6 08:49:37 1994".
// Leading/trailing spaces and tabs are ignored; day and month names and
// "GMT" match case-insensitively; the day name is not checked against the
// date.
//
// Returns the delay from `now`: zero for a date in the past, at most
// kMaxRetryAfter (larger values are clamped to it). Returns nullopt for an
// empty, negative, fractional or otherwise unparsable value, or an
// impossible date (e.g. 31 Feb, 25:00:00).
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_RETRY_AFTER_H_
