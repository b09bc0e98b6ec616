#include "gateway/upstream/attempt_scheduler.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/upstream/attempt_observer.h"
#include "gateway/upstream/curl_failure.h"
#include "gateway/upstream/retry_after.h"

namespace usergateway {
namespace upstream_internal {
namespace {

constexpr absl::string_view kShutdownDetail = "gateway shutting down";
constexpr absl::string_view kCancelDetail = "cancelled by the caller";

// TLS connections one loop sets up at once to an https upstream that
// declined h2 (see ApplyHostLimit).
constexpr long kConnectRamp = 64;  // NOLINT(runtime/int): libcurl's type


enum class Phase {
  kQueued,        // accepted by Start, not yet seen by the loop
  kTransferring,  // an easy handle is in the multi handle
  kBackoff,       // waiting for a retry timer
  kDone,          // the callback has been (or is being) run
};

// The handle returned for refused calls: their callback already ran.
class FinishedCall final : public UpstreamCall {
 public:
  void Cancel() override {}
};

std::shared_ptr<UpstreamCall> FinishedCallHandle() {
  static const std::shared_ptr<UpstreamCall>* const handle =
      new std::shared_ptr<UpstreamCall>(std::make_shared<FinishedCall>());
  return *handle;
}

// Resets the outcome to a gateway-side error, keeping attempts and latency.
void SetError(UpstreamResult& result, TransportError error,
              absl::string_view detail) {
  result.error = error;
  result.error_detail.assign(detail.data(), detail.size());
  result.http_status = 0;
  result.body.clear();
  result.content_type.clear();
  result.retry_after.reset();
}

// usergateway_upstream_attempts_total's status_class index of a response.
size_t StatusClassIndex(int http_status) {
  const int c = http_status / 100;
  return c >= 1 && c <= 5 ? static_cast<size_t>(c) : 0;
}

// Replaces libcurl's text, for the failures that the gateway itself caused,
// with one that names the setting involved.
void DescribeFailure(const CurlFailure& failure,
                     const CurlUpstreamOptions& options,
                     UpstreamResult* result) {
  switch (result->error) {
    case TransportError::kResponseTooLarge:
      result->error_detail =
          absl::StrCat("upstream response body larger than ",
                       options.max_response_bytes,
                       " bytes (--max_response_bytes)");
      break;
    case TransportError::kResponseHeadersTooLarge:
      result->error_detail =
          failure.header_cap_hit
              ? absl::StrCat("upstream response headers larger than ",
                             options.max_response_header_bytes,
                             " bytes (--max_response_header_bytes)")
              : absl::StrCat("upstream response headers larger than "
                             "libcurl accepts: ",
                             result->error_detail);
      break;
    case TransportError::kResponseBudgetExhausted:
      result->error_detail = absl::StrCat(
          "the response bodies of all calls in flight would pass ",
          options.response_buffer_budget_bytes,
          " bytes (--response_buffer_budget_bytes)");
      break;
    case TransportError::kProtocol:
      if (failure.framing_refused) {
        result->error_detail =
            "upstream response with two different Content-Length headers "
            "(ambiguous framing)";
      }
      break;
    case TransportError::kConnectionReset:
      if (failure.resend_refused) {
        result->error_detail =
            "the upstream connection closed before responding (or refused "
            "the HTTP/2 stream), and sending the request again would pass "
            "--max_attempts or the retry budget";
      }
      break;
    default:
      break;
  }
}

}  // namespace

// The state of one call, and the handle returned by Start. The atomics may
// be touched by any thread; every other field belongs to the loop thread
// once the call is queued (the Start() thread fills them in before).
class Call final : public UpstreamCall,
                   public RequestObserver,
                   public std::enable_shared_from_this<Call> {
 public:
  Call(AttemptScheduler* loop_owner, const CurlUpstreamOptions& options,
       SharedLimits* shared, std::atomic<uint64_t>* retries)
      : sink(options.max_response_bytes, options.max_response_header_bytes,
             &shared->response_budget),
        max_attempts_(options.max_attempts),
        metrics_(options.metrics),
        shared_(shared),
        retries_(retries),
        loop_owner_(loop_owner),
        scheduler_(loop_owner->weak_from_this()) {
    sink.observer = this;
  }

  // RequestObserver (loop thread, inside libcurl).
  void OnRequestSent(const AttemptSink& sent) override {
    if (waiting_counted && metrics_ != nullptr) {
      metrics_->transfers_waiting->Add(-1);
    }
    waiting_counted = false;
    long connects = 0;  // NOLINT(runtime/int): libcurl's type
    curl_easy_getinfo(sent.easy, CURLINFO_NUM_CONNECTS, &connects);
    loop_owner_->NoteConnection(sent.protocol, sent.tls_session_resumed,
                                connects > 0);
  }
  // libcurl's own re-send is one more attempt, and a retry the budget must
  // allow.
  bool AllowResend() override {
    if (cancel_requested.load(std::memory_order_acquire)) return false;
    if (result.attempts + sink.requests_sent >= max_attempts_) return false;
    if (!shared_->budget.TryConsume()) {
      if (metrics_ != nullptr) metrics_->retries_refused->Inc();
      return false;
    }
    retries_->fetch_add(1, std::memory_order_relaxed);
    if (metrics_ != nullptr) metrics_->retries->Inc();
    return true;
  }

  // The attempt counts in usergateway_upstream_transfers_waiting until its
  // request goes out or it ends.
  bool waiting_counted = false;

  void Cancel() override {
    if (finished.load(std::memory_order_acquire)) return;
    if (cancel_requested.exchange(true, std::memory_order_acq_rel)) return;
    std::shared_ptr<AttemptScheduler> scheduler = scheduler_.lock();
    if (scheduler == nullptr) return;
    scheduler->EnqueueCancel(shared_from_this());
  }

  std::atomic<bool> finished{false};
  std::atomic<bool> cancel_requested{false};

  UpstreamRequest request;
  UpstreamCallback done;
  absl::Time deadline;  // the caller's, minus the margin, within the cap
  Phase phase = Phase::kQueued;
  // The next start is the uncounted restart of an attempt that sent
  // nothing (stray bytes on a reused connection): it is the same attempt,
  // already admitted, so the attempt observer is not asked again.
  bool restart_uncounted = false;
  UpstreamResult result;
  AttemptSink sink;                // what the attempt's callbacks write
  std::unique_ptr<EasySlot> slot;  // set while transferring
  absl::Time attempt_start;
  // The current attempt: its serial (unique on the loop; matches Timer's
  // guard),
  // its time limit as given to libcurl, and whether that limit is the
  // call's deadline (rather than a shorter per-attempt timeout).
  uint64_t attempt_serial = 0;
  int64_t attempt_timeout_ms = 0;
  bool limit_is_call_deadline = true;
  absl::Time guard_due;  // the attempt's key in AttemptScheduler::guards_

 private:
  const int max_attempts_;
  UpstreamMetrics* const metrics_;
  SharedLimits* const shared_;  // outlives the call (the scheduler owns it)
  std::atomic<uint64_t>* const retries_;
  // Used only on the loop thread, while a transfer runs: alive then.
  AttemptScheduler* const loop_owner_;
  const std::weak_ptr<AttemptScheduler> scheduler_;
};

bool SharedLimits::TryAdmit() {
  size_t n = in_flight_.load(std::memory_order_relaxed);
  do {
    if (n >= max_in_flight) return false;
  } while (!in_flight_.compare_exchange_weak(n, n + 1,
                                             std::memory_order_relaxed));
  return true;
}

AttemptScheduler::AttemptScheduler(const CurlUpstreamOptions& options,
                                   const Clock& clock,
                                   std::shared_ptr<SharedLimits> shared,
                                   std::unique_ptr<CurlEventLoop> loop,
                                   size_t index)
    : options_(options),
      clock_(clock),
      shared_(std::move(shared)),
      index_(index),
      policy_(RetryPolicyOptions{options.max_attempts, options.backoff_base,
                                 options.backoff_max}),
      loop_(std::move(loop)),
      pool_(options) {
  if (options_.metrics == nullptr) return;
  // Resolved once: counting an attempt is then one relaxed add.
  for (size_t i = 0; i < attempt_outcomes_.size(); ++i) {
    attempt_outcomes_[i] = &options_.metrics->attempts->Get(
        {StatusClassLabel(static_cast<int>(i) * 100), "none"});
  }
  for (size_t i = 0; i < transport_outcomes_.size(); ++i) {
    const std::string name = absl::AsciiStrToLower(
        TransportErrorName(static_cast<TransportError>(i)));
    transport_outcomes_[i] =
        &options_.metrics->attempts->Get({"none", name});
  }
}

// The loop must stop (OnStop on its thread) while every member still lives.
AttemptScheduler::~AttemptScheduler() { Stop(); }

void AttemptScheduler::StartThread() {
  loop_->Start(this, absl::StrCat("curl-loop-", index_));
}

void AttemptScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  loop_->Stop();
}

std::shared_ptr<UpstreamCall> AttemptScheduler::Start(UpstreamRequest request,
                                                      UpstreamCallback done) {
  const absl::Time now = clock_.Now();
  auto call =
      std::make_shared<Call>(this, options_, shared_.get(), &retries_);
  call->deadline = std::min(request.deadline - options_.deadline_margin,
                            now + options_.timeout_cap);
  call->request = std::move(request);
  call->done = std::move(done);

  TransportError refusal = TransportError::kNone;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stopping_) {
      refusal = TransportError::kDraining;
    } else if (!shared_->TryAdmit()) {
      refusal = TransportError::kOverloaded;
    } else {
      ++in_flight_;
      load_.fetch_add(1, std::memory_order_relaxed);
      // One wakeup per batch: the loop takes the whole queue when it wakes.
      wake = start_queue_.empty() && cancel_queue_.empty();
      start_queue_.push_back(call);
    }
  }
  if (refusal == TransportError::kNone) {
    // Safe outside the lock: the eventfd lives as long as the loop.
    if (wake) loop_->Wake();
    return call;
  }
  if (options_.metrics != nullptr) {
    options_.metrics->admission_refusals
        ->Get({refusal == TransportError::kDraining ? "draining"
                                                    : "overloaded"})
        .Inc();
  }
  UpstreamResult result;
  result.error = refusal;
  result.error_detail =
      refusal == TransportError::kDraining
          ? std::string("gateway is draining and accepts no new upstream calls")
          : absl::StrCat("too many upstream calls in flight (limit ",
                         shared_->max_in_flight, ")");
  UpstreamCallback callback = std::move(call->done);
  if (callback) callback(std::move(result));
  return FinishedCallHandle();
}

