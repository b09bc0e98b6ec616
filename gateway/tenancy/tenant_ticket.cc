#include "gateway/tenancy/tenant_ticket.h"

namespace usergateway {

TenantTicket::~TenantTicket() {
  if (probe_) guard_->ReleaseProbe();
}

absl::Duration TenantTicket::BeforeRetry(absl::Time now) {
  TenantGuard::Admission a = guard_->Admit(now);
  if (!a.admitted) return a.retry_after;
  probe_ = a.probe;
  return absl::ZeroDuration();
}

void TenantTicket::OnAttemptDone(const UpstreamResult& attempt,
                                 absl::Time now) {
  guard_->OnAttempt(attempt, probe_, now);
  probe_ = false;
}

}  // namespace usergateway
