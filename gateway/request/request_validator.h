// Checks an UpdateUserProfileRequest before anything is sent upstream, so
// that a bad request costs no upstream call and the caller learns every
// problem at once (as a google.rpc.BadRequest built from the violations).
//
// Example:
//
//   std::vector<FieldViolation> violations =
//       ValidateRequest(request, RequestLimits{});
//   if (!violations.empty()) {
//     // INVALID_ARGUMENT with a BadRequest listing `violations`.
//   }
//
// The rules (ARCHITECTURE.md, "Request rules"):
//   enterprise_id  required; valid UTF-8; no control characters (C0, DEL,
//                  C1); at most `max_id_bytes` bytes; not "." or "..".
//   user_id        the same.
//   any field a path placeholder stands for (PathValuesOf in
//                  path_template.h: today enterprise_id and user_id), whether
//                  or not the configured template uses it: not "." or ".."
//                  (CheckPathValues). After percent-encoding such a value is
//                  still one path segment, but a client, proxy or server
//                  would resolve it as a dot-segment and change the route.
//   first_name     required; valid UTF-8; at most `max_first_name_chars`
//                  code points; no NUL. Other control characters are allowed
//                  (they are JSON-escaped). A first_name made only of
//                  whitespace counts as missing: the upstream is a Django
//                  REST Framework CharField, which strips whitespace (Python's
//                  str.strip, Unicode-aware) and then rejects a blank value,
//                  so sending it would only earn a 400 after a round trip.
//
// Protobuf already refuses invalid UTF-8 in proto3 `string` fields when it
// parses, but a request built in-process never went through the parser, so
// the check is repeated here.
#ifndef USERGATEWAY_GATEWAY_REQUEST_REQUEST_VALIDATOR_H_
#define USERGATEWAY_GATEWAY_REQUEST_REQUEST_VALIDATOR_H_

#include <cstddef>
#include <vector>

#include "gateway/common/field_violation.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {

// Limits on request fields; plain configuration, copied freely.
struct RequestLimits {
  // Unicode code points; 150 is the upstream framework's max_length.
  size_t max_first_name_chars = 150;
  // Bytes, for enterprise_id and user_id. Bounds the URL the gateway builds.
  size_t max_id_bytes = 256;
};

// Returns every violation of the rules above, at most one per field and rule,
// in field order (enterprise_id, user_id, first_name); empty when the request
// is valid. A missing field yields only its "is required" violation. A
// field's dot-segment violation comes before its other ones.
// Descriptions never echo the field's value. Thread-safe (a pure function).
std::vector<FieldViolation> ValidateRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const RequestLimits& limits);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_REQUEST_VALIDATOR_H_
