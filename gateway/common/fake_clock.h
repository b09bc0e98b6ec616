// A Clock for tests: time stands still until the test moves it.
//
// Example:
//
//   FakeClock clock;
//   auto source = ApiKeySource::FromFile(path, absl::Seconds(1), clock);
//   clock.Advance(absl::Seconds(2));  // the next Get() looks at the file
//
// Thread-safe: a test thread may move the time while a loop thread reads it.
#ifndef USERGATEWAY_GATEWAY_COMMON_FAKE_CLOCK_H_
#define USERGATEWAY_GATEWAY_COMMON_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"

namespace usergateway {

class FakeClock final : public Clock {
 public:
  // Starts at `start` (by default 2023-11-14T22:13:20Z, an arbitrary fixed
  // time, so that logs of a test read the same on every run).
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  // Moves the time forward by `d` (which must not be negative).
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

  // Sets the time; it may go backwards, as a wall clock may.
  void SetTime(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_FAKE_CLOCK_H_
