// One tenant's protection of its upstream: the rate gate, the request rate
// limit and the circuit breaker, shared by every call to that tenant.
//
//   gate     A 429 or 503 with Retry-After closes it until then: calls are
//            refused at once (GATEWAY_TENANT_RATE_LIMITED or
//            GATEWAY_TENANT_UNAVAILABLE, RetryInfo = the time left). When
//            it opens, one probe call goes first; the others are refused
//            (GATEWAY_TENANT_PROBING) until the probe gets a response that
//            does not close the gate again.
//   bucket   With requests_per_second, a token bucket: each attempt takes a
//            token, or the call is refused (GATEWAY_TENANT_QUOTA, RetryInfo
//            = the time until a token).
//   breaker  closed --(breaker_failures failures in a row: connect
//            failure, reset, attempt timeout, DNS failure or a 5xx)-->
//            open --(breaker_cooldown)--> half-open: one probe call; a
//            response below 500 (429 aside) closes it, a failure opens it
//            again.
//            While open, calls are refused (GATEWAY_CIRCUIT_OPEN, RetryInfo
//            = the cool-down left).
// Every attempt is admitted (Admit) and reported (OnAttempt), retries
// included, so that a 429 stops other calls' retries too.
//
// Example:
//
//   TenantGuard::Admission a = guard.Admit(clock.Now());
//   if (!a.admitted) return Refuse(a.refusal, a.retry_after);
//   ... attempt ...
//   guard.OnAttempt(result, a.probe, clock.Now());
//
// Pure logic on the time it is given (tests simulate it). Thread-safe.
#ifndef USERGATEWAY_GATEWAY_TENANCY_TENANT_GUARD_H_
#define USERGATEWAY_GATEWAY_TENANCY_TENANT_GUARD_H_

#include <functional>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "gateway/response/error_table.h"
#include "gateway/tenancy/token_bucket.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

// A tenant's optional limits (the tenants file's "limits").
struct TenantLimits {
  // Token bucket; 0 means no request rate limit.
  double requests_per_second = 0;
  // Tokens the bucket holds; 0 means max(1, requests_per_second).
  double burst = 0;
  // Failures in a row that open the breaker; 0 disables it.
  int breaker_failures = 5;
  absl::Duration breaker_cooldown = absl::Seconds(10);

  bool operator==(const TenantLimits& o) const {
    return requests_per_second == o.requests_per_second && burst == o.burst &&
           breaker_failures == o.breaker_failures &&
           breaker_cooldown == o.breaker_cooldown;
  }
  bool operator!=(const TenantLimits& o) const { return !(*this == o); }
};

enum class BreakerState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

// "closed", "open", "half_open".
const char* BreakerStateName(BreakerState state);

// How long a call refused because a probe is in flight is told to wait.
inline constexpr absl::Duration kProbeRetryDelay = absl::Milliseconds(100);

class TenantGuard {
 public:
  // Called, under the guard's lock (keep it cheap: a gauge, a log line),
  // on every breaker transition.
  using BreakerObserver =
      std::function<void(BreakerState from, BreakerState to)>;

  TenantGuard(TenantLimits limits, absl::Time now,
              BreakerObserver observer = nullptr);

  struct Admission {
    bool admitted = false;
    // The attempt holds the tenant's one probe: report it with
    // OnAttempt(..., probe = true), or ReleaseProbe() if it never runs.
    bool probe = false;
    // When not admitted: why, how long until it may be worth trying
    // again, and a sentence for the status message.
    TenantRefusal refusal = TenantRefusal::kCircuitOpen;
    absl::Duration retry_after = absl::ZeroDuration();
    std::string detail;
  };

  // Decides one attempt (a call's first or a retry) at `now`: gate, then
  // breaker, then the probe, then the bucket.
  Admission Admit(absl::Time now);

  // Reports an admitted attempt's outcome. Outcomes that say nothing about
  // the upstream (cancelled, deadline, gateway-side refusals) change
  // nothing but release the probe.
  void OnAttempt(const UpstreamResult& attempt, bool probe, absl::Time now);

  // Gives the probe back when the attempt that held it will not run.
  void ReleaseProbe();

  BreakerState breaker_state() const;
  const TenantLimits& limits() const { return limits_; }

 private:
  void SetState(BreakerState to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TenantLimits limits_;
  const BreakerObserver observer_;
  // std::mutex: see attempt_scheduler.h (ThreadSanitizer and Debian's
  // abseil).
  mutable std::mutex mu_;
  absl::Time gate_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  TenantRefusal gate_refusal_ ABSL_GUARDED_BY(mu_) =
      TenantRefusal::kGateRateLimited;
  int gate_status_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_needs_probe_ ABSL_GUARDED_BY(mu_) = false;
  BreakerState state_ ABSL_GUARDED_BY(mu_) = BreakerState::kClosed;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int failures_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<TokenBucket> bucket_ ABSL_GUARDED_BY(mu_);
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_TENANCY_TENANT_GUARD_H_
