// Failure classification: which TransportError a failed libcurl transfer
// is, and so which gRPC status it becomes and whether it is retried. Pure
// functions; thread-safe.
//
// Example (the event loop, when a transfer ends with code != CURLE_OK):
//
//   CurlFailure failure;
//   failure.code = code;
//   failure.connected = attempt.connected;
//   result.error = ClassifyCurlFailure(failure);
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_

#include <curl/curl.h>

#include "gateway/upstream/upstream_types.h"

namespace usergateway {

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

// Returns the TransportError for a transfer that ended with `failure.code`
// (not CURLE_OK). Exposed for tests; the mapping is the one in the design:
// a timeout before the connection was up, with time left on the call, is a
// connect failure (retryable); otherwise a timeout is kDeadlineExceeded.
TransportError ClassifyCurlFailure(const CurlFailure& failure);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_