void AttemptScheduler::EnqueueCancel(std::shared_ptr<Call> call) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // When stopping, the loop cancels everything itself.
    if (stopping_) return;
    wake = start_queue_.empty() && cancel_queue_.empty();
    cancel_queue_.push_back(std::move(call));
  }
  if (wake) loop_->Wake();
}

void AttemptScheduler::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

void AttemptScheduler::AbortInFlight(std::string detail) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;  // the loop cancels everything itself
    draining_ = true;
    abort_requested_ = true;
    abort_detail_ = std::move(detail);
  }
  loop_->Wake();
}

bool AttemptScheduler::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto idle = [this] { return in_flight_ == 0; };
  if (deadline == absl::InfiniteFuture()) {
    idle_cv_.wait(lock, idle);
    return true;
  }
  return idle_cv_.wait_until(lock, absl::ToChronoTime(deadline), idle);
}

CurlUpstreamStats AttemptScheduler::Stats() const {
  CurlUpstreamStats stats;
  stats.connections_opened =
      connections_opened_.load(std::memory_order_relaxed);
  stats.transfers = transfers_.load(std::memory_order_relaxed);
  stats.retries = retries_.load(std::memory_order_relaxed);
  stats.tls_sessions_resumed =
      tls_sessions_resumed_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  stats.in_flight = in_flight_;
  return stats;
}

