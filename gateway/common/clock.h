// The time seam: every component that reads the time (the upstream client,
// its retry timers and deadlines, the API key source, the service's call
// log) takes a `const Clock&`, so that tests can run it on simulated time
// (FakeClock in fake_clock.h) instead of waiting real seconds.
//
// Example:
//
//   class Cache {
//    public:
//     explicit Cache(const Clock& clock) : clock_(clock) {}
//     bool Expired() const { return clock_.Now() >= expiry_; }
//    private:
//     const Clock& clock_;
//     absl::Time expiry_;
//   };
//   Cache production(RealClock());
//
// libcurl keeps its own (real) clock for connect and transfer timeouts; the
// upstream client converts durations, never time points, between the two.
#ifndef USERGATEWAY_GATEWAY_COMMON_CLOCK_H_
#define USERGATEWAY_GATEWAY_COMMON_CLOCK_H_

#include "absl/time/time.h"

namespace usergateway {

// A source of wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current time.
  virtual absl::Time Now() const = 0;
};

// The process's real clock (absl::Now()). The object lives for the whole
// process; stateless and thread-safe.
const Clock& RealClock();

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_CLOCK_H_
