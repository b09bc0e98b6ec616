// Test helpers shared by the response stage's tests: an independent UTF-8
// check for sanitized text, and the upstream bodies that are not a JSON
// object (which the envelope parser must reject and the mapper must never
// echo). Test-only; stateless and thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_TEST_UTIL_H_
#define USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_TEST_UTIL_H_

#include <ostream>
#include <string>
#include <vector>

namespace usergateway {

// A strict UTF-8 check (RFC 3629: no overlong forms, surrogates or values
// past U+10FFFF), written independently of the sanitizer's own decoder.
bool IsValidUtf8(const std::string& s);

// An upstream body that is not one complete JSON object.
struct BadBodyCase {
  std::string name;  // a valid gtest parameter name
  std::string body;
};

std::ostream& operator<<(std::ostream& os, const BadBodyCase& c);

// Every kind of non-object body: empty, HTML, truncated, trailing content,
// other JSON types, invalid UTF-8, too deeply nested.
std::vector<BadBodyCase> BadBodyCases();

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_RESPONSE_TEST_UTIL_H_
