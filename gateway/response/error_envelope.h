// The upstream's error body ("envelope"), read leniently so that the error
// mapper can pick a message and field violations out of it. The body may
// be the documented {"errors": [], "message": "...", "status": 400}, a
// Django REST Framework shape ({"detail": "..."}, {"field": ["text"]}), a
// proxy's HTML error page, or nothing at all.
//
// Example:
//
//   const ErrorEnvelope env = ParseErrorEnvelope(result.body);
//   if (env.message.has_value()) ...
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_ERROR_ENVELOPE_H_
#define USERGATEWAY_GATEWAY_RESPONSE_ERROR_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gateway/common/field_violation.h"

namespace usergateway {

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
// truncated or non-object body, or an object followed by more content,
// gives an envelope with is_json=false and nothing else set. Uses a local
// simdjson on-demand parser over a padded copy of `body` (error paths are
// cold; the copy keeps this independent of the caller's buffer).
ErrorEnvelope ParseErrorEnvelope(absl::string_view body);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_ERROR_ENVELOPE_H_
