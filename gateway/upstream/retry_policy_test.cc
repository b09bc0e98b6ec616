#include "gateway/upstream/retry_policy.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/random/mock_distributions.h"
#include "absl/random/mocking_bit_gen.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {
namespace {

using ::testing::_;
using ::testing::Return;

RetryPolicyOptions DefaultOptions() {
  RetryPolicyOptions options;
  options.max_attempts = 4;
  options.backoff_base = absl::Milliseconds(100);
  options.backoff_max = absl::Seconds(2);
  return options;
}

UpstreamResult HttpResult(int status) {
  UpstreamResult result;
  result.http_status = status;
  return result;
}

UpstreamResult TransportResult(TransportError error) {
  UpstreamResult result;
  result.error = error;
  return result;
}

struct CeilingCase {
  int attempt;
  absl::Duration ceiling;
};

TEST(RetryPolicyTest, BackoffDrawsBelowADoublingCeilingCappedAtMax) {
  const CeilingCase cases[] = {
      {0, absl::Milliseconds(100)},  // treated as the first retry
      {1, absl::Milliseconds(100)},  {2, absl::Milliseconds(200)},
      {3, absl::Milliseconds(400)},  {4, absl::Milliseconds(800)},
      {5, absl::Milliseconds(1600)}, {6, absl::Seconds(2)},
      {100, absl::Seconds(2)},
  };
  RetryPolicy policy(DefaultOptions());
  for (const CeilingCase& c : cases) {
    SCOPED_TRACE(c.attempt);
    absl::MockingBitGen gen;
    const int64_t ceiling_ns = absl::ToInt64Nanoseconds(c.ceiling);
    EXPECT_CALL(absl::MockUniform<int64_t>(),
                Call(absl::IntervalClosedClosed, gen, 0, ceiling_ns))
        .WillOnce(Return(ceiling_ns / 2));
    EXPECT_EQ(policy.Backoff(c.attempt, gen), c.ceiling / 2);
  }
}

TEST(RetryPolicyTest, BackoffWithRealRandomnessStaysInRangeAndJitters) {
  RetryPolicy policy(DefaultOptions());
  absl::BitGen gen;
  absl::Duration min = absl::InfiniteDuration();
  absl::Duration max = -absl::InfiniteDuration();
  for (int i = 0; i < 2000; ++i) {
    absl::Duration d = policy.Backoff(3, gen);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Milliseconds(400));
    min = std::min(min, d);
    max = std::max(max, d);
  }
  // Full jitter spreads over the whole range, not around its top.
  EXPECT_LT(min, absl::Milliseconds(40));
  EXPECT_GT(max, absl::Milliseconds(360));
}

TEST(RetryPolicyTest, BackoffIsZeroWhenBaseIsZero) {
  RetryPolicyOptions options = DefaultOptions();
  options.backoff_base = absl::ZeroDuration();
  RetryPolicy policy(options);
  absl::BitGen gen;
  EXPECT_EQ(policy.Backoff(3, gen), absl::ZeroDuration());
}

struct RetryableCase {
  UpstreamResult result;
  bool retry;
};

TEST(RetryPolicyTest, ShouldRetryOnlyTransientOutcomes) {
  const RetryableCase cases[] = {
      {HttpResult(200), false},
      {HttpResult(302), false},
      {HttpResult(400), false},
      {HttpResult(401), false},
      {HttpResult(403), false},
      {HttpResult(404), false},
      {HttpResult(408), true},
      {HttpResult(409), false},
      {HttpResult(422), false},
      {HttpResult(429), true},
      {HttpResult(500), false},
      {HttpResult(501), false},
      {HttpResult(502), true},
      {HttpResult(503), true},
      {HttpResult(504), true},
      {TransportResult(TransportError::kConnect), true},
      {TransportResult(TransportError::kConnectionReset), true},
      {TransportResult(TransportError::kHttp2), true},
      {TransportResult(TransportError::kAttemptTimeout), true},
      {TransportResult(TransportError::kDns), false},
      {TransportResult(TransportError::kTlsHandshake), false},
      {TransportResult(TransportError::kTlsUntrusted), false},
      {TransportResult(TransportError::kTlsHostnameMismatch), false},
      {TransportResult(TransportError::kTlsCertificateExpired), false},
      {TransportResult(TransportError::kProtocol), false},
      {TransportResult(TransportError::kDeadlineExceeded), false},
      {TransportResult(TransportError::kCancelled), false},
      {TransportResult(TransportError::kResponseTooLarge), false},
      {TransportResult(TransportError::kResponseHeadersTooLarge), false},
      {TransportResult(TransportError::kResponseBudgetExhausted), false},
      {TransportResult(TransportError::kOverloaded), false},
      {TransportResult(TransportError::kDraining), false},
      {TransportResult(TransportError::kInternal), false},
  };
  RetryPolicy policy(DefaultOptions());
  for (const RetryableCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(TransportErrorName(c.result.error), " ",
                              c.result.http_status));
    EXPECT_EQ(policy.ShouldRetry(c.result), c.retry);
  }
}

