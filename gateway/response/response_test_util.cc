#include "gateway/response/response_test_util.h"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace usergateway {

bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      n = 0;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::ostream& operator<<(std::ostream& os, const BadBodyCase& c) {
  return os << c.name;
}

std::vector<BadBodyCase> BadBodyCases() {
  return {
      BadBodyCase{"empty", ""}, BadBodyCase{"whitespace", " \r\n\t"},
      BadBodyCase{"html",
                  "<html><body><h1>502 Bad Gateway</h1>"
                  "<p>message: secret</p></body></html>"},
      BadBodyCase{"plain_text", "Bad Gateway"},
      BadBodyCase{"truncated_in_string", R"({"message": "half)"},
      BadBodyCase{"truncated_after_value", R"({"message": "whole")"},
      BadBodyCase{"truncated_in_array", R"({"message": "m", "errors": ["a",)"},
      BadBodyCase{"missing_value", R"({"message": })"},
      BadBodyCase{"trailing_garbage", R"({"message": "m"} trailing)"},
      BadBodyCase{"two_objects", R"({"message": "m"}{"message": "n"})"},
      BadBodyCase{"array", R"(["message", "m"])"},
      BadBodyCase{"string", R"("message")"},
      BadBodyCase{"null", "null"}, BadBodyCase{"number", "502"},
      BadBodyCase{"invalid_utf8", "{\"message\": \"\xFF\xFE\"}"},
      BadBodyCase{"single_quotes", "{'message': 'm'}"},
      BadBodyCase{"deep_unbalanced", [] {
        std::string body;
        for (int i = 0; i < 3000; ++i) body += "{\"a\":";
        return body + "1" + std::string(10, '}');
      }()},
      BadBodyCase{"nested_truncated", R"({"first_name": {"a": {"b": ["x")"},
  };
}

}  // namespace usergateway