void AttemptScheduler::OnTurn() {
  bool abort = false;
  {
    // Swapping keeps both vectors' capacity: no allocation once warm.
    std::lock_guard<std::mutex> lock(mu_);
    starts_.swap(start_queue_);
    cancels_.swap(cancel_queue_);
    abort = abort_requested_;
  }
  std::string abort_detail;
  if (abort) {
    std::lock_guard<std::mutex> lock(mu_);
    abort_detail = abort_detail_;
  }
  for (std::shared_ptr<Call>& call : starts_) {
    Call* raw = call.get();
    calls_.emplace(raw, std::move(call));
    shared_->budget.OnCall();
    if (abort) {
      // Queued just before the abort: never sent, never counted.
      Fail(raw, TransportError::kDraining, abort_detail);
    } else {
      StartAttempt(raw);
    }
  }
  starts_.clear();
  for (std::shared_ptr<Call>& call : cancels_) CancelCall(call.get());
  cancels_.clear();
  if (abort) AbortAll();
  if (host_limit_dirty_) ApplyHostLimit();
  FireTimers(clock_.Now());
}

void AttemptScheduler::NoteConnection(WireProtocol protocol,
                                      bool tls_session_resumed,
                                      bool new_connection) {
  if (tls_session_resumed) {
    tls_sessions_resumed_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!host_limit_auto_h2_) return;
  if (protocol != WireProtocol::kHttp1Tls && protocol != WireProtocol::kHttp2Tls) {
    return;
  }
  if (protocol == WireProtocol::kHttp1Tls && new_connection) {
    // One more connection up: the ramp lets one more handshake start.
    ++http1_connections_;
    host_limit_dirty_ = true;
  }
  if (protocol == negotiated_) return;
  // Applied in the next turn, outside libcurl's callback.
  negotiated_ = protocol;
  host_limit_dirty_ = true;
}

