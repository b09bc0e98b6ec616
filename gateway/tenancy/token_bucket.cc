#include "gateway/tenancy/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace usergateway {

TokenBucket::TokenBucket(double rate, double burst, absl::Time now)
    : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

void TokenBucket::Refill(absl::Time now) {
  if (now <= last_) return;
  tokens_ = std::min(burst_,
                     tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
  last_ = now;
}

absl::Duration TokenBucket::TryTake(absl::Time now) {
  Refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return absl::ZeroDuration();
  }
  // Rounded up to a whole microsecond, so that a caller who waits exactly
  // this long finds a token.
  const double seconds = (1.0 - tokens_) / rate_;
  return std::max(absl::Microseconds(1),
                  absl::Microseconds(std::ceil(seconds * 1e6)));
}

double TokenBucket::Available(absl::Time now) {
  Refill(now);
  return tokens_;
}

}  // namespace usergateway
