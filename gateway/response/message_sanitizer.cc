#include "gateway/response/message_sanitizer.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gateway/common/utf8.h"

namespace usergateway {
namespace {

constexpr char32_t kReplacementChar = 0xFFFD;
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";  // "…"
constexpr absl::string_view kRedacted = "[REDACTED]";

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes the code point at s[i]. Returns the bytes it spans; invalid UTF-8
// decodes as U+FFFD spanning one byte.
size_t DecodeOrReplace(absl::string_view s, size_t i, char32_t* cp) {
  size_t length = DecodeUtf8(s, i, cp);
  if (length == 0) {
    *cp = kReplacementChar;
    return 1;
  }
  return length;
}

// Controls and line breaks of any kind: they would forge log lines or
// break single-line displays of the message.
bool IsControlOrSpace(char32_t cp) {
  return cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0x2028 || cp == 0x2029;
}

bool IsWordByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Replaces the token after each "Bearer " (any case, at a word start) with
// kRedacted. `s` has single spaces only (see SanitizeMessage).
std::string ScrubBearerTokens(const std::string& s) {
  constexpr absl::string_view kScheme = "bearer";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const bool at_scheme =
        (i == 0 || !IsWordByte(s[i - 1])) && i + kScheme.size() < s.size() &&
        absl::EqualsIgnoreCase(absl::string_view(s).substr(i, kScheme.size()),
                               kScheme) &&
        s[i + kScheme.size()] == ' ';
    if (!at_scheme) {
      out.push_back(s[i++]);
      continue;
    }
    const size_t token_start = i + kScheme.size() + 1;
    size_t token_end = token_start;
    while (token_end < s.size() && s[token_end] != ' ') ++token_end;
    out.append(s, i, token_start - i);
    if (token_end > token_start) out.append(kRedacted.data(), kRedacted.size());
    i = token_end;
  }
  return out;
}

}  // namespace

std::string SanitizeMessage(absl::string_view text, size_t max_bytes) {
  if (max_bytes < kEllipsis.size()) max_bytes = kEllipsis.size();
  // Work on a bounded prefix: scrubbing can grow the text ("Bearer a" to
  // "Bearer [REDACTED]") or shrink it, so keep a margin past max_bytes.
  const size_t collect_limit = 4 * max_bytes + 64;
  std::string clean;
  clean.reserve(std::min(text.size(), collect_limit));
  bool pending_space = false;
  bool cut = false;
  size_t i = 0;
  while (i < text.size()) {
    if (clean.size() >= collect_limit) {
      cut = true;
      break;
    }
    char32_t cp;
    const size_t len = DecodeOrReplace(text, i, &cp);
    if (IsControlOrSpace(cp)) {
      pending_space = !clean.empty();
    } else {
      if (pending_space) clean.push_back(' ');
      pending_space = false;
      if (cp == kReplacementChar && len == 1) {
        clean.append("\xEF\xBF\xBD");
      } else {
        clean.append(text.data() + i, len);
      }
    }
    i += len;
  }

  std::string out = ScrubBearerTokens(clean);
  if (!cut && out.size() <= max_bytes) return out;

  size_t keep = std::min(out.size(), max_bytes - kEllipsis.size());
  while (keep > 0 && keep < out.size() &&
         IsContinuation(static_cast<unsigned char>(out[keep]))) {
    --keep;
  }
  out.resize(keep);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out.append(kEllipsis.data(), kEllipsis.size());
  return out;
}

}  // namespace usergateway
