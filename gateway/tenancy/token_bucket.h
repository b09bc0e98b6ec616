// A token bucket: `rate` tokens per second, at most `burst` held, one taken
// per upstream request. Keeps a tenant's calls under the vendor's quota
// (tenants file, limits.requests_per_second and limits.burst).
//
// Example:
//
//   TokenBucket bucket(/*rate=*/10, /*burst=*/20, clock.Now());
//   absl::Duration wait = bucket.TryTake(clock.Now());
//   if (wait > absl::ZeroDuration()) refuse(wait);  // RetryInfo: `wait`
//
// Pure logic on the time it is given; not thread-safe (TenantGuard holds
// it under its lock).
#ifndef USERGATEWAY_GATEWAY_TENANCY_TOKEN_BUCKET_H_
#define USERGATEWAY_GATEWAY_TENANCY_TOKEN_BUCKET_H_

#include "absl/time/time.h"

namespace usergateway {

class TokenBucket {
 public:
  // Starts full. `rate` > 0 tokens per second; `burst` >= 1.
  TokenBucket(double rate, double burst, absl::Time now);

  // Takes one token and returns ZeroDuration, or, when none is left,
  // takes nothing and returns how long until one is (always > 0).
  // A time earlier than the last one seen adds nothing.
  absl::Duration TryTake(absl::Time now);

  // Tokens held at `now` (for tests).
  double Available(absl::Time now);

 private:
  void Refill(absl::Time now);

  const double rate_;
  const double burst_;
  double tokens_;
  absl::Time last_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_TENANCY_TOKEN_BUCKET_H_
