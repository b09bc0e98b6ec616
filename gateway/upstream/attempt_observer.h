// An optional per-call hook of the attempt scheduler: it sees every
// attempt of the call, not only the final outcome, and may hold a retry
// back. The tenant guard uses it (gateway/tenancy/tenant_ticket.h) so that
// a 429 closes a tenant's gate the moment it arrives, and other calls'
// retries wait for the gate too.
//
// Example:
//
//   UpstreamRequest request = ...;
//   request.attempt_observer = std::make_shared<MyObserver>();
//   client.Start(std::move(request), done);
//
// Called on the upstream loop's thread only, one call at a time; the
// scheduler drops its reference when the call completes.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_OBSERVER_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_OBSERVER_H_

#include "absl/time/time.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

class AttemptObserver {
 public:
  virtual ~AttemptObserver() = default;

  // When a retry's backoff is over, before it starts: returns
  // ZeroDuration to start it now, or how long to wait first (the
  // scheduler asks again then). When the wait would pass the call's
  // deadline, the call ends with its last attempt's outcome.
  virtual absl::Duration BeforeRetry(absl::Time now) = 0;

  // After each attempt that was sent (libcurl's own re-sends inside it
  // included), with its outcome, before the retry decision.
  virtual void OnAttemptDone(const UpstreamResult& attempt,
                             absl::Time now) = 0;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_OBSERVER_H_