namespace {

// A transfer that waits for a connection slot has not even resolved the
// host yet (libcurl checks its limits first): no lookup time, no address.
bool WaitingForConnectionSlot(const Call& call) {
  if (call.sink.connected) return false;
  CURL* easy = call.slot->easy.get();
  curl_off_t name_lookup_us = 0;
  curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &name_lookup_us);
  char* ip = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
  return name_lookup_us == 0 && (ip == nullptr || ip[0] == '\0');
}

}  // namespace

bool AttemptScheduler::StillWaiting(
    const std::pair<Call*, uint64_t>& entry) const {
  auto it = calls_.find(entry.first);
  return it != calls_.end() && entry.first->phase == Phase::kTransferring &&
         entry.first->attempt_serial == entry.second &&
         !entry.first->sink.connected;
}

void AttemptScheduler::ApplyHostLimit() {
  host_limit_dirty_ = false;
  if (negotiated_ == WireProtocol::kHttp2Tls) {
    loop_->SetMaxHostConnections(h2_host_limit_);
    return;
  }
  // The upstream declined h2: every call in flight needs a connection of
  // its own, as with http://. But thousands of TLS handshakes at once
  // starve each other past the connect timeout (BENCHMARKS.md), so the
  // limit ramps: the connections up so far plus kConnectRamp more being
  // set up; each one that comes up lets the next waiting transfer go.
  const long limit =  // NOLINT(runtime/int): libcurl's type
      http1_connections_ + kConnectRamp;
  loop_->SetMaxHostConnections(limit);
  // libcurl moves a transfer waiting for a slot only when another one
  // finishes, not when the limit grows: start the oldest waiting ones
  // again (no longer waiting for a connection to multiplex on), as many as
  // the limit grew.
  size_t kicks = static_cast<size_t>(std::max<long>(  // NOLINT
      0, limit - kicked_limit_));
  kicked_limit_ = std::max(kicked_limit_, limit);
  while (kicks > 0 && !waiting_.empty()) {
    const std::pair<Call*, uint64_t> entry = waiting_.front();
    waiting_.pop_front();
    if (!StillWaiting(entry)) continue;  // done, retried, or on its way
    Call* call = entry.first;
    if (!WaitingForConnectionSlot(*call)) continue;  // connecting already
    CURL* easy = call->slot->easy.get();
    loop_->Remove(easy);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 0L);
    // On failure (libcurl out of memory) the guard ends it at its limit.
    (void)loop_->Add(easy);
    --kicks;
  }
}

