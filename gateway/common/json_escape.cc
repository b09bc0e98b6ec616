#include "gateway/common/json_escape.h"

#include "gateway/common/utf8.h"

namespace usergateway {
namespace {

constexpr absl::string_view kLowerHex = "0123456789abcdef";

void AppendUnicodeEscape(char32_t c, std::string* out) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) {
    out->push_back(kLowerHex[(c >> shift) & 0xF]);
  }
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    if (c >= 0x80) {
      char32_t code_point = 0;
      const size_t length = DecodeUtf8(text, i, &code_point);
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else if (code_point == 0x2028 || code_point == 0x2029) {
        AppendUnicodeEscape(code_point, out);
        i += length;
      } else {
        out->append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          AppendUnicodeEscape(c, out);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

}  // namespace usergateway
