#include "gateway/tenancy/tenant_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace usergateway {
namespace {

enum class Verdict {
  kHealthy,  // the upstream answered below 500 (429 aside)
  kFailure,  // counts towards the breaker
  kNeutral,  // says nothing about the upstream
};

Verdict Judge(const UpstreamResult& r) {
  switch (r.error) {
    case TransportError::kNone:
      if (r.http_status >= 500) return Verdict::kFailure;
      if (r.http_status == 429) return Verdict::kNeutral;
      return r.http_status > 0 ? Verdict::kHealthy : Verdict::kNeutral;
    case TransportError::kDns:
    case TransportError::kConnect:
    case TransportError::kConnectionReset:
    case TransportError::kAttemptTimeout:
      return Verdict::kFailure;
    default:
      return Verdict::kNeutral;
  }
}

int64_t Ms(absl::Duration d) {
  return absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
}

}  // namespace

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

TenantGuard::TenantGuard(TenantLimits limits, absl::Time now,
                         BreakerObserver observer)
    : limits_(limits), observer_(std::move(observer)) {
  if (limits_.requests_per_second > 0) {
    const double burst = limits_.burst > 0
                             ? limits_.burst
                             : std::max(1.0, limits_.requests_per_second);
    bucket_.emplace(limits_.requests_per_second, burst, now);
  }
}

void TenantGuard::SetState(BreakerState to) {
  if (state_ == to) return;
  const BreakerState from = state_;
  state_ = to;
  if (observer_) observer_(from, to);
}

TenantGuard::Admission TenantGuard::Admit(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  Admission a;
  if (now < gate_until_) {
    a.refusal = gate_refusal_;
    a.retry_after = gate_until_ - now;
    a.detail = absl::StrCat("the upstream answered HTTP ", gate_status_,
                            " with Retry-After; no call goes to it for "
                            "another ",
                            Ms(a.retry_after), " ms");
    return a;
  }
  if (state_ == BreakerState::kOpen) {
    if (now < open_until_) {
      a.refusal = TenantRefusal::kCircuitOpen;
      a.retry_after = open_until_ - now;
      a.detail = absl::StrCat(limits_.breaker_failures,
                              " upstream failures in a row; calls fail fast "
                              "for another ",
                              Ms(a.retry_after), " ms");
      return a;
    }
    SetState(BreakerState::kHalfOpen);
  }
  const bool needs_probe =
      gate_needs_probe_ || state_ == BreakerState::kHalfOpen;
  if (needs_probe && probe_in_flight_) {
    a.refusal = TenantRefusal::kProbeInFlight;
    a.retry_after = kProbeRetryDelay;
    a.detail = "one probe call is testing the upstream";
    return a;
  }
  if (bucket_.has_value()) {
    const absl::Duration wait = bucket_->TryTake(now);
    if (wait > absl::ZeroDuration()) {
      a.refusal = TenantRefusal::kRequestRate;
      a.retry_after = wait;
      a.detail = absl::StrCat("limit ", limits_.requests_per_second,
                              " requests per second");
      return a;
    }
  }
  a.admitted = true;
  if (needs_probe) {
    probe_in_flight_ = true;
    a.probe = true;
  }
  return a;
}

void TenantGuard::OnAttempt(const UpstreamResult& attempt, bool probe,
                            absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (probe) probe_in_flight_ = false;
  const bool closes_gate = attempt.error == TransportError::kNone &&
                           (attempt.http_status == 429 ||
                            attempt.http_status == 503) &&
                           attempt.retry_after.has_value();
  if (closes_gate) {
    const absl::Time until =
        now + std::max(*attempt.retry_after, absl::ZeroDuration());
    if (until > gate_until_) {
      gate_until_ = until;
      gate_status_ = attempt.http_status;
      gate_refusal_ = attempt.http_status == 429
                          ? TenantRefusal::kGateRateLimited
                          : TenantRefusal::kGateUnavailable;
    }
    gate_needs_probe_ = true;
  } else if (probe && attempt.error == TransportError::kNone &&
             attempt.http_status > 0) {
    // Any other response: the upstream no longer pushes back.
    gate_needs_probe_ = false;
  }
  if (limits_.breaker_failures <= 0) return;
  switch (Judge(attempt)) {
    case Verdict::kHealthy:
      failures_in_a_row_ = 0;
      if (probe && state_ == BreakerState::kHalfOpen) {
        SetState(BreakerState::kClosed);
      }
      return;
    case Verdict::kFailure:
      ++failures_in_a_row_;
      if ((probe && state_ == BreakerState::kHalfOpen) ||
          (state_ == BreakerState::kClosed &&
           failures_in_a_row_ >= limits_.breaker_failures)) {
        open_until_ = now + limits_.breaker_cooldown;
        SetState(BreakerState::kOpen);
      }
      return;
    case Verdict::kNeutral:
      return;
  }
}

void TenantGuard::ReleaseProbe() {
  std::lock_guard<std::mutex> lock(mu_);
  probe_in_flight_ = false;
}

BreakerState TenantGuard::breaker_state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

}  // namespace usergateway