void AttemptScheduler::AbortAll() {
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_requested_ = false;
    detail = abort_detail_;
  }
  std::vector<std::shared_ptr<Call>> all;
  all.reserve(calls_.size());
  for (const auto& entry : calls_) all.push_back(entry.second);
  const absl::Time now = clock_.Now();
  for (const std::shared_ptr<Call>& call : all) {
    if (call->phase == Phase::kTransferring) {
      EndAttempt(call.get(), now);
      if (options_.metrics != nullptr) {
        transport_outcomes_[static_cast<size_t>(TransportError::kDraining)]
            ->Inc();
      }
    }
    if (call->phase != Phase::kDone) {
      Fail(call.get(), TransportError::kDraining, detail);
    }
  }
}

absl::Duration AttemptScheduler::TimeUntilNextTimer() {
  absl::Time next = absl::InfiniteFuture();
  if (!timers_.empty()) next = timers_.top().due;
  if (!guards_.empty()) next = std::min(next, guards_.begin()->first.first);
  if (next == absl::InfiniteFuture()) return absl::InfiniteDuration();
  return next - clock_.Now();
}

void AttemptScheduler::DecideHostLimit(const UpstreamRequest& request) {
  host_limit_decided_ = true;
  const long limit =  // NOLINT(runtime/int): libcurl's type
      EffectiveMaxHostConnections(options_, request.url);
  if (limit == 0) return;  // unlimited: libcurl's default, already set
  // The automatic limit assumes h2; the first connection tells.
  host_limit_auto_h2_ = options_.max_host_connections == 0;
  h2_host_limit_ = limit;
  loop_->SetMaxHostConnections(limit);
}

void AttemptScheduler::FireTimers(absl::Time now) {
  while (!timers_.empty() && timers_.top().due <= now) {
    std::shared_ptr<Call> call = timers_.top().call;
    timers_.pop();
    // A call cancelled during its backoff is already done; skip it.
    if (call->phase != Phase::kBackoff) continue;
    const bool restart = call->restart_uncounted;
    call->restart_uncounted = false;
    if (AttemptObserver* observer = call->request.attempt_observer.get();
        observer != nullptr && !restart) {
      // The observer may hold the retry back (a tenant's closed gate).
      const absl::Duration wait = observer->BeforeRetry(now);
      if (wait > absl::ZeroDuration()) {
        if (now + wait < call->deadline) {
          timers_.push(Timer{now + wait, std::move(call)});
        } else {
          Complete(call.get());  // the last attempt's outcome
        }
        continue;
      }
    }
    StartAttempt(call.get());
  }
  // Guards are erased when their attempt ends: every one here is live.
  while (!guards_.empty() && guards_.begin()->first.first <= now) {
    Call* call = guards_.begin()->second;
    guards_.erase(guards_.begin());
    GuardFired(call, now);
  }
}

