// Writes a usergateway.v1.User back in the upstream's JSON shape (the 200
// body of PUT /authn2/v0/user/{user_id}), for the response parser's
// round-trip property: ParseUser(WriteUpstreamUserJson(u)) gives u again.
//
// The shape is the proto's, by reflection, under each field's JSON name
// (so `emm_enabled` is written "has_emm"): integers as JSON integers (not
// the strings protobuf's own JSON mapping uses for int64), booleans, strings
// escaped with AppendJsonString, messages as objects, `groups` as an array.
// Unset fields are left out. Enum fields are left out: `role_enum` is not
// sent by the upstream, the parser derives it from `role`.
//
// Example:
//
//   const std::string body = WriteUpstreamUserJson(user);
//
// Pure function; thread-safe.
#ifndef USERGATEWAY_TESTS_FUZZ_USER_JSON_WRITER_H_
#define USERGATEWAY_TESTS_FUZZ_USER_JSON_WRITER_H_

#include <string>

#include "google/protobuf/message.h"

namespace usergateway {
namespace fuzz {

// Returns `message` (a User or one of its sub-messages) as a JSON object.
std::string WriteUpstreamUserJson(const google::protobuf::Message& message);

}  // namespace fuzz
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_FUZZ_USER_JSON_WRITER_H_
