// Failure classification: which TransportError a failed libcurl transfer
// is, and so which gRPC status it becomes and whether it is retried. Every
// libcurl result code has a row of its own in a table (CurlCodeTable), so
// that a code is classified on purpose, never by a catch-all. Pure
// functions over constant data; thread-safe.
//
// Example (the attempt scheduler, when a transfer ends with code !=
// CURLE_OK):
//
//   CurlFailure failure;
//   failure.code = code;
//   failure.connected = sink.connected;
//   failure.error_text = slot.errbuf;
//   result.error = ClassifyCurlFailure(failure);
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_

#include <curl/curl.h>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

// What the scheduler knows about a failed transfer, to classify it.
struct CurlFailure {
  CURLcode code = CURLE_OK;
  // CURLOPT_PREREQFUNCTION ran: a connection (TCP and TLS) was up or
  // reused and the request went out on it.
  bool connected = false;
  // The attempt's own time limit ran out (libcurl's CURLOPT_TIMEOUT_MS, or
  // the scheduler's guard timer), as opposed to the connect timeout.
  bool attempt_time_used = false;
  // That limit was the call's deadline (no shorter per-attempt timeout).
  bool limit_is_call_deadline = true;
  // Callback refusals, each making libcurl fail the transfer:
  bool body_cap_hit = false;         // max_response_bytes
  bool header_cap_hit = false;       // max_response_header_bytes
  bool budget_refused = false;       // response_buffer_budget_bytes
  bool resend_refused = false;       // a second request on one transfer
  bool framing_refused = false;      // differing Content-Length headers
  // The response's status line had been received.
  bool status_line_seen = false;
  // libcurl's error buffer (CURLOPT_ERRORBUFFER), possibly empty.
  absl::string_view error_text;
  // CURLINFO_SSL_VERIFYRESULT: OpenSSL's X509_V_* result of the peer
  // verification (0 when the chain was fine).
  long tls_verify_result = 0;  // NOLINT(runtime/int): libcurl's type
  // The refused re-send was on an HTTP/2 connection (a refused stream or a
  // GOAWAY), not a dead HTTP/1.1 connection.
  bool on_http2 = false;
};

// How a row of the table decides.
enum class CurlCodeRule {
  kFixed,                // always `error`
  kTimeout,              // CURLE_OPERATION_TIMEDOUT, see ClassifyCurlFailure
  kReceive,              // CURLE_RECV_ERROR
  kWrite,                // CURLE_WRITE_ERROR: which callback refused
  kAbortedByCallback,    // CURLE_ABORTED_BY_CALLBACK
  kUnsupportedProtocol,  // CURLE_UNSUPPORTED_PROTOCOL
  kOutOfMemory,          // CURLE_OUT_OF_MEMORY
  kPeerVerification,     // CURLE_PEER_FAILED_VERIFICATION
};

// One libcurl result code and what it means to the gateway.
struct CurlCodeRow {
  CURLcode code;
  CurlCodeRule rule;
  // The outcome of a kFixed row; for the other rules the outcome when none
  // of the rule's conditions holds (see ClassifyCurlFailure).
  TransportError error;
};

// Every code of libcurl 7.88's CURLcode enum (CURLE_OK excluded), each
// exactly once, in numeric order. Exposed for tests.
absl::Span<const CurlCodeRow> CurlCodeTable();

// Returns the TransportError for a transfer that ended with `failure.code`
// (kNone for CURLE_OK). The rules:
//   kTimeout: the connect timeout (attempt time not used, not connected)
//     kConnect, retryable; the attempt's limit kDeadlineExceeded when that
//     limit is the call's deadline, else kAttemptTimeout.
//   kReceive: libcurl's text "... in chunked-encoding" kProtocol (a broken
//     body framing is deterministic: not retried); "Too large response
//     headers" kResponseHeadersTooLarge; else kConnectionReset.
//   kWrite: budget_refused kResponseBudgetExhausted, header_cap_hit
//     kResponseHeadersTooLarge, body_cap_hit kResponseTooLarge; else
//     kInternal.
//   kAbortedByCallback: resend_refused kHttp2 on an HTTP/2 connection (a
//     refused stream or GOAWAY) or kConnectionReset (a reused connection
//     died before a response), both retryable; else kInternal.
//   kPeerVerification: X509_V_ERR_CERT_HAS_EXPIRED (10) kTlsCertificateExpired;
//     libcurl's host name check failing ("... target host name ...")
//     kTlsHostnameMismatch; else kTlsUntrusted.
//   kUnsupportedProtocol: once connected, the reply was not HTTP
//     (libcurl: "Received HTTP/0.9 when not allowed") kProtocol; else the
//     URL's scheme, kInternal.
//   kOutOfMemory: after the status line, a single header line passed
//     libcurl's CURL_MAX_HTTP_HEADER (100 KiB) kResponseHeadersTooLarge;
//     else kInternal.
// A code without a row (a newer libcurl) is kProtocol.
TransportError ClassifyCurlFailure(const CurlFailure& failure);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_CURL_FAILURE_H_
