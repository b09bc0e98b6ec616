// The upstream client's settings, and the arithmetic that spreads them over
// several event loops. Plain data and pure functions; thread-safe.
//
// Example:
//
//   CurlUpstreamOptions options;
//   options.max_in_flight = 10000;
//   absl::Status valid = ValidateUpstreamOptions(options);
//   size_t loops = EffectiveLoopCount(options, AvailableCpus());
//   CurlUpstreamOptions first = LoopShare(options, loops, 0);
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_OPTIONS_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"

namespace usergateway {

struct UpstreamMetrics;  // gateway/observability/gateway_metrics.h

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
  // Largest response header section accepted, status line and every
  // header line (interim 1xx responses included) counted as received
  // (kResponseHeadersTooLarge beyond it). Envoy's default, 60 KiB.
  size_t max_response_header_bytes = 60 * 1024;
  // Process-wide cap on the bytes held by response bodies of all calls in
  // flight, every loop together (kResponseBudgetExhausted beyond it, for
  // the call whose body would pass it). 0 = unlimited.
  size_t response_buffer_budget_bytes = size_t{256} << 20;
  // Bound on one attempt (connect, send and the whole response); a retry
  // follows when the policy and the call's deadline allow. 0 = none: an
  // attempt may use the call's whole remaining time.
  absl::Duration attempt_timeout = absl::ZeroDuration();
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
  // request is started, from its URL (a client serves one upstream base
  // URL: the multi handle and its limit are shared by all calls). For
  // https:// with http2 on, the limit is ceil(max_in_flight / 100): libcurl
  // opens up to 100 streams per HTTP/2 connection, so max_in_flight calls
  // fit, while a burst can no longer open one TLS connection per call that
  // finds no free stream on the connections still handshaking
  // (BENCHMARKS.md). What the first TLS connection negotiates (ALPN) then
  // decides: h2 keeps that limit; http/1.1 makes it ramp instead (the
  // connections up so far plus 64 being set up, per loop), so that every
  // call soon has a connection of its own without thousands of handshakes
  // starving each other, restarting the transfers waiting for a slot as it
  // grows; a later h2 connection switches it back. For http:// (HTTP/1.1 only: h2 is negotiated over
  // TLS) it stays unlimited, since each call in flight needs its own
  // connection. Clients mixing schemes should set the limit explicitly.
  long max_host_connections = 0;  // NOLINT(runtime/int): libcurl's type
  // CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = unlimited.
  long max_total_connections = 0;  // NOLINT(runtime/int)
  // Offer HTTP/2 over TLS (ALPN; HTTP/1.1 when the server declines) and
  // multiplex calls over one connection. False pins HTTP/1.1.
  bool http2 = true;
  // A connection older than this is not reused for a new request
  // (CURLOPT_MAXLIFETIME_CONN, whole seconds, rounded up), so that the
  // connections follow DNS changes behind the API; requests in flight on it
  // finish. 0 = no limit.
  absl::Duration max_connection_age = absl::Minutes(5);
  // Event-loop threads, each with its own multi handle and connections.
  // 0 = auto: AvailableCpus() (the affinity mask, capped by a cgroup CPU
  // quota), at most kMaxAutoLoops. Never more than a positive
  // max_host_connections or max_total_connections (each loop needs one).
  // At most kMaxLoops.
  size_t loops = 0;
  // Where deadlines, backoff timers and Retry-After dates are measured.
  // Null means RealClock(); otherwise it must outlive the client. A
  // simulated clock (tests) also needs CurlUpstreamClient::CheckTimers()
  // after each jump; libcurl's own connect and transfer timeouts always run
  // on real time.
  const Clock* clock = nullptr;
  // Where attempts, retries, connections and refusals are counted; null
  // counts nothing. Must outlive the client.
  UpstreamMetrics* metrics = nullptr;
};

// The most loops "auto" picks, however many CPUs there are: past this, more
// loops mostly mean more idle upstream connections.
inline constexpr size_t kMaxAutoLoops = 8;
// The most loops a client accepts (Create refuses more).
inline constexpr size_t kMaxLoops = 256;
// libcurl's default CURLMOPT_MAX_CONCURRENT_STREAMS: the streams it opens
// per HTTP/2 connection.
inline constexpr size_t kStreamsPerConnection = 100;

// Returns OK, or INVALID_ARGUMENT naming the first inconsistent option
// (e.g. max_attempts < 1, negative durations, zero max_in_flight, more than
// kMaxLoops loops, an unreadable ca_bundle).
absl::Status ValidateUpstreamOptions(const CurlUpstreamOptions& options);

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

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_OPTIONS_H_
