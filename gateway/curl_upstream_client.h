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
// flight. Start() and Cancel() push a command onto that loop's mutex-guarded
// queue and wake it (an eventfd); the loop thread owns its libcurl objects,
// starts transfers on pooled easy handles, keeps retry timers in a min-heap,
// and runs each call's callback once the transfer is over and its easy
// handle is detached. The loop is event-driven: libcurl reports the
// sockets it wants watched and its next timeout (CURLMOPT_SOCKETFUNCTION,
// CURLMOPT_TIMERFUNCTION), the loop waits for them, the eventfd and the
// earliest retry timer in one epoll_wait, and hands ready sockets to
// curl_multi_socket_action. A wakeup thus costs in proportion to the sockets
// that are ready, not to the calls in flight (10,000 held calls are fine).
// Connections, DNS results and TLS sessions are shared through each loop's
// multi handle, so calls to the same host reuse connections (and multiplex
// over HTTP/2 when offered). The loops share the max_in_flight count and the
// retry budget; the connection limits are split between them (LoopShare).
//
// Why several loops: one loop thread was the gateway's limit under load
// (60-80% of its CPU in libcurl, the kernel and completions; see
// BENCHMARKS.md). Each loop is independent, so they scale with cores.
#ifndef USERGATEWAY_GATEWAY_CURL_UPSTREAM_CLIENT_H_
#define USERGATEWAY_GATEWAY_CURL_UPSTREAM_CLIENT_H_

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/upstream_client.h"
#include "gateway/upstream_types.h"

namespace usergateway {

namespace curl_upstream_internal {
class Loop;  // the loop thread and its state; defined in the .cc file
}  // namespace curl_upstream_internal

struct CurlUpstreamOptions {
  // Refuse http:// URLs (kInternal, no request sent) unless set: the bearer
  // key must not travel in clear text by accident.
  bool allow_insecure_http = false;
  // CA bundle file for CURLOPT_CAINFO when non-empty; libcurl's default
  // otherwise. Peer and host verification are always on.
  std::string ca_bundle;
  // Bound on DNS + TCP + TLS for one attempt.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Bound on a whole call (retries included) when the caller's deadline is
  // later or infinite.
  absl::Duration timeout_cap = absl::Seconds(30);
  // Taken off the caller's deadline so that the gateway still has time to
  // answer the caller when the upstream runs out the clock.
  absl::Duration deadline_margin = absl::Milliseconds(20);
  // Largest response body accepted (kResponseTooLarge beyond it). A larger
  // Content-Length is refused before the body is read.
  size_t max_response_bytes = 1 << 20;
  // Calls in flight (queued, transferring or waiting to retry) beyond which
  // Start() refuses with kOverloaded.
  size_t max_in_flight = 10000;
  // Attempts per call, the first one included.
  int max_attempts = 4;
  // Full-jitter exponential backoff between attempts (see RetryPolicy).
  absl::Duration backoff_base = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(2);
  // Retries allowed per call, on average (a token bucket, see RetryBudget).
  double retry_budget_ratio = 0.2;
  // Retries allowed in a burst before the ratio applies.
  double retry_budget_burst = 10;
  // CURLMOPT_MAX_HOST_CONNECTIONS: connections per upstream host.
  // Transfers beyond it wait inside libcurl (within their deadline) for a
  // connection or, with HTTP/2, a free stream. With HTTP/1.1 it caps
  // concurrency at that many calls.
  //
  // 0 = auto (see EffectiveMaxHostConnections), decided when the first
  // request is started, from its URL: a client serves one upstream base URL
  // (the multi handle and its limit are shared by all calls, the scheme is
  // per request). For https:// with http2 on, the limit is
  // ceil(max_in_flight / 100): libcurl opens up to 100 streams per HTTP/2
  // connection, so max_in_flight calls fit, while a burst can no longer
  // open one TLS connection per call that finds no free stream on the
  // connections still handshaking (a burst of 10,000 once opened 5,543 and
  // half the calls timed out). For http:// (HTTP/1.1 only: h2 is negotiated
  // over TLS) it stays unlimited, since each call in flight needs its own
  // connection. Clients mixing schemes should set the limit explicitly.
  long max_host_connections = 0;  // NOLINT(runtime/int): libcurl's type
  // CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = unlimited.
  long max_total_connections = 0;  // NOLINT(runtime/int)
  // Offer HTTP/2 over TLS (ALPN; HTTP/1.1 when the server declines) and
  // multiplex calls over one connection. False pins HTTP/1.1.
  bool http2 = true;
  // Event-loop threads, each with its own multi handle and connections.
  // 0 = auto: AvailableCpus() (the affinity mask, capped by a cgroup CPU
  // quota), at most kMaxAutoLoops. Never more than a positive
  // max_host_connections or max_total_connections (each loop needs one).
  // At most kMaxLoops.
  size_t loops = 0;
};

// The most loops "auto" picks, however many CPUs there are: past this, more
// loops mostly mean more idle upstream connections.
inline constexpr size_t kMaxAutoLoops = 8;
// The most loops a client accepts (Create refuses more).
inline constexpr size_t kMaxLoops = 256;

// Counters for metrics and tests. Each is read atomically on its own; the
// set is not one snapshot.
struct CurlUpstreamStats {
  uint64_t connections_opened = 0;  // new connections (CURLINFO_NUM_CONNECTS)
  uint64_t transfers = 0;           // HTTP attempts that ran in libcurl
  uint64_t retries = 0;             // attempts after a call's first
  size_t in_flight = 0;             // from Start until its callback returned
};

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