void AttemptScheduler::StartAttempt(Call* call) {
  if (call->cancel_requested.load(std::memory_order_acquire)) {
    Fail(call, TransportError::kCancelled, kCancelDetail);
    return;
  }
  const absl::Time now = clock_.Now();
  const absl::Duration remaining = call->deadline - now;
  if (remaining <= absl::ZeroDuration()) {
    if (call->result.attempts == 0) {
      SetError(call->result, TransportError::kDeadlineExceeded,
               "deadline passed before the upstream request was sent");
    }
    // Otherwise the retry no longer fits: report the last attempt's outcome.
    Complete(call);
    return;
  }
  if (call->result.attempts == 0) {
    std::string problem =
        CheckRequest(call->request, options_.allow_insecure_http);
    if (!problem.empty()) {
      Fail(call, TransportError::kInternal, problem);
      return;
    }
    if (!host_limit_decided_) DecideHostLimit(call->request);
  }
  std::unique_ptr<EasySlot> slot = pool_.Acquire();
  if (slot == nullptr) {
    Fail(call, TransportError::kInternal,
         "could not create a libcurl easy handle");
    return;
  }
  if (!BuildHeaders(call->request, slot->headers, &header_line_)) {
    pool_.Release(std::move(slot));
    Fail(call, TransportError::kInternal,
         "out of memory building upstream headers");
    return;
  }

  UpstreamResult& result = call->result;
  result.error = TransportError::kNone;
  result.error_detail.clear();
  result.http_status = 0;
  result.body.clear();  // keeps the capacity of an earlier attempt
  result.content_type.clear();
  result.retry_after.reset();
  call->sink.BeginAttempt(&result);
  call->sink.sockets_by_local_port = &http1_sockets_;

  // HTTP/2 is only ever negotiated over TLS (ALPN). Over plain http://,
  // PIPEWAIT would hold every new call back until the first response shows
  // that the connection cannot multiplex: calls would queue behind a slow
  // one. So: h2 with PIPEWAIT for https://, HTTP/1.1 without it otherwise.
  // Once an https:// upstream has declined h2, h2 is still offered (it may
  // start to accept), but calls no longer wait for a connection to
  // multiplex on.
  const bool multiplex =
      options_.http2 &&
      absl::StartsWithIgnoreCase(call->request.url, "https://") &&
      negotiated_ != WireProtocol::kHttp1Tls;
  // The attempt's limit: the call's remaining time, or the per-attempt
  // timeout when that is shorter.
  const bool limit_is_call_deadline =
      options_.attempt_timeout <= absl::ZeroDuration() ||
      options_.attempt_timeout >= remaining;
  const absl::Duration budget =
      limit_is_call_deadline ? remaining : options_.attempt_timeout;
  // CURLOPT_TIMEOUT_MS 0 would mean "no timeout": never pass less than 1.
  const int64_t timeout_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(budget));
  const CURLcode rc =
      SetAttemptOptions(*slot, call->request, absl::Milliseconds(timeout_ms),
                        multiplex, &call->sink, call);
  if (rc != CURLE_OK) {
    pool_.Release(std::move(slot));
    Fail(call, TransportError::kInternal,
         absl::StrCat("could not set up the upstream transfer: ",
                      curl_easy_strerror(rc)));
    return;
  }
  const CURLMcode mrc = loop_->Add(slot->easy.get());
  if (mrc != CURLM_OK) {
    pool_.Release(std::move(slot));
    Fail(call, TransportError::kInternal,
         absl::StrCat("could not start the upstream transfer: ",
                      curl_multi_strerror(mrc)));
    return;
  }
  call->slot = std::move(slot);
  call->phase = Phase::kTransferring;
  call->attempt_start = now;
  if (options_.metrics != nullptr) {
    options_.metrics->transfers_waiting->Add(1);
    call->waiting_counted = true;
  }
  call->attempt_serial = ++attempt_serials_;
  call->attempt_timeout_ms = timeout_ms;
  call->limit_is_call_deadline = limit_is_call_deadline;
  // libcurl enforces the limit once the transfer has a connection; the
  // guard ends it if it is still waiting for one. At the limit itself, not
  // later: the caller's own deadline is only --deadline_margin_ms away.
  call->guard_due = now + absl::Milliseconds(timeout_ms);
  if (host_limit_auto_h2_ && negotiated_ != WireProtocol::kHttp2Tls) {
    // Kept short: entries at the front whose attempt is gone or sent go
    // as new ones come.
    while (!waiting_.empty() && !StillWaiting(waiting_.front())) {
      waiting_.pop_front();
    }
    waiting_.emplace_back(call, call->attempt_serial);
  }
  guards_.emplace(std::make_pair(call->guard_due, call->attempt_serial), call);
}

void AttemptScheduler::GuardFired(Call* call, absl::Time now) {
  // Connecting or connected: libcurl's own timeout applies.
  if (!WaitingForConnectionSlot(*call)) return;
  // Still waiting for a connection (or a name): nothing was sent, so this
  // is not an attempt, and not retried: a new transfer would wait at the
  // back of the same queue.
  EndAttempt(call, now, /*counted=*/false);
  SetError(call->result,
           call->limit_is_call_deadline ? TransportError::kDeadlineExceeded
                                        : TransportError::kAttemptTimeout,
           absl::StrCat("no upstream connection became available within ",
                        call->attempt_timeout_ms,
                        " ms (all connections the host may have were busy, "
                        "see --max_host_connections; or the name did not "
                        "resolve in time)"));
  EnsurePadding(call->result.body);
  Complete(call);
}

