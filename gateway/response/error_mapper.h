// The one place where an upstream outcome (or invalid caller input) becomes
// a gRPC status: the table in ARCHITECTURE.md "Error mapping". The rows of
// that table live in error_table.h, the wire encoding in status_details.h;
// this file decides, per outcome, the reason, message and details.
//
// Every status made here carries, in grpc::Status::error_details(), a
// serialized google.rpc.Status with the same code and message and these
// details (see status_details.h):
//   - google.rpc.ErrorInfo, always: reason (e.g. "UPSTREAM_NOT_FOUND"),
//     domain kErrorDomain, metadata:
//       "attempts"         HTTP attempts made, always ("0" if none);
//       "http_status"      the last response's status, when there was one;
//       "upstream_status"  the envelope's "status", when present;
//       "upstream_code"    the envelope's "code", when present;
//       "upstream_message", "upstream_error", "upstream_detail"
//                          the envelope's "message", "error", "detail",
//                          each when it has visible text;
//       "upstream_errors"  the envelope's "errors" entries joined "; ",
//                          when one has visible text;
//       "transport_error"  TransportErrorName(), when not kNone;
//       "retry_after_ms"   the delay RetryInfo carries, when it is attached;
//       "credentials"      "gateway_api_key" on 401 (callers send none).
//     The upstream_* texts are sanitized, redacted and cut to
//     kMaxUpstreamMetadataBytes.
//   - google.rpc.BadRequest, for invalid caller input and for an upstream
//     400/422 whose envelope names fields: DRF's {"field": ["text"]}, and an
//     "error", "detail" or "errors" entry that starts "field: text" or with
//     a request field and a space ("first_name may not be blank").
//   - google.rpc.RetryInfo, when a retry makes sense and a delay is known:
//     429/502/503 with Retry-After, and gateway overload/draining.
// Messages are sanitized (message_sanitizer.h): valid UTF-8, no control
// characters, no "Bearer <token>", at most kMaxMessageBytes.
//
// No secret reaches a caller. The functions that read upstream text take
// the secrets in use (the API key) and redact them (secret_redactor.h:
// every exact occurrence, and every piece of at least
// kMinSecretFragmentBytes) from every upstream-derived text the status
// carries: the message, every BadRequest field and description, every
// ErrorInfo metadata value, and `result.error_detail`; always before any
// text is cut to its length limit.
//
// This header also makes available, for the callers of the functions
// below, DecodeStatusDetails and kErrorDomain (status_details.h),
// SanitizeMessage and kMaxMessageBytes (message_sanitizer.h), and
// ParseErrorEnvelope and ErrorEnvelope (error_envelope.h).
//
// Example:
//
//   client.Start(std::move(request), [reactor](UpstreamResult r) {
//     if (r.error != TransportError::kNone || r.http_status / 100 != 2) {
//       reactor->Finish(MapUpstreamFailure(r, {*api_key}));
//       return;
//     }
//     ...
//   });
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_ERROR_MAPPER_H_
#define USERGATEWAY_GATEWAY_RESPONSE_ERROR_MAPPER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/common/field_violation.h"
#include "absl/time/time.h"
#include "gateway/response/error_envelope.h"     // IWYU pragma: export
#include "gateway/response/error_table.h"        // IWYU pragma: export
#include "gateway/response/message_sanitizer.h"  // IWYU pragma: export
#include "gateway/response/status_details.h"     // IWYU pragma: export
#include "gateway/upstream/upstream_types.h"
#include "grpcpp/support/status.h"

