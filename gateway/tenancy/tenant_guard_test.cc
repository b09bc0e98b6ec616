#include "gateway/tenancy/tenant_guard.h"

#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gateway/tenancy/tenant_ticket.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

UpstreamResult Http(int status,
                    std::optional<absl::Duration> retry_after = std::nullopt) {
  UpstreamResult r;
  r.http_status = status;
  r.retry_after = retry_after;
  r.attempts = 1;
  return r;
}

UpstreamResult Transport(TransportError error) {
  UpstreamResult r;
  r.error = error;
  r.attempts = 1;
  return r;
}

TenantLimits NoBreaker() {
  TenantLimits limits;
  limits.breaker_failures = 0;
  return limits;
}

TEST(TenantGuardTest, AdmitsWhenNothingHappened) {
  TenantGuard guard(TenantLimits(), kStart);
  TenantGuard::Admission a = guard.Admit(kStart);
  EXPECT_TRUE(a.admitted);
  EXPECT_FALSE(a.probe);
}

TEST(TenantGuardTest, GateClosesOn429RetryAfterAndRefusesWithTheTimeLeft) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429, absl::Seconds(2)), false, kStart);
  TenantGuard::Admission a = guard.Admit(kStart + absl::Milliseconds(500));
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.refusal, TenantRefusal::kGateRateLimited);
  EXPECT_EQ(a.retry_after, absl::Milliseconds(1500));
  EXPECT_NE(a.detail.find("429"), std::string::npos) << a.detail;
}

TEST(TenantGuardTest, GateAfter503IsUnavailable) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(503, absl::Seconds(1)), false, kStart);
  TenantGuard::Admission a = guard.Admit(kStart);
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.refusal, TenantRefusal::kGateUnavailable);
  EXPECT_EQ(a.retry_after, absl::Seconds(1));
}

TEST(TenantGuardTest, A429WithoutRetryAfterLeavesTheGateOpen) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429), false, kStart);
  EXPECT_TRUE(guard.Admit(kStart).admitted);
}

TEST(TenantGuardTest, OpenedGateLetsOneProbeThenEveryoneAfterSuccess) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429, absl::Seconds(2)), false, kStart);
  const absl::Time open = kStart + absl::Seconds(2);
  TenantGuard::Admission probe = guard.Admit(open);
  ASSERT_TRUE(probe.admitted);
  EXPECT_TRUE(probe.probe);
  TenantGuard::Admission other = guard.Admit(open);
  EXPECT_FALSE(other.admitted);
  EXPECT_EQ(other.refusal, TenantRefusal::kProbeInFlight);
  EXPECT_EQ(other.retry_after, kProbeRetryDelay);
  guard.OnAttempt(Http(200), /*probe=*/true, open + absl::Milliseconds(5));
  TenantGuard::Admission after = guard.Admit(open + absl::Milliseconds(6));
  EXPECT_TRUE(after.admitted);
  EXPECT_FALSE(after.probe);
}

TEST(TenantGuardTest, ProbeThatIsRateLimitedAgainReclosesTheGate) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429, absl::Seconds(1)), false, kStart);
  const absl::Time open = kStart + absl::Seconds(1);
  ASSERT_TRUE(guard.Admit(open).probe);
  guard.OnAttempt(Http(429, absl::Seconds(3)), true, open);
  TenantGuard::Admission a = guard.Admit(open + absl::Seconds(1));
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.refusal, TenantRefusal::kGateRateLimited);
  EXPECT_EQ(a.retry_after, absl::Seconds(2));
  // And then a probe again.
  EXPECT_TRUE(guard.Admit(open + absl::Seconds(3)).probe);
}

TEST(TenantGuardTest, ProbeGivenBackLetsTheNextCallProbe) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429, absl::Seconds(1)), false, kStart);
  const absl::Time open = kStart + absl::Seconds(1);
  {
    TenantGuard::Admission a = guard.Admit(open);
    ASSERT_TRUE(a.probe);
    // The call's ticket dies without the probe attempt reporting.
    TenantTicket ticket(std::shared_ptr<TenantGuard>(&guard, [](auto*) {}),
                        a.probe);
  }
  EXPECT_TRUE(guard.Admit(open).probe);
}

TEST(TenantGuardTest, LaterRetryAfterExtendsTheGateEarlierDoesNotShortenIt) {
  TenantGuard guard(NoBreaker(), kStart);
  guard.OnAttempt(Http(429, absl::Seconds(5)), false, kStart);
  guard.OnAttempt(Http(429, absl::Seconds(1)), false, kStart);
  EXPECT_EQ(guard.Admit(kStart).retry_after, absl::Seconds(5));
}

