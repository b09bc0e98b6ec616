// Independent checks of text the gateway produces, for the fuzz targets'
// properties. They are written from the standards (RFC 3629 for UTF-8),
// not from the gateway's own helpers, so
// that a target does not check the gateway against itself.
//
// Example:
//
//   FUZZ_CHECK(IsValidUtf8(message), Quote(message));
//   FUZZ_CHECK(!FindSecretPiece(message, key).has_value(), "key leaked");
//
// Pure functions; thread-safe.
#ifndef USERGATEWAY_TESTS_FUZZ_TEXT_PROPERTIES_H_
#define USERGATEWAY_TESTS_FUZZ_TEXT_PROPERTIES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace usergateway {
namespace fuzz {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Whether `text` (valid UTF-8) holds a character a one-line status message
// must not: C0 controls, DEL, C1 controls (U+0080..U+009F), U+2028, U+2029.
bool HasControlCharacter(absl::string_view text);

// The first piece of `secret` at least `min_bytes` long (or all of it, when
// it is shorter) that occurs in `text`; nullopt when none does.
std::optional<std::string> FindSecretPiece(absl::string_view text,
                                           absl::string_view secret,
                                           size_t min_bytes = 8);

// Splits `data` at NUL bytes, as /proc/self/cmdline and /proc/self/environ
// are: "a\0b\0" and "a\0b" both give {"a", "b"}; "" gives {}.
std::vector<std::string> SplitAtNul(absl::string_view data);

}  // namespace fuzz
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_FUZZ_TEXT_PROPERTIES_H_
