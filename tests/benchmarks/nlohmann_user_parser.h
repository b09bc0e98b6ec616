// The baseline for //tests/benchmarks:parser_benchmark: the upstream's 200
// body decoded into a usergateway::v1::User with nlohmann::json (DOM parse,
// then one find() per known key), the way a team without simdjson would
// write it. It exists so that ResponseParser's speed is measured against
// equal work: nlohmann_user_parser_test asserts that both produce identical
// protos for every fixture user and for the edge cases of the decoding rules.
//
// Example:
//
//   usergateway::v1::User user;
//   absl::Status status = NlohmannParseUser(body, &user);
//
// Decoding rules are ResponseParser's (see gateway/response/response_parser.h):
// top-level object only, no trailing content, unknown keys ignored, a
// missing key or `null` leaves the field (or sub-message, or groups) unset,
// integers must be JSON integers within int64, a wrong type is an error
// naming the field's path, `profile.role` fills both `role` and `role_enum`.
// Two differences, both inherent to a DOM parser: duplicate keys collapse
// to the last one before any field is read (so a bad value under an earlier
// duplicate is not reported), and values of unknown keys are fully
// validated (`{"unknown": tru}` is rejected).
//
// Error messages name paths and JSON types, never field values.
#ifndef USERGATEWAY_TESTS_BENCHMARKS_NLOHMANN_USER_PARSER_H_
#define USERGATEWAY_TESTS_BENCHMARKS_NLOHMANN_USER_PARSER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {

// Parses `body` into `*user` (cleared first). Stateless and thread-safe: each
// call builds and frees its own nlohmann::json tree.
//
// Returns OK, or kInvalidArgument: "body is empty", "body is not valid
// JSON", "expected a JSON object at the top level, got <type>", or
// "<path>: expected <what>, got <type>" / "<path>: integer out of range".
// On error `*user` is cleared.
absl::Status NlohmannParseUser(absl::string_view body,
                               usergateway::v1::User* user);

}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_BENCHMARKS_NLOHMANN_USER_PARSER_H_
