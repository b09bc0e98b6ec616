// UTF-8 decoding shared by validation, JSON escaping and message
// sanitizing, so that all three agree on what valid UTF-8 is.
#ifndef USERGATEWAY_GATEWAY_COMMON_UTF8_H_
#define USERGATEWAY_GATEWAY_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace usergateway {

// Decodes the UTF-8 sequence that starts at text[i] (i < text.size()) into
// *code_point and returns its length in bytes (1 to 4). Returns 0, leaving
// *code_point unspecified, when the bytes there are not valid UTF-8: a bad
// lead byte, a truncated sequence, an overlong form, a surrogate or a value
// past U+10FFFF (RFC 3629 section 4).
size_t DecodeUtf8(absl::string_view text, size_t i, char32_t* code_point);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_UTF8_H_
