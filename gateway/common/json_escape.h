// JSON string literals, escaped exactly: the request body the gateway sends
// upstream and every JSON log line are built with AppendJsonString.
//
// Example:
//
//   std::string body = "{\"first_name\":";
//   AppendJsonString(first_name, &body);
//   body.push_back('}');
//
// Pure functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_H_
#define USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace usergateway {

// Appends `text` to *out as a JSON string literal, quotes included: '"' and
// '\\' are escaped, control characters below 0x20 use the short forms \b \f
// \n \r \t or else \u00XX, DEL becomes \u007f, and U+2028 / U+2029 become
// \u2028 / \u2029 (they end lines in JavaScript before ES2019). Other valid
// UTF-8 is copied verbatim. A byte that is not part of valid UTF-8 becomes
// U+FFFD, so that the output is always valid JSON (RFC 8259 requires UTF-8).
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_H_