  // Blocks until no call is in flight or `deadline` passes. Returns true when
  // idle. For SIGTERM handling; do not call from a callback.
  bool WaitIdle(absl::Time deadline);

  CurlUpstreamStats Stats() const;

  // The number of event loops (threads) running.
  size_t loop_count() const { return loops_.size(); }

 private:
  explicit CurlUpstreamClient(
      std::vector<std::shared_ptr<curl_upstream_internal::Loop>> loops);

  // Shared with call handles (as weak_ptr) so that Cancel() after the
  // client is gone finds nothing rather than a dangling pointer.
  std::vector<std::shared_ptr<curl_upstream_internal::Loop>> loops_;
};

// The loops a client with `options` runs: options.loops, or `auto_loops`
// capped at kMaxAutoLoops when that is 0; then at most a positive
// max_host_connections or max_total_connections; at least 1.
size_t EffectiveLoopCount(const CurlUpstreamOptions& options,
                          size_t auto_loops);

// The options loop `index` of `loops` runs with: max_in_flight (which sizes
// its idle-connection cache and automatic host limit) is the loop's share,
// rounded up; positive max_host_connections and max_total_connections are
// split so that the shares add up to the client's limits exactly. Needs
// loops <= each positive limit (EffectiveLoopCount ensures it).
CurlUpstreamOptions LoopShare(const CurlUpstreamOptions& options,
                              size_t loops, size_t index);

// What the loop knows about a failed transfer, to classify it.
struct CurlFailure {
  CURLcode code = CURLE_OK;
  // The connection (TCP and TLS) was established or reused, i.e.
  // CURLOPT_PREREQFUNCTION ran.
  bool connected = false;
  // The call's own deadline (not only the connect timeout) has passed.
  bool deadline_reached = false;
  // The body cap made the write callback refuse data.
  bool body_cap_hit = false;
};

// The size of libcurl's idle-connection cache (CURLMOPT_MAXCONNECTS): one
// per call that may be in flight (capped by max_total_connections), so that
// keep-alive connections survive the moments when few calls are running.
size_t IdleConnectionCacheSize(const CurlUpstreamOptions& options);

// Returns the host connection limit a client with `options` applies when its
// first request goes to `url`: options.max_host_connections when positive;
// else (auto) ceil(max_in_flight / 100) for an https:// URL with http2 on,
// and 0 (unlimited) otherwise. Exposed for tests.
long EffectiveMaxHostConnections(  // NOLINT(runtime/int): libcurl's type
    const CurlUpstreamOptions& options, absl::string_view url);

// Returns the TransportError for a transfer that ended with `failure.code`
// (not CURLE_OK). Exposed for tests; the mapping is the one in the design:
// a timeout before the connection was up, with time left on the call, is a
// connect failure (retryable); otherwise a timeout is kDeadlineExceeded.
TransportError ClassifyCurlFailure(const CurlFailure& failure);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_CURL_UPSTREAM_CLIENT_H_
