// The calls of one upstream loop, from Start to their callback: admission,
// one HTTP attempt at a time on a pooled easy handle, retries after a
// backoff (RetryPolicy) while the budget allows (RetryBudget), cancellation,
// and completion. The per-call state machine is
//
//   kQueued --(loop takes it)--> kTransferring --(transfer ends)--+
//      ^                            |   ^                         |
//      |                            |   +--(timer fires)-- kBackoff
//   Start()                         +--(no retry, cancel)--> kDone
//
// Where a reset becomes a retry: ClassifyCurlFailure (curl_failure.h) names
// the failure, RetryPolicy::NextDelay decides, RetryBudget::TryConsume
// allows, OnTransferDone below schedules.
//
// The scheduler is its CurlEventLoop's handler: it runs on that loop's
// thread, except Start, EnqueueCancel, Drain, WaitIdle, Stats and load,
// which are thread-safe. Owned (shared) by CurlUpstreamClient; call handles
// hold it weakly, so a Cancel() after the client is gone is a no-op.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_SCHEDULER_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_SCHEDULER_H_

#include <array>
#include <atomic>
#include <condition_variable>  // NOLINT(build/c++11)
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"
#include "gateway/observability/metrics.h"
#include "gateway/upstream/easy_transfer.h"
#include "gateway/upstream/event_loop.h"
#include "gateway/upstream/response_budget.h"
#include "gateway/upstream/retry_budget.h"
#include "gateway/upstream/retry_policy.h"
#include "gateway/upstream/upstream_client.h"
#include "gateway/upstream/upstream_options.h"
#include "gateway/upstream/upstream_stats.h"

namespace usergateway {
namespace upstream_internal {

// What the loops of one client share: the admission count behind
// max_in_flight, the retry budget and the response-buffer budget.
// Thread-safe (lock-free).
class SharedLimits {
 public:
  explicit SharedLimits(const CurlUpstreamOptions& options)
      : max_in_flight(options.max_in_flight),
        budget(options.retry_budget_ratio, options.retry_budget_burst),
        response_budget(options.response_buffer_budget_bytes) {}

  // Counts one more call in flight unless max_in_flight already are.
  bool TryAdmit();
  void Release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  const size_t max_in_flight;
  RetryBudget budget;
  ResponseBudget response_budget;

 private:
  std::atomic<size_t> in_flight_{0};
};

class Call;  // one call in flight; defined in the .cc file

// See the file comment.
class AttemptScheduler final
    : public CurlEventLoop::Handler,
      public std::enable_shared_from_this<AttemptScheduler> {
 public:
  // `options` is this loop's share of the client's (see LoopShare);
  // `clock` measures deadlines, backoff and Retry-After dates.
  AttemptScheduler(const CurlUpstreamOptions& options, const Clock& clock,
                   std::shared_ptr<SharedLimits> shared,
                   std::unique_ptr<CurlEventLoop> loop, size_t index);
  ~AttemptScheduler() override;

  // Starts the loop thread, "curl-loop-<index>".
  void StartThread();
  // Idempotent. Completes every call with kCancelled ("gateway shutting
  // down") and joins the thread.
  void Stop();

  // See CurlUpstreamClient::Start.
  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request,
                                      UpstreamCallback done);
  // Queues a cancellation for the loop (Call::Cancel).
  void EnqueueCancel(std::shared_ptr<Call> call);
  void Drain();
  // Ends every call in flight (queued, transferring or in backoff) with
  // kDraining and `detail`, on the loop thread, soon after this returns.
  // For the end of a drain's grace period; new calls are refused by
  // Drain() already.
  void AbortInFlight(std::string detail);
  bool WaitIdle(absl::Time deadline);
  CurlUpstreamStats Stats() const;
  // Makes the loop look at its timers now (after a simulated clock jumped).
  void Wake() { loop_->Wake(); }

  // Calls in flight on this loop, for the client's choice of loop. Relaxed:
  // a hint, exact only when the loop is idle.
  size_t load() const { return load_.load(std::memory_order_relaxed); }

  // Loop thread only (from a request callback): the connection a request
  // went out on. The first TLS connection's ALPN decides an automatic host
  // limit: h2 keeps it, http/1.1 turns it into a ramp (see
  // max_host_connections).
  void NoteConnection(WireProtocol protocol, bool tls_session_resumed,
                      bool new_connection);

  // CurlEventLoop::Handler (loop thread).
  void OnTurn() override;
  absl::Duration TimeUntilNextTimer() override;
  void OnTransferDone(CURL* easy, CURLcode code) override;
  void OnStop() override;

 private:
  // The end of a backoff.
  struct Timer {
    absl::Time due;
    std::shared_ptr<Call> call;
  };
  struct TimerLater {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.due > b.due;
    }
  };

