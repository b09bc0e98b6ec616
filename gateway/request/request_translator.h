// Turns a validated UpdateUserProfileRequest into the one REST call the
// gateway makes: `PUT <base_url><path>` with body {"first_name":"..."}.
//
// Example:
//
//   TranslatorConfig config;
//   config.base_url = "https://acme-api.esper.cloud/api";
//   std::string request_id = RequestIdOf(metadata);  // first thing
//   ...
//   absl::StatusOr<UpstreamRequest> put = BuildUpstreamRequest(
//       request, config, api_key, metadata, request_id, deadline);
//   // put->url  == "https://acme-api.esper.cloud/api/authn2/v0/user/u-1"
//   // put->body == R"({"first_name":"Ada"})"
//   // put->request_id == request_id, also sent as X-Request-Id
//
// Run ValidateRequest (request_validator.h) first: the translator encodes
// whatever it is given but does not re-check the request's rules.
//
// This file assembles the parts; each rule lives in its own file:
//   path_template.h  the URL path: ValidatePathTemplate,
//                    PercentEncodePathSegment, placeholder expansion, and
//                    the refusal of "." and ".." segments.
//   header_policy.h  which caller metadata is forwarded: CallerMetadata,
//                    NewUuidV4, the never-forwarded set, trace context,
//                    ValidateForwardMetadataKey for the allow-list.
//   gateway/common/json_escape.h  the body's JSON string.
// Both headers are included here, so users of this file get their
// declarations too.
//
// Every function here is pure (apart from drawing a random request id) and
// thread-safe.
#ifndef USERGATEWAY_GATEWAY_REQUEST_REQUEST_TRANSLATOR_H_
#define USERGATEWAY_GATEWAY_REQUEST_REQUEST_TRANSLATOR_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/request/header_policy.h"  // IWYU pragma: export
#include "gateway/request/path_template.h"  // IWYU pragma: export
#include "gateway/upstream/upstream_types.h"
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
  // Sent as User-Agent. Must pass ValidateUserAgent (the config checks it at
  // start-up).
  std::string user_agent = "usergateway/0.1.0";
  // Extra caller metadata keys (lower-case) to forward as headers. The
  // config refuses at start-up a key that fails ValidateForwardMetadataKey
  // (header_policy.h); one that is never safe to forward (see
  // BuildUpstreamRequest) is ignored anyway if it gets here.
  std::vector<std::string> forward_metadata;
};

// The longest User-Agent ValidateUserAgent accepts.
inline constexpr size_t kMaxUserAgentBytes = 256;

// Checks a User-Agent once, at start-up: a bad one would be refused before
// sending (a CR or LF, by easy_transfer's CheckRequest) or sent malformed on
// every call. Valid: 1 to kMaxUserAgentBytes bytes of printable ASCII and
// spaces (0x20..0x7E), not starting or ending with a space. Returns OK, or
// kInvalidArgument saying what is wrong (without the value; the caller
// names the flag).
absl::Status ValidateUserAgent(absl::string_view user_agent);

// Checks a base URL once, where it is configured (--upstream_base_url, each
// tenant's base_url): https:// (or http:// when `allow_insecure_http`),
// with a host, and no query, fragment or whitespace. Returns OK, or
// kInvalidArgument whose message completes a sentence that starts with the
// setting's name ("is http://: the API key would travel in clear text;
// ...", "must start with https:// ...", "must be a URL with a host ...").
absl::Status ValidateBaseUrl(absl::string_view base_url,
                             bool allow_insecure_http);

// Whether BuildUpstreamRequest may use caller metadata `key` (lower-case):
// IsMetadataKeyOfInterest(key, config.forward_metadata) from
// header_policy.h, i.e. x-request-id, traceparent, tracestate, or an
// allow-listed key that is not in the never-forwarded set. Lets the service
// copy only those keys out of the call's metadata; BuildUpstreamRequest
// applies the same rule.
bool IsMetadataKeyOfInterest(absl::string_view key,
                             const TranslatorConfig& config);

// Returns the id of one call: the caller's first x-request-id when it is 1
// to 128 visible ASCII characters (0x21..0x7E), else a new UUIDv4 (the rule
// of ForwardedMetadata::request_id in header_policy.h). The service draws
// it as soon as a call arrives, so that every outcome (an invalid request
// or a refused key included) can quote it to the caller and in the log;
// it then passes it to BuildUpstreamRequest.
std::string RequestIdOf(const CallerMetadata& metadata);

// Builds the PUT for `request`:
//   url      base_url (trailing slashes dropped) + ExpandPathTemplate(
//            path_template, PathValuesOf(request)).
//   body     exactly {"first_name":"..."}; nothing else is sent.
//   headers  in this order:
//              Authorization: Bearer <api_key>
//              Content-Type: application/json
//              Accept: application/json
//              User-Agent: <config.user_agent>
//              X-Request-Id: `request_id` (RequestIdOf(metadata); a
//                caller's x-request-id in `metadata` is not looked at
//                again)
//              traceparent (the first one) and tracestate (all values
//                joined by ','), when the caller sent a well-formed
//                W3C traceparent; both are dropped otherwise, as W3C Trace
//                Context requires
//              each allow-listed key the caller sent, in the caller's order
//   request_id  `request_id`; deadline  `deadline`.
// `request_id` must be what RequestIdOf returned: it is sent as given.
// The caller's part (trace context, allow-listed keys) is
// SelectForwardedMetadata(metadata, config.forward_metadata), which spells
// out what is never forwarded, allow-listed or not (header_policy.h): grpc-*
// and -bin keys, pseudo-headers, hop-by-hop and framing headers, the
// headers the gateway sets itself, keys that are not HTTP tokens, and
// values with a control character other than HTAB, a non-ASCII byte, or
// more than 4096 bytes.
// Returns kInvalidArgument if `api_key` is empty or holds a byte outside
// visible ASCII 0x21..0x7E (such as a trailing newline from the key file;
// ApiKeySource never hands out such a key), or if ExpandPathTemplate
// refuses the path (a dot segment, or a placeholder-only segment left
// empty; ValidateRequest refuses both first). The message never includes
// the key or a field's value. Either error is the gateway's configuration
// or a skipped ValidateRequest, not the caller's fault: report it to the
// caller as INTERNAL, not INVALID_ARGUMENT.
absl::StatusOr<UpstreamRequest> BuildUpstreamRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const TranslatorConfig& config, absl::string_view api_key,
    const CallerMetadata& metadata, absl::string_view request_id,
    absl::Time deadline);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_REQUEST_TRANSLATOR_H_
