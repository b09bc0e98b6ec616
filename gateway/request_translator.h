// Turns a validated UpdateUserProfileRequest into the one REST call the
// gateway makes: `PUT <base_url><path>` with body {"first_name":"..."}.
//
// Example:
//
//   TranslatorConfig config;
//   config.base_url = "https://acme-api.esper.cloud/api";
//   absl::StatusOr<UpstreamRequest> put = BuildUpstreamRequest(
//       request, config, api_key, metadata, deadline);
//   // put->url  == "https://acme-api.esper.cloud/api/authn2/v0/user/u-1"
//   // put->body == R"({"first_name":"Ada"})"
//
// Run ValidateRequest (request_validator.h) first: the translator encodes
// whatever it is given but does not re-check the request's rules.
//
// Every function here is pure (apart from drawing a random request id) and
// thread-safe.
#ifndef USERGATEWAY_GATEWAY_REQUEST_TRANSLATOR_H_
#define USERGATEWAY_GATEWAY_REQUEST_TRANSLATOR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/upstream_types.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {

// How requests are translated; plain configuration, validated at start-up
// (ValidatePathTemplate) and then shared read-only.
struct TranslatorConfig {
  // Scheme, host and base path, e.g. "https://acme-api.esper.cloud/api".
  // A trailing slash is optional; it is dropped before the path is appended.
  std::string base_url;
  // The path after base_url. Placeholders {user_id} and {enterprise_id} are
  // replaced by the request's fields, each percent-encoded as one segment.
  std::string path_template = "/authn2/v0/user/{user_id}";
  // Sent as User-Agent.
  std::string user_agent = "usergateway/0.1.0";
  // Extra caller metadata keys (lower-case) to forward as headers. Keys that
  // are never safe to forward (see BuildUpstreamRequest) are ignored even
  // when listed here.
  std::vector<std::string> forward_metadata;
};

// Checks a path template once, at start-up, so that a bad flag fails fast
// instead of on every call. A valid template starts with '/', contains
// {user_id}, has no placeholder other than {user_id} and {enterprise_id}, no
// unbalanced '{' or '}', no '?' or '#' (the template is a path, not a query),
// and otherwise only characters RFC 3986 allows in a path (unreserved,
// sub-delims, ':', '@', '/', and '%' followed by two hex digits).
// Returns OK, or kInvalidArgument naming the problem.
absl::Status ValidatePathTemplate(absl::string_view path_template);

// Returns `segment` with every byte outside the RFC 3986 unreserved set
// (ALPHA DIGIT - . _ ~) percent-encoded with upper-case hex, so that the
// result is exactly one path segment: "a/b" -> "a%2Fb", "é" -> "%C3%A9".
std::string PercentEncodePathSegment(absl::string_view segment);

// Appends `text` to *out as a JSON string literal, quotes included: '"' and
// '\\' are escaped, control characters below 0x20 use the short forms \b \f
// \n \r \t or else \u00XX, DEL becomes \u007f, and U+2028 / U+2029 become
// \u2028 / \u2029 (they end lines in JavaScript before ES2019). Other valid
// UTF-8 is copied verbatim. A byte that is not part of valid UTF-8 becomes
// U+FFFD, so that the output is always valid JSON (RFC 8259 requires UTF-8).
void AppendJsonString(absl::string_view text, std::string* out);

// Caller metadata as gRPC gives it: (key, value) pairs, keys lower-case, in
// the order received; a key may repeat.
using CallerMetadata = std::vector<std::pair<std::string, std::string>>;

// Whether BuildUpstreamRequest may use caller metadata `key` (lower-case):
// x-request-id, traceparent, tracestate, or an allow-listed key that is not
// in the never-forwarded set below. Lets the service copy only those keys
// out of the call's metadata; BuildUpstreamRequest applies the same rule.
bool IsMetadataKeyOfInterest(absl::string_view key,
                             const TranslatorConfig& config);

// Returns a new random request id, a UUID version 4 in lower-case canonical
// form ("xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx", N one of 8 9 a b).
std::string NewUuidV4(absl::BitGenRef bitgen);

// Builds the PUT for `request`:
//   url      base_url + path_template with placeholders substituted.
//   body     exactly {"first_name":"..."}; nothing else is sent.
//   headers  in this order:
//              Authorization: Bearer <api_key>
//              Content-Type: application/json
//              Accept: application/json
//              User-Agent: <config.user_agent>
//              X-Request-Id: the caller's x-request-id when it is 1 to 128
//                visible ASCII characters (0x21..0x7E), else a new UUIDv4
//              traceparent (the first one) and tracestate (all values
//                joined by ','), when the caller sent a well-formed
//                W3C traceparent; both are dropped otherwise, as W3C Trace
//                Context requires
//              each allow-listed key the caller sent, in the caller's order
//   request_id  the X-Request-Id value; deadline  `deadline`.
// Never forwarded, allow-listed or not: grpc-* keys, keys ending in -bin,
// pseudo-headers, hop-by-hop and framing headers (connection, keep-alive,
// proxy-*, te, trailer, transfer-encoding, upgrade, host, content-length),
// the headers the gateway sets itself (authorization, content-type, accept,
// user-agent, x-request-id, traceparent, tracestate), keys that are not
// HTTP tokens (plus accept-encoding, content-encoding, expect and
// http2-settings, which would change how libcurl frames or decodes the
// exchange), and values that hold a control character other than HTAB (CR,
// LF, NUL, ...), a non-ASCII byte, or more than 4096 bytes.
// Returns kInvalidArgument only if `api_key` is empty or holds a control
// character (such as a trailing newline from the key file); the message
// never includes the key. That error is the gateway's configuration, not the
// caller's fault: report it to the caller as INTERNAL, not INVALID_ARGUMENT.
absl::StatusOr<UpstreamRequest> BuildUpstreamRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const TranslatorConfig& config, absl::string_view api_key,
    const CallerMetadata& metadata, absl::Time deadline);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_TRANSLATOR_H_
