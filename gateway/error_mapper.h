// The one place where an upstream outcome (or invalid caller input) becomes
// a gRPC status: the table in ARCHITECTURE.md "Error mapping".
//
// Every status made here carries, in grpc::Status::error_details(), a
// serialized google.rpc.Status with the same code and message and these
// details:
//   - google.rpc.ErrorInfo, always: reason (e.g. "UPSTREAM_NOT_FOUND"),
//     domain kErrorDomain, metadata:
//       "attempts"         HTTP attempts made, always ("0" if none);
//       "http_status"      the last response's status, when there was one;
//       "upstream_status"  the envelope's "status", when present;
//       "upstream_code"    the envelope's "code", when present;
//       "transport_error"  TransportErrorName(), when not kNone;
//       "retry_after_ms"   the delay RetryInfo carries, when it is attached;
//       "credentials"      "gateway_api_key" on 401 (callers send none).
//   - google.rpc.BadRequest, for invalid caller input and for an upstream
//     400/422 whose envelope named fields (DRF's {"field": ["text"]}).
//   - google.rpc.RetryInfo, when a retry makes sense and a delay is known:
//     429/502/503 with Retry-After, and gateway overload/draining.
// Messages are sanitized: valid UTF-8, no control characters, no
// "Bearer <token>", at most kMaxMessageBytes.
//
// Example:
//
//   client.Start(std::move(request), [reactor](UpstreamResult r) {
//     if (r.error != TransportError::kNone || r.http_status / 100 != 2) {
//       reactor->Finish(MapUpstreamFailure(r));
//       return;
//     }
//     ...
//   });
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_ERROR_MAPPER_H_
#define USERGATEWAY_GATEWAY_ERROR_MAPPER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/field_violation.h"
#include "gateway/upstream_types.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace usergateway {

// ErrorInfo.domain of every status this gateway makes.
inline constexpr absl::string_view kErrorDomain = "usergateway.v1";

// The longest status message, in bytes, "…" marker included.
inline constexpr size_t kMaxMessageBytes = 512;

// The longest BadRequest field path taken from an upstream envelope.
inline constexpr size_t kMaxFieldPathBytes = 128;

// The RetryInfo delay for gateway overload/draining when none is known.
inline constexpr absl::Duration kDefaultOverloadRetryDelay = absl::Seconds(1);

// Caps on how many `errors` and `field_errors` entries are kept.
inline constexpr size_t kMaxEnvelopeEntries = 32;

// The upstream's generic error envelope, parsed leniently: fields of an
// unexpected type are left unset, never an error. Strings are as received
// (unsanitized); the mapper sanitizes what it puts in a status.
struct ErrorEnvelope {
  std::optional<int64_t> status;       // "status" (integer or digit string)
  std::optional<int64_t> code;         // "code" (integer or digit string)
  std::optional<std::string> error;    // "error"
  // "errors" string entries (objects contribute their "message"/"detail"),
  // then DRF "non_field_errors" entries. At most kMaxEnvelopeEntries.
  std::vector<std::string> errors;
  std::optional<std::string> message;  // "message"
  std::optional<std::string> detail;   // DRF "detail"
  // DRF validation shape: any other key whose value is an array of strings,
  // e.g. {"first_name": ["This field may not be blank."]}, one violation per
  // string; nested objects give dotted paths ("profile.role"), up to 3
  // levels. At most kMaxEnvelopeEntries.
  std::vector<FieldViolation> field_errors;
  // The body was one complete, valid JSON object. When false every other
  // field is unset: a truncated or non-JSON body is not trusted at all.
  bool is_json = false;
};

// Parses an upstream error body. Never fails: an empty, non-JSON (HTML),
// truncated or non-object body gives an envelope with is_json=false. Uses a
// local simdjson on-demand parser over a padded copy of `body` (error paths
// are cold; the copy keeps this independent of the caller's buffer).
ErrorEnvelope ParseErrorEnvelope(absl::string_view body);

// Maps a failed upstream outcome: `result.error != kNone`, or an HTTP
// status that is not 2xx. Returns (HTTP status is the primary signal; the
// envelope's own status/code never changes the code):
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
//   UPSTREAM_RESPONSE_TOO_LARGE; kOverloaded UNAVAILABLE GATEWAY_OVERLOADED
//   (+RetryInfo); kDraining UNAVAILABLE GATEWAY_DRAINING (+RetryInfo);
//   kInternal INTERNAL GATEWAY_INTERNAL.
// The message is the envelope's "message", else "error", else "detail",
// else the joined "errors", else the joined field errors, else a generic
// text ("upstream returned HTTP 502 (Bad Gateway)"); a non-JSON body is
// never echoed. A 401 message starts "upstream rejected the gateway's API
// key: ". Transport messages are a generic text plus `error_detail`.
grpc::Status MapUpstreamFailure(const UpstreamResult& result);

// For a 2xx whose body failed to parse. Returns INTERNAL, reason
// UPSTREAM_MALFORMED_RESPONSE, with `parse_error` (the response parser's
// value-free explanation) in the message.
grpc::Status MalformedResponseStatus(const UpstreamResult& result,
                                     absl::string_view parse_error);

// For invalid caller input (no upstream call was made). Returns
// INVALID_ARGUMENT, reason INVALID_REQUEST, with a BadRequest holding every
// violation and a message listing them ("invalid request: user_id: ...").
grpc::Status InvalidRequestStatus(const std::vector<FieldViolation>& violations);

// Decodes the details of a status made here. Returns false when `status`
// has no details, they do not parse, or their code differs from the
// status's code.
bool DecodeStatusDetails(const grpc::Status& status, google::rpc::Status* out);

// Returns `text` fit for a status message: invalid UTF-8 replaced by U+FFFD,
// control characters (C0, DEL, C1, U+2028/9) turned into spaces, runs of
// whitespace collapsed and the ends trimmed, the token after any "Bearer"
// replaced by "[REDACTED]", and the result cut to at most `max_bytes` on a
// character boundary, ending in "…" when cut. `max_bytes` must be >= 3.
std::string SanitizeMessage(absl::string_view text,
                            size_t max_bytes = kMaxMessageBytes);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_ERROR_MAPPER_H_