void AttemptScheduler::EndAttempt(Call* call, absl::Time now, bool counted) {
  guards_.erase(std::make_pair(call->guard_due, call->attempt_serial));
  std::unique_ptr<EasySlot> slot = std::move(call->slot);
  CURL* easy = slot->easy.get();
  long connects = 0;  // NOLINT(runtime/int): libcurl's type
  if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
      connects > 0) {
    connections_opened_.fetch_add(static_cast<uint64_t>(connects),
                                  std::memory_order_relaxed);
    if (options_.metrics != nullptr) {
      options_.metrics->connections_opened->Inc(
          static_cast<uint64_t>(connects));
    }
  }
  if (options_.metrics != nullptr) {
    if (call->waiting_counted) options_.metrics->transfers_waiting->Add(-1);
    options_.metrics->attempt_duration->Observe(
        absl::ToDoubleSeconds(now - call->attempt_start));
  }
  call->waiting_counted = false;
  transfers_.fetch_add(1, std::memory_order_relaxed);
  loop_->Remove(easy);
  pool_.Release(std::move(slot));
  // An attempt that never got a connection sent nothing; one whose request
  // libcurl re-sent (with the gate's leave) was that many.
  if (counted) call->result.attempts += std::max(1, call->sink.requests_sent);
  call->result.upstream_latency += now - call->attempt_start;
}

void AttemptScheduler::OnTransferDone(CURL* easy, CURLcode code) {
  char* priv = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  Call* call = reinterpret_cast<Call*>(priv);
  const absl::Time now = clock_.Now();
  UpstreamResult& result = call->result;
  long status = 0;  // NOLINT(runtime/int): libcurl's type
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  CurlFailure failure;
  if (code != CURLE_OK) {
    const char* errbuf = call->slot->errbuf;
    result.error_detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    failure.code = code;
    failure.error_text = result.error_detail;
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    // libcurl fails a transfer once its time left is negative: at or past
    // the limit, measured in whole milliseconds.
    failure.attempt_time_used =
        total_us / 1000 + 1 >= call->attempt_timeout_ms;
    if (code == CURLE_PEER_FAILED_VERIFICATION) {
      curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT,
                        &failure.tls_verify_result);
    }
  }
  if (code == CURLE_ABORTED_BY_CALLBACK && call->sink.unread_bytes_refused &&
      call->sink.requests_sent == 0) {
    // Nothing was sent, and libcurl closed the connection with the stray
    // bytes: not an attempt; start again at once, on another connection.
    EndAttempt(call, now, /*counted=*/false);
    call->phase = Phase::kBackoff;
    call->restart_uncounted = true;
    timers_.push(Timer{now, call->shared_from_this()});
    return;
  }
  EndAttempt(call, now);

  if (!call->sink.retry_after_raw.empty()) {
    result.retry_after = ParseRetryAfter(call->sink.retry_after_raw, now);
  }
  if (code == CURLE_OK) {
    result.error = TransportError::kNone;
  } else {
    const AttemptSink& sink = call->sink;
    failure.connected = sink.connected;
    failure.limit_is_call_deadline = call->limit_is_call_deadline;
    failure.body_cap_hit = sink.body_cap_hit;
    failure.header_cap_hit = sink.header_cap_hit;
    failure.budget_refused = sink.budget_refused;
    failure.resend_refused = sink.resend_refused;
    failure.framing_refused = sink.framing_refused;
    failure.on_http2 = sink.protocol == WireProtocol::kHttp2Tls;
    failure.status_line_seen = sink.status_line_seen;
    result.error = ClassifyCurlFailure(failure);
    DescribeFailure(failure, options_, &result);
    // A partial body must not be mistaken for a response.
    result.body.clear();
  }
  EnsurePadding(result.body);
  CountAttempt(result);
  if (call->request.attempt_observer != nullptr) {
    call->request.attempt_observer->OnAttemptDone(result, now);
  }
  RetryOrComplete(call, now);
}

void AttemptScheduler::CountAttempt(const UpstreamResult& result) {
  UpstreamMetrics* m = options_.metrics;
  if (m == nullptr) return;
  if (result.error == TransportError::kNone) {
    attempt_outcomes_[StatusClassIndex(result.http_status)]->Inc();
    m->response_bytes->Inc(result.body.size());
  } else {
    transport_outcomes_[static_cast<size_t>(result.error)]->Inc();
  }
}

