// The table of AppendJsonString cases shared by its own test and by the
// request translator's body test (which also decodes each body back).
#ifndef USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_CASES_H_
#define USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_CASES_H_

#include <ostream>
#include <string>
#include <vector>

namespace usergateway {

struct JsonCase {
  std::string name;
  std::string text;
  std::string literal;  // what AppendJsonString appends
};

// Names the case in failure messages (gtest would print raw bytes).
inline void PrintTo(const JsonCase& c, std::ostream* os) { *os << c.name; }

inline std::vector<JsonCase> JsonEscapeCases() {
  return {
      JsonCase{"Plain", "Ada", "\"Ada\""},
      JsonCase{"Empty", "", "\"\""},
      JsonCase{"Quotes", "say \"hi\"", R"("say \"hi\"")"},
      JsonCase{"Backslashes", R"(a\b\\c)", R"("a\\b\\\\c")"},
      JsonCase{"SlashNotEscaped", "a/b", "\"a/b\""},
      JsonCase{"ShortForms", "\b\f\n\r\t", R"("\b\f\n\r\t")"},
      JsonCase{"Nul", std::string("a\0b", 3), R"("a\u0000b")"},
      JsonCase{"OtherControls", "\x01\x0B\x0E\x1B\x1F",
                 R"("\u0001\u000b\u000e\u001b\u001f")"},
      JsonCase{"Del", "a\x7F", R"("a\u007f")"},
      JsonCase{"C1IsVerbatim", "\xC2\x85", "\"\xC2\x85\""},
      JsonCase{"Eacute", "Ren\xC3\xA9", "\"Ren\xC3\xA9\""},
      JsonCase{"Cjk", "\xE6\x97\xA5\xE6\x9C\xAC",
                 "\"\xE6\x97\xA5\xE6\x9C\xAC\""},
      JsonCase{"Emoji", "\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},
      JsonCase{"EmojiZwjSequence",
                 "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB",
                 "\"\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\""},
      JsonCase{"LineSeparator", "a\xE2\x80\xA8" "b", R"("a\u2028b")"},
      JsonCase{"ParagraphSeparator", "a\xE2\x80\xA9" "b", R"("a\u2029b")"},
      JsonCase{"Injection", "\",\"is_superuser\":true,\"x\":\"",
                 R"("\",\"is_superuser\":true,\"x\":\"")"},
      JsonCase{"MaxCodePoint", "\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""},
  };
}

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_JSON_ESCAPE_CASES_H_