namespace usergateway {

// The longest ErrorInfo metadata value taken from an upstream envelope
// ("upstream_message" and the like), in bytes, "…" marker included.
inline constexpr size_t kMaxUpstreamMetadataBytes = 256;

// Maps a failed upstream outcome: `result.error != kNone`, or an HTTP
// status that is not 2xx. Returns the code and reason of the row in
// error_table.h; for an HTTP status (the primary signal: the envelope's own
// status/code never changes the code):
//   400, 422  INVALID_ARGUMENT    UPSTREAM_INVALID_ARGUMENT (+BadRequest)
//   401       UNAUTHENTICATED     UPSTREAM_UNAUTHENTICATED
//   403       PERMISSION_DENIED   UPSTREAM_PERMISSION_DENIED
//   404       NOT_FOUND           UPSTREAM_NOT_FOUND
//   408       UNAVAILABLE         UPSTREAM_REQUEST_TIMEOUT
//   409       ABORTED             UPSTREAM_CONFLICT
//   412       FAILED_PRECONDITION UPSTREAM_PRECONDITION_FAILED
//   429       RESOURCE_EXHAUSTED  UPSTREAM_RATE_LIMITED (+RetryInfo)
//   499       CANCELLED           UPSTREAM_CLIENT_CLOSED_REQUEST
//   500       INTERNAL            UPSTREAM_INTERNAL_ERROR
//   501       UNIMPLEMENTED       UPSTREAM_NOT_IMPLEMENTED
//   502, 503  UNAVAILABLE         UPSTREAM_UNAVAILABLE (+RetryInfo)
//   504       DEADLINE_EXCEEDED   UPSTREAM_GATEWAY_TIMEOUT
//   other     UNKNOWN             UPSTREAM_UNEXPECTED_STATUS
//   2xx, or no response and no transport error (a caller bug):
//             INTERNAL            GATEWAY_INTERNAL
// and for transport errors (taking precedence over any http_status):
//   kDns UPSTREAM_DNS_FAILURE, kConnect UPSTREAM_CONNECT_FAILURE,
//   kConnectionReset UPSTREAM_CONNECTION_RESET, kTlsHandshake
//   UPSTREAM_TLS_HANDSHAKE_FAILURE, kTlsUntrusted UPSTREAM_TLS_UNTRUSTED,
//   kHttp2 UPSTREAM_HTTP2_ERROR, kProtocol UPSTREAM_PROTOCOL_ERROR: all
//   UNAVAILABLE; kDeadlineExceeded DEADLINE_EXCEEDED DEADLINE_EXCEEDED;
//   kCancelled CANCELLED CALLER_CANCELLED; kResponseTooLarge INTERNAL
//   UPSTREAM_RESPONSE_TOO_LARGE; kResponseHeadersTooLarge INTERNAL
//   UPSTREAM_RESPONSE_HEADERS_TOO_LARGE; kAttemptTimeout UNAVAILABLE
//   UPSTREAM_ATTEMPT_TIMEOUT; kResponseBudgetExhausted UNAVAILABLE
//   GATEWAY_RESPONSE_BUDGET_EXHAUSTED (+RetryInfo); kOverloaded UNAVAILABLE
//   GATEWAY_OVERLOADED (+RetryInfo); kDraining UNAVAILABLE GATEWAY_DRAINING
//   (+RetryInfo); kInternal INTERNAL GATEWAY_INTERNAL.
// RetryInfo for 429/502/503 needs `result.retry_after`; for overload and
// draining it falls back to kDefaultOverloadRetryDelay.
// The message keeps everything the envelope says: its texts in the order
// "message", "error", "detail", each "errors" entry, each field error (as
// "field: text"), those with visible text after sanitizing, each once (a
// text equal to an earlier one, ignoring ASCII case, is dropped); the first,
// then ": ", then the others joined "; ":
//   {"message": "Validation failed", "errors": ["first_name: Too long."]}
//     "Validation failed: first_name: Too long."
//   {"status": 400, "error": "first_name may not be blank",
//    "message": "Bad Request"}
//     "Bad Request: first_name may not be blank"
// With no such text, a generic text ("upstream returned HTTP 502 (Bad
// Gateway)"); a non-JSON body is never echoed. A 401 message starts
// "upstream rejected the gateway's API key: ". Transport messages are a
// generic text plus `error_detail`. Every message is then sanitized and cut
// to kMaxMessageBytes.
// `secrets` (the API key in use; empty strings ignored) are redacted from
// all of it, see above.
grpc::Status MapUpstreamFailure(const UpstreamResult& result,
                                absl::Span<const std::string> secrets = {});

// For a 2xx whose body failed to parse. Returns INTERNAL, reason
// UPSTREAM_MALFORMED_RESPONSE, with `parse_error` (the response parser's
// value-free explanation), `secrets` redacted, in the message.
grpc::Status MalformedResponseStatus(
    const UpstreamResult& result, absl::string_view parse_error,
    absl::Span<const std::string> secrets = {});

// For invalid caller input (no upstream call was made). Returns
// INVALID_ARGUMENT, reason INVALID_REQUEST, with a BadRequest holding every
// violation and a message listing them ("invalid request: user_id: ...").
grpc::Status InvalidRequestStatus(
    const std::vector<FieldViolation>& violations);

// For a call the gateway turned away on its tenant's behalf (no upstream
// attempt). Returns LookupTenantRefusal(refusal)'s code and reason, the
// row's text then ": " and `detail` (the gateway's own words) as message,
// ErrorInfo metadata "attempts" = "0" and "tenant" = `tenant` (the
// tenant's name from the tenants file, or for kUnknownTenant empty: the
// enterprise_id is the caller's own input and not echoed), and RetryInfo
// with `retry_delay` (at least 1 ms) for the rows that retry later.
grpc::Status TenantRefusalStatus(TenantRefusal refusal,
                                 absl::string_view tenant,
                                 absl::string_view detail,
                                 absl::Duration retry_delay);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_ERROR_MAPPER_H_
