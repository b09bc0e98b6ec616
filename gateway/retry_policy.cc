#include "gateway/retry_policy.h"

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

namespace {

int64_t ToMilli(double tokens) {
  // Clamped so that absurd options cannot overflow the sums below.
  if (!(tokens > 0.0)) return 0;  // also maps NaN to 0
  return static_cast<int64_t>(std::llround(std::min(tokens, 1e12) * 1000.0));
}

}  // namespace

RetryBudget::RetryBudget(double ratio, double burst)
    : ratio_milli_(ToMilli(ratio)),
      burst_milli_(ToMilli(burst)),
      tokens_milli_(burst_milli_) {}

void RetryBudget::OnCall() {
  int64_t tokens = tokens_milli_.load(std::memory_order_relaxed);
  // A full bucket is the steady state of a healthy gateway: no write then.
  while (tokens < burst_milli_ &&
         !tokens_milli_.compare_exchange_weak(
             tokens, std::min(burst_milli_, tokens + ratio_milli_),
             std::memory_order_relaxed)) {
  }
}

bool RetryBudget::TryConsume() {
  int64_t tokens = tokens_milli_.load(std::memory_order_relaxed);
  do {
    if (tokens < 1000) return false;
  } while (!tokens_milli_.compare_exchange_weak(tokens, tokens - 1000,
                                                std::memory_order_relaxed));
  return true;
}

}  // namespace usergateway
