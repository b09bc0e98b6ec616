#include "gateway/upstream/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/random/distributions.h"

namespace usergateway {

RetryPolicy::RetryPolicy(const RetryPolicyOptions& options)
    : options_(options) {}

absl::Duration RetryPolicy::Backoff(int attempt, absl::BitGenRef gen) const {
  if (attempt < 1) attempt = 1;
  // 2^62 nanoseconds is ~146 years: past any backoff_max, and the shift
  // cannot overflow. Duration multiplication saturates rather than wraps.
  const int exponent = std::min(attempt - 1, 62);
  absl::Duration ceiling = options_.backoff_base * (int64_t{1} << exponent);
  ceiling = std::min(ceiling, options_.backoff_max);
  const int64_t ceiling_ns = absl::ToInt64Nanoseconds(ceiling);
  if (ceiling_ns <= 0) return absl::ZeroDuration();
  return absl::Nanoseconds(
      absl::Uniform(absl::IntervalClosedClosed, gen, int64_t{0}, ceiling_ns));
}

bool RetryPolicy::ShouldRetry(const UpstreamResult& last_attempt) const {
  switch (last_attempt.error) {
    case TransportError::kConnect:
    case TransportError::kConnectionReset:
    case TransportError::kHttp2:
    case TransportError::kAttemptTimeout:  // the next attempt may be quick
      return true;
    case TransportError::kNone:
      switch (last_attempt.http_status) {
        case 408:
        case 429:
        case 502:
        case 503:
        case 504:
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

std::optional<absl::Duration> RetryPolicy::NextDelay(
    const UpstreamResult& last_attempt, int attempts_made, absl::Time now,
    absl::Time deadline, absl::BitGenRef gen) const {
  if (attempts_made >= options_.max_attempts) return std::nullopt;
  if (!ShouldRetry(last_attempt)) return std::nullopt;
  absl::Duration wait = Backoff(attempts_made, gen);
  if (last_attempt.retry_after.has_value()) {
    wait = std::max(wait, *last_attempt.retry_after);
  }
  // A retry that could only start at the deadline would be cut off at once;
  // better to report the real outcome (with its Retry-After) now.
  if (now + wait >= deadline) return std::nullopt;
  return wait;
}

}  // namespace usergateway
