// Turns the upstream's 2xx JSON body (the user object of
// `PUT /authn2/v0/user/{user_id}`) into a usergateway::v1::User, with
// simdjson's on-demand API and no exceptions.
//
// Example:
//
//   ResponseParser parser;  // one per event-loop thread
//   usergateway::v1::User user;
//   absl::Status status = parser.ParseUser(result.body, &user);
//   if (!status.ok()) {
//     // INVALID_ARGUMENT, e.g. "profile.groups[1].device_count: expected an
//     // integer, got a string". The error mapper reports it as INTERNAL
//     // (UPSTREAM_MALFORMED_RESPONSE): the upstream, not the caller, erred.
//   }
//
// Decoding rules:
//   - The top-level value must be an object; anything after it but
//     whitespace is an error.
//   - Unknown keys are ignored at any depth, whatever their value.
//   - A missing key or `null` leaves the field unset; for the messages
//     `profile`, `emm` and `emm.authentication_token` the sub-message is not
//     set, for `profile.groups` the list is empty.
//   - A known key with a value of the wrong JSON type is an error naming the
//     key's path: integers must be JSON integers within int64 (`1.0` and
//     `1e2` are not; 9223372036854775808 is "integer out of range"), booleans
//     `true`/`false`, strings JSON strings, messages objects, `groups` an
//     array of objects (a `null` element is an error, not a skipped group).
//   - Strings are fully unescaped (`\u00e9`, surrogate pairs); an invalid
//     escape or an unpaired surrogate is an error.
//   - Duplicate keys: the LAST occurrence wins, entirely (a repeated
//     `profile` replaces the first one, it does not merge with it; a later
//     `null` unsets an earlier value).
//   - `profile.role` keeps the raw text in `role` and the matching enum in
//     `role_enum` (ROLE_UNSPECIFIED for text this version does not know).
//
// Known limit of on-demand parsing: values of unknown keys are skipped, not
// validated beyond simdjson's structural pass (UTF-8, string quoting,
// bracket counting), so `{"unknown": tru}` is accepted. Every value the
// gateway reads is validated in full.
//
// Error messages never contain field values or unknown keys (the body holds
// secret tokens), only paths of known fields, JSON type names and simdjson's
// fixed error texts.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_PARSER_H_
#define USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_PARSER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {

// Parses the upstream's 200 body into a User. Owns one simdjson on-demand
// parser, reused across calls, and a scratch buffer for bodies that lack
// padding; both keep the capacity of the largest body seen (bounded by the
// gateway's response size limit).
//
// Not thread-safe: one instance per event-loop thread. Movable, not
// copyable.
class ResponseParser {
 public:
  ResponseParser();

  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;
  ResponseParser(ResponseParser&&) = default;
  ResponseParser& operator=(ResponseParser&&) = default;

  // Parses `body` into `*user` (cleared first). If
  // body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING it parses in
  // place (no copy; `body` is only read); otherwise it copies into a padded
  // buffer.
  //
  // Returns OK, or kInvalidArgument with a message naming the first problem
  // and, inside the object, the JSON path, e.g.
  // "profile.groups[1].device_count: expected an integer, got a string",
  // "body is empty", "body is not valid JSON: ...",
  // "trailing content after the JSON document",
  // "expected a JSON object at the top level, got an array".
  // kResourceExhausted if the parser cannot allocate its buffers.
  // On error `*user` is cleared. Messages never contain field values.
  absl::Status ParseUser(const std::string& body, usergateway::v1::User* user);

  // As above, but always copies `body` into a padded buffer first.
  absl::Status ParseUser(absl::string_view body, usergateway::v1::User* user);

  // Maps the raw role text to the enum (exact, case-sensitive match of the
  // six documented names); ROLE_UNSPECIFIED for unknown text.
  static usergateway::v1::Role RoleFromText(absl::string_view text);

 private:
  // Parses `size` bytes at `data`, followed by at least
  // simdjson::SIMDJSON_PADDING readable bytes (`allocated` in total).
  absl::Status ParsePadded(const char* data, size_t size, size_t allocated,
                           usergateway::v1::User* user);

  simdjson::ondemand::parser parser_;
  // Holds a copy of an unpadded body plus zeroed padding; reused.
  std::string scratch_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_PARSER_H_
