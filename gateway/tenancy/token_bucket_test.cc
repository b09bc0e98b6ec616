#include "gateway/tenancy/token_bucket.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(TokenBucketTest, StartsFullAndRefusesOnceEmpty) {
  TokenBucket bucket(/*rate=*/10, /*burst=*/3, kStart);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bucket.TryTake(kStart), absl::ZeroDuration()) << i;
  }
  // Empty: one token comes back in 1/10 s.
  EXPECT_EQ(bucket.TryTake(kStart), absl::Milliseconds(100));
}

TEST(TokenBucketTest, RefillsAtTheRateUpToTheBurst) {
  TokenBucket bucket(/*rate=*/2, /*burst=*/2, kStart);
  EXPECT_EQ(bucket.TryTake(kStart), absl::ZeroDuration());
  EXPECT_EQ(bucket.TryTake(kStart), absl::ZeroDuration());
  const absl::Duration wait = bucket.TryTake(kStart);
  EXPECT_EQ(wait, absl::Milliseconds(500));
  // Waiting exactly what it said gives a token.
  EXPECT_EQ(bucket.TryTake(kStart + wait), absl::ZeroDuration());
  // A long pause refills to the burst, not beyond.
  EXPECT_DOUBLE_EQ(bucket.Available(kStart + absl::Hours(1)), 2.0);
}

TEST(TokenBucketTest, TimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(/*rate=*/1, /*burst=*/1, kStart);
  EXPECT_EQ(bucket.TryTake(kStart), absl::ZeroDuration());
  EXPECT_GT(bucket.TryTake(kStart - absl::Seconds(10)), absl::ZeroDuration());
  EXPECT_DOUBLE_EQ(bucket.Available(kStart), 0.0);
}

TEST(TokenBucketTest, FractionalRateWaitIsRoundedUp) {
  TokenBucket bucket(/*rate=*/3, /*burst=*/1, kStart);
  EXPECT_EQ(bucket.TryTake(kStart), absl::ZeroDuration());
  const absl::Duration wait = bucket.TryTake(kStart);
  EXPECT_GE(wait, absl::Seconds(1) / 3);
  EXPECT_EQ(bucket.TryTake(kStart + wait), absl::ZeroDuration());
}

}  // namespace
}  // namespace usergateway