TEST(TenantGuardTest, TicketHoldsRetriesWhileTheGateIsClosed) {
  auto guard = std::make_shared<TenantGuard>(NoBreaker(), kStart);
  TenantTicket a(guard, false), b(guard, false);
  // Call a's attempt is rate limited; call b's retry must wait as well.
  a.OnAttemptDone(Http(429, absl::Seconds(2)), kStart);
  EXPECT_EQ(b.BeforeRetry(kStart + absl::Milliseconds(100)),
            absl::Milliseconds(1900));
  // Gate open: b probes; a, asking meanwhile, waits for the probe.
  EXPECT_EQ(b.BeforeRetry(kStart + absl::Seconds(2)), absl::ZeroDuration());
  EXPECT_EQ(a.BeforeRetry(kStart + absl::Seconds(2)), kProbeRetryDelay);
  b.OnAttemptDone(Http(200), kStart + absl::Seconds(2));
  EXPECT_EQ(a.BeforeRetry(kStart + absl::Seconds(2)), absl::ZeroDuration());
}

TEST(TenantGuardTest, RequestRateLimitRefusesWithTheTimeUntilAToken) {
  TenantLimits limits = NoBreaker();
  limits.requests_per_second = 2;
  limits.burst = 2;
  TenantGuard guard(limits, kStart);
  EXPECT_TRUE(guard.Admit(kStart).admitted);
  EXPECT_TRUE(guard.Admit(kStart).admitted);
  TenantGuard::Admission a = guard.Admit(kStart);
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.refusal, TenantRefusal::kRequestRate);
  EXPECT_EQ(a.retry_after, absl::Milliseconds(500));
  EXPECT_TRUE(guard.Admit(kStart + absl::Milliseconds(500)).admitted);
}

TenantLimits Breaker(int failures, absl::Duration cooldown) {
  TenantLimits limits;
  limits.breaker_failures = failures;
  limits.breaker_cooldown = cooldown;
  return limits;
}

TEST(TenantGuardTest, BreakerOpensAfterFailuresInARowAndFailsFast) {
  std::vector<std::pair<BreakerState, BreakerState>> transitions;
  TenantGuard guard(Breaker(3, absl::Seconds(10)), kStart,
                    [&](BreakerState from, BreakerState to) {
                      transitions.emplace_back(from, to);
                    });
  guard.OnAttempt(Transport(TransportError::kConnect), false, kStart);
  guard.OnAttempt(Http(500), false, kStart);
  EXPECT_TRUE(guard.Admit(kStart).admitted);
  guard.OnAttempt(Transport(TransportError::kConnectionReset), false, kStart);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kOpen);
  TenantGuard::Admission a = guard.Admit(kStart + absl::Seconds(4));
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.refusal, TenantRefusal::kCircuitOpen);
  EXPECT_EQ(a.retry_after, absl::Seconds(6));
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].second, BreakerState::kOpen);
}

TEST(TenantGuardTest, SuccessBetweenFailuresResetsTheRun) {
  TenantGuard guard(Breaker(2, absl::Seconds(10)), kStart);
  guard.OnAttempt(Http(502), false, kStart);
  guard.OnAttempt(Http(404), false, kStart);  // the upstream answers
  guard.OnAttempt(Http(502), false, kStart);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kClosed);
  // Outcomes that say nothing about the upstream do not count either way.
  guard.OnAttempt(Transport(TransportError::kCancelled), false, kStart);
  guard.OnAttempt(Http(429), false, kStart);
  guard.OnAttempt(Http(503), false, kStart);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kOpen);
}

TEST(TenantGuardTest, HalfOpenProbeSuccessClosesFailureReopens) {
  std::vector<BreakerState> states;
  TenantGuard guard(Breaker(1, absl::Seconds(10)), kStart,
                    [&](BreakerState, BreakerState to) {
                      states.push_back(to);
                    });
  guard.OnAttempt(Transport(TransportError::kConnect), false, kStart);
  const absl::Time t1 = kStart + absl::Seconds(10);
  TenantGuard::Admission probe = guard.Admit(t1);
  ASSERT_TRUE(probe.admitted);
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kHalfOpen);
  EXPECT_EQ(guard.Admit(t1).refusal, TenantRefusal::kProbeInFlight);
  // The probe fails: open again for a whole cool-down.
  guard.OnAttempt(Http(503), true, t1);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kOpen);
  EXPECT_EQ(guard.Admit(t1 + absl::Seconds(1)).retry_after, absl::Seconds(9));
  const absl::Time t2 = t1 + absl::Seconds(10);
  ASSERT_TRUE(guard.Admit(t2).probe);
  guard.OnAttempt(Http(200), true, t2);
  EXPECT_EQ(guard.breaker_state(), BreakerState::kClosed);
  TenantGuard::Admission after = guard.Admit(t2);
  EXPECT_TRUE(after.admitted);
  EXPECT_FALSE(after.probe);
  EXPECT_EQ(states, std::vector<BreakerState>(
                        {BreakerState::kOpen, BreakerState::kHalfOpen,
                         BreakerState::kOpen, BreakerState::kHalfOpen,
                         BreakerState::kClosed}));
}

TEST(TenantGuardTest, StateNamesAreMetricLabels) {
  EXPECT_STREQ(BreakerStateName(BreakerState::kClosed), "closed");
  EXPECT_STREQ(BreakerStateName(BreakerState::kOpen), "open");
  EXPECT_STREQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace usergateway
