// Which of a caller's gRPC metadata may reach the upstream as HTTP headers,
// and in what form. The gateway passes on three things from the caller:
//
//   - a request id (x-request-id), when it is sane; otherwise it makes one;
//   - W3C trace context (traceparent, tracestate), when it is well-formed;
//   - keys the operator allow-listed, unless they are never safe to forward.
//
// Example:
//
//   ForwardedMetadata forwarded = SelectForwardedMetadata(
//       {{"x-request-id", "req-1"}, {"x-tenant", "acme"}, {"cookie", "a"}},
//       /*allow_list=*/{"x-tenant"});
//   // forwarded.request_id    == "req-1"
//   // forwarded.trace_context is empty
//   // forwarded.allow_listed  == {{"x-tenant", "acme"}}
//
// Nothing here fails: metadata that breaks a rule is dropped (or, for the
// request id, replaced), never reported, because a caller's bad header must
// not fail its call.
//
// Thread-safe. Everything is pure apart from drawing random request ids;
// SelectForwardedMetadata draws from a generator of its own per thread.
#ifndef USERGATEWAY_GATEWAY_REQUEST_HEADER_POLICY_H_
#define USERGATEWAY_GATEWAY_REQUEST_HEADER_POLICY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

// Caller metadata as gRPC gives it: (key, value) pairs, keys lower-case, in
// the order received; a key may repeat.
using CallerMetadata = std::vector<std::pair<std::string, std::string>>;

// Whether SelectForwardedMetadata may use caller metadata `key`
// (lower-case): x-request-id, traceparent, tracestate, or a key in
// `allow_list` (compared ignoring ASCII case) that is not in the
// never-forwarded set (see SelectForwardedMetadata). Lets the service copy
// only those keys out of the call's metadata. The value is not looked at:
// SelectForwardedMetadata may still drop the pair.
bool IsMetadataKeyOfInterest(absl::string_view key,
                             absl::Span<const std::string> allow_list);

// Checks one key of the operator's allow-list (--forward_metadata) once, at
// start-up, so that a key that could never be forwarded, or must not be,
// fails fast instead of being dropped silently on every call. Valid: a
// gRPC metadata key (lower-case letters, digits, '-', '_', '.'; that is
// also an RFC 9110 token, so a valid header name) that is not in the
// never-forwarded set of SelectForwardedMetadata: not a pseudo-header,
// grpc-*, -bin, proxy-*, hop-by-hop or framing header, nor one the gateway
// sets itself (x-request-id, traceparent and tracestate included: they
// are always forwarded when sane). Returns OK, or kInvalidArgument whose
// message completes "entry \"<key>\" ..." (e.g. "is a hop-by-hop or framing
// header"); the caller names the flag and the entry.
absl::Status ValidateForwardMetadataKey(absl::string_view key);

// Returns a new random request id, a UUID version 4 in lower-case canonical
// form ("xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx", N one of 8 9 a b).
std::string NewUuidV4(absl::BitGenRef bitgen);

// What the caller's metadata contributes to the upstream request.
struct ForwardedMetadata {
  // For X-Request-Id: the caller's first x-request-id when it is 1 to 128
  // visible ASCII characters (0x21..0x7E), else a new NewUuidV4().
  std::string request_id;
  // Empty, or "traceparent" (the caller's first one) optionally followed by
  // "tracestate" (all the caller's values joined by ','). Both are left out
  // unless that first traceparent is a well-formed W3C Trace Context value:
  // version "-" trace-id "-" parent-id "-" trace-flags in lower-case hex,
  // exactly 55 characters for version 00 (a later version may append
  // "-..."), and neither version ff nor an all-zero trace-id or parent-id.
  // tracestate alone is left out, whole, when any of its values is unsafe
  // (see SelectForwardedMetadata) or the joined value passes 4096 bytes:
  // W3C lets a participant discard tracestate, never corrupt it.
  std::vector<Header> trace_context;
  // Each allow-listed pair the caller sent, in the caller's order, with the
  // key lower-cased.
  std::vector<Header> allow_listed;
};

// Applies the policy to `metadata` (keys are compared lower-cased).
// `allow_list` names the extra keys an operator wants forwarded, compared
// ignoring ASCII case. A listed pair is still dropped when its key is never
// forwarded: grpc-* keys, keys ending in -bin, pseudo-headers (":..."),
// hop-by-hop and framing headers (connection, keep-alive, proxy-*, te,
// trailer, transfer-encoding, upgrade, host, content-length), the headers
// the gateway sets itself (authorization, content-type, accept, user-agent,
// x-request-id, traceparent, tracestate), accept-encoding,
// content-encoding, expect and http2-settings (which would change how
// libcurl frames or decodes the exchange), and keys that are not RFC 9110
// tokens. It is also dropped when its value is unsafe: a control character
// other than HTAB (CR, LF, NUL, ...), a byte of 0x7F or above, or more than
// 4096 bytes (dropped, not truncated).
ForwardedMetadata SelectForwardedMetadata(
    const CallerMetadata& metadata, absl::Span<const std::string> allow_list);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_HEADER_POLICY_H_
