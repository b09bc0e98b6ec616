#include "gateway/upstream/curl_upstream_client.h"

#include <utility>

#include "absl/status/status.h"
#include "gateway/common/clock.h"
#include "gateway/upstream/attempt_scheduler.h"
#include "gateway/upstream/cpu_count.h"
#include "gateway/upstream/curl_handles.h"
#include "gateway/upstream/event_loop.h"

namespace usergateway {

using upstream_internal::AttemptScheduler;

absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> CurlUpstreamClient::Create(
    const CurlUpstreamOptions& options) {
  absl::Status valid = ValidateUpstreamOptions(options);
  if (!valid.ok()) return valid;
  absl::Status init = EnsureCurlGlobalInit();
  if (!init.ok()) return init;
  const Clock& clock = options.clock != nullptr ? *options.clock : RealClock();
  // The CPU count is read only when it decides.
  const size_t count = EffectiveLoopCount(
      options, options.loops == 0 ? AvailableCpus() : kMaxAutoLoops);
  auto shared = std::make_shared<upstream_internal::SharedLimits>(options);
  std::vector<std::shared_ptr<AttemptScheduler>> loops;
  loops.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const CurlUpstreamOptions share = LoopShare(options, count, i);
    absl::StatusOr<std::unique_ptr<upstream_internal::CurlEventLoop>> loop =
        upstream_internal::CurlEventLoop::Create(share);
    // Loops created so far stop (and join) as `loops` goes out of scope.
    if (!loop.ok()) return loop.status();
    loops.push_back(std::make_shared<AttemptScheduler>(
        share, clock, shared, *std::move(loop), i));
  }
  for (const auto& loop : loops) loop->StartThread();
  return std::unique_ptr<CurlUpstreamClient>(
      new CurlUpstreamClient(std::move(loops)));
}

CurlUpstreamClient::CurlUpstreamClient(
    std::vector<std::shared_ptr<AttemptScheduler>> loops)
    : loops_(std::move(loops)) {}

CurlUpstreamClient::~CurlUpstreamClient() {
  for (const auto& loop : loops_) loop->Stop();
}

std::shared_ptr<UpstreamCall> CurlUpstreamClient::Start(
    UpstreamRequest request, UpstreamCallback done) {
  // The least loaded loop; ties go to the first, so that light traffic
  // stays on one loop and its warm connections.
  AttemptScheduler* best = loops_[0].get();
  size_t best_load = best->load();
  for (size_t i = 1; i < loops_.size() && best_load > 0; ++i) {
    const size_t load = loops_[i]->load();
    if (load < best_load) {
      best = loops_[i].get();
      best_load = load;
    }
  }
  return best->Start(std::move(request), std::move(done));
}

void CurlUpstreamClient::Drain() {
  for (const auto& loop : loops_) loop->Drain();
}

void CurlUpstreamClient::AbortInFlight(absl::string_view detail) {
  for (const auto& loop : loops_) loop->AbortInFlight(std::string(detail));
}

bool CurlUpstreamClient::WaitIdle(absl::Time deadline) {
  bool idle = true;
  for (const auto& loop : loops_) idle = loop->WaitIdle(deadline) && idle;
  return idle;
}

CurlUpstreamStats CurlUpstreamClient::Stats() const {
  CurlUpstreamStats total;
  for (const auto& loop : loops_) {
    const CurlUpstreamStats stats = loop->Stats();
    total.connections_opened += stats.connections_opened;
    total.transfers += stats.transfers;
    total.retries += stats.retries;
    total.tls_sessions_resumed += stats.tls_sessions_resumed;
    total.in_flight += stats.in_flight;
  }
  return total;
}

void CurlUpstreamClient::CheckTimers() {
  for (const auto& loop : loops_) loop->Wake();
}

}  // namespace usergateway