void AttemptScheduler::RetryOrComplete(Call* call, absl::Time now) {
  UpstreamResult& result = call->result;
  std::optional<absl::Duration> wait =
      policy_.NextDelay(result, result.attempts, now, call->deadline, gen_);
  if (wait.has_value() &&
      !call->cancel_requested.load(std::memory_order_acquire)) {
    if (!shared_->budget.TryConsume()) {
      if (options_.metrics != nullptr) options_.metrics->retries_refused->Inc();
      Complete(call);
      return;
    }
    retries_.fetch_add(1, std::memory_order_relaxed);
    if (options_.metrics != nullptr) {
      options_.metrics->retries->Inc();
      if (result.retry_after.has_value() && *wait >= *result.retry_after) {
        options_.metrics->retry_after_waits->Inc();
      }
    }
    call->phase = Phase::kBackoff;
    timers_.push(Timer{now + *wait, call->shared_from_this()});
    return;
  }
  Complete(call);
}

void AttemptScheduler::CancelCall(Call* call) {
  switch (call->phase) {
    case Phase::kTransferring:
      EndAttempt(call, clock_.Now());
      if (options_.metrics != nullptr) {
        transport_outcomes_[static_cast<size_t>(TransportError::kCancelled)]
            ->Inc();
      }
      Fail(call, TransportError::kCancelled, kCancelDetail);
      return;
    case Phase::kBackoff:
      // The timer stays in the heap and is skipped when it fires.
      Fail(call, TransportError::kCancelled, kCancelDetail);
      return;
    case Phase::kQueued:  // StartAttempt saw the flag already
    case Phase::kDone:
      return;
  }
}

void AttemptScheduler::Fail(Call* call, TransportError error,
                            absl::string_view detail) {
  SetError(call->result, error, detail);
  EnsurePadding(call->result.body);
  Complete(call);
}

void AttemptScheduler::Complete(Call* call) {
  auto it = calls_.find(call);
  // Keeps the call alive through its callback even if the caller dropped
  // its handle.
  std::shared_ptr<Call> keep = std::move(it->second);
  calls_.erase(it);
  call->phase = Phase::kDone;
  call->finished.store(true, std::memory_order_release);
  UpstreamCallback done = std::move(call->done);
  UpstreamResult result = std::move(call->result);
  // The handle may outlive the call by a lot; free the request now.
  call->request = UpstreamRequest();
  // Free the call's slot before its callback runs: a caller that starts its
  // next call as soon as it sees this one's reply must find room, and the
  // same (now idle) loop with its warm connection.
  shared_->Release();
  load_.fetch_sub(1, std::memory_order_relaxed);
  if (done) done(std::move(result));
  // Whatever the callback captured dies here, before the call stops counting
  // as in flight (WaitIdle's promise).
  done = nullptr;
  // The body was freed with the result: its bytes go back to the budget.
  shared_->response_budget.Release(call->sink.budget_held);
  call->sink.budget_held = 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_ == 0) idle_cv_.notify_all();
}

void AttemptScheduler::OnStop() {
  {
    // Start refuses once stopping_ is set, so nothing is queued after this.
    std::lock_guard<std::mutex> lock(mu_);
    starts_.swap(start_queue_);
    cancel_queue_.clear();
  }
  for (std::shared_ptr<Call>& call : starts_) {
    Call* raw = call.get();
    calls_.emplace(raw, std::move(call));
  }
  starts_.clear();
  std::vector<std::shared_ptr<Call>> all;
  all.reserve(calls_.size());
  for (const auto& entry : calls_) all.push_back(entry.second);
  const absl::Time now = clock_.Now();
  for (const std::shared_ptr<Call>& call : all) {
    if (call->phase == Phase::kTransferring) EndAttempt(call.get(), now);
    Fail(call.get(), TransportError::kCancelled, kShutdownDetail);
  }
  timers_ = decltype(timers_)();
  guards_.clear();
  waiting_.clear();
  // Easy handles are cleaned up on the thread that used them.
  pool_.Clear();
}

}  // namespace upstream_internal
}  // namespace usergateway
