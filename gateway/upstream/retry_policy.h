// When and how long to wait before retrying an upstream PUT. Pure
// decisions: the time is passed in, randomness injected, so that every rule
// is unit-tested. How many retries the gateway may spend overall is
// RetryBudget's decision (retry_budget.h).
//
// Example (the upstream client's loop after an attempt finished):
//
//   budget.OnCall();  // once per call, when it starts
//   ...
//   std::optional<absl::Duration> wait =
//       policy.NextDelay(result, result.attempts, absl::Now(), deadline, gen);
//   if (wait.has_value() && budget.TryConsume()) ScheduleRetry(*wait);
//   else Finish(result);
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_RETRY_POLICY_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_RETRY_POLICY_H_

#include <optional>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

struct RetryPolicyOptions {
  // Attempts per call, the first one included (1 disables retries).
  int max_attempts = 4;
  // Full-jitter exponential backoff: the wait before retry n (n = 1, 2, ...)
  // is uniform in [0, min(backoff_max, backoff_base * 2^(n-1))].
  absl::Duration backoff_base = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(2);
};

// Decides whether one call's last attempt is worth repeating and how long to
// wait first. Stateless after construction; thread-safe (const).
//
// Retried: connect failures, broken connections, HTTP/2 errors and
// attempts that ran out their per-attempt timeout (the PUT is idempotent,
// so a request that may have reached the server can be sent again) and
// HTTP 408, 429, 502, 503, 504. Never other statuses (a 4xx will not
// change), DNS failures (rarely transient; retrying only adds latency), TLS
// failures (configuration), malformed HTTP or oversized responses (the
// same request gets the same reply), deadlines, cancellations or
// gateway-side refusals.
class RetryPolicy {
 public:
  explicit RetryPolicy(const RetryPolicyOptions& options);

  // Returns the jittered wait before the retry that follows attempt number
  // `attempt` (1 for the wait between the first and the second attempt):
  // uniform in [0, min(backoff_max, backoff_base * 2^(attempt-1))].
  absl::Duration Backoff(int attempt, absl::BitGenRef gen) const;

  // Returns true when `last_attempt`'s outcome is transient (see the class
  // comment). Ignores attempt counts and deadlines.
  bool ShouldRetry(const UpstreamResult& last_attempt) const;

  // Returns the wait before the next attempt, or nullopt to stop and report
  // `last_attempt`: when it is not retryable, when `attempts_made` reached
  // max_attempts, or when the wait would end at or past `deadline`. The wait
  // is the backoff, or the server's Retry-After when that is longer.
  // Does not consult the retry budget: callers spend a token only once this
  // says yes, so that a refused retry costs nothing.
  std::optional<absl::Duration> NextDelay(const UpstreamResult& last_attempt,
                                          int attempts_made, absl::Time now,
                                          absl::Time deadline,
                                          absl::BitGenRef gen) const;

  const RetryPolicyOptions& options() const { return options_; }

 private:
  RetryPolicyOptions options_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_RETRY_POLICY_H_
