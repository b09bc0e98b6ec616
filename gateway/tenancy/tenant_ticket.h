// One call's pass through its tenant's guard: the AttemptObserver the
// service attaches to the call's UpstreamRequest. The service admits the
// first attempt itself (so that a refusal is answered before any upstream
// call); the ticket then admits each retry (holding it while the gate is
// closed, the breaker open or a probe runs) and reports every attempt's
// outcome, so that a 429 closes the gate for all calls at once.
//
// If the ticket holds the tenant's probe when it dies (the call ended
// without the probe attempt reporting, e.g. cancelled), it gives it back.
//
// Example:
//
//   TenantGuard::Admission a = tenant->guard->Admit(now);
//   if (!a.admitted) ... refuse ...
//   request.attempt_observer =
//       std::make_shared<TenantTicket>(tenant->guard, a.probe);
//
// Used by one thread at a time (the service's, then the loop's).
#ifndef USERGATEWAY_GATEWAY_TENANCY_TENANT_TICKET_H_
#define USERGATEWAY_GATEWAY_TENANCY_TENANT_TICKET_H_

#include <memory>

#include "absl/time/time.h"
#include "gateway/tenancy/tenant_guard.h"
#include "gateway/upstream/attempt_observer.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

class TenantTicket final : public AttemptObserver {
 public:
  // `probe`: the first attempt's admission holds the probe.
  TenantTicket(std::shared_ptr<TenantGuard> guard, bool probe)
      : guard_(std::move(guard)), probe_(probe) {}
  ~TenantTicket() override;

  // Admits the retry (ZeroDuration) or returns the refusal's retry_after.
  absl::Duration BeforeRetry(absl::Time now) override;
  void OnAttemptDone(const UpstreamResult& attempt, absl::Time now) override;

 private:
  const std::shared_ptr<TenantGuard> guard_;
  bool probe_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_TENANCY_TENANT_TICKET_H_