  void StartAttempt(Call* call);
  void CancelCall(Call* call);
  void FireTimers(absl::Time now);
  // Applies the automatic host connection limit on the first request; see
  // max_host_connections in upstream_options.h.
  void DecideHostLimit(const UpstreamRequest& request);
  // Sets the limit for the negotiated protocol (after NoteConnection saw it
  // change) and restarts the transfers waiting for a connection slot.
  void ApplyHostLimit();
  // The waiting_ entry's attempt still runs and has sent nothing.
  bool StillWaiting(const std::pair<Call*, uint64_t>& entry) const;
  // Counts the attempt that ran on the call's slot (unless `counted` is
  // false: it never had a connection), removes the transfer (aborting it if
  // it is still running), drops its guard and returns the slot to the pool.
  void EndAttempt(Call* call, absl::Time now, bool counted = true);
  // The attempt's guard came due while it was still transferring: ends it
  // when libcurl, which never times out a transfer waiting for a
  // connection, would not.
  void GuardFired(Call* call, absl::Time now);
  // After an attempt ended with `call->result` filled in: schedules a retry
  // when the policy, the call and the budget allow, else completes.
  void RetryOrComplete(Call* call, absl::Time now);
  // Counts a finished attempt's outcome in the metrics, if any.
  void CountAttempt(const UpstreamResult& result);
  // Fails every call in flight with kDraining (AbortInFlight).
  void AbortAll();
  // Ends the call with a gateway-side error, keeping attempts and latency.
  void Fail(Call* call, TransportError error, absl::string_view detail);
  // Runs the callback and forgets the call.
  void Complete(Call* call);

  const CurlUpstreamOptions options_;
  const Clock& clock_;
  const std::shared_ptr<SharedLimits> shared_;
  const size_t index_;
  const RetryPolicy policy_;
  // Declared before the pool so that the easy handles are cleaned up
  // before the multi handle.
  const std::unique_ptr<CurlEventLoop> loop_;

  // std::mutex rather than absl::Mutex: the system's abseil is not built
  // with ThreadSanitizer, which then cannot see absl::Mutex's ordering and
  // would drown real reports in false ones; pthread mutexes it intercepts.
  // Held only for queue pushes/swaps and counter updates.
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;  // signalled when in_flight_ drops to 0
  std::vector<std::shared_ptr<Call>> start_queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Call>> cancel_queue_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<size_t> load_{0};  // in_flight_, readable without the lock
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool abort_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::string abort_detail_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> transfers_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> tls_sessions_resumed_{0};

  // usergateway_upstream_attempts_total's children, resolved at
  // construction (null without metrics): by status class (index
  // http_status / 100, 0 for none) and by TransportError.
  std::array<metrics::Counter*, 6> attempt_outcomes_{};
  std::array<metrics::Counter*, kTransportErrorCount> transport_outcomes_{};

  // Loop thread only.
  EasyPool pool_;
  bool host_limit_decided_ = false;
  // The automatic limit is h2's (max_host_connections 0, https, http2 on):
  // it follows what the upstream negotiates.
  bool host_limit_auto_h2_ = false;
  long h2_host_limit_ = 0;  // NOLINT(runtime/int): libcurl's type
  WireProtocol negotiated_ = WireProtocol::kUnknown;
  bool host_limit_dirty_ = false;
  // HTTP/1.1 TLS connections that came up, for the connection ramp, and
  // the highest limit whose growth was already used to restart transfers.
  long http1_connections_ = 0;  // NOLINT(runtime/int)
  long kicked_limit_ = 0;       // NOLINT(runtime/int)
  // Attempts started under the automatic limit, oldest first, with their
  // serials: the ones still waiting for a connection slot are restarted in
  // this order. Stale entries are skipped when reached.
  std::deque<std::pair<Call*, uint64_t>> waiting_;
  // The loop's HTTP/1 sockets by local port, for the request callback's
  // look for stray bytes on a reused connection (easy_transfer.cc).
  std::unordered_map<int, int> http1_sockets_;
  uint64_t attempt_serials_ = 0;  // the last attempt serial handed out
  absl::BitGen gen_;
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> calls_;
  std::priority_queue<Timer, std::vector<Timer>, TimerLater> timers_;
  // One guard per transferring attempt, keyed by (due, attempt serial),
  // erased when the attempt ends: libcurl never times out a transfer still
  // waiting for a connection (its timeout starts once it has one).
  absl::btree_map<std::pair<absl::Time, uint64_t>, Call*> guards_;
  std::vector<std::shared_ptr<Call>> starts_;   // swapped with start_queue_
  std::vector<std::shared_ptr<Call>> cancels_;  // swapped with cancel_queue_
  std::string header_line_;                     // scratch for BuildHeaders
};

}  // namespace upstream_internal
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_ATTEMPT_SCHEDULER_H_
