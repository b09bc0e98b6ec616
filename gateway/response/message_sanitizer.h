// Makes untrusted text (an upstream's error message, a libcurl error, a
// caller's field description) fit for a gRPC status message: valid UTF-8,
// one line, no credentials, bounded in size.
//
// Example:
//
//   status.set_message(SanitizeMessage(envelope.message.value_or("")));
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_MESSAGE_SANITIZER_H_
#define USERGATEWAY_GATEWAY_RESPONSE_MESSAGE_SANITIZER_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace usergateway {

// The longest status message, in bytes, "…" marker included.
inline constexpr size_t kMaxMessageBytes = 512;

// Returns `text` fit for a status message: invalid UTF-8 replaced by U+FFFD,
// control characters (C0, DEL, C1, U+2028/9) turned into spaces, runs of
// whitespace collapsed and the ends trimmed, the token after any "Bearer"
// (any case, at a word start) replaced by "[REDACTED]", and the result cut
// to at most `max_bytes` on a character boundary, ending in "…" when cut.
// `max_bytes` must be >= 3 (smaller values are treated as 3). Only a bounded
// prefix of a huge `text` is examined, so the cost is O(max_bytes).
std::string SanitizeMessage(absl::string_view text,
                            size_t max_bytes = kMaxMessageBytes);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_MESSAGE_SANITIZER_H_
