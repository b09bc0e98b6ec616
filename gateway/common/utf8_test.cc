#include "gateway/common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

struct Case {
  std::string bytes;
  size_t length;          // 0: invalid
  char32_t code_point;    // when valid
};

TEST(DecodeUtf8Test, Table) {
  const Case cases[] = {
      {"A", 1, U'A'},
      {std::string(1, '\0'), 1, 0},
      {"\xC3\xA9", 2, 0xE9},                 // é
      {"\xE2\x80\xA8", 3, 0x2028},           // line separator
      {"\xF0\x9F\x98\x80", 4, 0x1F600},      // 😀
      {"\xF4\x8F\xBF\xBF", 4, 0x10FFFF},     // the last code point
      {"\xC0\xAF", 0, 0},                    // overlong '/'
      {"\xE0\x80\xAF", 0, 0},                // overlong
      {"\xF0\x80\x80\xAF", 0, 0},            // overlong
      {"\xED\xA0\x80", 0, 0},                // surrogate D800
      {"\xF4\x90\x80\x80", 0, 0},            // past U+10FFFF
      {"\xF5\x80\x80\x80", 0, 0},            // bad lead
      {"\x80", 0, 0},                        // lone continuation
      {"\xC3", 0, 0},                        // truncated
      {"\xE2\x82", 0, 0},                    // truncated
      {"\xC3\x28", 0, 0},                    // bad continuation
  };
  for (const Case& c : cases) {
    char32_t cp = 0;
    size_t n = DecodeUtf8(c.bytes, 0, &cp);
    EXPECT_EQ(n, c.length) << "bytes of length " << c.bytes.size();
    if (c.length != 0) {
      EXPECT_EQ(cp, c.code_point);
    }
  }
}

TEST(DecodeUtf8Test, DecodesInTheMiddleOfAString) {
  std::string text = "a\xC3\xA9z";
  char32_t cp = 0;
  EXPECT_EQ(DecodeUtf8(text, 1, &cp), 2u);
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(DecodeUtf8(text, 3, &cp), 1u);
  EXPECT_EQ(cp, U'z');
}

}  // namespace
}  // namespace usergateway
