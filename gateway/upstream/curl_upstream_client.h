// The production UpstreamClient: a few event-loop threads (one per CPU by
// default), each running a libcurl multi handle, drive every upstream PUT,
// retries included, without a thread per call.
//
// Example:
//
//   CurlUpstreamOptions options;
//   options.ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
//   absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> client =
//       CurlUpstreamClient::Create(options);
//   if (!client.ok()) return client.status();
//   std::shared_ptr<UpstreamCall> call = (*client)->Start(
//       std::move(request), [reactor](UpstreamResult result) { ... });
//   ...
//   call->Cancel();  // e.g. when the gRPC caller went away
//
// How it works: Start() hands the call to the loop with the fewest calls in
// flight. Each loop is a thread with its own libcurl multi handle, pooled
// easy handles and connections; the loops share the max_in_flight count and
// the retry budget, and split the connection limits (LoopShare). Calls to
// one host reuse a loop's connections (multiplexed over HTTP/2 when
// offered) and its DNS cache; TLS sessions are not shared between a loop's
// easy handles.
//
// The pieces, one file each (see docs/ARCHITECTURE.md):
//   upstream_options  the options and the loop/connection-limit arithmetic
//   event_loop        the engine: epoll, eventfd, curl_multi_socket_action
//   attempt_scheduler a loop's calls: attempts, retries, cancel, completion
//   easy_transfer     one attempt on an easy handle: options and callbacks
//   curl_failure      which TransportError a failed transfer is
//   retry_policy, retry_budget, retry_after   the retry decisions
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_CURL_UPSTREAM_CLIENT_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_CURL_UPSTREAM_CLIENT_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/upstream/upstream_client.h"
#include "gateway/upstream/upstream_options.h"
#include "gateway/upstream/upstream_stats.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

namespace upstream_internal {
class AttemptScheduler;  // one loop's calls; attempt_scheduler.h
}  // namespace upstream_internal

// See the file comment. Owns its loop threads and every libcurl object.
// Thread-safe: Start, Drain, WaitIdle and Stats may be called from any
// thread. Callbacks run on the call's loop thread (or inline in Start for
// refusals) and must not block or destroy the client.
class CurlUpstreamClient final : public UpstreamClient {
 public:
  // Validates `options`, initialises libcurl and starts the loop threads.
  // Returns INVALID_ARGUMENT for inconsistent options (e.g. max_attempts < 1,
  // negative durations, zero max_in_flight, an unreadable ca_bundle) and
  // INTERNAL when libcurl could not be initialised.
  static absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> Create(
      const CurlUpstreamOptions& options);

  // Stops the loop: calls still in flight complete with kCancelled
  // ("gateway shutting down"), their callbacks run, then the thread joins.
  // Start() racing with destruction is a caller bug; Cancel() on handles
  // that outlive the client is fine (a no-op).
  ~CurlUpstreamClient() override;

  CurlUpstreamClient(const CurlUpstreamClient&) = delete;
  CurlUpstreamClient& operator=(const CurlUpstreamClient&) = delete;

  // Queues `request` for the loop and returns at once. `done` runs exactly
  // once with the final outcome, after retries. Refusals run `done` before
  // Start returns: kDraining after Drain() or during destruction, kOverloaded
  // when max_in_flight calls are already in flight. On the loop thread:
  // kInternal for a disallowed URL scheme or a header containing CR, LF or
  // NUL; kDeadlineExceeded (attempts 0) when the deadline minus the margin
  // has already passed; kCancelled when cancelled first.
  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request,
                                      UpstreamCallback done) override;

  // Stops accepting calls (Start -> kDraining); calls in flight continue.
  void Drain();

  // Also stops accepting calls, and ends every call in flight (queued,
  // transferring, or waiting to retry) with kDraining and `detail`: the end
  // of a drain's grace period. Returns at once; the callbacks run on the
  // loops soon after (WaitIdle waits for them).
  void AbortInFlight(absl::string_view detail);

  // Blocks until no call is in flight or `deadline` passes. Returns true when
  // idle. For SIGTERM handling; do not call from a callback.
  bool WaitIdle(absl::Time deadline);

  CurlUpstreamStats Stats() const;

  // Makes every loop look at its retry timers now. Only needed with a
  // simulated CurlUpstreamOptions::clock, whose jumps the loops cannot see;
  // harmless otherwise.
  void CheckTimers();

  // The number of event loops (threads) running.
  size_t loop_count() const { return loops_.size(); }

 private:
  explicit CurlUpstreamClient(
      std::vector<std::shared_ptr<upstream_internal::AttemptScheduler>> loops);

  // Shared with call handles (as weak_ptr) so that Cancel() after the
  // client is gone finds nothing rather than a dangling pointer.
  std::vector<std::shared_ptr<upstream_internal::AttemptScheduler>> loops_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_CURL_UPSTREAM_CLIENT_H_
