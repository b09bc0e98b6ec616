// The error table of ARCHITECTURE.md "Error mapping", as data: for each
// upstream HTTP status and each TransportError, the gRPC code, the
// ErrorInfo reason, whether a retry delay applies, and the generic text of
// the status message. The error mapper is its only user; it decides the
// message and details, this file only says what each outcome is.
//
// Example:
//
//   const HttpErrorRow row = LookupHttpStatus(503);
//   // row.code == UNAVAILABLE, row.reason == "UPSTREAM_UNAVAILABLE",
//   // row.honours_retry_after == true
//   GenericHttpText(503);
//   // "upstream returned HTTP 503 (Service Unavailable)"
//
// The rows are constant data and the lookups are stateless; thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_ERROR_TABLE_H_
#define USERGATEWAY_GATEWAY_RESPONSE_ERROR_TABLE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/upstream/upstream_types.h"
#include "grpcpp/support/status.h"

namespace usergateway {

// What a non-2xx upstream HTTP status means.
struct HttpErrorRow {
  grpc::StatusCode code;
  absl::string_view reason;  // ErrorInfo.reason, e.g. "UPSTREAM_NOT_FOUND"
  // Said in parentheses after the status in the generic message: the
  // reason phrase ("Not Found"), "redirects are not followed" for 3xx, or
  // empty for a status without a row.
  absl::string_view phrase;
  // Retry-After means "try again later" for this status (RFC 9110 10.2.3,
  // RFC 6585): true for 429, 502 and 503.
  bool honours_retry_after;
};

// Returns the row for `http_status`:
//   400, 422  INVALID_ARGUMENT    UPSTREAM_INVALID_ARGUMENT
//   401       UNAUTHENTICATED     UPSTREAM_UNAUTHENTICATED
//   403       PERMISSION_DENIED   UPSTREAM_PERMISSION_DENIED
//   404       NOT_FOUND           UPSTREAM_NOT_FOUND
//   408       UNAVAILABLE         UPSTREAM_REQUEST_TIMEOUT
//   409       ABORTED             UPSTREAM_CONFLICT
//   412       FAILED_PRECONDITION UPSTREAM_PRECONDITION_FAILED
//   429       RESOURCE_EXHAUSTED  UPSTREAM_RATE_LIMITED
//   499       CANCELLED           UPSTREAM_CLIENT_CLOSED_REQUEST
//   500       INTERNAL            UPSTREAM_INTERNAL_ERROR
//   501       UNIMPLEMENTED       UPSTREAM_NOT_IMPLEMENTED
//   502, 503  UNAVAILABLE         UPSTREAM_UNAVAILABLE
//   504       DEADLINE_EXCEEDED   UPSTREAM_GATEWAY_TIMEOUT
//   other     UNKNOWN             UPSTREAM_UNEXPECTED_STATUS
// 2xx is not an error and has no row of its own (it gets "other"); the
// mapper handles it before looking up.
HttpErrorRow LookupHttpStatus(int http_status);

// The message used when the body gives none: "upstream returned HTTP 502
// (Bad Gateway)", or "upstream returned HTTP 418" when the row has no
// phrase.
std::string GenericHttpText(int http_status);

// What a TransportError means.
struct TransportErrorRow {
  grpc::StatusCode code;
  absl::string_view reason;  // ErrorInfo.reason, e.g. "UPSTREAM_DNS_FAILURE"
  absl::string_view text;    // the generic message
  // The gateway itself turned the call away (overload, draining): a retry
  // later will likely succeed, so RetryInfo is always attached, with the
  // known delay or a default.
  bool retry_later;
};

// Returns the row for `error`:
//   kDns UPSTREAM_DNS_FAILURE, kConnect UPSTREAM_CONNECT_FAILURE,
//   kConnectionReset UPSTREAM_CONNECTION_RESET, kTlsHandshake
//   UPSTREAM_TLS_HANDSHAKE_FAILURE, kTlsUntrusted UPSTREAM_TLS_UNTRUSTED,
//   kHttp2 UPSTREAM_HTTP2_ERROR, kProtocol UPSTREAM_PROTOCOL_ERROR: all
//   UNAVAILABLE; kDeadlineExceeded DEADLINE_EXCEEDED DEADLINE_EXCEEDED;
//   kCancelled CANCELLED CALLER_CANCELLED; kResponseTooLarge INTERNAL
//   UPSTREAM_RESPONSE_TOO_LARGE; kResponseHeadersTooLarge INTERNAL
//   UPSTREAM_RESPONSE_HEADERS_TOO_LARGE; kAttemptTimeout UNAVAILABLE
//   UPSTREAM_ATTEMPT_TIMEOUT; kResponseBudgetExhausted UNAVAILABLE
//   GATEWAY_RESPONSE_BUDGET_EXHAUSTED, kOverloaded UNAVAILABLE
//   GATEWAY_OVERLOADED and kDraining UNAVAILABLE GATEWAY_DRAINING (these
//   three retry_later);
//   kInternal, and kNone (not an error: a caller bug), INTERNAL
//   GATEWAY_INTERNAL.
TransportErrorRow LookupTransportError(TransportError error);

// Why the gateway turned a call away on its tenant's behalf (--tenants_file;
// gateway/tenancy/), before any upstream attempt.
enum class TenantRefusal {
  kUnknownTenant,     // enterprise_id is in no tenant of the file
  kCallerNotAllowed,  // the mTLS caller is not in the tenant's allowed_callers
  kGateRateLimited,   // the tenant's gate is closed after a 429 Retry-After
  kGateUnavailable,   // the tenant's gate is closed after a 503 Retry-After
  kRequestRate,       // the tenant's requests_per_second bucket is empty
  kCircuitOpen,       // the tenant's circuit breaker is open
  kProbeInFlight,     // the gate or breaker lets one probe call through
                      // first; this call came while it runs
};

// What a TenantRefusal means. Every one but kUnknownTenant and
// kCallerNotAllowed carries RetryInfo.
struct TenantRefusalRow {
  grpc::StatusCode code;
  absl::string_view reason;  // ErrorInfo.reason
  absl::string_view text;    // the start of the status message
  bool retry_later;
};

// Returns the row for `refusal`:
//   kUnknownTenant     FAILED_PRECONDITION GATEWAY_UNKNOWN_TENANT
//   kCallerNotAllowed  PERMISSION_DENIED   GATEWAY_CALLER_NOT_ALLOWED
//   kGateRateLimited   RESOURCE_EXHAUSTED  GATEWAY_TENANT_RATE_LIMITED
//   kGateUnavailable   UNAVAILABLE         GATEWAY_TENANT_UNAVAILABLE
//   kRequestRate       RESOURCE_EXHAUSTED  GATEWAY_TENANT_QUOTA
//   kCircuitOpen       UNAVAILABLE         GATEWAY_CIRCUIT_OPEN
//   kProbeInFlight     UNAVAILABLE         GATEWAY_TENANT_PROBING
TenantRefusalRow LookupTenantRefusal(TenantRefusal refusal);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_ERROR_TABLE_H_
