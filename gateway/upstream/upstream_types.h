// Plain data that crosses the boundary between the gRPC side of the gateway
// and the upstream (libcurl) side: what to send, and what came back.
//
// Example:
//
//   UpstreamRequest req;
//   req.url = "https://acme-api.esper.cloud/api/authn2/v0/user/u-1";
//   req.body = R"({"first_name":"Ada"})";
//   req.headers.push_back({"Authorization", "Bearer " + key});
//   req.deadline = absl::Now() + absl::Seconds(2);
//   client.Start(std::move(req), [](UpstreamResult r) { ... });
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_TYPES_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_TYPES_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {

class AttemptObserver;  // attempt_observer.h

// One HTTP header. Names are sent as given.
struct Header {
  std::string name;
  std::string value;
};

// One REST call to make: always a PUT of a JSON body.
struct UpstreamRequest {
  // The full URL, e.g. "https://t-api.esper.cloud/api/authn2/v0/user/u-1".
  std::string url;
  // The JSON body, e.g. {"first_name":"Ada"}.
  std::string body;
  // Every header to send, Authorization included. Never log these values.
  std::vector<Header> headers;
  // The X-Request-Id sent upstream (also in `headers`); for logs.
  std::string request_id;
  // When the whole call, retries included, must be over.
  absl::Time deadline = absl::InfiniteFuture();
  // Optional: told of every attempt and asked before every retry
  // (attempt_observer.h). Null for none.
  std::shared_ptr<AttemptObserver> attempt_observer;
};

// What went wrong below HTTP, if anything. kNone means an HTTP response was
// received and UpstreamResult::http_status holds its status.
enum class TransportError {
  kNone,
  kDns,               // the host name did not resolve
  kConnect,           // TCP connect failed (refused, unreachable, timeout)
  kConnectionReset,   // the connection broke: reset, closed early, nothing
  kTlsHandshake,      // TLS failed for a reason other than trust
  kTlsUntrusted,      // the peer's certificate was not trusted
  kTlsHostnameMismatch,  // trusted, but not issued for the URL's host
  kTlsCertificateExpired,  // the peer's certificate (or its chain) expired
  kHttp2,             // HTTP/2 framing or stream error
  kProtocol,          // another malformed-HTTP failure
  kDeadlineExceeded,  // the caller's deadline (or the configured cap) passed
  kCancelled,         // the caller cancelled the call
  kResponseTooLarge,  // the body passed the configured limit
  kResponseHeadersTooLarge,  // the headers passed the configured limit
  kAttemptTimeout,    // one attempt ran out its per-attempt timeout
  kResponseBudgetExhausted,  // the process-wide response-buffer budget is
                             // spent: the gateway holds too many bodies
  kOverloaded,        // the gateway's in-flight or queue limit was hit
  kDraining,          // the gateway is shutting down
  kInternal,          // the gateway could not set up the transfer (keep last)
};

// The number of TransportError values (for tables indexed by them).
inline constexpr size_t kTransportErrorCount =
    static_cast<size_t>(TransportError::kInternal) + 1;

// A stable, upper-case name for logs and metrics, e.g. "CONNECT".
absl::string_view TransportErrorName(TransportError error);

// The outcome of one UpstreamRequest, after all retries.
struct UpstreamResult {
  TransportError error = TransportError::kNone;
  // A short, secret-free explanation of `error` (e.g. curl's error text).
  std::string error_detail;
  // The HTTP status of the last response received, or 0 if none was.
  int http_status = 0;
  // The body of that response. The gateway keeps capacity() at least
  // size() + simdjson::SIMDJSON_PADDING so that it parses in place.
  std::string body;
  // The response's Content-Type, if any.
  std::string content_type;
  // The response's Retry-After (seconds or HTTP date), already converted
  // to a delay from when it was received; unset if absent or unparsable.
  std::optional<absl::Duration> retry_after;
  // How many HTTP attempts were made (0 when none was started).
  int attempts = 0;
  // Time spent in upstream transfers, all attempts together.
  absl::Duration upstream_latency = absl::ZeroDuration();
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_TYPES_H_