TEST(RetryPolicyTest, NextDelayUsesBackoffForRetryableOutcome) {
  RetryPolicy policy(DefaultOptions());
  absl::MockingBitGen gen;
  EXPECT_CALL(absl::MockUniform<int64_t>(), Call(absl::IntervalClosedClosed, gen, _, _))
      .WillOnce(Return(absl::ToInt64Nanoseconds(absl::Milliseconds(70))));
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(policy.NextDelay(HttpResult(503), 1, now, now + absl::Seconds(10),
                             gen),
            absl::Milliseconds(70));
}

TEST(RetryPolicyTest, NextDelayHonoursALongerRetryAfter) {
  RetryPolicy policy(DefaultOptions());
  absl::MockingBitGen gen;
  ON_CALL(absl::MockUniform<int64_t>(), Call(absl::IntervalClosedClosed, gen, _, _))
      .WillByDefault(Return(absl::ToInt64Nanoseconds(absl::Milliseconds(70))));
  const absl::Time now = absl::FromUnixSeconds(1000);
  UpstreamResult longer = HttpResult(429);
  longer.retry_after = absl::Seconds(3);
  EXPECT_EQ(policy.NextDelay(longer, 1, now, now + absl::Seconds(10), gen),
            absl::Seconds(3));
  UpstreamResult shorter = HttpResult(503);
  shorter.retry_after = absl::Milliseconds(10);
  EXPECT_EQ(policy.NextDelay(shorter, 1, now, now + absl::Seconds(10), gen),
            absl::Milliseconds(70));
}

TEST(RetryPolicyTest, NextDelayStopsWhenTheWaitWouldPassTheDeadline) {
  RetryPolicy policy(DefaultOptions());
  absl::BitGen gen;
  const absl::Time now = absl::FromUnixSeconds(1000);
  UpstreamResult result = HttpResult(503);
  result.retry_after = absl::Seconds(1);
  EXPECT_EQ(policy.NextDelay(result, 1, now, now + absl::Milliseconds(300),
                             gen),
            std::nullopt);
  // Exactly at the deadline is too late as well: no time left to send.
  EXPECT_EQ(policy.NextDelay(result, 1, now, now + absl::Seconds(1), gen),
            std::nullopt);
  EXPECT_NE(policy.NextDelay(result, 1, now, now + absl::Seconds(2), gen),
            std::nullopt);
}

TEST(RetryPolicyTest, NextDelayStopsAtMaxAttempts) {
  RetryPolicy policy(DefaultOptions());
  absl::BitGen gen;
  const absl::Time now = absl::FromUnixSeconds(1000);
  const absl::Time deadline = now + absl::Hours(1);
  UpstreamResult reset = TransportResult(TransportError::kConnectionReset);
  EXPECT_NE(policy.NextDelay(reset, 3, now, deadline, gen), std::nullopt);
  EXPECT_EQ(policy.NextDelay(reset, 4, now, deadline, gen), std::nullopt);
  EXPECT_EQ(policy.NextDelay(reset, 5, now, deadline, gen), std::nullopt);
}

TEST(RetryPolicyTest, NextDelayStopsForNonRetryableOutcome) {
  RetryPolicy policy(DefaultOptions());
  absl::BitGen gen;
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(policy.NextDelay(HttpResult(404), 1, now, now + absl::Hours(1),
                             gen),
            std::nullopt);
  EXPECT_EQ(policy.NextDelay(TransportResult(TransportError::kDns), 1, now,
                             now + absl::Hours(1), gen),
            std::nullopt);
}

TEST(RetryPolicyTest, SingleAttemptDisablesRetries) {
  RetryPolicyOptions options = DefaultOptions();
  options.max_attempts = 1;
  RetryPolicy policy(options);
  absl::BitGen gen;
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(policy.NextDelay(HttpResult(503), 1, now, absl::InfiniteFuture(),
                             gen),
            std::nullopt);
}

}  // namespace
}  // namespace usergateway
